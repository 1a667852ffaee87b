"""A registry pseudonym key rotation applied to what PostgreSQL holds (pure part: registry/domein/rotatie.py).

``pas_toe`` runs in one transaction of a superuser (``keys apply-registry-pseudonym``):

* every text, JSON and text-array column of every table in the read-model schema and the validator's state schema
  gets each mapped pseudonym in its new form. Generic on purpose: the tables belong to several projections and
  change with them, and a pseudonym is recognisable (64 lowercase hex, only exact mapping keys are replaced);
* the data-key vault files each key under the new form (registry/infra/gegevenskluis.py ``verhuis``);
* the table ``<read schema>.pseudoniem_rotaties (oud, nieuw)`` keeps every old form -> newest form, because the
  canonical log keeps the old forms: the projector maps the events it reads with it (a replay lands on the new
  forms too), and the API opens persoonsgegevens of events written before the rotation with it.

``alle_pseudoniemen`` lists what must be mapped: every deelnemer the validator knows, also erased ones (their
new form must stay refused), and every pseudonym in a ``deelnemer`` column of the read models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from registry.domein import pseudoniemen, rotatie
from registry.infra import gegevenskluis
from registry.infra.db import create_schema, table_exists
from registry.infra.rollen import Rollen
from registry.infra.settings import Component

TABLE = "pseudoniem_rotaties"
_DDL = "(oud text PRIMARY KEY, nieuw text NOT NULL)"
# how a column's value is written back after the text rewrite (information_schema data_type / udt_name)
_CAST = {"text": "text", "character varying": "varchar", "jsonb": "jsonb", "json": "json", "_text": "text[]"}
_LEZERS: tuple[Component, ...] = (
    "projector",
    "api",
    "reconciler",
)  # the components that read the mapping (registry/infra/rollen.py)


@dataclass(frozen=True)
class Verslag:
    """What ``pas_toe`` did: pseudonyms mapped this time, column values rewritten, data keys moved."""

    pseudoniemen: int
    waarden: int
    sleutels: int


def _tabel(schema: str) -> str:
    return f'"{schema}".{TABLE}'


def lees(conn: Connection, schema: str) -> dict[str, str]:
    """Every old pseudonym -> its newest form (empty when no rotation was ever applied)."""
    if not table_exists(conn, _tabel(schema)):
        return {}
    return {str(o): str(n) for o, n in conn.execute(text(f"SELECT oud, nieuw FROM {_tabel(schema)}"))}


def alle_pseudoniemen(conn: Connection, read_schema: str, state_schema: str) -> list[str]:
    """Every canonical pseudonym the database holds now (sorted): the validator's deelnemers (also erased ones) and
    the read models' ``deelnemer`` columns."""
    gevonden: set[str] = set()
    if table_exists(conn, f'"{state_schema}".entiteit'):
        gevonden |= {
            str(i)
            for (i,) in conn.execute(
                text(f"""SELECT id FROM "{state_schema}".entiteit WHERE soort IN ('deelnemer', 'verwijderd')""")
            )
        }
    for (tabel,) in conn.execute(
        text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = :s "
            "AND column_name = 'deelnemer' AND data_type = 'text'"
        ),
        {"s": read_schema},
    ):
        if tabel != TABLE:
            gevonden |= {
                str(d) for (d,) in conn.execute(text(f'SELECT DISTINCT deelnemer FROM "{read_schema}"."{tabel}"'))
            }
    return sorted(p for p in gevonden if pseudoniemen.is_pseudoniem(p))


def pas_toe(
    conn: Connection,
    mapping: Mapping[str, str],
    read_schema: str,
    state_schema: str,
    kluis: gegevenskluis.Gegevenskluis,
) -> Verslag:
    """Apply one rotation's mapping (old -> new) in the caller's transaction (a superuser's)."""
    _bewaar(conn, read_schema, rotatie.samenstellen(lees(conn, read_schema), mapping))
    waarden = sum(
        _herschrijf(conn, schema, tabel, kolom, cast, mapping)
        for schema in (read_schema, state_schema)
        for tabel, kolom, cast in _kolommen(conn, schema)
    )
    return Verslag(len(mapping), waarden, kluis.verhuis(conn, mapping))


def maak_tabel(conn: Connection, schema: str) -> None:
    """The mapping's table when missing (also ``restore``, before it copies the applied rotations back)."""
    create_schema(conn, schema)
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {_tabel(schema)} {_DDL}"))


def _bewaar(conn: Connection, schema: str, mapping: Mapping[str, str]) -> None:
    maak_tabel(conn, schema)
    conn.execute(text(f"DELETE FROM {_tabel(schema)}"))
    if mapping:
        conn.execute(
            text(f"INSERT INTO {_tabel(schema)} (oud, nieuw) VALUES (:o, :n)"),
            [{"o": o, "n": n} for o, n in mapping.items()],
        )
    for component in _LEZERS:  # a superuser made the table: the components' default privileges do not cover it
        rol = Rollen().naam(component)
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": rol}).scalar():
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{rol}"'))
            conn.execute(text(f'GRANT SELECT ON {_tabel(schema)} TO "{rol}"'))


def _kolommen(conn: Connection, schema: str) -> list[tuple[str, str, str]]:
    """(table, column, cast) of every column that may hold a pseudonym; the mapping itself and the vault (key ids
    are HMACs, moved by ``verhuis``) excepted, and append-only audit tables (they record what was read then)."""
    rows = conn.execute(
        text(
            "SELECT c.table_name, c.column_name, CASE WHEN c.data_type = 'ARRAY' THEN c.udt_name ELSE c.data_type END "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
            "WHERE c.table_schema = :s ORDER BY 1, 2"
        ),
        {"s": schema},
    )
    uitgezonderd = {TABLE, gegevenskluis.TABLE}
    return [
        (str(t), str(k), _CAST[str(d)])
        for t, k, d in rows
        if str(d) in _CAST and t not in uitgezonderd and not str(t).endswith("_audit")
    ]


def _herschrijf(conn: Connection, schema: str, tabel: str, kolom: str, cast: str, mapping: Mapping[str, str]) -> int:
    q, k = f'"{schema}"."{tabel}"', f'"{kolom}"'
    rows = conn.execute(text(f"SELECT ctid::text, {k}::text FROM {q} WHERE {k}::text ~ '[0-9a-f]{{64}}'")).all()
    updates = [
        {"t": tid, "v": nieuw} for tid, oud in rows if (nieuw := rotatie.vervang_in_tekst(str(oud), mapping)) != oud
    ]
    if updates:  # ctid: the row's place, valid within this transaction (no table needs a primary key)
        conn.execute(text(f"UPDATE {q} SET {k} = CAST(:v AS {cast}) WHERE ctid = CAST(:t AS tid)"), updates)
    return len(updates)


def nieuwste(conn: Connection, schema: str, pseudoniem: str) -> str | None:
    """The newest form of an old pseudonym (one from before an applied rotation), else None."""
    if not table_exists(conn, _tabel(schema)):
        return None
    found = conn.execute(text(f"SELECT nieuw FROM {_tabel(schema)} WHERE oud = :o"), {"o": pseudoniem}).scalar()
    return None if found is None else str(found)
