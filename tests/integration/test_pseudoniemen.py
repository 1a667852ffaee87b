"""Identifiers, over the real broker and database: partner pseudonyms are re-keyed by the validator before
anything reaches the canonical log, and an identifier that fails validation (a BSN in ``deelnemer`` written by a
hostile partner that writes Avro itself) appears nowhere: not in the rejections topics, the afwijzingen table nor
the validator's log."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from kafka import KafkaProducer
from sqlalchemy import text

from producers.sleutels import Pseudonymiser
from projections import store as read_store
from registry.domein import events, pseudoniemen
from registry.infra import codec, topics
from registry.infra.db import engine as make_engine
from registry.infra.kafka import client_config
from tests.support import validator as h
from tests.support.builders import MBO, aanmelding, inschrijving, referentie_events
from tests.support.projecteren import project_once
from tests.support.pseudoniemen import REGISTRY_KEY, canoniek

BSN = "111222333"  # elfproef-valid: what a hostile or careless partner puts in `deelnemer`


def test_partner_pseudonyms_never_reach_the_canonical_log_and_a_bsn_appears_nowhere(
    kafka_bootstrap: str, database_url: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    prefix, schema = f"t{unique}", f"t{unique}_read"
    t = h.make_topics(kafka_bootstrap, prefix)
    partner_side = Pseudonymiser(b"p" * 32)("123456782")  # what the partner's producer computes from a BSN
    caplog.set_level(logging.DEBUG)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        h.publish(kafka_bootstrap, prefix, referentie_events())
        h.drain(v)
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                ("KandidaatAangemeld", aanmelding() | {"deelnemer": partner_side}),
                ("DeelnemerIngeschreven", inschrijving(deelnemer=partner_side)),
            ],
        )
        h.drain(v)
        # a hostile partner writing Avro itself: a BSN in `deelnemer` (and one in a telling's list)
        hostile = KafkaProducer(**client_config([kafka_bootstrap]))
        bad = inschrijving(deelnemer=BSN, traject_id=str(uuid.uuid4()))
        hostile.send(
            t.ingress(MBO),
            key=events.key("DeelnemerIngeschreven", bad),
            value=codec.encode("DeelnemerIngeschreven", bad),
        )
        hostile.flush()
        hostile.close()
        h.drain(v)
    finally:
        v.close()

    canonical = h.canonical(kafka_bootstrap, t)
    person = [r for et, r in canonical if r.get("deelnemer")]
    assert {r["deelnemer"] for r in person} == {canoniek(partner_side)}
    assert canoniek(partner_side) == pseudoniemen.stap(REGISTRY_KEY[0], partner_side)  # HMAC(registry key, partner's)
    raw_log = b"".join(r.value + (r.key or b"") for r in h.read_topic(kafka_bootstrap, t.events))
    assert partner_side.encode() not in raw_log and BSN.encode() not in raw_log
    assert canoniek(partner_side).encode() in raw_log  # the record key (partitioning) is the registry pseudonym too

    refused = h.rejections(kafka_bootstrap, t)
    assert [r["reden"] for r in refused] == ["ongeldige_identificatie"]
    assert refused[0]["deelnemer"].startswith(pseudoniemen.ONGELDIG)
    for topic in (t.rejections, t.rejections_of(MBO), t.events, t.parked):
        for rec in topics.read_all([kafka_bootstrap], topic):
            assert BSN.encode() not in (rec.value or b"") + (rec.key or b""), topic
    # the registry's own logs (kafka-python's DEBUG lines dump the hostile producer's own bytes: not ours)
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("kafka")]
    assert ours and not [m for m in ours if BSN in m or partner_side in m]

    project_once(kafka_bootstrap, database_url, prefix, schema)
    eng = make_engine(database_url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(text(f'SELECT * FROM "{schema}".afwijzingen')).mappings().all()
            assert len(rows) == 1 and rows[0]["reden"] == "ongeldige_identificatie"
            assert BSN not in repr(dict(rows[0])) and str(rows[0]["deelnemer"]).startswith(pseudoniemen.ONGELDIG)
            cols = conn.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = :s "
                    "AND data_type IN ('text', 'character varying', 'jsonb')"
                ),
                {"s": schema},
            ).all()
            for table, column in cols:
                hits = conn.execute(
                    text(
                        f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text LIKE :b '
                        f'OR "{column}"::text LIKE :p'
                    ),
                    {"b": f"%{BSN}%", "p": f"%{partner_side}%"},
                ).scalar_one()
                assert hits == 0, (table, column)
    finally:
        with eng.begin() as conn:
            read_store.drop_schema(conn, schema)
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{prefix}_validator" CASCADE'))


def test_telling_lists_are_rekeyed_like_every_deelnemer(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    from tests.support.builders import ev

    prefix = f"t{unique}"
    from registry.demo.bouwer import telling as telling_payload

    t = h.make_topics(kafka_bootstrap, prefix, h.PARTNERS + ["monitor.rijnmond"])
    a, b = (Pseudonymiser(b"p" * 32)(x) for x in ("123456782", "111222333"))
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        h.publish(kafka_bootstrap, prefix, referentie_events())
        telling: dict[str, Any] = ev(
            "monitor.rijnmond",
            **telling_payload(
                "monitor", "rijnmond", inschrijving()["startdatum"], 2, None, [(a, "in_traject"), (b, "aangemeld")]
            ),
        )
        h.publish(kafka_bootstrap, prefix, [("TellingGemeld", telling)])
        h.drain(v)
    finally:
        v.close()
    tellingen = [r for et, r in h.canonical(kafka_bootstrap, t) if et == "TellingGemeld"]
    assert h.rejections(kafka_bootstrap, t) == [] and len(tellingen) == 1
    assert [d["deelnemer"] for d in tellingen[0]["deelnemers"]] == [canoniek(a), canoniek(b)]
