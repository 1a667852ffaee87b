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
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import Engine, text

from registry.infra.kafka import client_config
from projections import reconciliatie as sql
from projections import store
from registry.domein import events
from registry.domein.reconciliatie import EVENT_TYPE, PilotRij, event
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import codec, topics
from registry.infra import settings

log = logging.getLogger("praktijkregister.reconciler")

GROUP = "praktijkregister-reconciler"


def window_days() -> int:
    """PRAKTIJK_RECONCILE_WINDOW_DAYS (default 31): how far a telling's peildatum may lie from D."""
    return settings.load().reconcile_window_days


def reconcile(engine: Engine, schema: str, peildatum: dt.date, pilot: str | None = None, *,
              venster_dagen: int | None = None, personen: bool = False) -> list[PilotRij]:
    """Every pilot's reconciliation at ``peildatum`` (or only ``pilot``), from the read models."""
    with engine.connect() as conn:
        return sql.rijen(conn, schema, peildatum, pilot, personen=personen,
                         venster_dagen=window_days() if venster_dagen is None else venster_dagen)


def publish_results(producer: KafkaProducer, rows: Sequence[PilotRij], *, topic: str = topics.DEFAULT.events,
                    cat: codec.Catalogue | None = None, now: Callable[[], dt.datetime] | None = None
                    ) -> list[dict[str, Any]]:
    """Append one ReconciliatieUitgevoerd per row to the canonical topic; returns the records sent."""
    at = (now or (lambda: dt.datetime.now(dt.timezone.utc)))()
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)  # timestamp-millis: what a reader gets back
    sent = [event(r, occurred_at=at) for r in rows]
    for record in sent:
        producer.send(topic, key=record["pilot"].encode(), value=codec.encode(EVENT_TYPE, record, cat))
    producer.flush()
    return sent


def telling_stored(engine: Engine, schema: str, event_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(text(store.sql("SELECT EXISTS (SELECT 1 FROM {s}.tellingen WHERE event_id = :e)", schema)),
                            {"e": event_id}).scalar_one() is True


@dataclass
class FollowConfig:
    bootstrap: str | list[str]
    schema: str = DEFAULT_READ_SCHEMA
    topic: str = topics.DEFAULT.events
    group: str = GROUP
    from_beginning: bool = False  # a new group starts at the end: old tellingen were reconciled already
    wait_s: float = 30.0  # how long to wait for the projector to store a telling
    poll_ms: int = 500


def follow(engine: Engine, config: FollowConfig, *, stop: threading.Event | None = None,
           producer: KafkaProducer | None = None, cat: codec.Catalogue | None = None,
           on_result: Callable[[list[dict[str, Any]]], None] | None = None) -> int:
    """Re-run a pilot's reconciliation for every new TellingGemeld until ``stop`` is set; returns the runs."""
    stop = stop or threading.Event()
    consumer = KafkaConsumer(config.topic, **client_config(config.bootstrap), group_id=config.group,
                             enable_auto_commit=False, isolation_level="read_committed",
                             auto_offset_reset="earliest" if config.from_beginning else "latest",
                             client_id=f"{config.group}-consumer")
    own = producer is None
    producer = producer or KafkaProducer(**client_config(config.bootstrap), acks="all")
    runs = 0
    try:
        while not stop.is_set():
            batch = consumer.poll(timeout_ms=config.poll_ms)
            for records in batch.values():
                for rec in records:
                    runs += _on_record(engine, config, producer, rec.value, stop, cat, on_result)
            if batch:
                consumer.commit()  # at least once: a re-run after a crash only appends another result
    finally:
        consumer.close()
        if own:
            producer.close()
    return runs


def _on_record(engine: Engine, config: FollowConfig, producer: KafkaProducer, value: bytes | None,
               stop: threading.Event, cat: codec.Catalogue | None,
               on_result: Callable[[list[dict[str, Any]]], None] | None) -> int:
    if value is None:
        return 0
    try:
        event_type, record = codec.decode(value, cat)
    except codec.DecodeError as exc:
        log.warning("skipping undecodable record: %s", exc)
        return 0
    if event_type != events.TELLING:
        return 0
    deadline = time.monotonic() + config.wait_s
    while not telling_stored(engine, config.schema, str(record["event_id"])):
        if stop.is_set() or time.monotonic() > deadline:
            log.warning("telling %s not projected within %.0fs; skipped", record["event_id"], config.wait_s)
            return 0
        time.sleep(0.2)
    rows = reconcile(engine, config.schema, record["peildatum"], record["pilot"])
    sent = publish_results(producer, rows, topic=config.topic, cat=cat)
    if on_result:
        on_result(sent)
    return 1
