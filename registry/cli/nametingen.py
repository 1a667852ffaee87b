"""CLI: ``praktijkregister nametingen --as P [--peildatum D]``: the follow-ups a referrer or instelling owes.

For the deelnemers ``P`` referred (its KandidaatAangemeld) or enrolled (its inschrijving) with an ended traject: the
uitstroom at 6 and 12 months after the last ending that is due on ``D`` (default today) and not yet registered.
Each deelnemer is shown by ``P``'s own partner-side pseudonym, the one in ``P``'s own submissions (its ingress
topic): the read models hold registry pseudonyms only, which ``P`` cannot recognise, so each is matched with the
registry key against the pseudonyms ``P`` itself sent. One the ingress no longer holds shows as ``(niet in
ingress)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import typer
from rich.table import Table

from registry.cli import uitvoer
from registry.domein import doorstroom
from registry.domein.identifiers import partner as partner_fout
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import codec, topics
from registry.infra import settings as settings_mod
from registry.infra.db import engine
from registry.infra.sleutelbestanden import RegistryPseudoniemSleutel
from registry.infra.topics import Topics

NIET_IN_INGRESS = "(niet in ingress)"


def register(app: typer.Typer) -> None:
    app.command("nametingen")(nametingen)


def _peildatum(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date of the form YYYY-MM-DD") from None


def nametingen(
    as_partner: str = typer.Option(..., "--as", help="The referrer or instelling (partner id) whose deelnemers."),
    peildatum: str | None = typer.Option(None, "--peildatum", help="Due on this date (YYYY-MM-DD); default today."),
    prefix: str = typer.Option("praktijkleren", help="Topic prefix."),
    schema: str = typer.Option(DEFAULT_READ_SCHEMA, help="Read-model schema."),
) -> None:
    """List the 6- and 12-month uitstroom measurements due for a partner's own deelnemers."""
    fout = partner_fout(as_partner)
    if fout is not None:
        raise typer.BadParameter(fout, param_hint="--as")
    d = _peildatum(peildatum)
    s = settings_mod.load()
    kandidaten = lees_kandidaten(s, schema, as_partner, d)
    eigen = eigen_pseudoniemen(s, prefix, as_partner)
    rijen = open_nametingen(kandidaten, eigen, d)
    table = Table(title=f"{len(rijen)} nameting(en) due for {as_partner} on {d.isoformat()}")
    for col in ("deelnemer", "peilmoment", "einde", "vervalt"):
        table.add_column(col, overflow="fold")
    for r in rijen:
        table.add_row(r["deelnemer"], r["peilmoment"], r["einde"].isoformat(), r["vervalt"].isoformat())
    uitvoer.console().print(table)


def open_nametingen(
    kandidaten: Iterable[dict[str, Any]], eigen: dict[str, str], peildatum: dt.date
) -> list[dict[str, Any]]:
    """Due follow-ups, each deelnemer by the partner's own pseudonym (``eigen``: registry -> partner pseudonym)."""
    uit = []
    for k in kandidaten:
        for peilmoment, vervalt in doorstroom.nametingen_open(k["einde"], k["peilmomenten"] or (), peildatum):
            uit.append(
                {
                    "deelnemer": eigen.get(str(k["deelnemer"]), NIET_IN_INGRESS),
                    "peilmoment": peilmoment,
                    "einde": k["einde"],
                    "vervalt": vervalt,
                }
            )
    return sorted(uit, key=lambda r: (r["vervalt"], r["deelnemer"], r["peilmoment"]))


def lees_kandidaten(s: settings_mod.Settings, schema: str, partner: str, peildatum: dt.date) -> list[dict[str, Any]]:
    import projections.queries as queries  # the CLI composes: it may read the read models

    with engine(s.for_component("api").database_url).connect() as conn:
        return queries.nameting_kandidaten(conn.execution_options(praktijk_schema=schema), partner, peildatum)


def eigen_pseudoniemen(s: settings_mod.Settings, prefix: str, partner: str) -> dict[str, str]:
    """registry pseudonym -> the partner-side pseudonym, for every deelnemer in the partner's own submissions."""
    sleutel = RegistryPseudoniemSleutel.from_file(s.registry_pseudonym_key_file)
    gezien: set[str] = set()
    for record in topics.read_to_end(s.kafka_servers, Topics(prefix).ingress(partner)):
        try:
            _, r = codec.decode(record.value)
        except codec.DecodeError:
            continue
        if isinstance(r.get("deelnemer"), str):
            gezien.add(r["deelnemer"])
    return {sleutel.canoniek(p): p for p in gezien}
