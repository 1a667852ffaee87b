"""The reconciler: compares the register with the partners' tellingen and records each run.

* ``reconcile`` answers from the read models (projections/reconciliatie, one SQL statement);
* ``publish_results`` appends one ReconciliatieUitgevoerd per pilot to the canonical events topic
  (key = pilot, like TellingGemeld, so a pilot's tellingen and results share a partition);
* ``follow`` consumes the canonical topic and, for every new TellingGemeld, waits until the
  projector has stored it in ``tellingen`` and re-runs that pilot at the telling's peildatum.

The run is a registry fact, not a partner's: it bypasses the ingress validation on purpose.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from consumers import groep
from consumers.watchdog import EXIT_TRANSACTIE_HANGT, TRANSACTIE_HANGT_S, TRANSACTIE_REQUEST_TIMEOUT_MS, watchdog
from projections import reconciliatie as sql
from projections import store
from registry.domein import events
from registry.domein.reconciliatie import EVENT_TYPE, PilotRij, event
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import codec, metrics, topics
from registry.infra.kafka import TRANSACTIE_RETRY_BACKOFF_MS, client_config, einde_flush

log = logging.getLogger("praktijkregister.reconciler")

GROUP = "praktijkregister-reconciler"


# how far a telling's peildatum may lie from D (PRAKTIJK_RECONCILE_WINDOW_DAYS; the settings' default)
WINDOW_DAYS = 31


def reconcile(
    engine: Engine,
    schema: str,
    peildatum: dt.date,
    pilot: str | None = None,
    *,
    venster_dagen: int = WINDOW_DAYS,
    personen: bool = False,
) -> list[PilotRij]:
    """Every pilot's reconciliation at ``peildatum`` (or only ``pilot``), from the read models."""
    with engine.connect() as conn:
        return sql.rijen(
            conn,
            schema,
            peildatum,
            pilot,
            personen=personen,
            venster_dagen=venster_dagen,
        )


def publish_results(
    producer: KafkaProducer,
    rows: Sequence[PilotRij],
    *,
    topic: str = topics.DEFAULT.events,
    cat: codec.Catalogue | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> list[dict[str, Any]]:
    """Append one ReconciliatieUitgevoerd per row to the canonical topic; returns the records sent."""
    at = (now or (lambda: dt.datetime.now(dt.UTC)))()
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)  # timestamp-millis: what a reader gets back
    sent = [event(r, occurred_at=at) for r in rows]
    for record in sent:
        producer.send(topic, key=record["pilot"].encode(), value=codec.encode(EVENT_TYPE, record, cat))
    producer.flush()
    return sent


def telling_stored(engine: Engine, schema: str, event_id: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(
                text(store.sql("SELECT EXISTS (SELECT 1 FROM {s}.tellingen WHERE event_id = :e)", schema)),
                {"e": event_id},
            ).scalar_one()
            is True
        )


@dataclass
class FollowConfig:
    bootstrap: str | list[str]
    schema: str = DEFAULT_READ_SCHEMA
    topic: str = topics.DEFAULT.events
    group: str = GROUP
    from_beginning: bool = False  # a new group starts at the end: old tellingen were reconciled already
    wait_s: float = 30.0  # how long to wait for the projector to store a telling
    poll_ms: int = 500
    instance: int = 0  # several followers share the partitions (one group); each has its own transactional id
    venster_dagen: int = WINDOW_DAYS  # PRAKTIJK_RECONCILE_WINDOW_DAYS


def follow(
    engine: Engine,
    config: FollowConfig,
    *,
    stop: threading.Event | None = None,
    producer: KafkaProducer | None = None,
    cat: codec.Catalogue | None = None,
    on_result: Callable[[list[dict[str, Any]]], None] | None = None,
) -> int:
    """Re-run a pilot's reconciliation for every new TellingGemeld until ``stop`` is set; returns the runs.

    Several followers (``config.instance`` 0, 1, ...) share the partitions as one consumer group; each telling is
    handled once (``_batch``). A ``producer`` passed in must be transactional, with ``init_transactions`` done."""
    stop = stop or threading.Event()
    consumer = KafkaConsumer(
        config.topic,
        **client_config(config.bootstrap),
        group_id=config.group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest" if config.from_beginning else "latest",
        session_timeout_ms=10_000,
        client_id=f"{config.group}-consumer-{config.instance}",
    )
    own = producer is None
    if producer is None:
        producer = KafkaProducer(
            **client_config(config.bootstrap),
            acks="all",
            enable_idempotence=True,
            transactional_id=f"{config.group}-{config.instance}",
            request_timeout_ms=TRANSACTIE_REQUEST_TIMEOUT_MS,
            retry_backoff_ms=TRANSACTIE_RETRY_BACKOFF_MS,
        )
        producer.init_transactions()  # fences a previous incarnation of this instance
    seed_gauges(engine, config.schema, config.venster_dagen)
    runs = 0
    try:
        while not stop.is_set():
            batch = groep.poll(consumer, config.poll_ms)
            if batch:
                runs += _batch(engine, config, consumer, producer, batch, stop, cat, on_result)
    finally:
        consumer.close()
        if own:
            producer.close()
    return runs


def _batch(
    engine: Engine,
    config: FollowConfig,
    consumer: KafkaConsumer,
    producer: KafkaProducer,
    batch: Mapping[TopicPartition, Sequence[Any]],
    stop: threading.Event,
    cat: codec.Catalogue | None,
    on_result: Callable[[list[dict[str, Any]]], None] | None,
) -> int:
    """Exactly once per telling: its results and the group's offset up to it commit in ONE Kafka transaction.

    Several followers form one consumer group, so each partition (each pilot) has one owner. A follower that lost
    its partitions (a rebalance after a pause) cannot commit: the broker checks the group generation sent with the
    offsets (KIP-447) and its results are aborted; a killed one's open transaction is aborted and the new owner
    starts from the last committed telling."""
    runs = 0
    offsets: dict[TopicPartition, OffsetAndMetadata] = {}
    producer.begin_transaction()
    for tp, records in batch.items():
        for rec in records:
            n = _on_record(engine, config, producer, rec.value, stop, cat, on_result)
            offsets[tp] = OffsetAndMetadata(rec.offset + 1, "", -1)
            if n:  # a telling: commit it with its results now (a transaction stays short)
                if not _commit(consumer, producer, offsets):
                    return runs
                runs += n
                offsets = {}
                producer.begin_transaction()
    _commit(consumer, producer, offsets)
    return runs


def _commit(consumer: KafkaConsumer, producer: KafkaProducer, offsets: dict[TopicPartition, OffsetAndMetadata]) -> bool:
    try:
        # as in the validator: a commit whose coordinator died can wait for ever in kafka-python; exit and restart
        with watchdog(TRANSACTIE_HANGT_S, EXIT_TRANSACTIE_HANGT):
            if offsets:
                producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
            producer.commit_transaction()
        einde_flush(producer)  # else linger_ms is ignored from the first commit on (registry/infra/kafka.py)
        return True
    except KafkaError as exc:  # fenced: the partitions belong to another follower now
        log.warning("reconciler: not committed (%s); another instance handles these tellings", type(exc).__name__)
        producer.abort_transaction()
        einde_flush(producer)
        return False


def _on_record(
    engine: Engine,
    config: FollowConfig,
    producer: KafkaProducer,
    value: bytes | None,
    stop: threading.Event,
    cat: codec.Catalogue | None,
    on_result: Callable[[list[dict[str, Any]]], None] | None,
) -> int:
    if value is None:
        return 0
    try:
        event_type, record = codec.decode(value, cat)
    except codec.DecodeError as exc:
        log.warning("skipping undecodable record (%s)", type(exc).__name__)  # its text may quote the record
        return 0
    if event_type != events.TELLING:
        return 0
    deadline = time.monotonic() + config.wait_s
    while not telling_stored(engine, config.schema, str(record["event_id"])):
        if stop.is_set() or time.monotonic() > deadline:
            log.warning("telling %s not projected within %.0fs; skipped", record["event_id"], config.wait_s)
            return 0
        time.sleep(0.2)
    started = time.perf_counter()
    rows = reconcile(engine, config.schema, record["peildatum"], record["pilot"], venster_dagen=config.venster_dagen)
    sent = publish_results(producer, rows, topic=config.topic, cat=cat)
    record_gauges(rows)
    metrics.BATCH_SECONDS.labels("reconciler").observe(time.perf_counter() - started)
    if on_result:
        on_result(sent)
    return 1


def record_gauges(rows: Sequence[PilotRij]) -> None:
    """``praktijk_reconciliation_difference{pilot,bron_type,categorie}`` (summed over a bron_type's sources) and
    ``praktijk_reconciliation_register{pilot}`` of each run (labels: pilot ids, never persons)."""
    for rij in rows:
        metrics.RECONCILIATION_REGISTER.labels(rij.pilot).set(rij.register)
        per_type: dict[tuple[str, str], int] = {}
        for bron in rij.bronnen:
            for categorie, n in bron.categorieen.items():
                per_type[(bron.bron_type, categorie)] = per_type.get((bron.bron_type, categorie), 0) + n
        for (bron_type, categorie), n in per_type.items():
            metrics.RECONCILIATION_DIFFERENCE.labels(rij.pilot, bron_type, categorie).set(n)


def seed_gauges(engine: Engine, schema: str, venster_dagen: int = WINDOW_DAYS) -> None:
    """At start, every pilot's reconciliation at the peildatum of its latest telling, so the gauges hold the
    current picture before the next telling arrives (nothing is published: those runs are on the log already)."""
    try:
        with engine.connect() as conn:
            latest = conn.execute(
                text(store.sql("SELECT pilot, max(peildatum) FROM {s}.tellingen GROUP BY pilot", schema))
            ).all()
    except DBAPIError as exc:  # no read models yet (the projector has not run): the first telling sets them
        log.info("no reconciliation gauges at start (%s)", type(exc).__name__)
        return
    for pilot, peildatum in latest:
        record_gauges(reconcile(engine, schema, peildatum, pilot, venster_dagen=venster_dagen))
