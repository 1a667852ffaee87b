"""What every read-model query shares: which schema to read, running a statement, the pilot/regio
filter, the where-clause builder, the "first inschrijving" CTE and kwalificatie labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, text

from projections import store
from registry.domein import referentie
from registry.domein.telregels import DEFAULT_READ_SCHEMA

# crebo -> (naam, niveau, domein)
Kwalificaties = Mapping[str, tuple[str, int | None, str]]


def read_schema(conn: Connection) -> str:
    """The execution option ``praktijk_schema``, else the first non-default ``search_path`` entry,
    else the default read schema."""
    opt = conn.get_execution_options().get("praktijk_schema")
    if opt:
        return store.check_schema(str(opt))
    path = conn.execute(text("SELECT current_setting('search_path')")).scalar_one()
    for part in str(path).split(","):
        name = part.strip().strip('"')
        if name and name not in ("$user", "public", "pg_catalog") and not name.startswith("pg_"):
            try:
                return store.check_schema(name)
            except ValueError:
                continue
    return DEFAULT_READ_SCHEMA


def rows(conn: Connection, statement: str, params: Mapping[str, Any] | None = None) -> list[Row[Any]]:
    """Run ``statement`` (``{s}`` = the read schema) and return all its rows."""
    return list(conn.execute(text(store.sql(statement, read_schema(conn))), dict(params or {})))


def allowed_pilots(pilot: str | None, regio: str | None) -> list[str] | None:
    """Pilot ids allowed by the pilot and regio filters (None: no restriction)."""
    if pilot is None and regio is None:
        return None
    known = referentie.pilots()
    if regio is None:
        return [pilot] if pilot is not None else None
    return [
        p.pilot_id for p in known.values() if p.arbeidsmarktregio == regio and (pilot is None or p.pilot_id == pilot)
    ]


def kwalificatie_key(crebos: Sequence[str]) -> str:
    """The crebo, or the sorted distinct crebos joined by ','."""
    return ",".join(sorted(set(crebos)))


def instelling_naam(partner: str | None) -> str | None:
    if partner is None:
        return None
    return referentie.mbo_instellingen().get(partner, partner)


# each deelnemer's first inschrijving (earliest startdatum): the one the overzichten count them by
EERSTE = """eerste AS (
    SELECT DISTINCT ON (deelnemer) deelnemer, traject_id, pilot, mbo_instelling, geslacht, leeftijd, startdatum,
           leerbedrijf_id, gemeente
    FROM {s}.inschrijvingen ORDER BY deelnemer, startdatum, occurred_at, event_id)"""


# the record key of the deelnemer of the row under alias {a} (0 for one without: every deelnemer gets a key when the
# projection first sees them), for the cell keys of registry/domein/onthulling.py
RK = "COALESCE((SELECT rk.sleutel FROM {s}.record_sleutels rk WHERE rk.deelnemer = {a}.deelnemer), 0)"


def where(
    alias: str, pilots: list[str] | None, instelling: str | None, gemeente: str | None = None, pilot_col: str = "pilot"
) -> str:
    """Only the filters that apply, so no ``:param IS NULL OR ..`` reaches the planner (psycopg prepares a
    statement after 5 runs, and PostgreSQL's generic plan for such ORs is 10x slower)."""
    out = ["true"]
    if pilots is not None:
        out.append(f"{alias}.{pilot_col} = ANY(CAST(:pilots AS text[]))")
    if instelling is not None:
        out.append(f"{alias}.mbo_instelling = :instelling")
    if gemeente is not None:
        out.append(f"{alias}.gemeente = :gemeente")
    return " AND ".join(out)


def kwalificaties(conn: Connection, crebos: Iterable[str]) -> dict[str, tuple[str, int | None, str]]:
    """crebo -> (naam, niveau, domein): kwalificaties.csv, else the KwalificatiedossierVastgesteld
    (the table is only read for crebos the csv does not know)."""
    csv = referentie.kwalificaties()
    out: dict[str, tuple[str, int | None, str]] = {}
    missing = sorted({c for c in crebos if c not in csv})
    if missing:
        out.update(
            {
                r.crebo: (r.naam, r.niveau, r.domein)
                for r in rows(
                    conn, "SELECT crebo, naam, niveau, domein FROM {s}.dossiers WHERE crebo = ANY(:c)", {"c": missing}
                )
            }
        )
    for k in csv.values():
        out[k.crebo] = (k.naam, k.niveau, k.domein)
    return out
