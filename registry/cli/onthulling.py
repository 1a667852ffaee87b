"""CLI: ``praktijkregister onthulling rapport``: what the cell key method of publiek and regio answers costs in
accuracy, measured over every publiek cell at every month end (registry/diensten/bruikbaarheid.py)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console

from registry.domein.telregels import DEFAULT_READ_SCHEMA

app = typer.Typer(help="Disclosure control of publiek and regio answers (the cell key method).", no_args_is_help=True)
console = Console()


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="onthulling")


def _datum(value: str, optie: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date of the form YYYY-MM-DD", param_hint=optie) from None


@app.command("rapport")
def rapport(
    van: str = typer.Option("2018-01-01", "--van", help="First month (YYYY-MM-DD, any day of it)."),
    tot: str = typer.Option("2021-01-31", "--tot", help="Last month end (YYYY-MM-DD)."),
    schema: str = typer.Option(DEFAULT_READ_SCHEMA, help="Read-model schema."),
) -> None:
    """Mean and largest absolute perturbation, and the share of cells changed, over every publiek cell (every count
    of every overzicht and the headline numbers) at every month end from VAN to TOT."""
    from projections import queries
    from registry.diensten import bruikbaarheid
    from registry.infra import settings as settings_mod
    from registry.infra.db import engine

    begin, eind = _datum(van, "--van"), _datum(tot, "--tot")
    if eind < begin:
        raise typer.BadParameter("--tot is before --van", param_hint="--tot")
    s = settings_mod.load()
    eng = engine(s.for_component("api").database_url)
    try:
        with eng.connect() as conn:
            c = conn.execution_options(praktijk_schema=schema)
            uitkomst = bruikbaarheid.rapport(queries, c, begin, eind)
    finally:
        eng.dispose()
    console.print(uitkomst.regel(), highlight=False)
