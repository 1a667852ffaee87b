"""``praktijkregister serve`` and ``praktijkregister apikey create|list|revoke``.

This is the query API's composition root: the one place that hands the read-model queries
(``projections.queries``) to ``registry.api`` (which never imports the projections itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from registry.api.auth import KeyStore, parse_scope, scope_help
from registry.cli import config, uitvoer
from registry.cli.uitvoer import Formaat, kolom
from registry.infra import settings as settings_mod
from registry.infra.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

console = Console()
err = Console(stderr=True)


@dataclass(frozen=True)
class Sleutelregel:
    """A row of ``apikey list``: never the key itself (only its hash is stored)."""

    key_id: str = kolom()
    scope: str = kolom()
    naam: str = kolom()
    created_at: str = kolom()
    revoked_at: str | None = kolom()


def _store() -> KeyStore:
    from registry.infra.db import engine

    return KeyStore(engine(config.settings().for_component("owner").database_url))


def build_app(settings: Settings, schema: str | None = None) -> FastAPI:
    """The query API over the projections' read models (``schema``: their PostgreSQL schema, default theirs)."""
    from registry import bootstrap

    return bootstrap.api_app(settings, schema)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory registry.cli.api:app_from_env``: each worker process is an entry point of
    its own, and loads the settings once."""
    return build_app(settings_mod.load())


def _serve_workers(host: str, port: int, workers: int, log_level: str) -> None:
    """uvicorn with ``workers`` processes; their metrics go to a private folder that every scrape of /metrics sums
    (prometheus-client multiprocess mode), so one scrape sees all workers. The folder is removed afterwards."""
    import os
    import shutil
    import tempfile

    import uvicorn

    folder = tempfile.mkdtemp(prefix="praktijk-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # inherited by the worker processes uvicorn spawns
    try:
        uvicorn.run(
            "registry.cli.api:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def register(app: typer.Typer) -> None:
    apikey_app = typer.Typer(help="API keys of the query API (only their SHA-256 is stored).", no_args_is_help=True)
    app.add_typer(apikey_app, name="apikey")

    @app.command()
    def serve(
        host: str | None = typer.Option(None, help="Listen address (default PRAKTIJK_API_HOST)."),
        port: int | None = typer.Option(None, help="Port (default PRAKTIJK_API_PORT)."),
        workers: int = typer.Option(1, min=1, help="Worker processes."),
        log_level: str = typer.Option("info", help="uvicorn log level."),
        schema: str | None = typer.Option(None, help="PostgreSQL schema of the read models (default praktijk)."),
    ) -> None:
        """Run the query API (uvicorn): /v1/..., /docs, /metrics."""
        import uvicorn

        s = config.settings()
        h, p = host or s.api_host, port or s.api_port
        if workers > 1:
            if schema:
                err.print("[red]error:[/red] --schema works with one worker only", highlight=False)
                raise typer.Exit(2)
            _serve_workers(h, p, workers, log_level)
        else:
            uvicorn.run(build_app(s, schema=schema), host=h, port=p, log_level=log_level, access_log=False)

    @apikey_app.command("create")
    def apikey_create(
        scope: str = typer.Option(..., "--scope", help=scope_help()),
        naam: str = typer.Option("", "--naam", help="Label: who or what uses the key."),
    ) -> None:
        """Create a key and print it ONCE (only its hash is stored)."""
        try:
            parsed = parse_scope(scope)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from None
        key, secret = _store().create(parsed, naam)
        err.print(f"created key {key.key_id} with scope {key.scope}; it is shown once, store it now:", highlight=False)
        print(secret)

    @apikey_app.command("list")
    def apikey_list(
        all_keys: bool = typer.Option(False, "--all", help="Include revoked keys."),
        formaat: Formaat = uitvoer.format_option(),
    ) -> None:
        """List keys (id, scope, label, dates; never the key)."""
        rijen = [
            Sleutelregel(
                k.key_id,
                str(k.scope),
                k.naam,
                k.created_at.isoformat(timespec="seconds"),
                k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else None,
            )
            for k in _store().list()
            if k.revoked_at is None or all_keys
        ]
        uitvoer.toon(rijen, Sleutelregel, formaat)  # full-width rows in a pipe

    @apikey_app.command("revoke")
    def apikey_revoke(key_id: str = typer.Argument(..., help="The key_id shown by create/list.")) -> None:
        """Revoke a key: it is refused (401) from now on."""
        if not _store().revoke(key_id):
            err.print(f"[red]error:[/red] no active key with id {key_id!r}", highlight=False)
            raise typer.Exit(1)
        console.print(f"revoked {key_id}")
