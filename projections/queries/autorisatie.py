"""Authorisation helpers: which mbo-instellingen may see a traject or a deelnemer."""

from __future__ import annotations

from sqlalchemy import Connection

from projections.queries.common import rows


def instelling_of_traject(conn: Connection, traject_id: str) -> str | None:
    """The mbo partner id (mbo.<id>) that enrolled the traject, or None."""
    found = rows(
        conn,
        "SELECT mbo_instelling FROM {s}.inschrijvingen WHERE traject_id = :t ORDER BY occurred_at, event_id LIMIT 1",
        {"t": traject_id},
    )
    if not found:
        return None
    instelling: str | None = found[0].mbo_instelling
    return instelling


def deelnemers_of_instelling(conn: Connection, instelling: str) -> set[str]:
    """The pseudonyms the mbo partner id ENROLLED (its relation in the read models, as for the timeline)."""
    found = rows(conn, "SELECT DISTINCT deelnemer FROM {s}.inschrijvingen WHERE mbo_instelling = :i", {"i": instelling})
    return {r.deelnemer for r in found}


def instellingen_of_deelnemer(conn: Connection, deelnemer: str) -> set[str]:
    """Every mbo partner id that ENROLLED the deelnemer (a DeelnemerIngeschreven). An advies does not count: any
    instelling can publish an advies for any pseudonym, so it must not unlock anyone's timeline."""
    found = rows(conn, "SELECT DISTINCT mbo_instelling FROM {s}.inschrijvingen WHERE deelnemer = :d", {"d": deelnemer})
    return {r.mbo_instelling for r in found if r.mbo_instelling is not None}
