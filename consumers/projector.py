"""The projection runner: Kafka -> pure projections -> PostgreSQL, exactly-once in effect.

Per projection one consumer (its own group name, manual ``assign`` + ``seek``;
Kafka's committed offsets are never used). Each poll of up to ``batch_size``
records becomes ONE PostgreSQL transaction that

1. locks the projection's rows in ``projection_offsets`` and checks they still are
   what this process last wrote (another runner or a replay swap moved them? then
   roll back and seek to the stored offsets),
2. executes the projection's row changes (idempotent upserts),
3. stores the next offset per partition (and the recorded_at of the last event).

A crash anywhere loses and duplicates nothing: the rows and the offsets commit
together, and on start the runner seeks to the stored offsets.

Scale out (``RunnerConfig.groep``, ``project --group``): every runner of a projection
subscribes with the projection's consumer group, so each partition has one runner at
a time; a newly assigned partition is paused until it is sought to the offsets stored
with the rows, and a killed runner's partitions move to the others after the session
time-out. The check in step 1 (only the runner's own partitions, locked) keeps a
runner that lost a partition from writing over its new owner.

Decoding a poll into row changes is consumers/records.py (pure); rebuilding a
projection from offset 0 is consumers/replay.py. The command line is
``praktijkregister project|replay`` (registry/cli/projector.py).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from registry.infra.kafka import client_config
from consumers import groep
from consumers.records import Positions, changes_for, decode_poll
from projections import store
from projections.catalogus import select
from projections.model import Message, Projection, TopicKind, as_timestamp
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.domein import rotatie
from registry.infra import metrics, pseudoniem_rotatie, topics
from registry.infra.db import engine as make_engine

log = logging.getLogger("praktijkregister.projector")

ProgressFn = Callable[[int], None]


class _Moved(Exception):
    """The stored offsets differ from what this runner last wrote."""


@dataclass
class RunnerConfig:
    bootstrap: str | list[str]
    database_url: str
    schema: str = DEFAULT_READ_SCHEMA
    events_topic: str = topics.DEFAULT.events
    rejections_topic: str = topics.DEFAULT.rejections
    batch_size: int = 500
    poll_timeout_ms: int = 500
    topic_wait_s: float = 10.0
    # None: every partition; else only these (scale out: one runner per partition subset, same schema)
    partitions: tuple[int, ...] | None = None
    # scale out through Kafka: every runner of a projection joins its consumer group and projects the partitions
    # the group gives it (``partitions`` is then ignored); the offsets stay in PostgreSQL with the rows
    groep: bool = False

    def topic_of(self, kind: TopicKind) -> str:
        return self.events_topic if kind == "events" else self.rejections_topic


@dataclass
class Stats:
    projection: str = ""
    consumed: int = 0
    applied: int = 0
    undecodable: int = 0
    batches: int = 0
    reseeks: int = 0
    retries: int = 0  # batches rolled back by a database error and retried


@dataclass
class Worker:
    """One projection's consumer, its in-memory view of the stored offsets, and its batches."""

    projection: Projection
    engine: Engine
    schema: str
    config: RunnerConfig
    group_suffix: str = ""
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self.stats.projection = self.projection.name
        self.kinds: dict[str, TopicKind] = {self.config.topic_of(k): k for k in self.projection.kinds}
        self.consumer: KafkaConsumer | None = None
        self.assigned: list[TopicPartition] = []
        self.committed: dict[store.TopicPartition, int] = {}
        self.nieuw: set[TopicPartition] = set()  # group mode: assigned, paused until sought to the stored offsets
        self.versheid = metrics.Versheid()  # praktijk_projection_freshness_seconds, read at scrape time
        self.versheid.gauge(self.projection.name)
        self.rotatie: dict[str, str] = {}  # old registry pseudonym -> newest (issue 12: applied key rotations)

    # -- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        with self.engine.begin() as conn:
            store.ensure(conn, self.schema, [self.projection])
            self.rotatie = pseudoniem_rotatie.lees(conn, self.config.schema)  # the live schema's, also in a replay
        self.consumer = KafkaConsumer(
            **client_config(self.config.bootstrap),
            group_id=self.projection.consumer_group + self.group_suffix,
            client_id=f"{self.projection.consumer_group}{self.group_suffix}",
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_poll_records=self.config.batch_size,
            session_timeout_ms=10_000,  # group mode: a killed runner's partitions move within ~10 s
        )
        self.assigned = []
        if self.config.groep:
            for topic in self.kinds:
                self._partitions(topic)  # wait for the topics, as below
            self.consumer.subscribe(topics=sorted(self.kinds), listener=_Toewijzing(self))
            return
        for topic in self.kinds:
            parts = self._partitions(topic)
            if self.config.partitions is not None:
                parts &= set(self.config.partitions)
            self.assigned += [TopicPartition(topic, p) for p in sorted(parts)]
        self.consumer.assign(self.assigned)
        self._seek_to_stored()

    def _partitions(self, topic: str) -> set[int]:
        """The topic's partitions, waiting up to ``topic_wait_s`` for it to be created."""
        assert self.consumer is not None
        deadline = time.monotonic() + self.config.topic_wait_s
        while True:
            parts = self.consumer.partitions_for_topic(topic)
            if parts:
                return set(parts)
            if time.monotonic() > deadline:
                log.warning("%s: topic %s does not exist; not consuming it", self.projection.name, topic)
                return set()
            time.sleep(0.2)

    def reseek(self) -> None:
        """Forget the in-memory position: seek to the offsets stored in the database."""
        self._seek_to_stored()

    def _seek_to_stored(self) -> None:
        assert self.consumer is not None
        with self.engine.connect() as conn:
            stored = store.load_offsets(conn, self.schema, self.projection.name)
        self.committed = {k: v for k, v in stored.items() if k in self._mine()}
        fresh = []
        for tp in self.assigned:
            offset = self.committed.get((tp.topic, tp.partition))
            if offset is None:
                fresh.append(tp)
            else:
                self.consumer.seek(tp, offset)
        if fresh:
            self.consumer.seek_to_beginning(*fresh)

    def _mine(self) -> set[store.TopicPartition]:
        return {(tp.topic, tp.partition) for tp in self.assigned}

    # -- progress -----------------------------------------------------------------------
    def _remaining(self) -> list[int]:
        """Per assigned partition: records between the current position and the end."""
        assert self.consumer is not None
        return list(topics.remaining(self.consumer, self.assigned).values())

    def backlog(self) -> int:
        """Records between the current positions and the end of the assigned partitions."""
        return sum(self._remaining())

    def caught_up(self) -> bool:
        if self.config.groep and (not self.assigned or self.nieuw):
            return False  # not (yet) given partitions by the group, or not sought to them yet
        return not any(self._remaining())

    # -- group mode: partitions come and go on rebalance --------------------------------------
    def ingetrokken(self, tps: set[TopicPartition]) -> None:
        """Partitions taken away (no database transaction is open during a poll): stop projecting them."""
        self.nieuw -= tps
        self.assigned = [tp for tp in self.assigned if tp not in tps]
        for tp in tps:
            self.committed.pop((tp.topic, tp.partition), None)

    def toegewezen(self, tps: set[TopicPartition]) -> None:
        """Partitions given: paused until ``_neem_over`` has sought them to the offsets stored with the rows."""
        assert self.consumer is not None
        nieuw = tps - set(self.assigned)
        self.consumer.pause(*nieuw)
        self.nieuw |= nieuw

    def _neem_over(self) -> None:
        assert self.consumer is not None
        nieuw = self.nieuw & self.consumer.assignment()
        self.nieuw.clear()
        self.assigned = sorted(set(self.assigned) | nieuw)
        self._seek_to_stored()
        self.consumer.resume(*nieuw)
        log.info("%s: projecting partition(s) %s", self.projection.name,
                 sorted(f"{tp.topic}:{tp.partition}" for tp in self.assigned))

    # -- one batch ------------------------------------------------------------------------
    def step(self, timeout_ms: int) -> int:
        """Poll once and apply what came in one transaction; returns records consumed."""
        assert self.consumer is not None
        if not self.assigned and not self.config.groep:
            time.sleep(timeout_ms / 1000)
            return 0
        started = time.perf_counter()
        polled = groep.poll(self.consumer, timeout_ms, max_records=self.config.batch_size) if self.config.groep else \
            self.consumer.poll(timeout_ms=timeout_ms, max_records=self.config.batch_size)
        if self.nieuw:
            self._neem_over()
        poll = decode_poll(polled, self.kinds)
        self.versheid.polled(min(filter(None, (as_timestamp(m.record.get("recorded_at")) for m in poll.messages)),
                                 default=None) if poll.count else None)
        self.stats.undecodable += poll.undecodable
        positions = poll.positions if poll.count else self._moved_past_markers()
        if not positions:
            return 0
        changes = changes_for(self.projection, self._nieuwste_pseudoniemen(poll.messages))
        try:
            with self.engine.begin() as conn:
                stored = store.load_offsets(conn, self.schema, self.projection.name, lock=True, only=self._mine())
                if stored != self.committed:
                    raise _Moved()
                applied = store.execute(conn, self.schema, changes)
                store.save_offsets(conn, self.schema, self.projection.name, positions)
        except _Moved:
            self.stats.reseeks += 1
            log.warning("%s: stored offsets moved (replay or another runner); seeking to them", self.projection.name)
            self._seek_to_stored()
            return 0
        for key, (nxt, _) in positions.items():
            self.committed[key] = nxt
        self.stats.consumed += poll.count
        self.stats.applied += applied
        self.stats.batches += 1
        self._observe(positions, started)
        return poll.count

    def _nieuwste_pseudoniemen(self, messages: list[Message]) -> list[Message]:
        """The canonical log is immutable: events from before a pseudonym key rotation keep the old form, which the
        read models must not (registry/domein/rotatie.py)."""
        if not self.rotatie:
            return messages
        return [replace(m, record=rotatie.pas_toe(m.record, self.rotatie)) for m in messages]

    def _observe(self, positions: Positions, started: float) -> None:
        """Metrics of a committed batch: freshness, duration, lag (labels: projection, group, topic, partition)."""
        self.versheid.applied(max(filter(None, (at for _, at in positions.values())), default=None))
        metrics.BATCH_SECONDS.labels("projector").observe(time.perf_counter() - started)
        metrics.record_lag(self.projection.consumer_group + self.group_suffix, self.consumer, self.assigned)

    def _moved_past_markers(self) -> Positions:
        """An empty poll may still have moved the position past transaction markers: store that too."""
        assert self.consumer is not None
        positions: Positions = {}
        for tp in self.assigned:
            key = (tp.topic, tp.partition)
            pos = self.consumer.position(tp)
            if key in self.committed and pos > self.committed[key]:
                positions[key] = (pos, None)
        return positions

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None


class _Toewijzing(ConsumerRebalanceListener):  # type: ignore[misc]
    """Rebalance hooks of a group-mode runner; they run inside ``poll`` on the IO thread: they only note changes."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.worker.ingetrokken(set(revoked))

    def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        self.worker.ingetrokken(set(lost))

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.worker.toegewezen(set(assigned))


def run(workers: Sequence[Worker], *, once: bool, stop: threading.Event | None = None,
        on_batch: ProgressFn | None = None, max_failures: int = 8) -> None:
    """Round-robin the workers until ``stop`` is set (or, with ``once``, all are caught up).

    A database error rolls the batch back; the worker then seeks to its stored offsets and retries with
    back-off (``max_failures`` consecutive failures re-raise)."""
    stop = stop or threading.Event()
    idle = False
    failures = 0
    while not stop.is_set():
        progressed = 0
        try:
            for w in workers:
                n = w.step(timeout_ms=w.config.poll_timeout_ms if idle else 50)
                progressed += n
                if n and on_batch:
                    on_batch(n)
                if stop.is_set():
                    break
            failures = 0
        except DBAPIError as exc:
            failures += 1
            if failures >= max_failures:
                raise
            _back_off(workers, stop, failures, exc)
            continue
        idle = progressed == 0
        if once and idle and all(w.caught_up() for w in workers):
            return


def _back_off(workers: Sequence[Worker], stop: threading.Event, failures: int, exc: DBAPIError) -> None:
    delay = min(30.0, 0.5 * 2 ** failures)
    log.warning("database error (%s); retrying from the stored offsets in %.1fs", exc.__class__.__name__, delay)
    stop.wait(delay)
    for w in workers:
        w.stats.retries += 1
        try:
            w.reseek()
        except DBAPIError:
            pass  # the next step fails again and backs off further


def make_workers(config: RunnerConfig, names: Sequence[str], schema: str | None = None,
                 group_suffix: str = "") -> list[Worker]:
    engine = make_engine(config.database_url)
    projections: list[Projection] = []
    for name in names:
        for p in select(name):
            if p not in projections:
                projections.append(p)
    return [Worker(p, engine, schema or config.schema, config, group_suffix) for p in projections]


def project(config: RunnerConfig, names: Sequence[str] = ("all",), *, once: bool = False,
            stop: threading.Event | None = None) -> list[Stats]:
    """Run the projections against the live schema; returns per-projection stats."""
    workers = make_workers(config, names)
    try:
        for w in workers:
            w.start()
        run(workers, once=once, stop=stop)
    finally:
        for w in workers:
            w.close()
    return [w.stats for w in workers]
