"""Person-level access over real read models: partner events -> validator (Kafka) -> projector
(PostgreSQL) -> API, with the audit trail in a real append-only table.

World: deelnemer P enrolled at Albeda (traject T1, with an aanmelding by a gemeente that carries `doelgroep`);
ROC TOP published only an advies for P (which used to unlock P's whole timeline) and enrolled Q (traject T2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from projections import queries
from registry.api.app import create_app
from registry.api.audit import AuditTable
from registry.demo import bouwer
from registry.infra import settings as settings_mod
from tests.support import validator as h
from tests.support.builders import ANDER, MBO, T1, Q, _canoniek, aanmelding, inschrijving, referentie_events
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.wereld import pijplijn, sleutels

T2 = "33333333-3333-4333-8333-333333333333"
T1_DATE = dt.date(2019, 1, 1)
SCOPES = ("landelijk", "instelling:mbo.albeda", "instelling:ROC TOP", "publiek")


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, database_url: str) -> Iterator[dict[str, Any]]:
    prefix, schema, _, v, eng, keystore = pijplijn(kafka_bootstrap, database_url, "p")
    keys = sleutels(keystore, SCOPES)
    ids = {str(k.scope): k.key_id for k in keystore.list()}
    s = replace(settings_mod.load(), kafka_bootstrap=kafka_bootstrap, database_url=database_url)
    app = create_app(s, queries=queries, engine=eng, keys=keystore, schema=schema)
    try:
        erkenning = (
            "ErkenningDerdeLeerwegVerleend",
            _canoniek("ErkenningDerdeLeerwegVerleend", "duo", bouwer.erkenning(ANDER, "25250", T1_DATE), None),
        )
        h.publish(kafka_bootstrap, prefix, referentie_events() + [erkenning])
        h.drain(v)
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                ("KandidaatAangemeld", aanmelding()),
                (
                    "AdviesUitgebracht",
                    _canoniek(
                        "AdviesUitgebracht",
                        ANDER,
                        bouwer.advies(ANDER, "praktijkverklaring", "geen_inschrijving_geen_startkwalificatie"),
                    ),
                ),
                ("DeelnemerIngeschreven", inschrijving()),
                (
                    "DeelnemerIngeschreven",
                    inschrijving(deelnemer=Q, traject_id=T2, mbo_instelling=ANDER, partner=ANDER),
                ),
            ],
        )
        h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)
        client = TestClient(app)
        yield {"client": client, "keys": keys, "ids": ids, "engine": eng, "audit": f"{keystore.table}_audit"}
    finally:
        v.close()
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table, f"{keystore.table}_audit"])


def _get(world: dict[str, Any], url: str, scope: str) -> Any:
    return world["client"].get(url, headers={"Authorization": f"Bearer {world['keys'][scope]}"})


def _pseudonym(world: dict[str, Any], traject: str) -> str:
    """The deelnemer as the read models know it (the validator may re-key partner pseudonyms)."""
    resp = _get(world, f"/v1/trajecten/{traject}", "landelijk")
    assert resp.status_code == 200, resp.text
    deelnemer: str = resp.json()["deelnemer"]
    return deelnemer


def test_an_advies_does_not_unlock_a_timeline(world: dict[str, Any]) -> None:
    p = _pseudonym(world, T1)
    assert _get(world, f"/v1/deelnemers/{p}/tijdlijn", "instelling:ROC TOP").status_code == 403  # advies only
    assert _get(world, f"/v1/trajecten/{T1}", "instelling:ROC TOP").status_code == 403
    assert _get(world, f"/v1/trajecten/{T2}", "instelling:ROC TOP").status_code == 200


def test_the_enrolling_instelling_sees_its_own_part(world: dict[str, Any]) -> None:
    p = _pseudonym(world, T1)
    full = _get(world, f"/v1/deelnemers/{p}/tijdlijn", "landelijk").json()
    assert {e["event_type"] for e in full} >= {"KandidaatAangemeld", "AdviesUitgebracht", "DeelnemerIngeschreven"}
    assert "doelgroep" in str(full)
    own = _get(world, f"/v1/deelnemers/{p}/tijdlijn", "instelling:mbo.albeda")
    assert own.status_code == 200, own.text
    body = own.json()
    assert [e["event_type"] for e in body] == ["DeelnemerIngeschreven"]
    assert all(e["partner"] == MBO for e in body) and "doelgroep" not in own.text and ANDER not in own.text


def test_every_person_level_read_is_in_the_append_only_audit_table(world: dict[str, Any]) -> None:
    p = _pseudonym(world, T1)
    _get(world, f"/v1/deelnemers/{p}/tijdlijn", "instelling:ROC TOP")
    _get(world, f"/v1/deelnemers/{p}/tijdlijn", "instelling:mbo.albeda")
    rows = _get(world, f"/v1/audit?pseudonym={p}", "landelijk").json()
    seen = [(r["key_id"], r["endpoint"], r["status"]) for r in rows[:2]]
    assert (world["ids"]["instelling:mbo.albeda"], "/v1/deelnemers/{pseudonym}/tijdlijn", 200) == seen[0]
    assert (world["ids"]["instelling:mbo.roc-top"], "/v1/deelnemers/{pseudonym}/tijdlijn", 403) == seen[1]
    assert any(r["endpoint"] == "/v1/trajecten/{traject_id}" and r["pseudonym"] == p for r in rows)
    assert _get(world, "/v1/audit", "instelling:mbo.albeda").status_code == 403
    with world["engine"].connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {world['audit']} WHERE pseudonym = :p"), {"p": p}).scalar_one()
    assert n == len(rows) and n >= 3
    for stmt in (
        f"UPDATE {world['audit']} SET status = 200",
        f"DELETE FROM {world['audit']}",
        f"TRUNCATE {world['audit']}",
    ):
        with pytest.raises(DBAPIError, match="append-only"), world["engine"].begin() as conn:
            conn.execute(text(stmt))
    assert AuditTable(world["engine"], world["audit"]).entries(pseudonym=p)[0].status == 200
