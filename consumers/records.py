"""What one poll becomes, without I/O: Kafka records -> projection messages -> row changes,
plus the offsets to store with them. The runner (consumers/projector.py) executes the result.

A process runs ONE consumer for all its projections: each poll is decoded once (``decode``), and every
projection takes its share of it (``share``): the records of its topics from its own stored offset on, so a
projection that is behind the others (added later, replayed) catches up while the others skip what they have."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from projections.model import Change, Message, Projection, TopicKind, as_timestamp
from registry.infra import codec

log = logging.getLogger("praktijkregister.projector")

# (topic, partition) -> (the next offset to store, the recorded_at of the last applied event)
Positions = dict[tuple[str, int], tuple[int, dt.datetime | None]]
# (topic, partition) -> [(offset, message or None when undecodable)] in log order: one poll, decoded once
Decoded = dict[tuple[str, int], list[tuple[int, Message | None]]]


def decode_message(kind: TopicKind, partition: int, offset: int, value: bytes | None) -> Message | None:
    """Bytes from Kafka -> Message; None for a value that does not decode (logged, skipped)."""
    if value is None:
        return None
    try:
        if kind == "events":
            event_type, record = codec.decode(value)
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


def decode(polled: Mapping[TopicPartition, Sequence[ConsumerRecord]], kinds: Mapping[str, TopicKind]) -> Decoded:
    """Decode every record of a poll once; ``kinds`` maps each topic to the logical topic it is."""
    out: Decoded = {}
    for tp, records in polled.items():
        if records:
            kind = kinds[tp.topic]
            out[(tp.topic, tp.partition)] = [
                (r.offset, decode_message(kind, tp.partition, r.offset, r.value)) for r in records
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
        last_rec: dt.datetime | None = None
        taken = 0
        for offset, msg in items:
            if offset < start:
                continue  # this projection already has it (the shared consumer runs from the slowest)
            taken += 1
            if msg is None:
                out.undecodable += 1
                continue
            out.messages.append(msg)
            last_rec = as_timestamp(msg.record.get("recorded_at")) or last_rec  # of the last applied event
        if taken:
            out.count += taken
            out.positions[key] = (items[-1][0] + 1, last_rec)
    return out


def decode_poll(polled: Mapping[TopicPartition, Sequence[ConsumerRecord]], kinds: Mapping[str, TopicKind]) -> Poll:
    """Decode every record of a poll into one Poll (all its topics, nothing skipped)."""
    return share(decode(polled, kinds), set(kinds), {})
