"""The audit trail of person-level reads: every request for a traject, a tijdlijn or a verklaring document or
credential is written to an append-only table (``<key table>_audit``, default ``api_keys_audit``) before the
answer leaves: key id, scope, time, endpoint, pseudonym (the deelnemer the answer is about), the object asked for
and the outcome (200, 403, 404, 410). ``GET /v1/audit`` (landelijk) reads it.

Append-only: the API's PostgreSQL role has only INSERT and SELECT on the table (``praktijkregister db roles``),
and a trigger refuses UPDATE, DELETE and TRUNCATE for everyone but a superuser who drops it on purpose.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text

from registry.infra.db import EnsuredTable, checked_table, table_exists


@dataclass(frozen=True)
class AuditEntry:
    key_id: str
    scope: str
    endpoint: str  # the route template, e.g. /v1/deelnemers/{pseudonym}/tijdlijn
    pseudonym: str | None  # the deelnemer the read is about (None: unknown object)
    object_id: str  # traject_id, pseudonym or verklaring_id as asked
    status: int  # the answer: 200, 403, 404, 410
    at: datetime | None = None


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None:
        """Append one entry (raises when it cannot be written: then the read is not answered)."""

    def entries(
        self, *, pseudonym: str | None = None, key_id: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        """The newest entries first, optionally of one pseudonym or key."""


class MemoryAuditLog:
    """In memory (unit tests without a database). Same behaviour as AuditTable."""

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        with self._lock:
            self._entries.append(AuditEntry(**{**asdict(entry), "at": datetime.now(UTC)}))

    def entries(
        self, *, pseudonym: str | None = None, key_id: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        with self._lock:
            found = [
                e
                for e in reversed(self._entries)
                if (pseudonym is None or e.pseudonym == pseudonym) and (key_id is None or e.key_id == key_id)
            ]
        return found[:limit]


def audit_table_of(key_table: str) -> str:
    return f"{key_table}_audit"


def create_audit_table(conn: Any, table: str) -> None:
    """Create the table and its append-only trigger when missing (the owner's or a superuser's connection)."""
    if table_exists(conn, checked_table(table)):
        return
    fn = "praktijk_audit_append_only"  # one function shared by every audit table (no leftovers per test table)
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " at timestamptz NOT NULL DEFAULT now(),"
            " key_id text NOT NULL, scope text NOT NULL, endpoint text NOT NULL,"
            " pseudonym text, object_id text NOT NULL, status smallint NOT NULL)"
        )
    )
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS {table.split('.')[-1]}_pseudonym ON {table} (pseudonym, at)"))
    if conn.execute(text("SELECT 1 FROM pg_proc WHERE proname = :f"), {"f": fn}).first() is None:
        conn.execute(
            text(
                f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'the audit trail is append-only'; END $$"
            )
        )
    conn.execute(
        text(
            f"CREATE TRIGGER {table.split('.')[-1]}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {fn}()"
        )
    )
    conn.execute(
        text(
            f"CREATE TRIGGER {table.split('.')[-1]}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )
    )


class AuditTable(EnsuredTable):
    """The audit trail in PostgreSQL. Written in its own short transaction, so it is committed before the
    person-level answer is sent."""

    def __init__(self, engine: Engine, table: str = "api_keys_audit") -> None:
        super().__init__(engine, table)

    def _ensure(self, conn: Connection, exists: bool) -> None:
        if not exists:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('praktijk-audit'))"))
            create_audit_table(conn, self.table)

    def record(self, entry: AuditEntry) -> None:
        self.ensure()
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO {self.table} (key_id, scope, endpoint, pseudonym, object_id, status) "
                    "VALUES (:k, :s, :e, :p, :o, :st)"
                ),
                {
                    "k": entry.key_id,
                    "s": entry.scope,
                    "e": entry.endpoint,
                    "p": entry.pseudonym,
                    "o": entry.object_id,
                    "st": entry.status,
                },
            )

    def entries(
        self, *, pseudonym: str | None = None, key_id: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        self.ensure()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT key_id, scope, endpoint, pseudonym, object_id, status, at FROM {self.table} "
                    "WHERE (CAST(:p AS text) IS NULL OR pseudonym = :p) AND (CAST(:k AS text) IS NULL OR key_id = :k) "
                    "ORDER BY id DESC LIMIT :n"
                ),
                {"p": pseudonym, "k": key_id, "n": limit},
            ).all()
        return [AuditEntry(r.key_id, r.scope, r.endpoint, r.pseudonym, r.object_id, r.status, r.at) for r in rows]
