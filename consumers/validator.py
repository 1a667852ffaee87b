"""The ingress validator: partners' submissions -> one canonical, trustworthy log.

Per poll batch, in ONE Kafka transaction: decode, judge (registry.regels), append
accepted events to ``<prefix>.events``, refusals to ``.rejections``, undecodable
bytes to ``.deadletter``, and commit the ingress offsets (send_offsets_to_transaction).

State (registry.staat) is a fold over the canonical log. It is persisted to
PostgreSQL after each committed transaction together with the canonical offsets it
covers. A crash between the Kafka commit and the database commit is repaired at
start-up: ``init_transactions`` first settles any transaction of a previous
incarnation, then the state rolls forward by reading the canonical log from the
stored offsets to its end. A crash before the Kafka commit aborts the transaction,
so those submissions are consumed again.

Parking (registry.domein.parkeren): a submission refused only for want of an event that may still
come is parked instead: a ``geparkeerd`` record on ``<prefix>.parked`` in the SAME transaction as the
ingress offsets. When an accepted event satisfies a key, every event parked on it is judged again (in
arrival order; chains resolve in the same batch) and its ``opgelost`` marker is written in the same
transaction as its acceptance or refusal. On start the parked set is the fold of the parked topic
(read_committed), so a SIGKILL at any moment neither loses nor releases anything twice. An event parked
longer than ``park_timeout`` (validator clock = recorded_at) is refused with its reason, also when idle.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
import signal
from dataclasses import dataclass
from typing import Any, Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.structs import OffsetAndMetadata
from prometheus_client import Counter, Gauge
from sqlalchemy import Engine, text

from registry.infra import codec
from registry.domein import events
from registry.infra.codec import DecodeError
from registry.domein import parkeren
from registry.domein.parkeren import Geparkeerd, Parkeerplaats, beslis, vervult
from registry.domein.regels import Besluit
from registry.domein.staat import Staat, entity_json, load_entity, pas_toe
from registry.infra import topics as topics_mod
from registry.infra.topics import Topics, batches_to_end, caught_up

log = logging.getLogger("praktijkregister.validator")

UITKOMSTEN = Counter("praktijk_validator_submissions_total", "Ingress submissions by outcome",
                     ["uitkomst"])  # geaccepteerd | geweigerd | deadletter | duplicaat
WEIGERINGEN = Counter("praktijk_validator_rejections_total", "Refused submissions by reason code", ["reden"])
WAARSCHUWINGEN = Counter("praktijk_validator_warnings_total", "Accepted events with a warning", ["warning"])
GEPARKEERD = Gauge("praktijk_parked_events", "Submissions parked waiting for a dependency, by reason code", ["reden"])
PARKEERACTIES = Counter("praktijk_validator_parking_total", "Parkings, re-parkings and releases",
                        ["actie"])  # geparkeerd | vrijgegeven | verlopen


@dataclass(frozen=True)
class ValidatorConfig:
    bootstrap: list[str]
    database_url: str
    group: str = "praktijkregister-validator"
    prefix: str = "praktijkleren"
    schema: str = "validator"
    max_poll_records: int = 2000
    park_timeout: dt.timedelta = parkeren.DEFAULT_TIMEOUT


class StateStore:
    """The validator's state in PostgreSQL: one JSON row per entity, plus canonical offsets."""

    def __init__(self, engine: Engine, schema: str) -> None:
        self.engine, self.schema = engine, schema

    def ensure(self) -> None:
        with self.engine.begin() as c:
            c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            c.execute(text(f'CREATE TABLE IF NOT EXISTS "{self.schema}".entiteit '
                           "(soort text NOT NULL, id text NOT NULL, data jsonb, PRIMARY KEY (soort, id))"))
            c.execute(text(f'CREATE TABLE IF NOT EXISTS "{self.schema}".canoniek_offset '
                           "(partitie int PRIMARY KEY, volgende bigint NOT NULL)"))

    def load(self) -> tuple[Staat, dict[int, int]]:
        staat = Staat()
        with self.engine.connect() as c:
            for soort, key, data in c.execute(text(f'SELECT soort, id, data FROM "{self.schema}".entiteit')):
                load_entity(staat, soort, key, data)
            offsets = {p: o for p, o in c.execute(text(f'SELECT partitie, volgende FROM "{self.schema}".canoniek_offset'))}
        return staat, offsets

    def save(self, staat: Staat, offsets: dict[int, int]) -> None:
        rows = [{"s": k, "i": i, "d": _json(entity_json(staat, k, i))} for k, i in staat.dirty]
        with self.engine.begin() as c:
            if rows:
                c.execute(text(f'INSERT INTO "{self.schema}".entiteit (soort, id, data) VALUES (:s, :i, CAST(:d AS jsonb)) '
                               "ON CONFLICT (soort, id) DO UPDATE SET data = EXCLUDED.data"), rows)
            if offsets:
                c.execute(text(f'INSERT INTO "{self.schema}".canoniek_offset (partitie, volgende) VALUES (:p, :o) '
                               "ON CONFLICT (partitie) DO UPDATE SET volgende = GREATEST(canoniek_offset.volgende, EXCLUDED.volgende)"),
                          [{"p": p, "o": o} for p, o in offsets.items()])
        staat.dirty.clear()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class Validator:
    def __init__(self, config: ValidatorConfig, engine: Engine, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.config = config
        self.topics = Topics(config.prefix)
        self.store = StateStore(engine, config.schema)
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.staat = Staat()
        self.offsets: dict[int, int] = {}
        self.plaats = Parkeerplaats()
        self.producer: KafkaProducer | None = None
        self.consumer: KafkaConsumer | None = None
        self.stopping = False

    # ---- start-up: settle, roll forward, subscribe -------------------------------------------
    def start(self) -> None:
        self.producer = KafkaProducer(
            bootstrap_servers=self.config.bootstrap, transactional_id=f"{self.config.group}-0",
            acks="all", enable_idempotence=True, linger_ms=5, batch_size=512 * 1024,
            client_id=f"{self.config.group}-producer",
        )
        self.producer.init_transactions()  # fences and settles a previous incarnation's transaction
        self.store.ensure()
        self.staat, self.offsets = self.store.load()
        n = self.roll_forward()
        log.info("state loaded; rolled forward %d canonical event(s)", n)
        self.load_parked()
        log.info("%d parked submission(s) waiting", len(self.plaats))
        self.consumer = KafkaConsumer(
            bootstrap_servers=self.config.bootstrap, group_id=self.config.group, enable_auto_commit=False,
            isolation_level="read_committed", auto_offset_reset="earliest", max_poll_records=self.config.max_poll_records,
            # range assignment keeps partition i of every co-partitioned ingress topic on one instance
            partition_assignment_strategy=[RangePartitionAssignor], metadata_max_age_ms=3000,
            fetch_max_bytes=32 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024,
            client_id=f"{self.config.group}-consumer",
        )
        self.consumer.subscribe(pattern=self.topics.ingress_pattern)

    def roll_forward(self) -> int:
        """Apply canonical events the stored state does not cover yet (idempotent on event_id)."""
        reader = KafkaConsumer(bootstrap_servers=self.config.bootstrap, group_id=None, enable_auto_commit=False,
                               isolation_level="read_committed", max_poll_records=5000)
        parts = reader.partitions_for_topic(self.topics.events) or set()
        tps = [TopicPartition(self.topics.events, p) for p in sorted(parts)]
        applied = 0
        if tps:
            reader.assign(tps)
            for tp in tps:
                reader.seek(tp, self.offsets.get(tp.partition, 0))
            for tp, records in batches_to_end(reader, tps):
                for rec in records:
                    event_type, record = codec.decode(rec.value)
                    pas_toe(self.staat, event_type, record)
                    applied += 1
                self.offsets[tp.partition] = records[-1].offset + 1
            for tp in tps:  # past trailing transaction markers too
                self.offsets[tp.partition] = max(self.offsets.get(tp.partition, 0), reader.position(tp))
        reader.close()
        self.store.save(self.staat, self.offsets)
        return applied

    def load_parked(self) -> None:
        """The parked set: the fold of the parked topic (created like the others if missing)."""
        reader = KafkaConsumer(bootstrap_servers=self.config.bootstrap, group_id=None, enable_auto_commit=False,
                               isolation_level="read_committed", max_poll_records=5000)
        try:
            if not reader.partitions_for_topic(self.topics.parked):
                partitions = len(reader.partitions_for_topic(self.topics.events) or ()) or 6
                topics_mod.create(self.config.bootstrap, partitions, [], self.topics.prefix)
            parts = reader.partitions_for_topic(self.topics.parked) or set()
            tps = [TopicPartition(self.topics.parked, p) for p in sorted(parts)]
            plaats = Parkeerplaats()
            if tps:
                reader.assign(tps)
                reader.seek_to_beginning(*tps)
                for _tp, records in batches_to_end(reader, tps):
                    for rec in records:
                        plaats.vouw(json.loads(rec.value))
        finally:
            reader.close()
        for g in list(plaats.entries.values()):
            _, record = codec.decode(g.waarde)
            plaats.zet(dataclasses.replace(g, record=record))
        self.plaats = plaats
        self._gauge()

    # ---- the loop ------------------------------------------------------------------------------
    def run(self, idle_exit_after: float | None = None) -> None:
        """Validate until SIGTERM/SIGINT (or, with ``idle_exit_after``, until idle that long)."""
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        idle_since = self.clock()
        while not self.stopping:
            n = self.run_once()
            if n or not self.caught_up():
                idle_since = self.clock()
            elif idle_exit_after is not None and (self.clock() - idle_since).total_seconds() >= idle_exit_after:
                break
        self.close()

    def run_once(self, timeout_ms: int = 500) -> int:
        assert self.consumer is not None and self.producer is not None
        batch = self.consumer.poll(timeout_ms=timeout_ms)
        now = self.clock()
        verlopen = self.plaats.verlopen(now, self.config.park_timeout)
        if not batch and not verlopen:
            return 0
        producer = self.producer
        producer.begin_transaction()
        futures: list[Any] = []
        offsets = {}
        n = 0
        if verlopen:
            futures += self._verloop(now)
        for tp, records in batch.items():
            partner = self.topics.partner_of(tp.topic)
            for rec in records:
                futures += self._handle(rec, partner, now)
                n += 1
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        if offsets:
            producer.send_offsets_to_transaction(offsets, self.consumer.group_metadata())
        producer.commit_transaction()
        self._gauge()
        for f in futures:
            md = f.get()
            self.offsets[md.partition] = max(self.offsets.get(md.partition, 0), md.offset + 1)
        self.store.save(self.staat, self.offsets)
        return n

    def _handle(self, rec: Any, partner: str, now: dt.datetime) -> list[Any]:
        assert self.producer is not None
        try:
            event_type, record = codec.decode(rec.value)
        except DecodeError as exc:
            UITKOMSTEN.labels("deadletter").inc()
            self.producer.send(self.topics.deadletter, key=rec.key, value=_deadletter(rec, str(exc), now))
            return []
        if record.get("event_id") in self.staat.event_ids or record.get("event_id") in self.plaats:
            UITKOMSTEN.labels("duplicaat").inc()  # a resubmission (of an accepted or a parked event): silent no-op
            return []
        nieuw = Geparkeerd(str(record["event_id"]), event_type, partner, record.get("deelnemer"), self.plaats.volgende,
                           (), "", "", now, rec.value, rec.key, _bron(rec), record)
        return self._judge(nieuw, now, parked=False)

    def _judge(self, g: Geparkeerd, now: dt.datetime, parked: bool) -> list[Any]:
        """Judge a new arrival or a released parked event (``parked``); release what its acceptance satisfies."""
        assert self.producer is not None and g.record is not None
        futures: list[Any] = []
        queue: list[str] = []
        uitkomst = beslis(self.staat, self.plaats, g.event_type, g.record, g.partner, now,
                          g.volgorde if parked else None)
        b = uitkomst.besluit
        if uitkomst.soort == "parkeer":
            herparkeerd = dataclasses.replace(g, wacht_op=uitkomst.wacht_op, reden=b.reden or "", melding=b.melding)
            if not parked or herparkeerd.wacht_op != g.wacht_op or herparkeerd.reden != g.reden:
                self.producer.send(self.topics.parked, key=g.key, value=_j(herparkeerd.to_json()))
            if not parked:
                UITKOMSTEN.labels("geparkeerd").inc()
                PARKEERACTIES.labels("geparkeerd").inc()
            self.plaats.zet(herparkeerd)
            return futures
        if parked:
            uit = "geaccepteerd" if uitkomst.soort == "accepteer" else "geweigerd"
            self.producer.send(self.topics.parked, key=g.key, value=_j(parkeren.opgelost(g, uit, b.reden, now)))
            self.plaats.verwijder(g.event_id, uit)
            PARKEERACTIES.labels("vrijgegeven").inc()
            queue.append(f"na:{g.event_id}")
        if uitkomst.soort == "weiger":
            futures += self._refuse(g, b, now)
        else:
            futures += self._accept(g, b, now)
            queue += sorted(vervult(g.event_type, g.record))
        for key in queue:
            futures += self._release(key, now)
        return futures

    def _release(self, key: str, now: dt.datetime) -> list[Any]:
        futures: list[Any] = []
        for g in self.plaats.wachtend_op(key):
            if g.event_id in self.plaats and key in self.plaats.entries[g.event_id].wacht_op:
                futures += self._judge(self.plaats.entries[g.event_id], now, parked=True)
        return futures

    def _verloop(self, now: dt.datetime) -> list[Any]:
        """Refuse, with their reason, the events parked longer than the time-out (oldest first)."""
        assert self.producer is not None
        futures: list[Any] = []
        while True:
            verlopen = self.plaats.verlopen(now, self.config.park_timeout)
            if not verlopen:
                return futures
            g = verlopen[0]
            b = Besluit(g.reden, f"still waiting for {', '.join(g.wacht_op)} after {self.config.park_timeout}: {g.melding}")
            self.producer.send(self.topics.parked, key=g.key, value=_j(parkeren.opgelost(g, "geweigerd", g.reden, now)))
            self.plaats.verwijder(g.event_id, "geweigerd")
            PARKEERACTIES.labels("verlopen").inc()
            futures += self._refuse(g, b, now)
            futures += self._release(f"na:{g.event_id}", now)

    def _refuse(self, g: Geparkeerd, b: Besluit, now: dt.datetime) -> list[Any]:
        assert self.producer is not None and g.record is not None
        UITKOMSTEN.labels("geweigerd").inc()
        WEIGERINGEN.labels(b.reden or "").inc()
        self.producer.send(self.topics.rejections, key=g.partner.encode(),
                           value=_rejection(g.event_type, g.record, g.partner, b, g.bron, now))
        return []

    def _accept(self, g: Geparkeerd, b: Besluit, now: dt.datetime) -> list[Any]:
        assert self.producer is not None and g.record is not None
        canonical = dict(g.record, recorded_at=now, warnings=list(b.warnings))
        if b.volgnummer is not None:
            canonical["volgnummer"] = b.volgnummer
        for w in b.warnings:
            WAARSCHUWINGEN.labels(w).inc()
        UITKOMSTEN.labels("geaccepteerd").inc()
        pas_toe(self.staat, g.event_type, canonical)
        return [self.producer.send(self.topics.events, key=events.key(g.event_type, canonical),
                                   value=codec.encode(g.event_type, canonical))]

    def _gauge(self) -> None:
        per_reden: dict[str, int] = {}
        for (_partner, reden), n in self.plaats.tellingen().items():
            per_reden[reden] = per_reden.get(reden, 0) + n
        GEPARKEERD.clear()
        for reden, n in per_reden.items():
            GEPARKEERD.labels(reden).set(n)

    def drain(self, idle_polls: int = 2) -> int:
        """Validate until caught up with every assigned ingress partition (demo, tests, bench)."""
        total, idle = 0, 0
        while idle < idle_polls:
            n = self.run_once(timeout_ms=300)
            total += n
            idle = 0 if n else (idle + 1 if self.caught_up() else 0)
        return total

    def caught_up(self) -> bool:
        """True once partitions are assigned and every one is read to its end."""
        assert self.consumer is not None
        assigned = list(self.consumer.assignment())
        return bool(assigned) and caught_up(self.consumer, assigned)

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
        if self.producer is not None:
            self.producer.close()


def _bron(rec: Any) -> dict[str, Any]:
    return {"topic": rec.topic, "partition": rec.partition, "offset": rec.offset}


def _j(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def _rejection(event_type: str, r: Any, partner: str, b: Besluit, bron: Any, now: dt.datetime) -> bytes:
    return json.dumps({
        "event_id": r.get("event_id"), "event_type": event_type, "partner": partner,
        "deelnemer": r.get("deelnemer"), "traject_id": r.get("traject_id"), "reden": b.reden, "melding": b.melding,
        "herstelbaar": b.herstelbaar, "recorded_at": now.isoformat(), "bron": dict(bron),
    }).encode()


def _deadletter(rec: Any, error: str, now: dt.datetime) -> bytes:
    return json.dumps({
        "fout": error, "recorded_at": now.isoformat(), "bron": _bron(rec),
        "waarde_base64": base64.b64encode(rec.value or b"").decode(),
    }).encode()
