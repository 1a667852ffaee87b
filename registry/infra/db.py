"""Database engine (SQLAlchemy 2 + psycopg 3). Adapters take a session from here."""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError

# The query API pings a pooled connection only when it lay unused this long: a busy API reuses its connections
# many times a second, and a ping per checkout was one of the three round trips of a cached answer.
API_PING_AFTER_IDLE_SECONDS = 10.0
# The API keeps all its connections (no overflow): an overflow connection is closed on return and opened anew for the
# next busy moment, and a new PostgreSQL connection (fork + SCRAM) cost ~12% of a cold answer's busy time.
API_POOL_SIZE = 30
# a table name that may stand in SQL text: lower-case identifier, optionally schema-qualified
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


@lru_cache(maxsize=8)
def engine(url: str, ping_after_idle: float = 0.0, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """The engine for ``url``. ``ping_after_idle`` 0: ping every connection on checkout (``pool_pre_ping``, for
    the consumers and commands); > 0: ping only a connection idle longer than that many seconds (the API).
    Connections are opened on demand, up to ``pool_size`` kept plus ``max_overflow`` closed again on return.

    Either way a dead connection does not stay in the pool: a failed ping makes the pool take a fresh one, and
    an error SQLAlchemy recognises as a disconnect (e.g. PostgreSQL restarted) invalidates every pooled
    connection, so at most the request that met it fails and the next one reconnects."""
    eng = create_engine(url, pool_pre_ping=ping_after_idle <= 0, pool_size=pool_size, max_overflow=max_overflow)
    if ping_after_idle > 0:
        _ping_when_idle(eng, ping_after_idle)
    return eng


def _ping_when_idle(eng: Engine, seconds: float) -> None:
    @event.listens_for(eng, "checkin")
    def remember_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(eng, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since <= seconds:
            return  # new, or in use moments ago
        try:
            eng.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping's transaction; the pool hands out an idle connection
        except Exception as exc:  # noqa: BLE001 - any failed ping means: this connection is gone
            raise DisconnectionError("pooled connection did not answer its ping") from exc  # the pool retries


def checked_table(table: str) -> str:
    """``table`` when it is a plain (optionally schema-qualified) lower-case name; ValueError otherwise."""
    if not _IDENT.match(table):
        raise ValueError(f"invalid table name {table!r}")
    return table


def table_exists(conn: Connection, table: str) -> bool:
    """Whether ``table`` exists (looked up, not created: a role without CREATE may ask)."""
    return conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None


class EnsuredTable:
    """A table an adapter makes sure of on first use, once per instance: ``ensure()`` looks it up and hands
    ``_ensure`` the connection (one transaction) and whether the table exists."""

    def __init__(self, engine: Engine, table: str) -> None:
        self.engine = engine
        self.table = checked_table(table)
        self._ready = False

    def ensure(self) -> None:
        if self._ready:
            return
        with self.engine.begin() as conn:
            self._ensure(conn, table_exists(conn, self.table))
        self._ready = True

    def _ensure(self, conn: Connection, exists: bool) -> None:
        raise NotImplementedError


def create_schema(conn: Connection, schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS`` that concurrent creators survive: two transactions that both find the schema
    missing both insert it, and the second fails on pg_namespace's unique index (two validator instances starting
    together did). An advisory lock per schema name, held to the end of the transaction, puts them in turn."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "praktijk-schema:" + schema})
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
