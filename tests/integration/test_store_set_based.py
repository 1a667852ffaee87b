"""projections/store.execute writes a run of inserts as multi-row statements with the same outcome as row by row:
repeated conflict keys (last writer by business time), NULLs, arrays, dates, and runs larger than one statement."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import text

from projections import store
from projections.model import Change, Projection, insert
from registry.infra.db import engine as make_engine

TABLE = "(id text PRIMARY KEY, naam text, tags text[], op date, at timestamptz NOT NULL)"
PROJECTION = Projection("t", "test", ("events",), {"dingen": TABLE}, [], lambda _m: [])


def _row(i: int, naam: str | None, hours: int) -> Change:
    return insert(
        "dingen",
        {
            "id": f"d{i}",
            "naam": naam,
            "tags": [f"t{i}", "x"],
            "op": dt.date(2021, 1, 1 + i % 28),
            "at": dt.datetime(2021, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=hours),
        },
        ["id"],
        ["naam", "tags", "op", "at"],
        newer_than="at",
    )


def test_multi_row_inserts_equal_row_by_row(database_url: str) -> None:
    schema = f"t{uuid.uuid4().hex[:10]}_store"
    eng = make_engine(database_url)
    many = store.MAX_PARAMS // 5 + 7  # more rows than one statement takes
    changes = [_row(i, f"n{i}", 1) for i in range(many)]
    changes += [_row(1, "newer", 5), _row(1, "older", 3), _row(2, None, 9)]  # the same keys again, one run
    try:
        with eng.begin() as conn:
            store.ensure(conn, schema, [PROJECTION])
            assert store.execute(conn, schema, changes) == len(changes)
        with eng.connect() as conn:
            rows = {r.id: r for r in conn.execute(text(store.sql("SELECT * FROM {s}.dingen", schema)))}
        assert len(rows) == many
        assert rows["d1"].naam == "newer" and rows["d2"].naam is None  # the newest by business time, as row by row
        assert rows["d7"].tags == ["t7", "x"] and rows["d7"].op == dt.date(2021, 1, 8) and rows["d0"].naam == "n0"
    finally:
        with eng.begin() as conn:
            store.drop_schema(conn, schema)


def _feit(i: int, naam: str) -> Change:
    return insert(
        "dingen",
        {"id": f"d{i}", "naam": naam, "tags": None, "op": None, "at": dt.datetime(2021, 1, 1, tzinfo=dt.UTC)},
        ["id"],
    )  # DO NOTHING


def test_insert_only_rows_are_copied_straight_in_and_a_row_already_there_is_skipped(database_url: str) -> None:
    """Insert-only runs go into the table by COPY (no staging table); when a row is already there (a batch
    projected again) the call rolls back to its savepoint and the set-based path skips that row, keeping the first
    one, in the same transaction, without an error."""
    schema = f"t{uuid.uuid4().hex[:10]}_store"
    eng = make_engine(database_url)
    staging = store._staging_table(schema, "dingen")
    try:
        with eng.begin() as conn:
            store.ensure(conn, schema, [PROJECTION])
            assert store.execute(conn, schema, [_feit(i, f"eerste{i}") for i in range(5)]) == 5
            # the direct path made no staging table in this session
            assert conn.execute(text("SELECT to_regclass(:t)"), {"t": f"pg_temp.{staging}"}).scalar() is None
            # d3 and d4 again (another name), two new rows: the COPY fails on d3, the fallback skips d3 and d4
            assert store.execute(conn, schema, [_feit(i, f"tweede{i}") for i in range(3, 7)]) == 4
            assert conn.execute(text("SELECT to_regclass(:t)"), {"t": f"pg_temp.{staging}"}).scalar() is not None
        with eng.connect() as conn:
            rows = {r.id: r.naam for r in conn.execute(text(store.sql("SELECT * FROM {s}.dingen", schema)))}
        assert rows == {
            "d0": "eerste0",
            "d1": "eerste1",
            "d2": "eerste2",
            "d3": "eerste3",
            "d4": "eerste4",
            "d5": "tweede5",
            "d6": "tweede6",
        }
    finally:
        with eng.begin() as conn:
            store.drop_schema(conn, schema)


TELLERS = "(id text PRIMARY KEY, n int NOT NULL)"
TWEE = Projection("t2", "test", ("events",), {"dingen": TABLE, "tellers": TELLERS}, [], lambda _m: [])


def _tel(i: int) -> Change:
    """An update that counts each time it runs: run twice, the count shows it."""
    return Change("UPDATE {s}.tellers SET n = n + 1 WHERE id = :id", {"id": f"t{i}"})


def test_a_row_already_there_rolls_the_whole_call_back_once_and_runs_it_again_set_based(database_url: str) -> None:
    """The direct COPYs of one call share one savepoint: when a later COPY meets a row already there, what the
    call did before it (another table's COPY, an update) is rolled back and run again once, so every change counts
    exactly once and the row already there is kept."""
    schema = f"t{uuid.uuid4().hex[:10]}_store"
    eng = make_engine(database_url)
    try:
        with eng.begin() as conn:
            store.ensure(conn, schema, [TWEE])
            conn.execute(text(store.sql("INSERT INTO {s}.tellers VALUES ('t1', 0), ('t2', 0)", schema)))
            assert store.execute(conn, schema, [_feit(i, f"eerste{i}") for i in range(3)]) == 3
            call = [_tel(1), _tel(2)] + [_feit(i, f"tweede{i}") for i in range(2, 5)] + [_tel(1)]
            assert store.execute(conn, schema, call) == len(call)
        with eng.connect() as conn:
            rows = {r.id: r.naam for r in conn.execute(text(store.sql("SELECT * FROM {s}.dingen", schema)))}
            tellers = dict(conn.execute(text(store.sql("SELECT id, n FROM {s}.tellers", schema))).all())
        assert rows == {"d0": "eerste0", "d1": "eerste1", "d2": "eerste2", "d3": "tweede3", "d4": "tweede4"}
        assert tellers == {"t1": 2, "t2": 1}  # each update once: the rolled-back first attempt left nothing
    finally:
        with eng.begin() as conn:
            store.drop_schema(conn, schema)
