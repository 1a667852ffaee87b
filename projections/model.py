"""The vocabulary of projections: a message in, row changes out (pure data, no I/O).

A projection is pure code: ``apply(message) -> list[Change]``. The runner
(consumers/projector.py) feeds it messages from Kafka and executes the changes
with the consumed offsets in one PostgreSQL transaction; a replay feeds it the
same messages from offset 0 into fresh tables. Every change must be idempotent
(``INSERT .. ON CONFLICT`` on a natural key, or an ``UPDATE`` guarded so that a
second application is a no-op), so re-applying an event is harmless.

SQL texts name tables as ``{s}.table``; the store substitutes the (quoted)
PostgreSQL schema, so the same projection writes the live schema, a replay
schema or a test's own schema.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from registry.domein.telregels import AMSTERDAM

TopicKind = Literal["events", "rejections"]


class Message(NamedTuple):
    """One consumed Kafka record, decoded (a named tuple: made once per event, three times as fast as a frozen
    dataclass).

    ``kind`` says which logical topic it came from: ``events`` (the canonical log:
    ``event_type`` + Avro ``record``) or ``rejections`` (``event_type`` is
    ``"Afwijzing"``, ``record`` the JSON object)."""

    kind: TopicKind
    partition: int
    offset: int
    event_type: str
    record: Mapping[str, Any]


class Change(NamedTuple):
    """One parameterised SQL statement; ``{s}`` in ``sql`` is the schema.

    Consecutive changes with the same ``sql`` are executed as one executemany (or as one statement, ``samen``). A NamedTuple, not a frozen
    dataclass: a projection makes two or three per event, and a frozen dataclass's ``__init__`` (a
    ``object.__setattr__`` per field) was a tenth of the projector's time."""

    sql: str
    params: Mapping[str, Any]
    # for an INSERT made by ``insert``: its table, conflict key and ``ON CONFLICT ..`` clause, so the store can
    # write a run of them as one multi-row statement (set-based) instead of one statement per row
    table: str = ""
    key: tuple[str, ...] = ()
    conflict: str = ""
    # the same change for a whole run of them in one statement: its ``:rijen`` is the run's params as one JSON
    # array, so a run costs one statement instead of one per row (a run of one still goes as ``sql``)
    samen: str = ""


def insert(
    table: str, row: Mapping[str, Any], key: Sequence[str], update: Sequence[str] = (), newer_than: str | None = None
) -> Change:
    """``INSERT .. ON CONFLICT (key) DO NOTHING`` (or ``DO UPDATE`` of ``update`` columns,
    only when the incoming ``newer_than`` column is >= the stored one: last writer wins by
    business time, which is commutative). ``row`` is kept as given: callers pass a fresh dict."""
    key_t = tuple(key)
    sql, conflict = _insert_sql(table, tuple(row), key_t, tuple(update), newer_than)
    return Change(sql, row, table, key_t, conflict)


@functools.lru_cache(maxsize=1024)
def _insert_sql(
    table: str, cols: tuple[str, ...], key: tuple[str, ...], update: tuple[str, ...], newer_than: str | None
) -> tuple[str, str]:
    """The statement and its ``ON CONFLICT`` clause, built once per shape (a projection makes the same few
    shapes for every event; building the text per row cost the projector ~8% of its time)."""
    conflict = f"ON CONFLICT ({', '.join(key)}) "
    if update:
        conflict += "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
        if newer_than:
            conflict += f" WHERE EXCLUDED.{newer_than} >= {{s}}.{table}.{newer_than}"
    else:
        conflict += "DO NOTHING"
    sql = f"INSERT INTO {{s}}.{table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) {conflict}"
    return sql, conflict


# the staging table of the bulk path: the decoded events of one large batch, one row each: the envelope as typed
# columns, the rest of the record as jsonb (``jsonable``'s forms: dates as ISO text, bytes as null); the bulk
# statements read it as ``{b}``
ENVELOP = frozenset(
    {
        "event_id",
        "occurred_at",
        "recorded_at",
        "partner",
        "deelnemer",
        "warnings",
        "persoonsgegevens",
        "traject_id",
        "verklaring_id",
    }
)
STAGING_TYPES = (
    ("part", "integer"),
    ("off", "bigint"),
    ("event_type", "text"),
    ("event_id", "text"),
    ("deelnemer", "text"),
    ("traject_id", "text"),
    ("verklaring_id", "text"),
    ("partner", "text"),
    ("occurred_at", "timestamptz"),
    ("recorded_at", "timestamptz"),
    ("warnings", "text[]"),
    ("rec", "jsonb"),
)
STAGING_COLUMNS = ", ".join(f"{name} {kind}" for name, kind in STAGING_TYPES)
# what the binary COPY writes per column: a timestamptz as int8, which is its binary form (microseconds since
# 2000-01-01 UTC, PostgreSQL's only datetime format since version 10), so a staging row carries the envelope's
# timestamps as ints (``pg_tijd``) and a lean decode (epoch milliseconds, registry/infra/codec.py) never builds a
# datetime for them
STAGING_WIRE = tuple("int8" if kind == "timestamptz" else kind for _, kind in STAGING_TYPES)
StagedEvent = tuple[Any, ...]
_PG_EPOCH_MS = 946_684_800_000  # 2000-01-01 UTC in epoch milliseconds
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


def pg_tijd(value: Any) -> int | None:
    """A timestamp of a record (epoch milliseconds from a lean decode, or a datetime) in the binary form of a
    timestamptz: microseconds since 2000-01-01 UTC."""
    if value is None:
        return None
    if type(value) is int:
        return (value - _PG_EPOCH_MS) * 1000
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return (aware - _PG_EPOCH) // _MICRO
    raise TypeError(f"not a timestamp: {type(value).__name__}")


def opt(value: Any) -> str | None:
    """An optional field as text (an id may be decoded as another type)."""
    return None if value is None else str(value)


def json_value(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself (dates, bytes) as ``jsonable`` writes it; converting only those, not
    walking every record first, halves the cost per event."""
    if type(value) is dt.date:  # the usual one (startdatum, ondertekend_op, ...)
        return value.isoformat()
    converted = jsonable(value)
    if converted is value:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")
    return converted


# ``json.JSONEncoder(default=json_value, ensure_ascii=False).encode`` without building its C encoder anew for every
# call (a third of the staging row's JSON): the same encoder, made once. No check for cycles: a decoded record has none
_encoder = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, json_value, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
)


def _dumps(value: Mapping[str, Any]) -> str:
    """``value`` as JSON text, as ``json.dumps(value, default=json_value, ensure_ascii=False)`` writes it."""
    return "".join(_encoder(value, 0))


def staged(msg: Message) -> StagedEvent:
    """The staging row of one event (columns ``STAGING_COLUMNS``, timestamps as ``pg_tijd``); ``rec`` is what
    tijdlijn keeps as gegevens."""
    r = msg.record
    at, rec_at = r.get("occurred_at"), r.get("recorded_at")
    return (
        msg.partition,
        msg.offset,
        msg.event_type,
        opt(r.get("event_id")),
        opt(r.get("deelnemer")),
        opt(r.get("traject_id")),
        opt(r.get("verklaring_id")),
        opt(r.get("partner")),
        (at - _PG_EPOCH_MS) * 1000 if type(at) is int else pg_tijd(at),  # inline: the lean decode's ints
        (rec_at - _PG_EPOCH_MS) * 1000 if type(rec_at) is int else pg_tijd(rec_at),
        list(r["warnings"]) if r.get("warnings") else None,  # mostly none: no list to dump per row
        _dumps({k: v for k, v in r.items() if k not in ENVELOP}),
    )


@dataclass(frozen=True)
class Bulk:
    """How a projection derives its rows set-based (a replay, a runner far behind): ``statements`` read every
    event of one large batch from the staging table ``{b}`` (columns ``STAGING_COLUMNS``) and write ``{s}``'s
    tables in one ``INSERT .. SELECT`` each. Events of ``types`` go that way; any other event of the batch (the
    rare ones: revocations, erasures, ...) still goes through ``apply``, after the statements, as the live path
    runs its updates after its inserts. The statements must give exactly the rows ``apply`` gives (a property
    test holds the two paths equal)."""

    types: frozenset[str]
    statements: tuple[str, ...]
    # CREATE INDEX statements (of the projection's ``indexes``) that no update of ``apply`` looks rows up by: a
    # rebuild into fresh tables creates them once at the end instead of maintaining them row by row
    deferred_indexes: tuple[str, ...] = ()

    @functools.cached_property
    def plain(self) -> tuple[str, ...]:
        """The statements with every ``bulk_insert``'s guard dropped: plain INSERTs. ``ON CONFLICT`` checks every
        row for one already there before it inserts it (about a fifth of the statements' time in PostgreSQL), and
        these rows are keyed on their own event (event_id, verklaring_id), so a conflict is the rare case: a row
        already there, or one verklaring issued twice in a batch. ``store.execute_bulk`` runs these first and,
        on a unique violation, ``statements`` instead."""
        return tuple(_GUARD.sub("", statement) for statement in self.statements)


# how every ``bulk_insert`` ends (``Bulk.plain`` drops it); a statement that writes ``ON CONFLICT`` itself (rows
# that are there by design, as record keys) keeps it
_GUARD = re.compile(r" ON CONFLICT \([^)]*\) DO NOTHING /\* guard \*/$")


def bulk_insert(
    table: str, columns: Mapping[str, str], key: Sequence[str], where: str, *, order: bool = False, source: str = ""
) -> str:
    """``INSERT INTO {s}.table .. SELECT <expressions> FROM {b} .. ON CONFLICT (key) DO NOTHING``: ``columns``
    maps a column to its SQL expression over the staging row ``e`` (its columns, and ``r``: the rest of the record,
    jsonb); ``where``
    filters the staging rows; ``source`` adds a join (e.g. a set-returning function); ``order`` inserts in log
    order, so that of two events with the same key the first one stays, as ``apply`` does one by one."""
    cols = ", ".join(columns)
    exprs = ", ".join(columns.values())
    return (
        f"INSERT INTO {{s}}.{table} ({cols}) SELECT {exprs} "
        f"FROM (SELECT *, rec AS r FROM {{b}} WHERE {where}) e {source}"
        + (" ORDER BY e.part, e.off" if order else "")
        + f" ON CONFLICT ({', '.join(key)}) DO NOTHING /* guard */"
    )


# SQL expressions over the staging row for the columns every fact has, as ``business_date`` computes them
AT = "occurred_at"
ON = "(occurred_at AT TIME ZONE 'Europe/Amsterdam')::date"


@dataclass(frozen=True)
class Projection:
    """A named read model: its tables, the topics it reads and its pure apply function."""

    name: str
    description: str
    kinds: tuple[TopicKind, ...]
    tables: Mapping[str, str]  # table name -> CREATE TABLE body (after the name), {s} = schema
    indexes: Sequence[str]  # CREATE INDEX statements, {s} = schema
    apply: Callable[[Message], list[Change]]
    group: str = field(default="")
    # tables whose rows a replay cannot rebuild (drawn at random when first written): created and written like
    # ``tables``, but a replay's swap adds its new rows to the live ones instead of replacing them
    behouden: Mapping[str, str] = field(default_factory=dict)
    # statements that fill a ``behouden`` table for rows projected before it existed (run by ``store.ensure``; each
    # must be a no-op once the table holds rows)
    vullen: Sequence[str] = ()
    bulk: Bulk | None = None  # the set-based path of a replay or catch-up; None: every event through ``apply``
    # event types ``apply`` makes no changes for (whatever their record holds): the bulk path does not call it for
    # them, so their records may be decoded lean (consumers/records.py ``lean_types``)
    ignored: frozenset[str] = frozenset()

    @property
    def consumer_group(self) -> str:
        return self.group or f"praktijkregister-projection-{self.name}"


def business_date(ts: dt.datetime | None) -> dt.date | None:
    """The Dutch calendar day of a business timestamp (peildata are Dutch days)."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(AMSTERDAM).date()


def jsonable(value: Any) -> Any:
    """Make an Avro record value JSON-storable (dates as ISO text, bytes never)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def as_timestamp(value: Any) -> dt.datetime | None:
    """A record's timestamp field (datetime, or ISO text in rejections) as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None
