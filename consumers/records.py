"""What one poll becomes, without I/O: Kafka records -> projection messages -> row changes,
plus the offsets to store with them. The runner (consumers/projector.py) executes the result.

A process runs ONE consumer for all its projections: each poll is decoded once (``decode``), and every
projection takes its share of it (``share``): the records of its topics from its own stored offset on, so a
projection that is behind the others (added later, replayed) catches up while the others skip what they have."""

from __future__ import annotations

import datetime as dt
import json
import logging
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from projections.model import Change, Message, Projection, StagedEvent, TopicKind, as_timestamp, staged
from registry.infra import codec

log = logging.getLogger("praktijkregister.projector")

# (topic, partition) -> (the next offset to store, the recorded_at of the last applied event)
Positions = dict[tuple[str, int], tuple[int, dt.datetime | None]]
# (topic, partition) -> [(offset, message or None when undecodable)] in log order: one poll, decoded once
Decoded = dict[tuple[str, int], list[tuple[int, Message | None]]]


def decode_message(
    kind: TopicKind, partition: int, offset: int, value: bytes | None, lean: Collection[str] = ()
) -> Message | None:
    """Bytes from Kafka -> Message; None for a value that does not decode (logged, skipped). Events of a type in
    ``lean`` keep their envelope's timestamps as epoch milliseconds (registry/infra/codec.py, ``lean_types``)."""
    if value is None:
        return None
    try:
        if kind == "events":
            event_type, record = codec.decode(value, lean=lean)
            return Message(kind, partition, offset, event_type, record)
        obj = json.loads(value.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("rejection is not a JSON object")
        return Message(kind, partition, offset, "Afwijzing", obj)
    except (codec.DecodeError, ValueError, UnicodeDecodeError) as exc:
        # the type only: the message of a decode error may quote the bytes
        log.warning("skipping undecodable %s record p%d@%d (%s)", kind, partition, offset, type(exc).__name__)
        return None


def changes_for(projection: Projection, messages: Iterable[Message]) -> list[Change]:
    """All row changes of a batch: inserts first (grouped per statement for executemany),
    then guarded updates in log order. Equivalent to log order because every update is
    guarded on business time (see projections/feiten.py)."""
    inserts: list[Change] = []
    updates: list[Change] = []
    for m in messages:
        for c in projection.apply(m):
            (inserts if c.sql.startswith("INSERT") else updates).append(c)
    order: dict[str, int] = {}
    for c in inserts:
        order.setdefault(c.sql, len(order))
    inserts.sort(key=lambda c: order[c.sql])
    return inserts + updates


@dataclass
class Poll:
    """The decodable messages of one poll, the positions after it, and how many records it held."""

    messages: list[Message] = field(default_factory=list)
    positions: Positions = field(default_factory=dict)
    count: int = 0
    undecodable: int = 0


def decode(
    polled: Mapping[TopicPartition, Sequence[ConsumerRecord]],
    kinds: Mapping[str, TopicKind],
    lean: Collection[str] = (),
) -> Decoded:
    """Decode every record of a poll once; ``kinds`` maps each topic to the logical topic it is; ``lean``: the
    event types to decode lean (the bulk path, ``lean_types``)."""
    out: Decoded = {}
    for tp, records in polled.items():
        if records:
            kind = kinds[tp.topic]
            out[(tp.topic, tp.partition)] = [
                (r.offset, decode_message(kind, tp.partition, r.offset, r.value, lean)) for r in records
            ]
    return out


def rewrite(decoded: Decoded, fn: Callable[[Message], Message]) -> Decoded:
    """Every decoded message passed through ``fn`` (e.g. the pseudonym rotation), once for all projections."""
    return {key: [(off, None if m is None else fn(m)) for off, m in items] for key, items in decoded.items()}


def share(decoded: Decoded, topics: Collection[str], committed: Mapping[tuple[str, int], int]) -> Poll:
    """One projection's part of a decoded poll: the records of ``topics`` at or after its stored next offset
    (``committed``; none stored: all), and the positions to store after them."""
    out = Poll()
    for key, items in decoded.items():
        if key[0] not in topics:
            continue
        start = committed.get(key, -1)
        # offsets ascend within a partition: skip what this projection already has (the shared consumer runs from
        # the slowest) in one step, not record by record
        taken = items if start <= items[0][0] else items[bisect_left(items, start, key=_offset) :]
        if not taken:
            continue
        messages = [msg for _, msg in taken if msg is not None]
        out.undecodable += len(taken) - len(messages)
        out.messages += messages
        out.count += len(taken)
        out.positions[key] = (items[-1][0] + 1, _last_recorded(messages))
    return out


def _offset(item: tuple[int, Message | None]) -> int:
    return item[0]


def _last_recorded(messages: Sequence[Message]) -> dt.datetime | None:
    """The recorded_at of the last applied event that has one."""
    for msg in reversed(messages):
        at = recorded_at(msg.record.get("recorded_at"))
        if at:
            return at
    return None


def recorded_at(value: Any) -> dt.datetime | None:
    """A record's recorded_at as an aware datetime: epoch milliseconds (a lean decode), a datetime, ISO text (a
    rejection)."""
    if type(value) is int:
        return _EPOCH + dt.timedelta(milliseconds=value)
    return as_timestamp(value)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def oldest_recorded(messages: Iterable[Message]) -> dt.datetime | None:
    """The earliest recorded_at of the messages (the freshness gauge's oldest waiting event): compared in the form
    each record has it, converted once."""
    ms: int | None = None
    other: dt.datetime | None = None
    for m in messages:
        v = m.record.get("recorded_at")
        if type(v) is int:
            ms = v if ms is None or v < ms else ms
        elif v:
            at = as_timestamp(v)
            other = at if other is None or (at is not None and at < other) else other
    candidates = [at for at in (recorded_at(ms), other) if at is not None]
    return min(candidates, default=None)


def decode_poll(polled: Mapping[TopicPartition, Sequence[ConsumerRecord]], kinds: Mapping[str, TopicKind]) -> Poll:
    """Decode every record of a poll into one Poll (all its topics, nothing skipped)."""
    return share(decode(polled, kinds), set(kinds), {})


# -- the bulk path (a replay, a runner far behind): set-based statements over a staging table ----------------------
def set_based(projection: Projection, message: Message) -> bool:
    """Whether the projection's set-based statements make this message's rows (else: its ``apply``)."""
    return projection.bulk is not None and message.kind == "events" and message.event_type in projection.bulk.types


@dataclass
class BulkShare:
    """One projection's part of a bulk batch: its first offset per partition of the events topic (it reads the
    staged events from there on), the changes of the messages that are not set-based (``apply``), and how many
    are staged."""

    starts: dict[int, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    staged: int = 0


def bulk_share(projection: Projection, messages: Sequence[Message]) -> tuple[BulkShare, list[Message]]:
    """Split a projection's messages: the set-based ones (returned, to stage) and the changes of the rest (events
    of a type ``apply`` ignores are not given to it: their records may be lean)."""
    out = BulkShare()
    mine: list[Message] = []
    rest: list[Message] = []
    ignored = projection.ignored
    for m in messages:
        if m.kind == "events":
            if m.partition not in out.starts:
                out.starts[m.partition] = m.offset
            if m.event_type in ignored:
                continue
        (mine if set_based(projection, m) else rest).append(m)
    out.staged = len(mine)
    out.changes = changes_for(projection, rest)
    return out, mine


def lean_types(projections: Iterable[Projection]) -> frozenset[str]:
    """The event types the bulk path may decode lean (registry/infra/codec.py): every projection that reads the
    events makes their rows set-based or ignores them, so no ``apply`` sees their records (which hold the
    envelope's timestamps as epoch milliseconds; the staging row takes them as they are)."""
    per = [(p.bulk.types if p.bulk else frozenset()) | p.ignored for p in projections if "events" in p.kinds]
    return frozenset.intersection(*per) if per else frozenset()


def staged_events(messages: Iterable[Message]) -> list[StagedEvent]:
    """The staging rows of messages (each once, in log order per partition): a tight loop, no per-projection work.
    (Event ids are unique in the canonical log, so which of two rows with one key a statement keeps only matters
    for verklaringen issued again under the same id, and those statements order by log position themselves.)"""
    rows: dict[tuple[int, int], StagedEvent] = {}
    for m in messages:
        key = (m.partition, m.offset)
        if key not in rows:
            rows[key] = staged(m)
    return [rows[k] for k in sorted(rows)]
