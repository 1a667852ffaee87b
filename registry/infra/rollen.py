"""Least-privilege PostgreSQL roles, one per component (``praktijkregister db roles`` runs this as superuser).

* ``<p>_owner`` - migrations/DDL outside the components: owns the API key table (``apikey create|list|revoke``);
  may create schemas.
* ``<p>_projector`` - creates and owns the read-model schemas and tables it writes (``project``, ``replay``);
  default privileges give ``<p>_api`` and ``<p>_reconciler`` USAGE and SELECT on everything it creates later.
* ``<p>_api`` - SELECT on the read models and on the key table; INSERT (and SELECT) only on the append-only audit
  table ``<key table>_audit``; no UPDATE/DELETE anywhere, no DDL (so it can neither change a read model nor create a
  key or a table).
* ``<p>_validator`` - creates and owns its state schema (with the data-key vault, ``data_sleutels``); sees nothing
  else. ``<p>_api`` may SELECT that one table (it decrypts a verklaring's persoonsgegevens), nothing else there.
* ``<p>_reconciler`` - SELECT on the read models (it publishes its results to Kafka, never to the database).

Nobody but these roles (and superusers) may connect to the database, and only the owner, projector and
validator may create schemas. Everything is idempotent: running it again resets the passwords to the given
ones and re-applies the grants (also to schemas and tables created earlier by another role, whose ownership
moves to the right role).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from registry.infra import gegevenskluis
from registry.infra.db import table_exists
from registry.infra.settings import COMPONENTS, Component

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_QUALIFIED = re.compile(r"^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Rollen:
    prefix: str = "praktijk"

    def __post_init__(self) -> None:
        if not _NAME.match(self.prefix):
            raise ValueError(f"role prefix {self.prefix!r}: use lower-case letters, digits and _")

    def naam(self, component: Component) -> str:
        return f"{self.prefix}_{component}"


def _q(ident: str) -> str:
    """A quoted identifier (names come from the catalogue or from the checks above)."""
    return '"' + ident.replace('"', '""') + '"'


def _table(qualified: str) -> str:
    if not _QUALIFIED.match(qualified):
        raise ValueError(f"invalid table name {qualified!r}")
    return ".".join('"' + part + '"' for part in qualified.split("."))


def zorg_voor_rollen(
    conn: Connection,
    wachtwoorden: Mapping[Component, str],
    *,
    rollen: Rollen = Rollen(),
    read_schemas: Iterable[str] = ("praktijk",),
    validator_schemas: Iterable[str] = ("validator",),
    key_tables: Iterable[str] = ("api_keys",),
) -> None:
    """Create or update the roles and their privileges in the current database (``conn``: a superuser's,
    in a transaction). ``read_schemas`` / ``validator_schemas`` / ``key_tables`` that already exist are handed to
    the projector / validator / owner role; those created later get their rights from the default privileges."""
    missing = [c for c in COMPONENTS if not wachtwoorden.get(c)]
    if missing:
        raise ValueError(f"no password for {', '.join(missing)}")
    # concurrent runs (ops/stack.sh up in two shells) serialise here
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('praktijk-rollen'))"))
    db = _q(conn.execute(text("SELECT current_database()")).scalar_one())
    for c in COMPONENTS:
        rol = rollen.naam(c)
        bestaat = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": rol}).first() is not None
        verb = "ALTER" if bestaat else "CREATE"
        # format(%L) quotes the password as a literal on the server: no password reaches an identifier or a log line
        stmt = conn.execute(
            text(
                f"SELECT format('{verb} ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                " NOINHERIT PASSWORD %L', CAST(:r AS text), CAST(:p AS text))"
            ),
            {"r": rol, "p": wachtwoorden[c]},
        ).scalar_one()
        conn.exec_driver_sql(stmt)
    owner, projector, api, validator, reconciler = (_q(rollen.naam(c)) for c in COMPONENTS)
    readers = f"{api}, {reconciler}"
    conn.execute(text(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC"))
    conn.execute(text(f"GRANT CONNECT ON DATABASE {db} TO {owner}, {projector}, {api}, {validator}, {reconciler}"))
    conn.execute(text(f"GRANT CREATE ON DATABASE {db} TO {owner}, {projector}, {validator}"))
    # the projector COPYs each batch into session-private temp tables before one INSERT .. SELECT (projections/store)
    conn.execute(text(f"GRANT TEMPORARY ON DATABASE {db} TO {projector}"))
    conn.execute(text(f"REVOKE CREATE ON DATABASE {db} FROM {api}, {reconciler}"))
    conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))  # the default since PostgreSQL 15
    # whatever the projector creates from now on (schemas, read models, replay staging) is readable by the readers
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES FOR ROLE {projector} GRANT USAGE ON SCHEMAS TO {readers}"))
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES FOR ROLE {projector} GRANT SELECT ON TABLES TO {readers}"))
    for schema in read_schemas:
        if _geef_schema(conn, schema, projector):
            conn.execute(text(f"GRANT USAGE ON SCHEMA {_q(schema)} TO {readers}"))
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {_q(schema)} TO {readers}"))
    for schema in validator_schemas:
        # the data-key vault lives in the validator's schema: the validator creates and deletes keys, the
        # api reads that one table (to decrypt a verklaring's persoonsgegevens) and nothing else of the schema
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)} AUTHORIZATION {validator}"))
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {_q(schema)}.{gegevenskluis.TABLE} {gegevenskluis.TABLE_DDL}"))
        _geef_schema(conn, schema, validator)
        conn.execute(text(f"GRANT USAGE ON SCHEMA {_q(schema)} TO {api}"))
        conn.execute(text(f"GRANT SELECT ON TABLE {_q(schema)}.{gegevenskluis.TABLE} TO {api}"))
    for table in key_tables:
        if table_exists(conn, table):
            conn.execute(text(f"ALTER TABLE {_table(table)} OWNER TO {owner}"))
            conn.execute(
                text(f"REVOKE ALL ON TABLE {_table(table)} FROM PUBLIC, {projector}, {validator}, {reconciler}")
            )
            conn.execute(text(f"GRANT SELECT ON TABLE {_table(table)} TO {api}"))
            if "." in table:
                conn.execute(text(f"GRANT USAGE ON SCHEMA {_q(table.split('.')[0])} TO {api}"))
        # the audit trail of person-level reads (registry.api.audit): the API appends and reads, no more
        audit = f"{table}_audit"
        if table_exists(conn, audit):
            conn.execute(text(f"ALTER TABLE {_table(audit)} OWNER TO {owner}"))
            conn.execute(
                text(f"REVOKE ALL ON TABLE {_table(audit)} FROM PUBLIC, {projector}, {validator}, {reconciler}, {api}")
            )
            conn.execute(text(f"GRANT SELECT, INSERT ON TABLE {_table(audit)} TO {api}"))


def _geef_schema(conn: Connection, schema: str, rol: str) -> bool:
    """Make ``rol`` the owner of an existing schema and of every table, view and sequence in it."""
    if conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() is None:
        return False
    conn.execute(text(f"ALTER SCHEMA {_q(schema)} OWNER TO {rol}"))
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'v', 'm')"
        ),
        {"s": schema},
    ).all()  # sequences follow their table
    for name, kind in rows:
        what = {"v": "VIEW", "m": "MATERIALIZED VIEW"}.get(kind, "TABLE")
        conn.execute(text(f"ALTER {what} {_q(schema)}.{_q(name)} OWNER TO {rol}"))
    return True
