"""The projection runner: Kafka -> pure projections -> PostgreSQL, exactly-once in effect.

ONE consumer per process reads the canonical log (and the rejections topic when a projection needs it) once:
each poll is decoded once and fanned out to every projection's pure ``apply`` (consumers/records.py). Kafka's
committed offsets are never used; each projection keeps its own rows in ``projection_offsets``. Each poll of up to
``batch_size`` records becomes ONE PostgreSQL transaction that, for every projection with something in the poll,

1. locks the projection's rows in ``projection_offsets`` and checks they still are what this process last wrote
   (another runner or a replay swap moved them? then roll the whole batch back and seek to the stored offsets),
2. executes the projection's row changes (idempotent upserts),
3. stores the projection's next offset per partition (and the recorded_at of the last event).

A crash anywhere loses and duplicates nothing: the rows and the offsets commit together, and on start the runner
seeks to the stored offsets. Projections need not be at the same offsets (one added later, one replayed): the
consumer starts at the smallest stored offset per partition, and each projection skips the records it already has.

Scale out (``RunnerConfig.groep``, ``project --group``): every runner of the same projections subscribes with one
consumer group, so each partition has one runner at a time; a newly assigned partition is paused until it is sought
to the offsets stored with the rows, and a killed runner's partitions move to the others after the session
time-out. The check in step 1 (only the runner's own partitions, locked) keeps a runner that lost a partition from
writing over its new owner.

Rebuilding projections from offset 0 is consumers/replay.py (the same runner, one pass for all of them). The
command line is ``praktijkregister project|replay`` (registry/cli/projector.py).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from registry.infra.kafka import client_config
from consumers import groep
from consumers.records import Decoded, Poll, Positions, changes_for, decode, rewrite, share
from projections import store
from projections.catalogus import select
from projections.model import Message, Projection, TopicKind, as_timestamp
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.domein import rotatie
from registry.infra import metrics, pseudoniem_rotatie, topics
from registry.infra.db import engine as make_engine

log = logging.getLogger("praktijkregister.projector")

ProgressFn = Callable[[int], None]
GROUP_PREFIX = "praktijkregister-projection-"  # the projector's Kafka ACLs cover this prefix (registry/infra/toegang)


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
    # scale out through Kafka: every runner of the same projections joins one consumer group and projects the
    # partitions the group gives it (``partitions`` is then ignored); the offsets stay in PostgreSQL with the rows
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
class Track:
    """One projection inside a runner: where its tables live, the offsets it stored last, its stats and freshness."""

    projection: Projection
    schema: str
    topics: frozenset[str]
    stats: Stats = field(default_factory=Stats)
    committed: dict[store.TopicPartition, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stats.projection = self.projection.name
        self.versheid = metrics.Versheid()  # praktijk_projection_freshness_seconds, read at scrape time
        self.versheid.gauge(self.projection.name)

    def mine(self, assigned: Sequence[TopicPartition]) -> set[store.TopicPartition]:
        return {(tp.topic, tp.partition) for tp in assigned if tp.topic in self.topics}


def group_id(projections: Sequence[Projection]) -> str:
    """The consumer group of a runner of these projections (one projection: its own group, as before)."""
    if len(projections) == 1:
        return projections[0].consumer_group
    return GROUP_PREFIX + "-".join(sorted(p.name for p in projections))


class Worker:
    """One consumer for a set of projections, their stored offsets as this process last wrote them, and the batches.

    ``schemas`` (replay): a schema per projection name; otherwise all write ``schema``."""

    def __init__(self, projections: Sequence[Projection], engine: Engine, schema: str, config: RunnerConfig,
                 group_suffix: str = "", schemas: dict[str, str] | None = None) -> None:
        if not projections:
            raise ValueError("a runner needs at least one projection")
        self.engine = engine
        self.config = config
        self.group = group_id(projections) + group_suffix
        self.tracks = [Track(p, (schemas or {}).get(p.name, schema), frozenset(config.topic_of(k) for k in p.kinds))
                       for p in projections]
        self.kinds: dict[str, TopicKind] = {config.topic_of(k): k for p in projections for k in p.kinds}
        self.consumer: KafkaConsumer | None = None
        self.assigned: list[TopicPartition] = []
        self.nieuw: set[TopicPartition] = set()  # group mode: assigned, paused until sought to the stored offsets
        self.rotatie: dict[str, str] = {}  # old registry pseudonym -> newest (issue 12: applied key rotations)

    # -- one projection's view (tests and callers of a single-projection runner) ----------------------------------
    @property
    def projection(self) -> Projection:
        return self._only().projection

    @property
    def stats(self) -> Stats:
        return self._only().stats

    @property
    def all_stats(self) -> list[Stats]:
        return [t.stats for t in self.tracks]

    def _only(self) -> Track:
        if len(self.tracks) != 1:
            raise AttributeError("this runner feeds several projections: use all_stats / tracks")
        return self.tracks[0]

    # -- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        with self.engine.begin() as conn:
            for t in self.tracks:
                store.ensure(conn, t.schema, [t.projection])
            self.rotatie = pseudoniem_rotatie.lees(conn, self.config.schema)  # the live schema's, also in a replay
        self.consumer = KafkaConsumer(
            **client_config(self.config.bootstrap),
            group_id=self.group,
            client_id=self.group,
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
            self.consumer.subscribe(topics=sorted(self.kinds), listener=groep.Toewijzing(self))
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
                log.warning("%s: topic %s does not exist; not consuming it", self.group, topic)
                return set()
            time.sleep(0.2)

    def reseek(self) -> None:
        """Forget the in-memory positions: seek to the offsets stored in the database."""
        self._seek_to_stored()

    def _seek_to_stored(self) -> None:
        """Load every projection's stored offsets; seek each partition to the smallest of those that read it (a
        projection without a stored offset there: to the beginning). The others skip what they already have."""
        assert self.consumer is not None
        with self.engine.connect() as conn:
            for t in self.tracks:
                stored = store.load_offsets(conn, t.schema, t.projection.name)
                mine = t.mine(self.assigned)
                t.committed = {k: v for k, v in stored.items() if k in mine}
        fresh = []
        for tp in self.assigned:
            key = (tp.topic, tp.partition)
            readers = [t for t in self.tracks if tp.topic in t.topics]
            if any(key not in t.committed for t in readers):
                fresh.append(tp)
            else:
                self.consumer.seek(tp, min(t.committed[key] for t in readers))
        if fresh:
            self.consumer.seek_to_beginning(*fresh)

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
        for t in self.tracks:
            for tp in tps:
                t.committed.pop((tp.topic, tp.partition), None)

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
        log.info("%s: projecting partition(s) %s", self.group,
                 sorted(f"{tp.topic}:{tp.partition}" for tp in self.assigned))

    # -- one batch ------------------------------------------------------------------------
    def step(self, timeout_ms: int) -> int:
        """Poll once, decode once, and apply every projection's share in ONE transaction; returns records polled."""
        assert self.consumer is not None
        if not self.assigned and not self.config.groep:
            time.sleep(timeout_ms / 1000)
            return 0
        started = time.perf_counter()
        polled = groep.poll(self.consumer, timeout_ms, max_records=self.config.batch_size) if self.config.groep else \
            self.consumer.poll(timeout_ms=timeout_ms, max_records=self.config.batch_size)
        if self.nieuw:
            self._neem_over()
        decoded = self._nieuwste_pseudoniemen(decode(polled, self.kinds))
        shares = {t.projection.name: self._share(t, decoded) for t in self.tracks}
        if not any(s.positions for s in shares.values()):
            return sum(len(v) for v in decoded.values())
        try:
            with self.engine.begin() as conn:
                self._check(conn, shares)
                applied = {t.projection.name: self._write(conn, t, shares[t.projection.name]) for t in self.tracks}
        except _Moved:
            log.warning("%s: stored offsets moved (replay or another runner); seeking to them", self.group)
            self._seek_to_stored()
            return 0
        for t in self.tracks:
            self._committed(t, shares[t.projection.name], applied[t.projection.name])
        metrics.BATCH_SECONDS.labels("projector").observe(time.perf_counter() - started)
        metrics.record_lag(self.group, self.consumer, self.assigned)
        return sum(len(v) for v in decoded.values())

    def _share(self, t: Track, decoded: Decoded) -> Poll:
        """A projection's part of the poll; an empty part may still move it past transaction markers."""
        part = share(decoded, t.topics, t.committed)
        t.versheid.polled(min(filter(None, (as_timestamp(m.record.get("recorded_at")) for m in part.messages)),
                              default=None) if part.count else None)
        part.positions.update(self._moved_past_markers(t, skip=part.positions))
        return part

    def _check(self, conn: Connection, shares: dict[str, Poll]) -> None:
        """Step 1: lock the offsets rows of every projection about to write; raise _Moved if any moved."""
        # no wait for the WAL flush at commit: a PostgreSQL crash may lose the newest batches, but rows and offsets
        # together (the transaction stays atomic), and they are projected again from the offsets that remain
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        moved = False
        for t in self.tracks:
            if shares[t.projection.name].positions:
                stored = store.load_offsets(conn, t.schema, t.projection.name, lock=True, only=t.mine(self.assigned))
                if stored != t.committed:
                    t.stats.reseeks += 1
                    moved = True
        if moved:
            raise _Moved()

    def _write(self, conn: Connection, t: Track, part: Poll) -> int:
        """Steps 2 and 3 for one projection."""
        if not part.positions:
            return 0
        applied = store.execute(conn, t.schema, changes_for(t.projection, part.messages))
        store.save_offsets(conn, t.schema, t.projection.name, part.positions)
        return applied

    def _committed(self, t: Track, part: Poll, applied: int) -> None:
        if not part.positions:
            return
        for key, (nxt, _) in part.positions.items():
            t.committed[key] = nxt
        t.stats.consumed += part.count
        t.stats.undecodable += part.undecodable
        t.stats.applied += applied
        t.stats.batches += 1
        t.versheid.applied(max(filter(None, (at for _, at in part.positions.values())), default=None))

    def _nieuwste_pseudoniemen(self, decoded: Decoded) -> Decoded:
        """The canonical log is immutable: events from before a pseudonym key rotation keep the old form, which the
        read models must not (registry/domein/rotatie.py). Done once per poll, for every projection."""
        if not self.rotatie:
            return decoded
        return rewrite(decoded, lambda m: replace(m, record=rotatie.pas_toe(m.record, self.rotatie)))

    def _moved_past_markers(self, t: Track, skip: Positions) -> Positions:
        """A poll may have moved a position past transaction markers without a record for ``t``: store that too."""
        assert self.consumer is not None
        positions: Positions = {}
        for tp in self.assigned:
            key = (tp.topic, tp.partition)
            if key in t.committed and key not in skip and tp.topic in t.topics:
                pos = self.consumer.position(tp)
                if pos > t.committed[key]:
                    positions[key] = (pos, None)
        return positions

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None


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
        for st in w.all_stats:
            st.retries += 1
        try:
            w.reseek()
        except DBAPIError:
            pass  # the next step fails again and backs off further


def projections_of(names: Sequence[str]) -> list[Projection]:
    """The projections ``names`` select (``all`` or names), each once, in catalogue order of mention."""
    out: list[Projection] = []
    for name in names:
        for p in select(name):
            if p not in out:
                out.append(p)
    return out


def make_runner(config: RunnerConfig, names: Sequence[str], schema: str | None = None,
                group_suffix: str = "", schemas: dict[str, str] | None = None) -> Worker:
    """ONE runner (one consumer, one transaction per batch) for every selected projection."""
    return Worker(projections_of(names), make_engine(config.database_url), schema or config.schema, config,
                  group_suffix, schemas)


def make_workers(config: RunnerConfig, names: Sequence[str], schema: str | None = None,
                 group_suffix: str = "") -> list[Worker]:
    """A runner per projection (each its own consumer and group): for tests that drive projections separately."""
    engine = make_engine(config.database_url)
    return [Worker([p], engine, schema or config.schema, config, group_suffix) for p in projections_of(names)]


def project(config: RunnerConfig, names: Sequence[str] = ("all",), *, once: bool = False,
            stop: threading.Event | None = None) -> list[Stats]:
    """Run the projections against the live schema with one consumer; returns per-projection stats."""
    worker = make_runner(config, names)
    try:
        worker.start()
        run([worker], once=once, stop=stop)
    finally:
        worker.close()
    return worker.all_stats
