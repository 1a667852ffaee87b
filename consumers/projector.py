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

``replay`` rebuilds a projection from offset 0 into a staging schema with a
progress bar, then swaps its tables into the live schema in one transaction
(queries keep answering from the old tables meanwhile).

Run as ``praktijkregister project|replay`` (consumers/cli_projector.py) or
``python -m consumers.projector`` (used by the crash tests).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from projections import store
from projections.model import Change, Message, Projection, TopicKind, as_timestamp
from projections.catalogus import ALL, select
from registry.infra import codec, topics
from registry.infra.db import engine as make_engine

log = logging.getLogger("praktijkregister.projector")

ProgressFn = Callable[[int], None]


class _Moved(Exception):
    """The stored offsets differ from what this runner last wrote."""


@dataclass
class RunnerConfig:
    bootstrap: str | list[str]
    database_url: str
    schema: str = store.DEFAULT_SCHEMA
    events_topic: str = topics.EVENTS
    rejections_topic: str = topics.REJECTIONS
    batch_size: int = 500
    poll_timeout_ms: int = 500
    topic_wait_s: float = 10.0
    # None: every partition; else only these (scale out: one runner per partition subset, same schema)
    partitions: tuple[int, ...] | None = None

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


def decode_message(kind: TopicKind, partition: int, offset: int, value: bytes | None) -> Message | None:
    """Bytes from Kafka -> Message; None for a value that does not decode (logged, skipped)."""
    if value is None:
        return None
    try:
        if kind == "events":
            event_type, record = codec.decode(value)
            return Message(kind, partition, offset, event_type, record)
        obj = json.loads(value.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("rejection is not a JSON object")
        return Message(kind, partition, offset, "Afwijzing", obj)
    except (codec.DecodeError, ValueError, UnicodeDecodeError) as exc:
        log.warning("skipping undecodable %s record p%d@%d: %s", kind, partition, offset, exc)
        return None


def changes_for(projection: Projection, messages: Iterable[Message]) -> list[Change]:
    """All row changes of a batch: inserts first (grouped per statement for executemany),
    then guarded updates in log order. Equivalent to log order because every update is
    guarded on business time (see projections/feiten.py)."""
    inserts: list[Change] = []
    updates: list[Change] = []
    for m in messages:
        for c in projection.apply(m):
            (inserts if c.sql.startswith("INSERT") else updates).append(c)
    order: dict[str, int] = {}
    for c in inserts:
        order.setdefault(c.sql, len(order))
    inserts.sort(key=lambda c: order[c.sql])
    return inserts + updates


def _recorded_at(msg: Message) -> dt.datetime | None:
    return as_timestamp(msg.record.get("recorded_at"))


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

    # -- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        with self.engine.begin() as conn:
            store.ensure(conn, self.schema, [self.projection])
        self.consumer = KafkaConsumer(
            bootstrap_servers=self.config.bootstrap,
            group_id=self.projection.consumer_group + self.group_suffix,
            client_id=f"{self.projection.consumer_group}{self.group_suffix}",
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_poll_records=self.config.batch_size,
        )
        self.assigned = []
        for topic in self.kinds:
            parts = self._partitions(topic)
            if self.config.partitions is not None:
                parts &= set(self.config.partitions)
            self.assigned += [TopicPartition(topic, p) for p in sorted(parts)]
        self.consumer.assign(self.assigned)
        self._seek_to_stored()

    def _partitions(self, topic: str) -> set[int]:
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
        mine = {(tp.topic, tp.partition) for tp in self.assigned}
        self.committed = {k: v for k, v in stored.items() if k in mine}
        fresh = []
        for tp in self.assigned:
            offset = self.committed.get((tp.topic, tp.partition))
            if offset is None:
                fresh.append(tp)
            else:
                self.consumer.seek(tp, offset)
        if fresh:
            self.consumer.seek_to_beginning(*fresh)

    # -- progress -----------------------------------------------------------------------
    def backlog(self) -> int:
        """Records between the current positions and the end of the assigned partitions."""
        assert self.consumer is not None
        if not self.assigned:
            return 0
        ends = self.consumer.end_offsets(self.assigned)
        return sum(max(0, ends[tp] - self.consumer.position(tp)) for tp in self.assigned)

    def caught_up(self) -> bool:
        assert self.consumer is not None
        if not self.assigned:
            return True
        ends = self.consumer.end_offsets(self.assigned)
        return all(self.consumer.position(tp) >= ends[tp] for tp in self.assigned)

    # -- one batch ------------------------------------------------------------------------
    def step(self, timeout_ms: int) -> int:
        """Poll once and apply what came in one transaction; returns records consumed."""
        assert self.consumer is not None
        if not self.assigned:
            time.sleep(timeout_ms / 1000)
            return 0
        polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.config.batch_size)
        messages: list[Message] = []
        positions: dict[store.TopicPartition, tuple[int, dt.datetime | None]] = {}
        count = 0
        for tp, records in polled.items():
            kind = self.kinds[tp.topic]
            last_rec: dt.datetime | None = None
            for rec in records:
                count += 1
                msg = decode_message(kind, tp.partition, rec.offset, rec.value)
                if msg is None:
                    self.stats.undecodable += 1
                    continue
                messages.append(msg)
                last_rec = _recorded_at(msg) or last_rec  # of the last applied event (log order)
            if records:
                positions[(tp.topic, tp.partition)] = (records[-1].offset + 1, last_rec)
        if not count:
            # nothing new; the position may still have moved past transaction markers
            for tp in self.assigned:
                key = (tp.topic, tp.partition)
                pos = self.consumer.position(tp)
                if key in self.committed and pos > self.committed[key]:
                    positions[key] = (pos, None)
            if not positions:
                return 0
        changes = changes_for(self.projection, messages)
        try:
            with self.engine.begin() as conn:
                mine = {(tp.topic, tp.partition) for tp in self.assigned}
                stored = store.load_offsets(conn, self.schema, self.projection.name, lock=True, only=mine)
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
        self.stats.consumed += count
        self.stats.applied += applied
        self.stats.batches += 1
        return count

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
            delay = min(30.0, 0.5 * 2 ** failures)
            log.warning("database error (%s); retrying from the stored offsets in %.1fs", exc.__class__.__name__, delay)
            stop.wait(delay)
            for w in workers:
                w.stats.retries += 1
                try:
                    w.reseek()
                except DBAPIError:
                    pass  # the next step fails again and backs off further
            continue
        idle = progressed == 0
        if once and idle and all(w.caught_up() for w in workers):
            return


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


def staging_schema(schema: str, projection: str) -> str:
    return store.check_schema(f"{schema}_replay_{projection}"[:63])


def replay(config: RunnerConfig, names: Sequence[str] = ("all",), *, progress: bool = True,
           stop: threading.Event | None = None) -> list[Stats]:
    """Rebuild projections from offset 0 into a staging schema, then swap them in."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} events/s" if speed else "- events/s")

    engine = make_engine(config.database_url)
    out: list[Stats] = []
    stop = stop or threading.Event()
    console = Console(stderr=True)
    for p in [q for n in names for q in select(n)]:
        staging = staging_schema(config.schema, p.name)
        with engine.begin() as conn:
            store.drop_schema(conn, staging)
        worker = Worker(p, engine, staging, config, group_suffix="-replay")
        try:
            worker.start()
            total = worker.backlog()
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                          TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
                          console=console, disable=not progress) as bar:
                task = bar.add_task(f"replay {p.name}", total=max(total, 1))
                run([worker], once=True, stop=stop, on_batch=lambda n: bar.advance(task, n))
                bar.update(task, completed=max(total, 1))
        finally:
            worker.close()
        if stop.is_set():
            with engine.begin() as conn:
                store.drop_schema(conn, staging)
            break
        with engine.begin() as conn:
            store.swap(conn, config.schema, staging, p)
        out.append(worker.stats)
    return out


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM / SIGINT finish the current batch, then stop."""
    def handler(signum: int, frame: Any) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(argv: Sequence[str] | None = None) -> int:
    from registry.infra import settings as settings_mod

    s = settings_mod.load()
    ap = argparse.ArgumentParser(prog="python -m consumers.projector", description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["run", "replay"])
    ap.add_argument("names", nargs="*", default=["all"], help=f"projection names or all ({', '.join(ALL)})")
    ap.add_argument("--bootstrap", default=s.kafka_bootstrap)
    ap.add_argument("--database-url", default=s.database_url)
    ap.add_argument("--schema", default=store.DEFAULT_SCHEMA)
    ap.add_argument("--events-topic", default=topics.EVENTS)
    ap.add_argument("--rejections-topic", default=topics.REJECTIONS)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--once", action="store_true", help="stop when caught up")
    ap.add_argument("--partition", type=int, action="append", help="only these partitions (repeatable)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = RunnerConfig(args.bootstrap, args.database_url, args.schema, args.events_topic, args.rejections_topic,
                          args.batch_size, partitions=tuple(args.partition) if args.partition else None)
    stop = threading.Event()
    stop_on_signals(stop)
    if args.command == "run":
        stats = project(config, args.names or ["all"], once=args.once, stop=stop)
    else:
        stats = replay(config, args.names or ["all"], progress=not args.no_progress, stop=stop)
    for st in stats:
        log.info("done: %s", st)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
