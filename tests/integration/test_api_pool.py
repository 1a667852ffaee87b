"""The API's pool pings a connection only after it lay idle (registry/infra/db.py): a connection that
died meanwhile (PostgreSQL restarted, an idle timeout) is replaced on checkout, without the request noticing."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from registry.infra.db import engine


def test_a_dead_idle_connection_is_replaced_on_checkout(database_url: str) -> None:
    eng = engine(database_url, 1e-6, 1, 0)  # one connection; "idle" after a microsecond: pinged on every checkout
    with eng.connect() as conn:
        before = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(database_url)
    try:
        with admin.begin() as conn:
            # with a timeout it returns once the backend is gone (PostgreSQL 14+), so the next checkout meets a dead one
            assert conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": before}).scalar_one()
    finally:
        admin.dispose()
    with eng.connect() as conn:  # the ping fails, the pool connects anew: no error for the caller
        after = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert after != before
