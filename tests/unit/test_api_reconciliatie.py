"""GET /v1/reconciliatie and /v1/reconciliatie/{pilot}/personen without servers: in-memory keys and a stand-in
for the reconciliation queries of the ReadQueries port (rows built with the pure domain classifier).

Every scope on both endpoints (200 / 403 / 404 / 400 / 401), the JSON and CSV shapes, the window setting."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from registry.api.app import create_app
from registry.api.schemas import Categorieen, PersonenPerCategorie
from registry.domein.onthulling import verstoor
from registry.domein.reconciliatie import CATEGORIEEN, PilotRij, classify, zonder_lijst
from registry.infra import settings as settings_mod
from tests.support.api import assert_problem, get, memory_keys

D = dt.date(2020, 11, 30)
A, B, C, X, Y = ("a" * 64, "b" * 64, "c" * 64, "x" * 64, "y" * 64)


def _rijen() -> list[PilotRij]:
    groningen_reg = {A: 30, B: 16, C: 40}
    monitor = classify(
        groningen_reg,
        [(A, "in_traject"), (A, "gestopt"), (X, "in_traject"), (C, "afgerond")],
        frozenset({X}),
        frozenset(),
        frozenset(),
        partner="monitor",
        bron_type="monitor",
        event_id="e1",
        peildatum=D - dt.timedelta(days=3),
    )
    gemeente = zonder_lijst("gemeente.gm0014", "gemeente", "e2", D + dt.timedelta(days=5), 5, 3)
    rijnmond_reg = {X: 25}
    mbo = classify(
        rijnmond_reg,
        [(X, "in_traject"), (Y, "in_traject")],
        frozenset(),
        frozenset(),
        frozenset(),
        partner="mbo.albeda",
        bron_type="mbo",
        event_id="e3",
        peildatum=D,
    )
    return [
        PilotRij("groningen", D, 3, (gemeente, monitor)),
        PilotRij("rijnmond", D, 1, (mbo,)),
        PilotRij("twente", D, 2, ()),
    ]


class FakeReconciliatie:
    """The reconciliation queries of the port, from fixed rows; records the arguments it was called with."""

    OVERZICHTEN: dict[str, str] = {}
    ENROLS = {"mbo.albeda": {"groningen", "rijnmond"}, "mbo.noorderpoort": {"groningen"}}

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def reconciliatie_rijen(
        self,
        conn: Connection,
        peildatum: dt.date,
        pilot: str | None = None,
        *,
        venster_dagen: int,
        personen: bool = False,
    ) -> list[PilotRij]:
        self.calls.append(
            {"peildatum": peildatum, "pilot": pilot, "venster_dagen": venster_dagen, "personen": personen}
        )
        rows = [r for r in _rijen() if pilot is None or r.pilot == pilot]
        if personen:
            return rows
        # without personen the real query leaves the pseudonyms out
        return [replace(r, bronnen=tuple(replace(b, personen={}) for b in r.bronnen)) for r in rows]

    def pilots_of_instelling(self, conn: Connection, instelling: str) -> set[str]:
        return set(self.ENROLS.get(instelling, set()))

    def record_sleutels(self, conn: Connection, deelnemers: Any) -> dict[str, int]:
        # stand-in record keys: 0..255 from the pseudonym's text (the real ones are random)
        return {d: sum(map(ord, d)) % 256 for d in deelnemers}

    def overzicht(self, conn: Connection, naam: str, peildatum: dt.date, **filters: Any) -> list[dict[str, Any]]:
        # the register's cells (deelnemers-per-pilot), with stand-in key sums
        return [{"pilot": r.pilot, "deelnemers": r.register} for r in _rijen()]

    ENROLLED = {"mbo.albeda": {A, X}, "mbo.noorderpoort": {B}}  # the deelnemers each instelling enrolled

    def deelnemers_of_instelling(self, conn: Connection, instelling: str) -> set[str]:
        return set(self.ENROLLED.get(instelling, set()))


SCOPES = [
    "landelijk",
    "regio:Groningen",
    "regio:Rijnmond",
    "instelling:mbo.albeda",
    "instelling:mbo.noorderpoort",
    "publiek",
]


@pytest.fixture()
def env() -> dict[str, Any]:
    store, keys, revoked = memory_keys(SCOPES)
    rm = FakeReconciliatie()
    settings = replace(settings_mod.load(), reconcile_window_days=7)
    app = create_app(settings, connect_database=False, keys=store, queries=rm)  # type: ignore[arg-type]
    return {"client": TestClient(app), "keys": keys, "revoked": revoked, "rm": rm}


LIJST = "/v1/reconciliatie?peildatum=2020-11-30"
PERSONEN = "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=monitor"

# pilots each scope sees in the listing (None: 403)
VISIBLE: dict[str, list[str] | None] = {
    "landelijk": ["groningen", "rijnmond", "twente"],
    "regio:Groningen": ["groningen"],
    "regio:Rijnmond": ["rijnmond"],
    "instelling:mbo.albeda": ["groningen", "rijnmond"],
    "instelling:mbo.noorderpoort": ["groningen"],
    "publiek": None,
}


@pytest.mark.parametrize("scope", SCOPES)
def test_listing_per_scope(env: dict[str, Any], scope: str) -> None:
    resp = get(env, LIJST, scope)
    expected = VISIBLE[scope]
    if expected is None:
        assert assert_problem(resp, 403)["type"] == "/problems/forbidden"
        return
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["peildatum"] == "2020-11-30"
    assert [r["pilot"] for r in body["rijen"]] == expected
    for pseudonym in (A, B, C, X, Y):
        assert pseudonym not in resp.text  # category counts only
    # an instelling's counts need the persons (to merge those it has no relation with), never shown
    assert env["rm"].calls[-1] == {
        "peildatum": D,
        "pilot": None,
        "venster_dagen": 7,
        "personen": scope.startswith(("instelling:", "regio:")),  # regio: the persons give the cell keys
    }


# expected status of ?pilot=... per scope
PILOT_MATRIX = {
    "groningen": {
        "landelijk": 200,
        "regio:Groningen": 200,
        "regio:Rijnmond": 403,
        "instelling:mbo.albeda": 200,
        "instelling:mbo.noorderpoort": 200,
        "publiek": 403,
    },
    "rijnmond": {
        "landelijk": 200,
        "regio:Groningen": 403,
        "regio:Rijnmond": 200,
        "instelling:mbo.albeda": 200,
        "instelling:mbo.noorderpoort": 403,
        "publiek": 403,
    },
    "doorzaam": {
        "landelijk": 200,
        "regio:Groningen": 403,
        "regio:Rijnmond": 403,
        "instelling:mbo.albeda": 403,
        "instelling:mbo.noorderpoort": 403,
        "publiek": 403,
    },
}


@pytest.mark.parametrize(("pilot", "scope"), [(p, s) for p in PILOT_MATRIX for s in SCOPES])
def test_listing_pilot_filter_per_scope(env: dict[str, Any], pilot: str, scope: str) -> None:
    resp = get(env, f"{LIJST}&pilot={pilot}", scope)
    expected = PILOT_MATRIX[pilot][scope]
    if expected == 403:
        assert_problem(resp, 403)
        return
    assert resp.status_code == 200, resp.text
    assert [r["pilot"] for r in resp.json()["rijen"]] == ([pilot] if pilot != "doorzaam" else [])
    assert env["rm"].calls[-1]["pilot"] == pilot


def test_listing_pilot_by_name(env: dict[str, Any]) -> None:
    assert get(env, f"{LIJST}&pilot=Helmond-de%20Peel", "landelijk").status_code == 200
    assert env["rm"].calls[-1]["pilot"] == "helmond-de-peel"


@pytest.mark.parametrize("scope", ["landelijk", "regio:Groningen", "instelling:mbo.albeda"])
def test_unknown_pilot_404_with_valid_values(env: dict[str, Any], scope: str) -> None:
    for url in (f"{LIJST}&pilot=atlantis", "/v1/reconciliatie/atlantis/personen?peildatum=2020-11-30&partner=uwv"):
        if scope.startswith("regio") and "personen" in url:
            continue  # regio never reaches the personen endpoint: 403 first
        body = assert_problem(get(env, url, scope), 404)
        assert body["type"] == "/problems/not-found"
        assert "groningen" in body["valid_values"] and len(body["valid_values"]) == 26


@pytest.mark.parametrize("value", ["30-11-2020", "2020-02-30", "gisteren", ""])
def test_invalid_peildatum_400(env: dict[str, Any], value: str) -> None:
    for url in (
        f"/v1/reconciliatie?peildatum={value}",
        f"/v1/reconciliatie/groningen/personen?peildatum={value}&partner=monitor",
    ):
        body = assert_problem(get(env, url, "landelijk"), 400)
        assert body["parameter"] == "peildatum" and "YYYY-MM-DD" in body["valid_values"][0]


def test_missing_parameters_400(env: dict[str, Any]) -> None:
    assert assert_problem(get(env, "/v1/reconciliatie", "landelijk"), 400)["parameter"] == "peildatum"
    body = assert_problem(get(env, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30", "landelijk"), 400)
    assert body["errors"][0]["loc"] == ["query", "partner"]
    assert assert_problem(get(env, LIJST + "&format=xml", "landelijk"), 400)["valid_values"] == ["json", "csv"]


@pytest.mark.parametrize("url", [LIJST, LIJST + "&format=csv", PERSONEN])
@pytest.mark.parametrize("who", [None, "revoked"])
def test_no_valid_key_is_401(env: dict[str, Any], url: str, who: str | None) -> None:
    body = assert_problem(get(env, url, who), 401)
    assert body["type"] == "/problems/unauthenticated"


def test_listing_json_shape(env: dict[str, Any]) -> None:
    body = get(env, LIJST, "landelijk").json()
    groningen, rijnmond, twente = body["rijen"]
    assert set(groningen) == {"pilot", "register", "gereconcilieerd", "bronnen"}
    assert (groningen["register"], groningen["gereconcilieerd"]) == (3, 3)
    assert [b["partner"] for b in groningen["bronnen"]] == ["gemeente.gm0014", "monitor"]
    gemeente, monitor = groningen["bronnen"]
    assert monitor == {
        "partner": "monitor",
        "bron_type": "monitor",
        "telling_peildatum": "2020-11-27",
        "gemeld": 4,
        "verschil": 1,
        "categorieen": {
            "overeenkomend": 2,
            "dubbel_in_bron": 1,
            "boris_vermoeden": 1,
            "alleen_in_register": 0,
            "andere_pilot": 1,
            "buiten_peildatum": 0,
            "aangemeld_niet_gestart": 0,
            "niet_geregistreerd": 0,
            "onverklaard": 0,
        },
        "vergelijking": "4 - 3 = (1 + 1 + 0 + 0 + 0 + 0) - (1 + 0)",
    }
    assert list(monitor["categorieen"]) == list(CATEGORIEEN)
    assert gemeente["categorieen"]["onverklaard"] == 2 and gemeente["verschil"] == 2
    assert gemeente["telling_peildatum"] == "2020-12-05"
    # an mbo list's unknown in_traject person adds to the reconciled count
    assert (rijnmond["register"], rijnmond["gereconcilieerd"]) == (1, 2)
    assert twente == {"pilot": "twente", "register": 2, "gereconcilieerd": 2, "bronnen": []}
    want = FakeReconciliatie().reconciliatie_rijen(None, D, venster_dagen=7)  # type: ignore[arg-type]
    assert body["rijen"] == [r.api() for r in want]


def test_listing_csv(env: dict[str, Any]) -> None:
    resp = get(env, LIJST + "&format=csv", "landelijk")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert 'filename="reconciliatie_2020-11-30.csv"' in resp.headers["content-disposition"]
    reader = csv.reader(io.StringIO(resp.text))
    header = next(reader)
    assert header == [
        "pilot",
        "register",
        "gereconcilieerd",
        "partner",
        "bron_type",
        "telling_peildatum",
        "gemeld",
        "verschil",
        *CATEGORIEEN,
    ]
    lines = list(reader)
    assert [(r[0], r[3]) for r in lines] == [
        ("groningen", "gemeente.gm0014"),
        ("groningen", "monitor"),
        ("rijnmond", "mbo.albeda"),
        ("twente", ""),
    ]
    assert lines[1] == [
        "groningen",
        "3",
        "3",
        "monitor",
        "monitor",
        "2020-11-27",
        "4",
        "1",
        "2",
        "1",
        "1",
        "0",
        "1",
        "0",
        "0",
        "0",
        "0",
    ]
    assert lines[3] == ["twente", "2", "2"] + [""] * (len(header) - 3)


def test_listing_csv_is_scoped(env: dict[str, Any]) -> None:
    kop, rest = get(env, LIJST + "&format=csv", "regio:Rijnmond").text.split("\r\n", 1)
    assert kop == "# onthullingsbeheersing: methode=celsleutel; ptable_versie=1"
    lines = list(csv.DictReader(io.StringIO(rest)))
    # a regio's counts are perturbed: a niet_geregistreerd person (no record key) counts 1 -> 0 or 5
    assert [(r["pilot"], r["partner"]) for r in lines] == [("rijnmond", "mbo.albeda")]
    assert lines[0]["niet_geregistreerd"] == str(verstoor(1, 0)) == "0"
    assert_problem(get(env, LIJST + "&format=csv", "publiek"), 403)


def test_listing_empty_csv_has_header(env: dict[str, Any]) -> None:
    text = get(env, LIJST + "&format=csv&pilot=doorzaam", "landelijk").text
    assert text.splitlines() == [
        ",".join(
            [
                "pilot",
                "register",
                "gereconcilieerd",
                "partner",
                "bron_type",
                "telling_peildatum",
                "gemeld",
                "verschil",
                *CATEGORIEEN,
            ]
        )
    ]


# expected status of the personen endpoint per (pilot, scope)
PERSONEN_MATRIX = {
    "groningen": {
        "landelijk": 200,
        "regio:Groningen": 403,
        "regio:Rijnmond": 403,
        "instelling:mbo.albeda": 200,
        "instelling:mbo.noorderpoort": 200,
        "publiek": 403,
    },
    "rijnmond": {
        "landelijk": 200,
        "regio:Groningen": 403,
        "regio:Rijnmond": 403,
        "instelling:mbo.albeda": 200,
        "instelling:mbo.noorderpoort": 403,
        "publiek": 403,
    },
}
PARTNER = {"groningen": "monitor", "rijnmond": "mbo.albeda"}


@pytest.mark.parametrize(("pilot", "scope"), [(p, s) for p in PERSONEN_MATRIX for s in SCOPES])
def test_personen_per_scope(env: dict[str, Any], pilot: str, scope: str) -> None:
    resp = get(env, f"/v1/reconciliatie/{pilot}/personen?peildatum=2020-11-30&partner={PARTNER[pilot]}", scope)
    if PERSONEN_MATRIX[pilot][scope] == 403:
        assert assert_problem(resp, 403)["type"] == "/problems/forbidden"
        return
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert (body["pilot"], body["partner"], body["peildatum"]) == (pilot, PARTNER[pilot], "2020-11-30")
    assert list(body["personen"]) == list(CATEGORIEEN)
    assert env["rm"].calls[-1] == {"peildatum": D, "pilot": pilot, "venster_dagen": 7, "personen": True}


def test_personen_lists(env: dict[str, Any]) -> None:
    body = get(env, PERSONEN, "landelijk").json()
    assert body == {
        "peildatum": "2020-11-30",
        "pilot": "groningen",
        "partner": "monitor",
        "bron_type": "monitor",
        "telling_peildatum": "2020-11-27",
        "personen": {
            "overeenkomend": [A, C],
            "dubbel_in_bron": [A],
            "boris_vermoeden": [B],
            "alleen_in_register": [],
            "andere_pilot": [X],
            "buiten_peildatum": [],
            "aangemeld_niet_gestart": [],
            "niet_geregistreerd": [],
            "onverklaard": [],
        },
    }
    rijnmond = get(
        env, "/v1/reconciliatie/Rijnmond/personen?peildatum=2020-11-30&partner=MBO.Albeda", "instelling:mbo.albeda"
    ).json()
    assert (rijnmond["pilot"], rijnmond["partner"]) == ("rijnmond", "mbo.albeda")
    # an instelling reads only the deelnemers it enrolled: Y (listed, unknown) is not shown to it
    assert rijnmond["personen"]["niet_geregistreerd"] == [] and rijnmond["personen"]["overeenkomend"] == [X]
    noorderpoort = get(env, PERSONEN, "instelling:mbo.noorderpoort").json()["personen"]
    assert {c: v for c, v in noorderpoort.items() if v} == {"boris_vermoeden": [B]}


def test_an_instelling_sees_list_entries_without_a_relation_as_one_count(env: dict[str, Any]) -> None:
    def bronnen(scope: str, pilot: str) -> dict[str, Any]:
        rij = get(env, f"{LIJST}&pilot={pilot}", scope).json()["rijen"][0]
        return {b["partner"]: b["categorieen"] for b in rij["bronnen"]}

    landelijk = bronnen("landelijk", "rijnmond")["mbo.albeda"]
    assert "zonder_relatie" not in landelijk and landelijk["niet_geregistreerd"] == 1
    albeda = bronnen("instelling:mbo.albeda", "rijnmond")["mbo.albeda"]
    assert (albeda["overeenkomend"], albeda["niet_geregistreerd"], albeda["zonder_relatie"]) == (1, 0, 1)
    monitor = bronnen("instelling:mbo.noorderpoort", "groningen")["monitor"]
    assert monitor["zonder_relatie"] == 4 and monitor["boris_vermoeden"] == 1  # A, A again, X, C; B unlisted
    assert all(monitor[c] == 0 for c in ("overeenkomend", "dubbel_in_bron", "andere_pilot"))
    csv_text = get(env, f"{LIJST}&pilot=rijnmond&format=csv", "instelling:mbo.albeda").text
    assert next(csv.DictReader(io.StringIO(csv_text)))["zonder_relatie"] == "1"


def test_every_person_list_request_is_audited(env: dict[str, Any]) -> None:
    before = len(get(env, "/v1/audit?limit=1000", "landelijk").json())
    assert get(env, PERSONEN, "instelling:mbo.albeda").status_code == 200
    assert (
        get(
            env,
            "/v1/reconciliatie/rijnmond/personen?peildatum=2020-11-30&partner=mbo.albeda",
            "instelling:mbo.noorderpoort",
        ).status_code
        == 403
    )
    assert get(env, PERSONEN, "regio:Groningen").status_code == 403
    entries = get(env, "/v1/audit?limit=1000", "landelijk").json()
    nieuw = [e for e in entries if e["endpoint"] == "reconciliatie_personen"]
    assert len(entries) - before == 3 and sorted(e["status"] for e in nieuw) == [200, 403, 403]


def test_personen_source_without_list_has_empty_lists(env: dict[str, Any]) -> None:
    body = get(
        env, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=gemeente.gm0014", "landelijk"
    ).json()
    assert body["bron_type"] == "gemeente" and body["telling_peildatum"] == "2020-12-05"
    assert body["personen"] == {c: [] for c in CATEGORIEEN}


def test_personen_unknown_partner_404_names_the_sources(env: dict[str, Any]) -> None:
    body = assert_problem(
        get(env, "/v1/reconciliatie/groningen/personen?peildatum=2020-11-30&partner=uwv", "landelijk"), 404
    )
    assert body["type"] == "/problems/not-found" and body["parameter"] == "partner"
    assert body["valid_values"] == ["gemeente.gm0014", "monitor"]
    twente = assert_problem(
        get(env, "/v1/reconciliatie/twente/personen?peildatum=2020-11-30&partner=uwv", "landelijk"), 404
    )
    assert twente["valid_values"] == []


def test_response_models_follow_the_categories() -> None:
    assert tuple(Categorieen.model_fields) == (*CATEGORIEEN, "zonder_relatie")  # the last: instelling keys only
    assert tuple(PersonenPerCategorie.model_fields) == CATEGORIEEN


def test_openapi_documents_both_endpoints(env: dict[str, Any]) -> None:
    spec = env["client"].get("/openapi.json").json()
    for path in ("/v1/reconciliatie", "/v1/reconciliatie/{pilot}/personen"):
        op = spec["paths"][path]["get"]
        assert op["summary"] and op["tags"] == ["reconciliatie"]
        for phrase in ("gemeld - register =", "boris_vermoeden", "onverklaard", "31"):
            assert phrase in op["description"]
        assert "422" not in op["responses"] and {"400", "401", "403", "404"} <= set(op["responses"])
    assert "text/csv" in spec["paths"]["/v1/reconciliatie"]["get"]["responses"]["200"]["content"]
