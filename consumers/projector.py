"""The projection runner: Kafka -> pure projections -> PostgreSQL, exactly-once in effect.

ONE consumer per process reads the canonical log (and the rejections topic when a projection needs it) once:
each poll is decoded once and fanned out to every projection's pure ``apply`` (consumers/records.py). Kafka's
committed offsets are never used; each projection keeps its own rows in ``projection_offsets``. Each poll of up to
``batch_size`` records becomes ONE PostgreSQL transaction that, for every projection with something in the poll,

1. locks the projection's rows in ``projection_offsets`` and checks they still are what this process last wrote
   (another runner or a replay swap moved them? then roll the whole batch back and seek to the stored offsets),
2. executes the projection's row changes (idempotent upserts),
3. stores the projection's next offset per partition (and the recorded_at of the last event).

Far behind (``RunnerConfig.bulk_lag`` records; a replay always) step 2 takes the bulk path instead of each event's
``apply``: the batch's events copied once into a staging table, every projection's rows derived from it by set-based
SQL (``Projection.bulk``), the rare event types still through ``apply``; same transaction, same offsets.

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
from collections.abc import Callable, Sequence

import psycopg
from sqlalchemy.exc import DBAPIError

from consumers.projector_config import GROUP_PREFIX, RunnerConfig, Stats, Track, group_id
from consumers.projector_worker import Worker
from projections.catalogus import select
from projections.model import Projection
from registry.infra.db import engine as make_engine

# the bulk path's COPY and its query strings run on psycopg's own connection: its errors come unwrapped
DATABASE_ERRORS = (DBAPIError, psycopg.Error)

# the runner's parts, importable from here as before
__all__ = [
    "GROUP_PREFIX",
    "ProgressFn",
    "RunnerConfig",
    "Stats",
    "Track",
    "Worker",
    "group_id",
    "make_runner",
    "make_workers",
    "project",
    "projections_of",
    "run",
]

log = logging.getLogger("praktijkregister.projector")

ProgressFn = Callable[[int], None]


def run(
    workers: Sequence[Worker],
    *,
    once: bool,
    stop: threading.Event | None = None,
    on_batch: ProgressFn | None = None,
    max_failures: int = 8,
) -> None:
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
        except DATABASE_ERRORS as exc:
            failures += 1
            if failures >= max_failures:
                raise
            _back_off(workers, stop, failures, exc)
            continue
        idle = progressed == 0
        if once and idle and all(w.caught_up() for w in workers):
            return


def _back_off(workers: Sequence[Worker], stop: threading.Event, failures: int, exc: Exception) -> None:
    delay = min(30.0, 0.5 * 2**failures)
    log.warning("database error (%s); retrying from the stored offsets in %.1fs", exc.__class__.__name__, delay)
    stop.wait(delay)
    for w in workers:
        for st in w.all_stats:
            st.retries += 1
        try:
            w.reseek()
        except DATABASE_ERRORS:
            pass  # the next step fails again and backs off further


def projections_of(names: Sequence[str]) -> list[Projection]:
    """The projections ``names`` select (``all`` or names), each once, in catalogue order of mention."""
    out: list[Projection] = []
    for name in names:
        for p in select(name):
            if p not in out:
                out.append(p)
    return out


def make_runner(
    config: RunnerConfig,
    names: Sequence[str],
    schema: str | None = None,
    group_suffix: str = "",
    schemas: dict[str, str] | None = None,
) -> Worker:
    """ONE runner (one consumer, one transaction per batch) for every selected projection."""
    return Worker(
        projections_of(names), make_engine(config.database_url), schema or config.schema, config, group_suffix, schemas
    )


def make_workers(
    config: RunnerConfig, names: Sequence[str], schema: str | None = None, group_suffix: str = ""
) -> list[Worker]:
    """A runner per projection (each its own consumer and group): for tests that drive projections separately."""
    engine = make_engine(config.database_url)
    return [Worker([p], engine, schema or config.schema, config, group_suffix) for p in projections_of(names)]


def project(
    config: RunnerConfig, names: Sequence[str] = ("all",), *, once: bool = False, stop: threading.Event | None = None
) -> list[Stats]:
    """Run the projections against the live schema with one consumer; returns per-projection stats."""
    worker = make_runner(config, names)
    try:
        worker.start()
        run([worker], once=once, stop=stop)
    finally:
        worker.close()
    return worker.all_stats
