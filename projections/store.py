"""PostgreSQL side of the projections: tables, offsets, executing row changes, swapping
a rebuilt projection in. No Kafka code here.

Every projection's tables live in one PostgreSQL schema (default
``telregels.DEFAULT_READ_SCHEMA``, ``praktijk``; tests use their own).
``projection_offsets`` holds, per projection and (topic, partition), the next offset
to consume: it is written in the same transaction as the rows, and the runner
resumes from it (Kafka's committed offsets are not used).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Any

import psycopg
from psycopg._copy_base import BinaryFormatter  # psycopg's own COPY formatter, used without a COPY
from psycopg.pq import Format
from psycopg.types.json import set_json_dumps
from sqlalchemy import Connection, Engine, text

from projections.model import STAGING_COLUMNS, STAGING_WIRE, Bulk, Change, Projection, StagedEvent
from registry.domein.events import ALL_EVENTS
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra.db import create_schema

# alias only for consumers/reconciler.py (written concurrently); new code uses telregels.DEFAULT_READ_SCHEMA
DEFAULT_SCHEMA = DEFAULT_READ_SCHEMA
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

OFFSETS_TABLE = """(
    projection text NOT NULL, topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
    last_recorded_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition))"""

TopicPartition = tuple[str, int]


def check_schema(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ValueError(f"schema name {schema!r}: use lower-case letters, digits and _ (max 63)")
    return schema


def sql(statement: str, schema: str) -> str:
    return statement.replace("{s}", '"' + check_schema(schema) + '"')


def ensure(conn: Connection, schema: str, projections: Iterable[Projection], *, rebuild: bool = False) -> None:
    """Create the schema, the offsets table and the projections' tables and indexes if missing (and fill a kept
    table that a read model older than it lacks). ``rebuild``: fresh tables a replay loads, without their
    ``Bulk.deferred_indexes``; ``ensure`` again afterwards creates them."""
    check_schema(schema)
    create_schema(conn, schema)  # concurrent creators (several runners, instances, tests) take turns
    conn.execute(text(sql("CREATE TABLE IF NOT EXISTS {s}.projection_offsets " + OFFSETS_TABLE, schema)))
    for p in projections:
        for name, body in {**p.tables, **p.behouden}.items():
            conn.execute(text(sql(f"CREATE TABLE IF NOT EXISTS {{s}}.{name} {body}", schema)))
            if rebuild:  # a table a replay loads: analysed once it is whole (``afronden``), not at every tenth it grows
                conn.execute(text(sql(f"ALTER TABLE {{s}}.{name} SET (autovacuum_enabled = false)", schema)))
        later = set(p.bulk.deferred_indexes) if rebuild and p.bulk else set()
        for stmt in p.indexes:
            if stmt not in later:
                conn.execute(text(sql(stmt, schema)))
        for stmt in p.vullen:
            conn.execute(text(sql(stmt, schema)))


def load_offsets(
    conn: Connection, schema: str, projection: str, lock: bool = False, only: Iterable[TopicPartition] | None = None
) -> dict[TopicPartition, int]:
    """Stored next offsets; ``lock`` takes row locks (FOR UPDATE), ``only`` restricts to some partitions
    (several runners of one projection, each on its own partitions, then never wait for each other)."""
    where = "projection = :p"
    params: dict[str, Any] = {"p": projection}
    if only is not None:
        where += " AND topic || '/' || partition::text = ANY(:keys)"
        params["keys"] = [f"{t}/{p}" for t, p in only]
    rows = conn.execute(
        text(
            sql(
                f"SELECT topic, partition, next_offset FROM {{s}}.projection_offsets WHERE {where} ORDER BY topic, partition"
                + (" FOR UPDATE" if lock else ""),
                schema,
            )
        ),
        params,
    )
    return {(r.topic, r.partition): r.next_offset for r in rows}


def save_offsets(
    conn: Connection, schema: str, projection: str, positions: Mapping[TopicPartition, tuple[int, dt.datetime | None]]
) -> None:
    """Store the next offsets (and the recorded_at of the last event applied) of ``positions``: one statement for
    every partition (row by row, a runner on 6 partitions waited for 6 round trips per projection per batch)."""
    if not positions:
        return
    rijen = [
        {"topic": t, "partition": p, "next_offset": n, "last_recorded_at": None if rec is None else rec.isoformat()}
        for (t, p), (n, rec) in sorted(positions.items())
    ]
    conn.execute(
        text(
            sql(
                "INSERT INTO {s}.projection_offsets (projection, topic, partition, next_offset, last_recorded_at, updated_at) "
                "SELECT :projection, x.topic, x.partition, x.next_offset, x.last_recorded_at, now() "
                "FROM jsonb_to_recordset(CAST(:rijen AS jsonb)) "
                "AS x(topic text, partition integer, next_offset bigint, last_recorded_at timestamptz) "
                "ORDER BY x.topic, x.partition "
                "ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, "
                "last_recorded_at = COALESCE(EXCLUDED.last_recorded_at, {s}.projection_offsets.last_recorded_at), "
                "updated_at = now()",
                schema,
            )
        ),
        {"projection": projection, "rijen": json.dumps(rijen)},
    )


# values per set-based insert: bounds what one COPY buffers
MAX_PARAMS = 30_000


def execute(conn: Connection, schema: str, changes: Iterable[Change]) -> int:
    """Run the changes in order. A run of inserts into one table goes set-based (``COPY``, straight into an
    insert-only table or through a temp table and one ``INSERT .. SELECT .. ON CONFLICT``: a few round trips per
    few thousand rows, not one per row); other runs of the same SQL go as one executemany.

    The direct ``COPY``s of a call share ONE savepoint: a row that is already there (a batch projected again, after
    a crash or beside a replay) fails its ``COPY``, and then every change of the call is rolled back to it and run
    again without direct copies (``ON CONFLICT DO NOTHING`` skips the row, as before). A savepoint per table cost
    two round trips per table of a live batch (~25 of its ~100)."""
    runs = [list(run) for _, run in groupby(changes, key=lambda c: c.sql)]
    if any(_direct(run) for run in runs):
        with _driver(conn).cursor() as cur:
            cur.execute("SAVEPOINT praktijk_copy")
            try:
                n = _run(conn, schema, runs, direct=True)
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT praktijk_copy")
            else:
                cur.execute("RELEASE SAVEPOINT praktijk_copy")
                return n
    return _run(conn, schema, runs, direct=False)


def _run(conn: Connection, schema: str, runs: list[list[Change]], *, direct: bool) -> int:
    n = 0
    for run in runs:
        n += len(run)
        if run[0].table and len(run) > 1:
            for part in _chunks(run):
                _insert_rows(conn, schema, part, direct=direct and _direct(run))
        elif run[0].samen and len(run) > 1:
            conn.execute(text(sql(run[0].samen, schema)), {"rijen": json.dumps([dict(c.params) for c in run])})
        else:
            params = [dict(c.params) for c in run]
            conn.execute(text(sql(run[0].sql, schema)), params if len(params) > 1 else params[0])
    return n


def _direct(run: list[Change]) -> bool:
    """Rows of an insert-only table (``ON CONFLICT .. DO NOTHING``), several: ``COPY`` them straight in."""
    return bool(run[0].table) and len(run) > 1 and run[0].conflict.endswith("DO NOTHING")


def _driver(conn: Connection) -> psycopg.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _chunks(group: list[Change]) -> Iterator[list[Change]]:
    """Parts of at most MAX_PARAMS parameters in which no conflict key repeats: ``ON CONFLICT DO UPDATE`` may not
    touch a row twice in one statement, and splitting there keeps the row-by-row outcome (last writer by business
    time) exactly."""
    per_row = max(1, len(group[0].params))
    limit = max(1, MAX_PARAMS // per_row)
    part: list[Change] = []
    keys: set[tuple[Any, ...]] = set()
    for c in group:
        k = tuple(c.params[col] for col in c.key)
        if len(part) >= limit or k in keys:
            yield part
            part, keys = [], set()
        part.append(c)
        keys.add(k)
    if part:
        yield part


def _insert_rows(conn: Connection, schema: str, rows: list[Change], *, direct: bool) -> None:
    """Many rows into one table, set-based: ``direct``, ``COPY`` straight into the table (``_copy_direct``); else
    ``COPY`` into a session-private temp table shaped like the target, then one ``INSERT .. SELECT .. ON
    CONFLICT``. COPY streams the rows without a statement to parse (a multi-row VALUES of thousands of parameters
    took PostgreSQL about twice as long), and PostgreSQL coerces each value to its column's type. Runs on the
    connection (and so in the transaction) of ``conn``."""
    first = rows[0]
    cols = list(first.params)
    names = ", ".join(cols)
    driver = _driver(conn)
    if direct:
        _copy_direct(driver, schema, rows, cols)
        return
    staging = _staging_table(schema, first.table)
    with driver.cursor() as cur:
        # LIKE copies the columns (not the indexes); ON COMMIT DELETE ROWS empties it after every batch
        cur.execute(
            sql(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {{s}}.{first.table}) ON COMMIT DELETE ROWS", schema)
        )
        with cur.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for c in rows:
                copy.write_row([c.params[col] for col in cols])
        cur.execute(
            sql(f"INSERT INTO {{s}}.{first.table} ({names}) SELECT {names} FROM {staging} {first.conflict}", schema)
        )
        cur.execute(f"TRUNCATE {staging}")  # the next chunk of this table in the same batch starts empty


def _copy_direct(driver: psycopg.Connection, schema: str, rows: list[Change], cols: list[str]) -> None:
    """Rows of an insert-only table straight into the table by ``COPY``: no staging table, no ``INSERT ..
    SELECT``, no speculative insertion, which was most of PostgreSQL's share of a batch. A row that is already
    there raises ``UniqueViolation`` (``execute`` then runs the call again the set-based way)."""
    with (
        driver.cursor() as cur,
        cur.copy(sql(f"COPY {{s}}.{rows[0].table} ({', '.join(cols)}) FROM STDIN", schema)) as copy,
    ):
        for c in rows:
            copy.write_row([c.params[col] for col in cols])


# the bulk path's staging table: session-private, never WAL-logged, emptied at every commit
BULK_STAGING = "pg_temp.praktijk_bulk"
# ... in a partition per event type (and one for anything else): nearly every bulk statement reads the events of
# one or two types (``WHERE event_type = ..``), and scans their partition only, not the whole batch once per
# statement (a scan of every staged row per statement was a fifth of the backend's time)
_STAGING_DDL = "".join(
    [
        f"CREATE TEMP TABLE praktijk_bulk ({STAGING_COLUMNS}) PARTITION BY LIST (event_type) ON COMMIT DELETE ROWS; ",
        *(
            f"CREATE TEMP TABLE praktijk_bulk_{i} PARTITION OF praktijk_bulk FOR VALUES IN ('{soort}') "
            "ON COMMIT DELETE ROWS; "
            for i, soort in enumerate(sorted(ALL_EVENTS))
        ),
        "CREATE TEMP TABLE praktijk_bulk_overig PARTITION OF praktijk_bulk DEFAULT ON COMMIT DELETE ROWS;",
    ]
)
_STAGING_MAKEN = f"DO $$BEGIN IF to_regclass('pg_temp.praktijk_bulk') IS NULL THEN {_STAGING_DDL} END IF; END$$"


class _Kader:
    """The adapt context of a COPY formatted away from any connection: psycopg's built-in types, and the staging
    row's ``rec`` (JSON text already) written as is."""

    connection = None

    def __init__(self) -> None:
        self.adapters = psycopg.adapt.AdaptersMap(psycopg.adapters)
        set_json_dumps(str, context=self)


_KADER = _Kader()


def copy_data(events: Iterable[StagedEvent]) -> bytes:
    """The staging rows as one whole binary ``COPY`` stream (signature, rows, trailer): pure, no connection. The
    runner formats it in its main thread while the writer thread writes the previous batch; formatted in the writer
    thread it was ~40 ms of each 10,000-event batch's transaction, most of it waiting for the GIL. Binary: a third
    of the text format's Python per row; the timestamps as their binary form (projections/model.py)."""
    tx = psycopg.adapt.Transformer(_KADER)
    formatter = BinaryFormatter(tx)
    tx.set_dumper_types([_KADER.adapters.types.get_oid(name) for name in STAGING_WIRE], Format.BINARY)
    data = b"".join([formatter.write_row(row) for row in events])
    return data + bytes(formatter.end())


def stage(conn: Connection, events: Iterable[StagedEvent]) -> None:
    """``COPY`` the decoded events of one batch into the staging table (``stage_data`` of ``copy_data``)."""
    stage_data(conn, copy_data(events))


def stage_data(conn: Connection, data: bytes) -> None:
    """``COPY`` one batch's staging rows (``copy_data``) into the staging table, in the caller's transaction;
    emptied first, so one batch may stage twice, e.g. for projections at different offsets."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.cursor() as cur:
        with driver.pipeline():  # one round trip for both
            cur.execute(_STAGING_MAKEN)
            # empty at the start of every transaction already (ON COMMIT DELETE ROWS; a rollback takes its rows too):
            # DELETE is then a no-op, where TRUNCATE would give the table a new file every batch
            cur.execute(f"DELETE FROM {BULK_STAGING}")
        # the whole stream at once, signature and trailer included (psycopg's block mode); psycopg sends it 128 KiB
        # at a time
        with cur.copy(f"COPY {BULK_STAGING} FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)


def bulk_source(starts: Mapping[int, int] | None) -> str:
    """What the bulk statements read as ``{b}``: the staging table, or (``starts``: partition -> first offset) only
    the staged events of those partitions from those offsets on (a projection that already has the others)."""
    if starts is None:
        return BULK_STAGING
    values = ", ".join(f"({int(p)}, {int(o)})" for p, o in sorted(starts.items())) or "(-1, 0)"
    return (
        f"(SELECT b.* FROM {BULK_STAGING} b JOIN (VALUES {values}) AS v(part, start) "
        "ON b.part = v.part AND b.off >= v.start) AS staged"
    )


def execute_bulk(conn: Connection, schema: str, bulk: Bulk, source: str = BULK_STAGING) -> int:
    """Run a projection's set-based statements over the staged events (``source``, see ``bulk_source``); returns
    the rows they wrote. First as plain INSERTs (``Bulk.plain``) under a savepoint; a row that is already there
    (or twice in the batch) rolls them back to it, and they run again with their guards (``ON CONFLICT DO
    NOTHING``), which skip it as ``apply`` does."""
    driver = _driver(conn)
    try:
        return _in_een_keer(driver, schema, bulk.plain, source, savepoint=True)
    except psycopg.errors.UniqueViolation:
        driver.execute("ROLLBACK TO SAVEPOINT praktijk_bulk")
    return _in_een_keer(driver, schema, bulk.statements, source, savepoint=False)


def _in_een_keer(
    driver: psycopg.Connection, schema: str, statements: tuple[str, ...], source: str, *, savepoint: bool
) -> int:
    # ONE query string, sent by the simple query protocol (no parameters: the statements carry none): the server
    # sends every statement's result with the last one, so the writer thread wakes once, where a pipeline's
    # results came one by one, each time the thread then waiting for the GIL (~1 ms beside a busy main thread)
    body = [sql(statement, schema).replace("{b}", source) for statement in statements]
    if savepoint:
        body = ["SAVEPOINT praktijk_bulk", *body, "RELEASE SAVEPOINT praktijk_bulk"]
    with driver.cursor() as cur:
        cur.execute(";\n".join(body).encode(), prepare=False)
        n = max(cur.rowcount, 0)
        while cur.nextset():
            n += max(cur.rowcount, 0)
    return n


def _staging_table(schema: str, table: str) -> str:
    """The temp table for ``schema.table`` (per schema: a replay writes staging schemas from the same session)."""
    return f"praktijk_in_{zlib.crc32(f'{schema}.{table}'.encode()):08x}"


def afronding(schema: str, projections: Iterable[Projection]) -> list[tuple[str, str]]:
    """What makes the tables a replay loaded (``ensure(..., rebuild=True)``) whole, as (table, statement): the
    indexes they went without, autovacuum for them again and their statistics (the queries' plans right after the
    swap). Each statement stands alone, so two may run at once (on two connections); a table's own statements in
    this order."""
    out = []
    for p in projections:
        later = set(p.bulk.deferred_indexes) if p.bulk else set()
        for name in {**p.tables, **p.behouden}:
            tabel = sql(f"{{s}}.{name}", schema)
            out += [(tabel, sql(stmt, schema)) for stmt in p.indexes if stmt in later and _on_table(stmt, name)]
            out.append((tabel, f"ALTER TABLE {tabel} RESET (autovacuum_enabled)"))
            out.append((tabel, f"ANALYZE {tabel}"))
    return out


def _on_table(index_statement: str, table: str) -> bool:
    return re.search(rf"\bON\s+\{{s\}}\.{re.escape(table)}\b", index_statement) is not None


def afronden(engine: Engine, tabellen: Iterable[tuple[str, Projection]], tegelijk: int = 2) -> None:
    """The tables a replay loaded made whole (``afronding``) before the swap takes its locks, ``tegelijk``
    statements at a time, each on a connection of its own (one backend builds one index at a time, and the
    replay's runners have left the cores free), the largest tables first; then ``ensure`` (nothing left to create;
    what a kept table lacks is filled)."""
    tabellen = list(tabellen)
    werk = [ts for schema, p in tabellen for ts in afronding(schema, [p])]
    with engine.connect() as conn:
        grootte = {
            t: conn.execute(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": t}).scalar_one()
            for t in {t for t, _ in werk}
        }
    werk.sort(key=lambda ts: -grootte[ts[0]])  # stable: a table's own statements stay in their order

    def uitvoeren(stmt: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(stmt))

    with ThreadPoolExecutor(max(1, tegelijk)) as pool:
        list(pool.map(uitvoeren, [stmt for _, stmt in werk]))
    with engine.begin() as conn:
        for schema, p in tabellen:
            ensure(conn, schema, [p])


def swap(conn: Connection, live: str, staging: str, projection: Projection) -> None:
    """Replace the live tables of ``projection`` by the ones rebuilt in ``staging`` (its ``behouden`` tables: add
    the rows the live ones lack), with its offsets, in the caller's (single) transaction; then drop the staging schema.

    The live offsets rows are locked first, so a running projector's batch either commits
    before the swap or sees the new offsets afterwards (and seeks to them)."""
    ensure(conn, live, [projection])
    conn.execute(
        text(sql("SELECT 1 FROM {s}.projection_offsets WHERE projection = :p FOR UPDATE", live)), {"p": projection.name}
    )
    for name in projection.tables:
        conn.execute(text(sql(f"DROP TABLE IF EXISTS {{s}}.{name}", live)))
        conn.execute(text(sql(f'ALTER TABLE {{s}}.{name} SET SCHEMA "{check_schema(live)}"', staging)))
    for name in projection.behouden:
        # the live rows win: what was drawn before the replay stays (the replay drew anew only for rows it lacked)
        conn.execute(
            text(
                f'INSERT INTO "{check_schema(live)}".{name} SELECT * FROM "{check_schema(staging)}".{name} '
                "ON CONFLICT DO NOTHING"
            )
        )
    new = conn.execute(
        text(
            sql(
                "SELECT topic, partition, next_offset, last_recorded_at FROM {s}.projection_offsets WHERE projection = :p",
                staging,
            )
        ),
        {"p": projection.name},
    ).all()
    keep = [f"{r.topic}/{r.partition}" for r in new]
    conn.execute(
        text(
            sql(
                "DELETE FROM {s}.projection_offsets WHERE projection = :p AND NOT (topic || '/' || partition::text = ANY(:keep))",
                live,
            )
        ),
        {"p": projection.name, "keep": keep},
    )
    save_offsets(
        conn, live, projection.name, {(r.topic, r.partition): (r.next_offset, r.last_recorded_at) for r in new}
    )
    conn.execute(text(sql("DROP SCHEMA {s} CASCADE", staging)))


def drop_schema(conn: Connection, schema: str) -> None:
    conn.execute(text(sql("DROP SCHEMA IF EXISTS {s} CASCADE", schema)))
