"""CLI commands ``praktijkregister project`` and ``praktijkregister replay`` (registered by registry/cli.py)."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, List, Optional

import typer
from rich.console import Console

if TYPE_CHECKING:
    from consumers.projector import RunnerConfig


def register(app: typer.Typer) -> None:
    @app.command()
    def project(
        names: Optional[List[str]] = typer.Argument(None, help="Projections to run (default: all)."),
        once: bool = typer.Option(False, "--once", help="Stop when every projection has caught up."),
        batch_size: int = typer.Option(500, "--batch-size", min=1, help="Events per database transaction."),
        schema: str = typer.Option("praktijk", "--schema", help="PostgreSQL schema of the read models."),
        events_topic: Optional[str] = typer.Option(None, "--events-topic", help="Canonical log topic."),
        rejections_topic: Optional[str] = typer.Option(None, "--rejections-topic", help="Rejections topic."),
        partition: Optional[List[int]] = typer.Option(None, "--partition", help="Only these partitions (repeatable; "
                                                      "run one instance per partition subset to scale out)."),
    ) -> None:
        """Run the projections (Kafka -> read models in PostgreSQL) until Ctrl-C / SIGTERM."""
        from consumers import projector

        console = Console()
        config = _config(schema, events_topic, rejections_topic, batch_size)
        if partition:
            config.partitions = tuple(partition)
        stop = threading.Event()
        projector.stop_on_signals(stop)
        try:
            stats = projector.project(config, names or ["all"], once=once, stop=stop)
        except ValueError as exc:
            _fail(str(exc))
        for st in stats:
            console.print(f"{st.projection}: {st.consumed} event(s) in {st.batches} batch(es)"
                          + (f", {st.undecodable} undecodable skipped" if st.undecodable else ""))

    @app.command()
    def replay(
        name: str = typer.Argument("all", help="Projection to rebuild, or all."),
        batch_size: int = typer.Option(2000, "--batch-size", min=1, help="Events per database transaction."),
        schema: str = typer.Option("praktijk", "--schema", help="PostgreSQL schema of the read models."),
        events_topic: Optional[str] = typer.Option(None, "--events-topic", help="Canonical log topic."),
        rejections_topic: Optional[str] = typer.Option(None, "--rejections-topic", help="Rejections topic."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
    ) -> None:
        """Rebuild read models from offset 0 into fresh tables, then swap them in (one transaction)."""
        from consumers import projector

        config = _config(schema, events_topic, rejections_topic, batch_size)
        stop = threading.Event()
        projector.stop_on_signals(stop)
        try:
            projector.select(name)
            stats = projector.replay(config, [name], progress=progress, stop=stop)
        except ValueError as exc:
            _fail(str(exc))
        if stop.is_set():
            _fail("replay interrupted; the live tables are unchanged", 130)
        for st in stats:
            Console().print(f"replayed {st.projection}: {st.consumed} event(s) in {st.batches} batch(es)")


def _config(schema: str, events_topic: Optional[str], rejections_topic: Optional[str], batch_size: int) -> "RunnerConfig":
    from consumers.projector import RunnerConfig
    from projections import store
    from registry.infra import settings as settings_mod
    from registry.infra import topics

    s = settings_mod.load()
    store.check_schema(schema)
    return RunnerConfig(s.kafka_bootstrap, s.database_url, schema, events_topic or topics.EVENTS,
                        rejections_topic or topics.REJECTIONS, batch_size)


def _fail(message: str, code: int = 1) -> None:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)
