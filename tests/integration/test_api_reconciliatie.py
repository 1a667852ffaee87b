"""The reconciliation endpoints over the real PostgreSQL: events applied with the real projections (feiten,
tijdlijn) into a schema of the test's own, the app built with the real ``projections.queries``; exact category
counts and pseudonym lists through the API, the scopes, CSV, the window setting, and API == the pure reference."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from projections import queries, store
from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.domein.reconciliatie import CATEGORIEEN
from registry.infra import settings as settings_mod
from registry.infra.db import engine as make_engine
from tests.support import reconciliatie_data as data
from tests.support.reconciliatie_data import Log, pseudo

D = dt.date(2020, 11, 30)
P = "groningen"
PEOPLE = [pseudo(f"g{i}") for i in range(37)]
WAITING = [pseudo(f"w{i}") for i in range(3)]
LATE = [pseudo(f"l{i}") for i in range(2)]
UNKNOWN = [pseudo("u0"), pseudo("u1")]
TWENTE = [pseudo(f"t{i}") for i in range(4)]
SCOPES = [
    "landelijk",
    "regio:Groningen",
    "regio:Twente",
    "instelling:mbo.albeda",
    "instelling:mbo.noorderpoort",
    "publiek",
]


def scenario() -> Log:
    """The evaluation's case in groningen (37 registered, one a Boris pupil the monitor misses; the monitor lists
    43 entries, the mbo-instelling 2 unknowns in_traject, the gemeente a bare 40) and twente: 4 deelnemers of
    mbo.noorderpoort, a uwv list with one of them twice and one listed who is registered in groningen."""
    log = Log("api-recon")
    for i, d in enumerate(PEOPLE[1:]):
        log.inschrijving(d, P, D - dt.timedelta(days=100 + i))
    log.inschrijving(PEOPLE[0], P, D - dt.timedelta(days=60), leeftijd=16)
    for w in WAITING:
        log.aanmelding(w, P, D - dt.timedelta(days=40))
    for x in LATE:
        log.aanmelding(x, P, D - dt.timedelta(days=50))
        log.inschrijving(x, P, D + dt.timedelta(days=14), on=D + dt.timedelta(days=20))
    entries = [(x, "in_traject") for x in PEOPLE[1:]] + [(PEOPLE[5], "in_traject")]
    entries += [(x, "aangemeld") for x in WAITING] + [(x, "in_traject") for x in LATE] + [(UNKNOWN[0], "in_traject")]
    log.telling("monitor", "monitor", P, D, len(entries), entries)
    log.telling(
        "mbo.albeda",
        "mbo",
        P,
        D - dt.timedelta(days=2),
        3,
        [(PEOPLE[3], "in_traject"), (UNKNOWN[0], "in_traject"), (UNKNOWN[1], "in_traject")],
    )
    log.telling("gemeente.gm0014", "gemeente", P, D + dt.timedelta(days=1), 40)
    for i, d in enumerate(TWENTE):
        record = log.inschrijving(d, "twente", D - dt.timedelta(days=30 + i), leeftijd=20)
        record["mbo_instelling"] = record["partner"] = "mbo.noorderpoort"
    log.telling(
        "uwv",
        "uwv",
        "twente",
        D - dt.timedelta(days=5),
        4,
        [(TWENTE[0], "in_traject"), (TWENTE[0], "in_traject"), (TWENTE[1], "gestopt"), (PEOPLE[7], "in_traject")],
    )
    return log


@pytest.fixture(scope="module")
def engine(database_url: str) -> Engine:
    return make_engine(database_url)


@pytest.fixture(scope="module")
def schema(engine: Engine) -> Iterator[str]:
    name = f"t_apirecon_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        data.apply(conn, name, scenario().events)
    yield name
    with engine.begin() as conn:
        store.drop_schema(conn, name)


def client(engine: Engine, schema: str, database_url: str, window: int = 31) -> tuple[TestClient, dict[str, str]]:
    keys = MemoryKeyStore()
    secrets = {s: keys.create(s, "test")[1] for s in SCOPES}
    s = replace(settings_mod.load(), database_url=database_url, reconcile_window_days=window)
    app = create_app(s, queries=queries, engine=engine, keys=keys, schema=schema)
    return TestClient(app), secrets


@pytest.fixture(scope="module")
def api(engine: Engine, schema: str, database_url: str) -> tuple[TestClient, dict[str, str]]:
    return client(engine, schema, database_url)


def get(api: tuple[TestClient, dict[str, str]], url: str, scope: str) -> Any:
    c, secrets = api
    return c.get(url, headers={"Authorization": f"Bearer {secrets[scope]}"})


LIJST = "/v1/reconciliatie?peildatum=2020-11-30"


def test_landelijk_exact_counts(api: tuple[TestClient, dict[str, str]]) -> None:
    resp = get(api, LIJST, "landelijk")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["peildatum"] == "2020-11-30"
    groningen, twente = body["rijen"]
    assert (groningen["pilot"], groningen["register"], groningen["gereconcilieerd"]) == ("groningen", 37, 39)
    assert [b["partner"] for b in groningen["bronnen"]] == ["gemeente.gm0014", "mbo.albeda", "monitor"]
    gemeente, mbo, monitor = groningen["bronnen"]
    assert monitor == {
        "partner": "monitor",
        "bron_type": "monitor",
        "telling_peildatum": "2020-11-30",
        "gemeld": 43,
        "verschil": 6,
        "categorieen": {
            "overeenkomend": 36,
            "dubbel_in_bron": 1,
            "boris_vermoeden": 1,
            "alleen_in_register": 0,
            "andere_pilot": 0,
            "buiten_peildatum": 2,
            "aangemeld_niet_gestart": 3,
            "niet_geregistreerd": 1,
            "onverklaard": 0,
        },
        "vergelijking": "43 - 37 = (1 + 0 + 2 + 3 + 1 + 0) - (1 + 0)",
    }
    assert mbo["telling_peildatum"] == "2020-11-28" and mbo["categorieen"] == {
        "overeenkomend": 1,
        "dubbel_in_bron": 0,
        "boris_vermoeden": 1,
        "alleen_in_register": 35,
        "andere_pilot": 0,
        "buiten_peildatum": 0,
        "aangemeld_niet_gestart": 0,
        "niet_geregistreerd": 2,
        "onverklaard": 0,
    }
    assert gemeente["categorieen"] == {c: 3 if c == "onverklaard" else 0 for c in CATEGORIEEN}
    assert gemeente["vergelijking"] == "40 - 37 = (0 + 0 + 0 + 0 + 0 + 3) - (0 + 0)"
    assert (twente["pilot"], twente["register"], twente["gereconcilieerd"]) == ("twente", 4, 4)
    (uwv,) = twente["bronnen"]
    assert (uwv["gemeld"], uwv["verschil"]) == (4, 0)
    assert {c: n for c, n in uwv["categorieen"].items() if n} == {
        "overeenkomend": 2,
        "dubbel_in_bron": 1,
        "andere_pilot": 1,
        "alleen_in_register": 2,
    }


def test_api_equals_reference(api: tuple[TestClient, dict[str, str]]) -> None:
    want = [r.api() for r in data.reference(scenario().events, D)]
    assert get(api, LIJST, "landelijk").json()["rijen"] == want
    assert get(api, LIJST + "&pilot=Twente", "landelijk").json()["rijen"] == [want[1]]


@pytest.mark.parametrize(
    ("scope", "pilots"),
    [
        ("regio:Groningen", ["groningen"]),
        ("regio:Twente", ["twente"]),
        ("instelling:mbo.albeda", ["groningen"]),
        ("instelling:mbo.noorderpoort", ["twente"]),
    ],
)
def test_scoped_listing(api: tuple[TestClient, dict[str, str]], scope: str, pilots: list[str]) -> None:
    rijen = get(api, LIJST, scope).json()["rijen"]
    assert [r["pilot"] for r in rijen] == pilots
    other = "twente" if pilots == ["groningen"] else "groningen"
    assert get(api, f"{LIJST}&pilot={other}", scope).status_code == 403
    assert get(api, f"{LIJST}&pilot={pilots[0]}", scope).json()["rijen"] == rijen


def test_publiek_and_unknown_pilot(api: tuple[TestClient, dict[str, str]]) -> None:
    assert get(api, LIJST, "publiek").status_code == 403
    resp = get(api, LIJST + "&pilot=atlantis", "landelijk")
    assert resp.status_code == 404 and "groningen" in resp.json()["valid_values"]


def test_csv(api: tuple[TestClient, dict[str, str]]) -> None:
    resp = get(api, LIJST + "&format=csv", "landelijk")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(resp.text)))
    assert [(r["pilot"], r["partner"]) for r in lines] == [
        ("groningen", "gemeente.gm0014"),
        ("groningen", "mbo.albeda"),
        ("groningen", "monitor"),
        ("twente", "uwv"),
    ]
    monitor = lines[2]
    assert (monitor["register"], monitor["gereconcilieerd"], monitor["gemeld"], monitor["verschil"]) == (
        "37",
        "39",
        "43",
        "6",
    )
    assert [monitor[c] for c in CATEGORIEEN] == ["36", "1", "1", "0", "0", "2", "3", "1", "0"]


def test_personen_landelijk(api: tuple[TestClient, dict[str, str]]) -> None:
    resp = get(api, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=monitor", "landelijk")
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert {k: body[k] for k in ("peildatum", "pilot", "partner", "bron_type", "telling_peildatum")} == {
        "peildatum": "2020-11-30",
        "pilot": "groningen",
        "partner": "monitor",
        "bron_type": "monitor",
        "telling_peildatum": "2020-11-30",
    }
    assert body["personen"] == {
        "overeenkomend": sorted(PEOPLE[1:]),
        "dubbel_in_bron": [PEOPLE[5]],
        "boris_vermoeden": [PEOPLE[0]],
        "alleen_in_register": [],
        "andere_pilot": [],
        "buiten_peildatum": sorted(LATE),
        "aangemeld_niet_gestart": sorted(WAITING),
        "niet_geregistreerd": [UNKNOWN[0]],
        "onverklaard": [],
    }
    mbo = get(api, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=mbo.albeda", "landelijk").json()
    assert mbo["personen"]["niet_geregistreerd"] == sorted(UNKNOWN)
    assert mbo["personen"]["alleen_in_register"] == sorted(set(PEOPLE[1:]) - {PEOPLE[3]})
    gemeente = get(
        api, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=gemeente.gm0014", "landelijk"
    ).json()
    assert gemeente["personen"] == {c: [] for c in CATEGORIEEN}


def test_personen_scopes(api: tuple[TestClient, dict[str, str]]) -> None:
    twente = "/v1/reconciliatie/twente/personen?peildatum=2020-11-30&partner=uwv"
    body = get(api, twente, "instelling:mbo.noorderpoort").json()
    # an instelling reads only the deelnemers it enrolled: PEOPLE[7] (another instelling's, in groningen) is left out
    assert body["personen"]["dubbel_in_bron"] == [TWENTE[0]] and body["personen"]["andere_pilot"] == []
    assert body["personen"]["alleen_in_register"] == sorted(TWENTE[2:])
    assert get(api, twente, "landelijk").json()["personen"]["andere_pilot"] == [PEOPLE[7]]
    assert get(api, twente, "instelling:mbo.albeda").status_code == 403
    for scope in ("regio:Twente", "regio:Groningen", "publiek"):
        assert get(api, twente, scope).status_code == 403
    unknown = get(api, "/v1/reconciliatie/atlantis/personen?peildatum=2020-11-30&partner=uwv", "landelijk")
    assert unknown.status_code == 404
    missing = get(api, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=uwv", "landelijk")
    assert missing.status_code == 404
    assert missing.json()["valid_values"] == ["gemeente.gm0014", "mbo.albeda", "monitor"]


def test_window_setting_is_used(engine: Engine, schema: str, database_url: str) -> None:
    narrow = client(engine, schema, database_url, window=0)
    (groningen,) = get(narrow, LIJST + "&pilot=groningen", "landelijk").json()["rijen"]
    # only the monitor's telling has peildatum D itself; the mbo list (D-2) no longer adds its unknowns
    assert [b["partner"] for b in groningen["bronnen"]] == ["monitor"]
    assert (groningen["register"], groningen["gereconcilieerd"]) == (37, 37)
    missing = get(narrow, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=mbo.albeda", "landelijk")
    assert missing.status_code == 404 and missing.json()["valid_values"] == ["monitor"]
