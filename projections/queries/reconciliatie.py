"""The reconciliation as the API asks for it: ``projections/reconciliatie`` on the read schema of the
connection, and which pilots an mbo-instelling enrols in (the ``instelling:`` scope of the endpoints).

The recorded runs (``reconciliaties``, one row per ReconciliatieUitgevoerd): ``uitgevoerde_reconciliaties`` is the
history of a pilot at a peildatum, ``laatste_reconciliaties`` the current result per pilot and peildatum."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from projections import reconciliatie
from projections.queries.common import read_schema, rows
from registry.domein.reconciliatie import PilotRij


def reconciliatie_rijen(
    conn: Connection, peildatum: dt.date, pilot: str | None = None, *, venster_dagen: int, personen: bool = False
) -> list[PilotRij]:
    """One row per pilot with a registered deelnemer at ``peildatum`` or a telling within ``venster_dagen``
    (only ``pilot`` when given); ``personen`` adds the pseudonyms per category."""
    return reconciliatie.rijen(
        conn, read_schema(conn), peildatum, pilot, venster_dagen=venster_dagen, personen=personen
    )


def pilots_of_instelling(conn: Connection, instelling: str) -> set[str]:
    """The pilots in which the mbo-instelling (partner id, mbo.<id>) has at least one inschrijving."""
    found = rows(conn, "SELECT DISTINCT pilot FROM {s}.inschrijvingen WHERE mbo_instelling = :i", {"i": instelling})
    return {str(r.pilot) for r in found}


_RUN = "SELECT event_id, pilot, peildatum, register, gereconcilieerd, bronnen, occurred_at FROM {s}.reconciliaties"


def _run(r: Any) -> dict[str, Any]:
    return {
        "event_id": r.event_id,
        "pilot": r.pilot,
        "peildatum": r.peildatum,
        "register": r.register,
        "gereconcilieerd": r.gereconcilieerd,
        "bronnen": r.bronnen,
        "uitgevoerd_op": r.occurred_at,
    }


def uitgevoerde_reconciliaties(conn: Connection, pilot: str, peildatum: dt.date) -> list[dict[str, Any]]:
    """Every recorded run of ``pilot`` at ``peildatum``, oldest first (the history)."""
    return [
        _run(r)
        for r in rows(
            conn,
            _RUN + " WHERE pilot = :p AND peildatum = :d ORDER BY occurred_at, event_id",
            {"p": pilot, "d": peildatum},
        )
    ]


def laatste_reconciliaties(conn: Connection, peildatum: dt.date, pilot: str | None = None) -> list[dict[str, Any]]:
    """The latest recorded run per pilot at ``peildatum`` (only ``pilot`` when given), sorted by pilot."""
    where = " WHERE peildatum = :d" + (" AND pilot = :p" if pilot is not None else "")
    found = rows(
        conn,
        "SELECT DISTINCT ON (pilot) * FROM (" + _RUN + where + ") r ORDER BY pilot, occurred_at DESC, event_id DESC",
        {"d": peildatum, "p": pilot},
    )
    return [_run(r) for r in found]
