"""CLI commands ``praktijkregister project`` and ``praktijkregister replay`` (registered by registry/cli/main.py)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from registry.cli import config
from registry.domein.telregels import DEFAULT_READ_SCHEMA

if TYPE_CHECKING:
    from consumers.projector import RunnerConfig


def register(app: typer.Typer) -> None:
    @app.command()
    def project(
        names: list[str] | None = typer.Argument(None, help="Projections to run (default: all)."),
        once: bool = typer.Option(False, "--once", help="Stop when every projection has caught up."),
        batch_size: int = typer.Option(500, "--batch-size", min=1, help="Events per database transaction."),
        schema: str = typer.Option(DEFAULT_READ_SCHEMA, "--schema", help="PostgreSQL schema of the read models."),
        events_topic: str | None = typer.Option(None, "--events-topic", help="Canonical log topic."),
        rejections_topic: str | None = typer.Option(None, "--rejections-topic", help="Rejections topic."),
        partition: list[int] | None = typer.Option(
            None,
            "--partition",
            help="Only these partitions (repeatable; run one instance per partition subset to scale out).",
        ),
        group: bool = typer.Option(
            False,
            "--group",
            help="Share the partitions with every other `project --group` "
            "process of the same projections through one Kafka consumer group (scale out; "
            "a stopped one's partitions move to the others).",
        ),
        metrics_port: int | None = typer.Option(
            None,
            "--metrics-port",
            help="Serve Prometheus metrics on this port (0: off; default PRAKTIJK_PROJECTOR_METRICS_PORT).",
        ),
    ) -> None:
        """Run the projections (Kafka -> read models in PostgreSQL) until Ctrl-C / SIGTERM: one consumer for all of
        them, one PostgreSQL transaction per batch."""
        from consumers import projector
        from registry.infra import dienst, metrics

        if not once:
            config.daemon_logging()
        console = Console()
        s = config.settings()
        metrics.serve("projector", s.projector_metrics_port if metrics_port is None else metrics_port, s.api_host)
        runner = _config(schema, events_topic, rejections_topic, batch_size)
        if partition and group:
            _fail("--partition and --group exclude each other: the group assigns the partitions")
        if partition:
            runner.partitions = tuple(partition)
        runner.groep = group
        stop = _stop_on_signals()
        if not once:
            dienst.als_dienst()  # long-running: no full-heap GC pauses, the GIL handed over within 1 ms
        try:
            stats = projector.project(runner, names or ["all"], once=once, stop=stop)
        except ValueError as exc:
            _fail(str(exc))
        for st in stats:
            console.print(
                f"{st.projection}: {st.consumed} event(s) in {st.batches} batch(es)"
                + (f", {st.undecodable} undecodable skipped" if st.undecodable else "")
            )

    @app.command()
    def replay(
        name: str = typer.Argument("all", help="Projection to rebuild, or all."),
        batch_size: int = typer.Option(2000, "--batch-size", min=1, help="Events per database transaction."),
        schema: str = typer.Option(DEFAULT_READ_SCHEMA, "--schema", help="PostgreSQL schema of the read models."),
        events_topic: str | None = typer.Option(None, "--events-topic", help="Canonical log topic."),
        rejections_topic: str | None = typer.Option(None, "--rejections-topic", help="Rejections topic."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
    ) -> None:
        """Rebuild read models from offset 0 into fresh tables in one pass over the log, then swap them in (one
        transaction)."""
        from consumers import replay as replay_mod
        from projections.catalogus import select

        runner = _config(schema, events_topic, rejections_topic, batch_size)
        stop = _stop_on_signals()
        try:
            select(name)
            stats = replay_mod.replay(runner, [name], progress=progress, stop=stop)
        except ValueError as exc:
            _fail(str(exc))
        if stop.is_set():
            _fail("replay interrupted; the live tables are unchanged", 130)
        for st in stats:
            Console().print(f"replayed {st.projection}: {st.consumed} event(s) in {st.batches} batch(es)")


def _config(schema: str, events_topic: str | None, rejections_topic: str | None, batch_size: int) -> RunnerConfig:
    from projections import store
    from registry import bootstrap

    store.check_schema(schema)
    return bootstrap.projector_config(config.settings(), schema, events_topic, rejections_topic, batch_size)


def _stop_on_signals() -> threading.Event:
    """An event that SIGTERM / SIGINT set: the runner finishes the current batch, then stops."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _fail(message: str, code: int = 1) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)
