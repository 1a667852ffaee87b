"""Rebuild projections from offset 0 into staging schemas (with a progress bar), then swap the rebuilt tables into
the live schema in one transaction; queries keep answering from the old tables meanwhile.

One pass over the log for every projection being rebuilt: the same runner as the live projector
(consumers/projector.py), one consumer, each poll decoded once and written to every staging schema in one
transaction, on the runner's bulk path (large batches: the events copied into a staging table once, each read model
derived from it by set-based SQL). It streams batch by batch, so memory does not grow with the log.

The partitions are shared out over ``PROCESSEN`` runner processes writing the same staging schemas (each storing the
offsets of its own partitions): one runner holds one GIL for its decoding, its staging rows and its writer thread,
and waits for PostgreSQL after each of its round trips, while the CPU per event of two is what one costs. What a
set-based statement reads and writes is keyed by the deelnemer, the traject or the verklaring, whose events share
one partition (their Kafka key), so the runners' batches touch disjoint rows; the reference data's upserts keep the
latest by business time whatever their order, as with ``project --group``."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy import Engine

from consumers.projector import RunnerConfig, Stats, Worker, make_runner, projections_of, run
from projections import store
from registry.infra.db import engine as make_engine
from registry.infra.kafka import KafkaLogin, client_config, configure, login
from registry.infra.topics import partitions_of

# runner processes of a replay (fewer when the topics have fewer partitions); 1: the replay runs in this process
PROCESSEN = 2


class _Rate(ProgressColumn):
    """Events per second of the replay so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s")


def staging_schema(schema: str, projection: str) -> str:
    """The schema a replay of ``projection`` into ``schema`` builds in."""
    return store.check_schema(f"{schema}_replay_{projection}"[:63])


def replay(
    config: RunnerConfig,
    names: Sequence[str] = ("all",),
    *,
    progress: bool = True,
    stop: threading.Event | None = None,
    processen: int = PROCESSEN,
) -> list[Stats]:
    """Rebuild projections from offset 0 into their staging schemas in one pass, then swap them all in.

    A ``stop`` mid-way drops the staging schemas and leaves the live tables as they were."""
    engine = make_engine(config.database_url)
    try:
        return _replay(engine, config, names, progress, stop or threading.Event(), processen)
    finally:
        engine.dispose()  # its connections closed, not left open in a pool nobody uses after the replay


def _replay(
    engine: Engine, config: RunnerConfig, names: Sequence[str], progress: bool, stop: threading.Event, processen: int
) -> list[Stats]:
    projections = projections_of(names)
    staging = {p.name: staging_schema(config.schema, p.name) for p in projections}
    # the bulk path: large batches through a staging table and set-based statements (per-event apply is too slow)
    cfg = replace(config, bulk_lag=0, rebuild=True)
    delen, totaal = _delen(cfg, projections, processen)
    with engine.begin() as conn:
        for p in projections:
            store.drop_schema(conn, staging[p.name])
            if len(delen) > 1:  # once, here: runners creating the same tables at once may collide
                store.ensure(conn, staging[p.name], [p], rebuild=True)
    console = Console(stderr=True) if progress else None
    if len(delen) > 1:
        stats = _parallel([replace(cfg, partitions=d) for d in delen], names, staging, stop, console, totaal)
    else:
        worker = make_runner(cfg, names, group_suffix="-replay", schemas=staging)
        try:
            _rebuild(worker, stop, console)
        finally:
            worker.close()
        stats = worker.all_stats
    if not stop.is_set():
        store.afronden(engine, [(staging[p.name], p) for p in projections], max(1, len(delen)))
    with engine.begin() as conn:
        if stop.is_set():
            for schema in staging.values():
                store.drop_schema(conn, schema)
            return []
        for p in projections:  # every rebuilt projection at once: readers never see a mix of old and new
            store.swap(conn, config.schema, staging[p.name], p)
    return stats


def _delen(config: RunnerConfig, projections: Sequence[Any], processen: int) -> tuple[list[tuple[int, ...]], int]:
    """The partitions (numbers, of every topic the projections read) per runner process, round robin, and the
    records to replay; one part (this process) for ``processen`` 1."""
    if processen <= 1:
        return [], 0
    topics = sorted({config.topic_of(k) for p in projections for k in p.kinds})
    consumer = KafkaConsumer(**client_config(config.bootstrap), group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(partitions_of(consumer, t, config.topic_wait_s))]
        if config.partitions is not None:
            tps = [tp for tp in tps if tp.partition in config.partitions]
        totaal = sum(consumer.end_offsets(tps).values()) - sum(consumer.beginning_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()
    nummers = sorted({tp.partition for tp in tps})
    return [d for d in (tuple(nummers[i::processen]) for i in range(processen)) if d], totaal


def _parallel(
    configs: list[RunnerConfig],
    names: Sequence[str],
    staging: dict[str, str],
    stop: threading.Event,
    console: Console | None,
    totaal: int,
) -> list[Stats]:
    """A runner process per config (its partitions), with one progress bar; their stats summed per projection. A
    runner that fails fails the replay (after the others have stopped)."""
    ctx = multiprocessing.get_context("spawn")  # no copy of this process's connections and threads
    berichten: Any = ctx.Queue()
    halt = ctx.Event()
    procs = [
        ctx.Process(target=_runner, args=(c, list(names), staging, login(), berichten, halt), daemon=True)
        for c in configs
    ]
    for proc in procs:
        proc.start()
    uitkomst: list[list[Stats]] = []
    fouten: list[str] = []
    with _bar(console, [p.name for p in projections_of(names)], totaal) as (bar, task):
        while len(uitkomst) + len(fouten) < len(procs):
            if stop.is_set() or fouten:
                halt.set()
            try:
                soort, inhoud = berichten.get(timeout=0.5)
            except queue.Empty:
                if all(p.exitcode is not None for p in procs):  # all ended: those that did not report failed
                    fouten += ["a replay process ended without its result"] * (len(procs) - len(uitkomst) - len(fouten))
                continue
            if soort == "n":
                bar.advance(task, inhoud)
            elif soort == "klaar":
                uitkomst.append(inhoud)
            else:
                fouten.append(inhoud)
    for proc in procs:
        proc.join()
    if fouten:
        raise RuntimeError(f"replay failed: {fouten[0]}")
    return _opgeteld(uitkomst)


def _runner(
    config: RunnerConfig, names: list[str], staging: dict[str, str], kafka_login: KafkaLogin, berichten: Any, halt: Any
) -> None:
    """One runner process of a replay: its partitions into the staging schemas; reports its progress, then its
    stats (or its failure) on ``berichten``; stops when ``halt`` is set."""
    configure(kafka_login)  # a spawned process: the parent's login, as its entry point set it
    stop = threading.Event()

    def doorgeven() -> None:
        halt.wait()
        stop.set()

    threading.Thread(target=doorgeven, daemon=True).start()
    try:
        worker = make_runner(config, names, group_suffix="-replay", schemas=staging)
        try:
            worker.start()
            run([worker], once=True, stop=stop, on_batch=lambda n: berichten.put(("n", n)))
        finally:
            worker.close()
        berichten.put(("klaar", worker.all_stats))
    except BaseException as exc:
        berichten.put(("fout", type(exc).__name__))  # the type only: a message may quote data
        raise


def _opgeteld(per_runner: list[list[Stats]]) -> list[Stats]:
    """Every runner's stats per projection, summed."""
    out: dict[str, Stats] = {}
    for stats in per_runner:
        for st in stats:
            som = out.setdefault(st.projection, Stats(projection=st.projection))
            for f in fields(Stats):
                if f.name != "projection":
                    setattr(som, f.name, getattr(som, f.name) + getattr(st, f.name))
    return list(out.values())


def _rebuild(worker: Worker, stop: threading.Event, console: Console | None) -> None:
    """Project the whole log into the staging schemas, with a progress bar on ``console``."""
    worker.start()
    with _bar(console, [t.projection.name for t in worker.tracks], worker.backlog()) as (bar, task):
        run([worker], once=True, stop=stop, on_batch=lambda n: bar.advance(task, n))


@contextmanager
def _bar(console: Console | None, names: Sequence[str], total: int) -> Iterator[tuple[Progress, TaskID]]:
    """The replay's progress bar (none without ``console``), full at the end."""
    total = max(total, 1)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    ) as bar:
        task = bar.add_task("replay " + ", ".join(names), total=total)
        yield bar, task
        bar.update(task, completed=total)
