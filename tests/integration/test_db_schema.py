"""``registry.infra.db.create_schema`` against the real PostgreSQL: creators that start together all succeed (two
validator instances once failed on pg_namespace's unique index with a plain ``CREATE SCHEMA IF NOT EXISTS``)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from registry.infra.db import create_schema
from registry.infra.db import engine as make_engine

pytestmark = pytest.mark.integration


def _together(database_url: str, schema: str, create: object, n: int = 6) -> list[BaseException]:
    engine = make_engine(database_url)
    start, errors = threading.Barrier(n), []

    def one() -> None:
        try:
            with engine.begin() as conn:
                start.wait()
                create(conn, schema)  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    return errors


def test_creators_that_start_together_all_succeed(database_url: str, unique: str) -> None:
    for round_ in range(5):
        assert _together(database_url, f"t{unique}_s{round_}", create_schema) == []
