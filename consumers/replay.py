"""Rebuild projections from offset 0 into staging schemas (with a progress bar), then swap the rebuilt tables into
the live schema in one transaction; queries keep answering from the old tables meanwhile.

One pass over the log for every projection being rebuilt: the same runner as the live projector
(consumers/projector.py), one consumer, each poll decoded once and written to every staging schema in one
transaction, on the runner's bulk path (large batches: the events copied into a staging table once, each read model
derived from it by set-based SQL). It streams batch by batch, so memory does not grow with the log."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from consumers.projector import RunnerConfig, Stats, Worker, make_runner, projections_of, run
from projections import store
from registry.infra.db import engine as make_engine


class _Rate(ProgressColumn):
    """Events per second of the replay so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s")


def staging_schema(schema: str, projection: str) -> str:
    """The schema a replay of ``projection`` into ``schema`` builds in."""
    return store.check_schema(f"{schema}_replay_{projection}"[:63])


def replay(
    config: RunnerConfig, names: Sequence[str] = ("all",), *, progress: bool = True, stop: threading.Event | None = None
) -> list[Stats]:
    """Rebuild projections from offset 0 into their staging schemas in one pass, then swap them all in.

    A ``stop`` mid-way drops the staging schemas and leaves the live tables as they were."""
    engine = make_engine(config.database_url)
    stop = stop or threading.Event()
    projections = projections_of(names)
    staging = {p.name: staging_schema(config.schema, p.name) for p in projections}
    with engine.begin() as conn:
        for schema in staging.values():
            store.drop_schema(conn, schema)
    # the bulk path: large batches through a staging table and set-based statements (per-event apply is too slow)
    worker = make_runner(replace(config, bulk_lag=0, rebuild=True), names, group_suffix="-replay", schemas=staging)
    try:
        _rebuild(worker, stop, Console(stderr=True) if progress else None)
    finally:
        worker.close()
    if not stop.is_set():
        with engine.begin() as conn:  # the indexes the load went without, before the swap takes its locks
            for p in projections:
                store.ensure(conn, staging[p.name], [p])
    with engine.begin() as conn:
        if stop.is_set():
            for schema in staging.values():
                store.drop_schema(conn, schema)
            return []
        for p in projections:  # every rebuilt projection at once: readers never see a mix of old and new
            store.swap(conn, config.schema, staging[p.name], p)
    return worker.all_stats


def _rebuild(worker: Worker, stop: threading.Event, console: Console | None) -> None:
    """Project the whole log into the staging schemas, with a progress bar on ``console``."""
    worker.start()
    total = max(worker.backlog(), 1)
    label = "replay " + ", ".join(t.projection.name for t in worker.tracks)
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
        task = bar.add_task(label, total=total)
        run([worker], once=True, stop=stop, on_batch=lambda n: bar.advance(task, n))
        bar.update(task, completed=total)
