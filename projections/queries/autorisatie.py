"""Authorisation helpers: which mbo-instellingen may see a traject or a deelnemer."""
from __future__ import annotations

from sqlalchemy import Connection

from projections.queries.common import rows


def instelling_of_traject(conn: Connection, traject_id: str) -> str | None:
    """The mbo partner id (mbo.<id>) that enrolled the traject, or None."""
    found = rows(conn, "SELECT mbo_instelling FROM {s}.inschrijvingen WHERE traject_id = :t "
                       "ORDER BY occurred_at, event_id LIMIT 1", {"t": traject_id})
    if not found:
        return None
    instelling: str | None = found[0].mbo_instelling
    return instelling


def instellingen_of_deelnemer(conn: Connection, deelnemer: str) -> set[str]:
    """Every mbo partner id that enrolled the deelnemer or gave them an advies."""
    found = rows(conn, "SELECT mbo_instelling FROM {s}.inschrijvingen WHERE deelnemer = :d "
                       "UNION SELECT mbo_instelling FROM {s}.adviezen WHERE deelnemer = :d AND mbo_instelling IS NOT NULL",
                 {"d": deelnemer})
    return {r.mbo_instelling for r in found}
