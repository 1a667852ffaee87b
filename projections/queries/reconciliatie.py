"""The reconciliation as the API asks for it: ``projections/reconciliatie`` on the read schema of the
connection, and which pilots an mbo-instelling enrols in (the ``instelling:`` scope of the endpoints)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from projections import reconciliatie
from projections.queries.common import read_schema, rows
from registry.domein.reconciliatie import PilotRij


def reconciliatie_rijen(conn: Connection, peildatum: dt.date, pilot: str | None = None, *, venster_dagen: int,
                        personen: bool = False) -> list[PilotRij]:
    """One row per pilot with a registered deelnemer at ``peildatum`` or a telling within ``venster_dagen``
    (only ``pilot`` when given); ``personen`` adds the pseudonyms per category."""
    return reconciliatie.rijen(conn, read_schema(conn), peildatum, pilot, venster_dagen=venster_dagen,
                               personen=personen)


def pilots_of_instelling(conn: Connection, instelling: str) -> set[str]:
    """The pilots in which the mbo-instelling (partner id, mbo.<id>) has at least one inschrijving."""
    found = rows(conn, "SELECT DISTINCT pilot FROM {s}.inschrijvingen WHERE mbo_instelling = :i", {"i": instelling})
    return {str(r.pilot) for r in found}
