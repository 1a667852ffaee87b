"""Rebuild projections from offset 0 into a staging schema (with a progress bar), then swap
the rebuilt tables into the live schema in one transaction; queries keep answering from the
old tables meanwhile. Runs the same Worker as the live runner (consumers/projector.py)."""
from __future__ import annotations

import threading
from typing import Sequence

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text
from sqlalchemy import Engine

from consumers.projector import RunnerConfig, Stats, Worker, run
from projections import store
from projections.catalogus import select
from projections.model import Projection
from registry.infra.db import engine as make_engine


class _Rate(ProgressColumn):
    """Events per second of the replay so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s")


def staging_schema(schema: str, projection: str) -> str:
    """The schema a replay of ``projection`` into ``schema`` builds in."""
    return store.check_schema(f"{schema}_replay_{projection}"[:63])


def replay(config: RunnerConfig, names: Sequence[str] = ("all",), *, progress: bool = True,
           stop: threading.Event | None = None) -> list[Stats]:
    """Rebuild projections from offset 0 into a staging schema, then swap them in.

    A ``stop`` mid-way drops the staging schema and leaves the live tables as they were."""
    engine = make_engine(config.database_url)
    out: list[Stats] = []
    stop = stop or threading.Event()
    console = Console(stderr=True)
    for p in [q for n in names for q in select(n)]:
        staging = staging_schema(config.schema, p.name)
        with engine.begin() as conn:
            store.drop_schema(conn, staging)
        stats = _rebuild(engine, config, p, staging, stop, console if progress else None)
        if stop.is_set():
            with engine.begin() as conn:
                store.drop_schema(conn, staging)
            break
        with engine.begin() as conn:
            store.swap(conn, config.schema, staging, p)
        out.append(stats)
    return out


def _rebuild(engine: Engine, config: RunnerConfig, projection: Projection, staging: str, stop: threading.Event,
             console: Console | None) -> Stats:
    """Project the whole log into ``staging`` (own consumer group), with a progress bar on ``console``."""
    worker = Worker(projection, engine, staging, config, group_suffix="-replay")
    try:
        worker.start()
        total = max(worker.backlog(), 1)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                      TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
                      console=console, disable=console is None) as bar:
            task = bar.add_task(f"replay {projection.name}", total=total)
            run([worker], once=True, stop=stop, on_batch=lambda n: bar.advance(task, n))
            bar.update(task, completed=total)
    finally:
        worker.close()
    return worker.stats
