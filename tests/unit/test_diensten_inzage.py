"""Person-level access: an instelling sees only what it enrolled and only its own part of it, and every
person-level read lands in the audit trail that landelijk reads at GET /v1/audit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from registry.api.app import create_app
from registry.api.audit import MemoryAuditLog
from registry.api.auth import MemoryKeyStore
from registry.diensten.inzage import own_part
from registry.infra import settings as settings_mod
from tests.support.api import assert_problem, get

P, Q = "1" * 64, "2" * 64
T_A, T_B = "a1000000-0000-4000-8000-000000000001", "a1000000-0000-4000-8000-000000000002"
V_A = "b1000000-0000-4000-8000-000000000001"

HISTORY = [
    {
        "event_type": "KandidaatAangemeld",
        "partner": "gemeente.gm0599",
        "traject_id": None,
        "gegevens": {"doelgroep": "i", "pilot": "rijnmond"},
        "afgewezen": False,
    },
    {
        "event_type": "AdviesUitgebracht",
        "partner": "mbo.roc-top",
        "traject_id": None,
        "gegevens": {"doelgroep": "c"},
        "afgewezen": False,
    },
    {
        "event_type": "DeelnemerIngeschreven",
        "partner": "mbo.albeda",
        "traject_id": T_A,
        "gegevens": {"crebo": "25250", "doelgroep": "c", "nested": [{"doelgroep": "i", "x": 1}]},
        "afgewezen": False,
    },
    {"event_type": "WerkprocesAfgetekend", "partner": "lb.bouw", "traject_id": T_A, "gegevens": {}, "afgewezen": False},
    {
        "event_type": "PraktijkverklaringIngetrokken",
        "partner": "mbo.albeda",
        "traject_id": None,
        "verklaring_id": V_A,
        "gegevens": {},
        "afgewezen": False,
    },
    {
        "event_type": "DeelnemerIngeschreven",
        "partner": "mbo.roc-top",
        "traject_id": T_B,
        "gegevens": {},
        "afgewezen": False,
    },
    {"event_type": "WerkprocesAfgetekend", "partner": "lb.bouw", "traject_id": T_B, "gegevens": {}, "afgewezen": False},
    {
        "event_type": "WerkprocesAfgetekend",
        "partner": "mbo.roc-top",
        "traject_id": T_A,
        "afgewezen": True,
        "reden": "niet_bevoegd",
        "gegevens": {},
    },
    {
        "event_type": "WerkprocesAfgetekend",
        "partner": "mbo.albeda",
        "traject_id": T_A,
        "afgewezen": True,
        "reden": "onbekend_werkproces",
        "gegevens": {},
    },
]


class Fake:
    OVERZICHTEN: dict[str, str] = {}

    def traject(self, conn: Connection, traject_id: str) -> dict[str, Any] | None:
        if traject_id != T_A:
            return None
        return {
            "traject_id": T_A,
            "deelnemer": P,
            "mbo_instelling": "mbo.albeda",
            "events": [e for e in HISTORY if e["traject_id"] == T_A],
        }

    def tijdlijn(self, conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
        return [dict(e) for e in HISTORY] if deelnemer in (P, Q) else None

    def instelling_of_traject(self, conn: Connection, traject_id: str) -> str | None:
        return "mbo.albeda" if traject_id == T_A else None

    def instellingen_of_deelnemer(self, conn: Connection, deelnemer: str) -> set[str]:
        # Q only got an advies from ROC TOP: projections.queries answers only enrolments, so nobody here
        return {"mbo.albeda", "mbo.roc-top"} if deelnemer == P else set()


@pytest.fixture()
def env() -> dict[str, Any]:
    store = MemoryKeyStore()
    keys = {
        s: store.create(s)[1]
        for s in ("landelijk", "instelling:mbo.albeda", "instelling:mbo.roc-top", "publiek", "regio:Rijnmond")
    }
    audit = MemoryAuditLog()
    app = create_app(
        settings_mod.load(),
        connect_database=False,
        keys=store,
        queries=Fake(),  # type: ignore[arg-type]
        audit=audit,
    )
    ids = {str(k.scope): k.key_id for k in store.list()}
    return {"client": TestClient(app), "keys": keys, "audit": audit, "ids": ids}


def test_an_instelling_sees_its_own_part_only(env: dict[str, Any]) -> None:
    body = get(env, f"/v1/deelnemers/{P}/tijdlijn", "instelling:mbo.albeda").json()
    seen = [(e["event_type"], e["partner"], e["afgewezen"]) for e in body]
    assert seen == [
        ("DeelnemerIngeschreven", "mbo.albeda", False),
        ("WerkprocesAfgetekend", "lb.bouw", False),
        ("PraktijkverklaringIngetrokken", "mbo.albeda", False),
        ("WerkprocesAfgetekend", "mbo.albeda", True),
    ]
    assert "doelgroep" not in str(body)  # special-category data: landelijk only
    assert "mbo.roc-top" not in str(body) and "gemeente" not in str(body)
    full = get(env, f"/v1/deelnemers/{P}/tijdlijn", "landelijk").json()
    assert len(full) == len(HISTORY) and full[0]["gegevens"]["doelgroep"] == "i"


def test_traject_of_an_instelling_without_others_rejections(env: dict[str, Any]) -> None:
    body = get(env, f"/v1/trajecten/{T_A}", "instelling:mbo.albeda").json()
    assert [e.get("reden") for e in body["events"] if e["afgewezen"]] == ["onbekend_werkproces"]
    assert "doelgroep" not in str(body)
    assert_problem(get(env, f"/v1/trajecten/{T_A}", "instelling:mbo.roc-top"), 403)


def test_an_advies_unlocks_nothing(env: dict[str, Any]) -> None:
    assert_problem(get(env, f"/v1/deelnemers/{Q}/tijdlijn", "instelling:mbo.roc-top"), 403)
    assert_problem(get(env, f"/v1/deelnemers/{'9' * 64}/tijdlijn", "instelling:mbo.roc-top"), 403)  # same as unknown


def test_every_person_level_read_is_audited(env: dict[str, Any]) -> None:
    get(env, f"/v1/deelnemers/{P}/tijdlijn", "instelling:mbo.albeda")
    get(env, f"/v1/deelnemers/{Q}/tijdlijn", "instelling:mbo.roc-top")
    get(env, f"/v1/trajecten/{T_A}", "landelijk")
    get(env, f"/v1/trajecten/{T_B}", "landelijk")
    got = get(env, "/v1/audit", "landelijk")
    assert got.status_code == 200
    rows = got.json()
    assert [(r["key_id"], r["endpoint"], r["pseudonym"], r["status"]) for r in rows] == [
        (env["ids"]["landelijk"], "/v1/trajecten/{traject_id}", None, 404),
        (env["ids"]["landelijk"], "/v1/trajecten/{traject_id}", P, 200),
        (env["ids"]["instelling:mbo.roc-top"], "/v1/deelnemers/{pseudonym}/tijdlijn", Q, 403),
        (env["ids"]["instelling:mbo.albeda"], "/v1/deelnemers/{pseudonym}/tijdlijn", P, 200),
    ]
    assert all(r["at"] for r in rows)
    assert [r["object_id"] for r in get(env, f"/v1/audit?pseudonym={Q}", "landelijk").json()] == [Q]
    assert len(get(env, f"/v1/audit?key_id={env['ids']['landelijk']}&limit=1", "landelijk").json()) == 1


@pytest.mark.parametrize("scope", ["instelling:mbo.albeda", "publiek", "regio:Rijnmond"])
def test_the_audit_trail_is_landelijk_only(env: dict[str, Any], scope: str) -> None:
    assert_problem(get(env, "/v1/audit", scope), 403)
    assert_problem(get(env, "/v1/audit?pseudonym=xyz", "landelijk"), 400)


def test_own_part_matches_by_display_name() -> None:
    kept = own_part(
        [
            {
                "event_type": "DeelnemerIngeschreven",
                "partner": "Albeda",
                "traject_id": T_A,
                "afgewezen": False,
                "gegevens": {},
            }
        ],
        "mbo.albeda",
    )
    assert len(kept) == 1
    assert own_part([{"event_type": "X", "partner": None, "traject_id": None, "afgewezen": False}], "mbo.albeda") == []
