"""The ``reconciliaties`` read model over the real broker and PostgreSQL: ``reconcile`` answers from the
read models, ``publish_results`` appends ReconciliatieUitgevoerd to the canonical topic, the real projector stores
every run, and the queries read back the history and the latest result per pilot and peildatum."""

from __future__ import annotations

import datetime as dt

from kafka import KafkaProducer
from sqlalchemy import Engine

from consumers import reconciler
from projections.queries.reconciliatie import laatste_reconciliaties, uitgevoerde_reconciliaties
from registry.infra import topics
from registry.infra.kafka import client_config
from tests.integration.test_reconciliatie import engine, schema  # noqa: F401  (fixtures)
from tests.support import reconciliatie_data as data
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.reconciliatie_data import Log, pseudo

D = dt.date(2020, 11, 30)
P = "groningen"
A, B, C, E, F = (pseudo(x) for x in "ABCEF")
UTC = dt.UTC
EERSTE, TWEEDE, DERDE = (dt.datetime(2020, 12, 1, 9, n, tzinfo=UTC) for n in (0, 30, 45))


def test_the_projector_keeps_every_run_and_the_latest_per_pilot_and_peildatum(
    engine: Engine, schema: str, kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    prefix, gelezen = f"t{unique}r", f"t{unique}r_read"
    topics.create([kafka_bootstrap], 1, [], prefix)
    log = Log()
    for i, d in enumerate((A, B)):
        log.inschrijving(d, P, D - dt.timedelta(days=100 + i))
    log.inschrijving(C, "drenthe", D - dt.timedelta(days=90))
    log.telling("monitor", "monitor", P, D, 3, [(A, "in_traject"), (E, "in_traject"), (E, "in_traject")])
    producer = KafkaProducer(**client_config(kafka_bootstrap), acks="all")
    try:
        with engine.begin() as conn:
            data.apply(conn, schema, log.events)
        eerste = reconciler.publish_results(
            producer,
            reconciler.reconcile(engine, schema, D, venster_dagen=31),
            topic=topics.Topics(prefix).events,
            now=lambda: EERSTE,
        )
        # a school's list arrives: groningen is run again at D (F in traject at an mbo: one more reconciled)
        extra = Log("mbo").telling(
            "mbo.albeda", "mbo", P, D, 3, [(A, "in_traject"), (B, "in_traject"), (F, "in_traject")]
        )
        with engine.begin() as conn:
            data.apply(conn, schema, [("TellingGemeld", extra)])
        tweede = reconciler.publish_results(
            producer,
            reconciler.reconcile(engine, schema, D, P, venster_dagen=31),
            topic=topics.Topics(prefix).events,
            now=lambda: TWEEDE,
        )
        # a later run at another peildatum is not the latest at D
        derde = reconciler.publish_results(
            producer,
            reconciler.reconcile(engine, schema, D + dt.timedelta(days=1), P, venster_dagen=31),
            topic=topics.Topics(prefix).events,
            now=lambda: DERDE,
        )
        assert [r["pilot"] for r in eerste] == ["drenthe", P] and [r["pilot"] for r in tweede + derde] == [P, P]
        assert [(r["register"], r["gereconcilieerd"]) for r in eerste[1:] + tweede] == [(2, 2), (2, 3)]

        project_once(kafka_bootstrap, database_url, prefix, gelezen)
        with engine.connect() as c:
            conn = c.execution_options(praktijk_schema=gelezen)
            historie = uitgevoerde_reconciliaties(conn, P, D)
            laatste = laatste_reconciliaties(conn, D)
            laatste_p = laatste_reconciliaties(conn, D, P)
            volgende_dag = laatste_reconciliaties(conn, D + dt.timedelta(days=1))
    finally:
        producer.close()
        ruim_op(engine, kafka_bootstrap, prefix, gelezen)

    assert [(r["event_id"], r["uitgevoerd_op"], r["register"], r["gereconcilieerd"]) for r in historie] == [
        (eerste[1]["event_id"], EERSTE, 2, 2),
        (tweede[0]["event_id"], TWEEDE, 2, 3),
    ]
    assert [b["partner"] for b in historie[0]["bronnen"]] == ["monitor"]
    assert [(b["partner"], b["gemeld"], b["niet_geregistreerd"]) for b in historie[1]["bronnen"]] == [
        ("mbo.albeda", 3, 1),
        ("monitor", 3, 1),
    ]
    assert [(r["pilot"], r["event_id"]) for r in laatste] == [
        ("drenthe", eerste[0]["event_id"]),
        (P, tweede[0]["event_id"]),
    ]
    assert laatste[0]["register"] == 1 and laatste[0]["bronnen"] == [] and laatste[1]["gereconcilieerd"] == 3
    assert laatste_p == laatste[1:]
    assert [(r["pilot"], r["event_id"], r["peildatum"]) for r in volgende_dag] == [
        (P, derde[0]["event_id"], D + dt.timedelta(days=1))
    ]
