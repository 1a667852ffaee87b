"""GET /v1/doorstroom without a database: parameters, scopes, JSON and CSV over an in-memory ReadQueries whose
positions come from the domain's own fold (registry/domein/doorstroom.py) of the hand-built world."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from registry.api.app import create_app
from registry.diensten.onthulling import verstoor_doorstroom
from registry.domein import doorstroom
from registry.infra import settings as settings_mod
from tests.support.api import assert_problem, get, memory_keys
from tests.support.doorstroom import hand_world


class Standen:
    """A ``ReadQueries`` answering only the doorstroom, from the domain's positions; records its calls."""

    OVERZICHTEN: dict[str, str] = {}

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def doorstroom_standen(self, conn: Connection, **kw: Any) -> list[dict[str, Any]]:
        self.calls.append(kw)
        f = doorstroom.Filters(
            frozenset(kw["pilots"]) if kw["pilots"] is not None else None,
            kw["doelgroep"],
            kw["uitkering"],
            kw["aanmelder_type"],
        )
        out = []
        for s in doorstroom.standen(hand_world(), kw["peildatum"]):
            if kw["van"] <= s.aangemeld_op <= kw["tot"] and doorstroom.past(
                s, doorstroom.Cohort(s.aangemeld_op.year), f
            ):
                rij = dataclasses.asdict(s)
                rij["laatste_einde"] = (
                    {"reden": s.laatste_einde[0], "uitvalreden": s.laatste_einde[1]} if s.laatste_einde else None
                )
                out.append(rij)
        return out

    def record_sleutels(self, conn: Connection, deelnemers: Any) -> dict[str, int]:
        return sleutels(deelnemers)


def sleutels(deelnemers: Any) -> dict[str, int]:
    """Stand-in record keys 0..255 (the real ones are drawn at random)."""
    return {d: sum(map(ord, d)) % 256 for d in deelnemers}


SCOPES = ["landelijk", "regio:Rijnmond", "instelling:mbo.albeda", "publiek"]
URL = "/v1/doorstroom?cohort=2019&peildatum=2021-01-13"


@pytest.fixture()
def env() -> dict[str, Any]:
    store, keys, revoked = memory_keys(SCOPES)
    rm = Standen()
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=rm)
    return {"client": TestClient(app), "keys": keys, "revoked": revoked, "rm": rm}


def test_landelijk_gets_the_exact_figures(env: dict[str, Any]) -> None:
    body = get(env, URL, "landelijk").json()
    assert [s["deelnemers"] for s in body["stappen"]] == [6, 2, 4, 1, 2]
    assert body["doorlooptijd_dagen"]["start_tot_verklaring"] == {"n": 1, "p25": 245, "mediaan": 245, "p75": 245}
    assert body["beeindiging"] == [
        {"reden": "afgerond", "uitvalreden": None, "deelnemers": 1},
        {"reden": "overstap_bbl", "uitvalreden": None, "deelnemers": 1},
        {"reden": "voortijdig_gestopt", "uitvalreden": "motivatie", "deelnemers": 1},
    ]
    assert body["contract"] == [
        {"peilmoment": "einde", "contract": "vast", "deelnemers": 1},
        {"peilmoment": "zes_maanden", "contract": "tijdelijk", "deelnemers": 1},
    ]
    assert body["uitkering_na"][1] == {"peilmoment": "zes_maanden", "uitkering_na": "deels", "deelnemers": 1}
    assert (body["cohort"], body["peildatum"]) == ("2019", "2021-01-13")


def test_filters_reach_the_read_model_canonical(env: dict[str, Any]) -> None:
    r = get(env, URL + "&pilot=doorzaam&doelgroep=a&uitkering=onbekend&aanmelder_type=gemeente", "landelijk")
    assert r.status_code == 200 and r.json()["stappen"][0] == {"stap": "aangemeld", "deelnemers": 1}
    call = env["rm"].calls[-1]
    assert call == {
        "van": dt.date(2019, 1, 1),
        "tot": dt.date(2019, 12, 31),
        "peildatum": dt.date(2021, 1, 13),
        "pilots": ["doorzaam"],
        "doelgroep": "a",
        "uitkering": "onbekend",
        "aanmelder_type": "gemeente",
    }
    get(env, "/v1/doorstroom?cohort=2019-Q3&peildatum=2021-01-13&regio=Rijnmond", "landelijk")
    assert env["rm"].calls[-1]["pilots"] == ["rijnmond"] and env["rm"].calls[-1]["van"] == dt.date(2019, 7, 1)


def test_csv_has_the_same_numbers(env: dict[str, Any]) -> None:
    r = get(env, URL + "&format=csv", "landelijk")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == "sectie,sleutel,waarde"
    assert {"stappen,aangemeld,6", "conversie,verklaring,0.167", "uitstroom,zes_maanden/betaald_werk,1"} <= set(lines)
    assert "doorlooptijd_dagen,aanmelding_tot_start.mediaan,31" in lines


def test_instelling_gets_no_doorstroom(env: dict[str, Any]) -> None:
    body = assert_problem(get(env, URL, "instelling:mbo.albeda"), 403)
    assert "landelijk, regio and publiek" in body["detail"]
    assert env["rm"].calls == []


MAANDEINDE = "/v1/doorstroom?cohort=2019&peildatum=2020-12-31"


@pytest.mark.parametrize("scope", ["publiek", "regio:Rijnmond"])
def test_publiek_and_regio_get_the_figures_perturbed_by_the_cell_key_method(env: dict[str, Any], scope: str) -> None:
    body = get(env, MAANDEINDE, scope).json()
    assert body["onthullingsbeheersing"] == {"methode": "celsleutel", "ptable_versie": "1"}
    pilots = env["rm"].calls[-1]["pilots"]
    assert pilots is None if scope == "publiek" else pilots == ["rijnmond"]
    standen = [doorstroom.stand_uit_rij(r) for r in env["rm"].doorstroom_standen(None, **env["rm"].calls[-1])]
    verwacht = verstoor_doorstroom(standen, sleutels({s.deelnemer for s in standen}))
    assert [(s["stap"], s["deelnemers"]) for s in body["stappen"]] == list(verwacht.stappen)
    assert all(not 1 <= s["deelnemers"] <= 4 for s in body["stappen"])
    # the hand-built world is small: no lead-time percentiles for publiek and regio
    assert all(v["p25"] is None for v in body["doorlooptijd_dagen"].values())
    kop = get(env, MAANDEINDE + "&format=csv", scope).text.splitlines()[0]
    assert kop == "# onthullingsbeheersing: methode=celsleutel; ptable_versie=1"
    assert "onthullingsbeheersing" not in get(env, MAANDEINDE, "landelijk").json()


def test_publiek_only_at_published_peildata(env: dict[str, Any]) -> None:
    assert assert_problem(get(env, URL, "publiek"), 400)["parameter"] == "peildatum"


def test_without_a_key_401(env: dict[str, Any]) -> None:
    assert_problem(get(env, URL, None), 401)


@pytest.mark.parametrize(
    "query",
    [
        "cohort=2019-Q5&peildatum=2021-01-13",
        "cohort=19&peildatum=2021-01-13",
        "cohort=0000&peildatum=2021-01-13",
        "cohort=1989-Q4&peildatum=2021-01-13",
        "cohort=2101&peildatum=2021-01-13",
        "peildatum=2021-01-13",
        "cohort=2019",
        "cohort=2019&peildatum=2021-13-01",
        "cohort=2019&peildatum=2021-01-13&doelgroep=z",
        "cohort=2019&peildatum=2021-01-13&uitkering=bijstand",
        "cohort=2019&peildatum=2021-01-13&aanmelder_type=sw",
        "cohort=2019&peildatum=2021-01-13&pilot=rijnmond&regio=Rijnmond",
        "cohort=2019&peildatum=2021-01-13&pilot=bestaat-niet",
        "cohort=2019&peildatum=2021-01-13&format=xml",
    ],
)
def test_invalid_parameters_are_400(env: dict[str, Any], query: str) -> None:
    assert_problem(get(env, f"/v1/doorstroom?{query}", "landelijk"), 400)


def test_the_openapi_document_types_the_answer(env: dict[str, Any]) -> None:
    spec = env["client"].get("/openapi.json").json()
    op = spec["paths"]["/v1/doorstroom"]["get"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/DoorstroomResponse")
    assert op["responses"]["200"]["content"]["text/csv"] == {"schema": {"type": "string"}}
    model = spec["components"]["schemas"]["DoorstroomResponse"]
    assert {
        "stappen",
        "conversie",
        "doorlooptijd_dagen",
        "beeindiging",
        "uitstroom",
        "contract",
        "uitkering_na",
    } <= set(model["properties"])
