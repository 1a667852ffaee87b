"""What one poll becomes, without I/O: Kafka records -> projection messages -> row changes,
plus the offsets to store with them. The runner (consumers/projector.py) executes the result."""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from projections.model import Change, Message, Projection, TopicKind, as_timestamp
from registry.infra import codec

log = logging.getLogger("praktijkregister.projector")

# (topic, partition) -> (the next offset to store, the recorded_at of the last applied event)
Positions = dict[tuple[str, int], tuple[int, dt.datetime | None]]


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
        log.warning("skipping undecodable %s record p%d@%d: %s", kind, partition, offset, exc)
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


class DecodeCache:
    """The decoded messages of the last records this process read, shared by its projections.

    Every projection of a process reads the same canonical log at about the same position (the runner
    round-robins them, batch by batch), so each record is decoded once instead of once per projection. An entry
    is used only when the bytes are the very same (a recreated topic cannot hand out a stale message); the
    oldest entries go first beyond ``size`` (a few batches: the projections stay within a batch of each other, and
    the bound keeps a replay's memory flat). Messages are shared, never copied: projections only read them."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._entries: dict[tuple[str, int, int], tuple[bytes | None, Message | None]] = {}
        self._lock = threading.Lock()

    def decode(self, topic: str, kind: TopicKind, partition: int, offset: int, value: bytes | None) -> Message | None:
        key = (topic, partition, offset)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] == value:
            return hit[1]
        msg = decode_message(kind, partition, offset, value)
        with self._lock:
            self._entries[key] = (value, msg)
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]
        return msg


SHARED = DecodeCache()


def decode_poll(polled: Mapping[TopicPartition, Sequence[ConsumerRecord]], kinds: Mapping[str, TopicKind],
                cache: DecodeCache | None = SHARED) -> Poll:
    """Decode every record of a poll; ``kinds`` maps each topic to the logical topic it is; ``cache``: decoded
    messages shared with the other projections of this process (None: decode every record here)."""
    out = Poll()
    for tp, records in polled.items():
        kind = kinds[tp.topic]
        last_rec: dt.datetime | None = None
        for rec in records:
            out.count += 1
            if cache is None:
                msg = decode_message(kind, tp.partition, rec.offset, rec.value)
            else:
                msg = cache.decode(tp.topic, kind, tp.partition, rec.offset, rec.value)
            if msg is None:
                out.undecodable += 1
                continue
            out.messages.append(msg)
            # of the last applied event (log order)
            last_rec = as_timestamp(msg.record.get("recorded_at")) or last_rec
        if records:
            out.positions[(tp.topic, tp.partition)] = (records[-1].offset + 1, last_rec)
    return out
