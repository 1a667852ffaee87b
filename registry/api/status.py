"""Consumer lag of the validator and the projections, straight from Kafka.

``lag`` is the raw offset difference (end offset of the partition minus the committed / stored offset).
With Kafka transactions that difference never reaches 0: every committed transaction leaves a control
record (commit marker) after its data, and aborted records stay in the log. So each lagging partition is
also *peeked* with a read_committed consumer from the committed offset: ``pending`` is true only when a
committed data record remains to be consumed. ``caught_up`` = nothing pending anywhere - the condition a
caller waits for after publishing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from registry.domein.parkeren import vouw_alles
from registry.infra.kafka import client_config
from registry.infra.topics import achter


class KafkaUnavailable(Exception):
    """The broker could not be reached or answered with an error."""


@dataclass
class PartitionLag:
    topic: str
    partition: int
    end_offset: int
    committed_offset: int | None
    lag: int
    pending: bool = False
    last_recorded_at: datetime | None = None


@dataclass
class ConsumerLag:
    naam: str
    soort: str  # "validator" | "projectie"
    group: str | None
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def pending(self) -> bool:
        return any(p.pending for p in self.partitions)

    @property
    def last_recorded_at(self) -> datetime | None:
        stamps = [p.last_recorded_at for p in self.partitions if p.last_recorded_at is not None]
        return max(stamps) if stamps else None


# projection name -> (topic, partition) -> (stored next_offset, recorded_at of the last applied event)
ProjectionOffsets = dict[str, dict[tuple[str, int], tuple[int, datetime | None]]]


def projection_offsets(rows: Iterable[dict[str, Any]], events_topic: str) -> ProjectionOffsets:
    """Normalise projections.queries.projection_status() rows (a row without a topic is on the events topic)."""
    out: ProjectionOffsets = {}
    for r in rows:
        naam = str(r.get("projection") or r.get("projectie") or r.get("naam") or r.get("name"))
        parts = out.setdefault(naam, {})
        if r.get("partition") is None:
            continue
        offset = r.get("next_offset", r.get("offset"))
        recorded = r.get("last_recorded_at", r.get("recorded_at"))
        topic = str(r.get("topic") or events_topic)
        parts[(topic, int(r["partition"]))] = (int(offset) if offset is not None else 0, recorded)
    return out


def _committed(value: Any) -> int | None:
    off = getattr(value, "offset", value)
    return None if off is None or int(off) < 0 else int(off)


def _group_offsets(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, Any]:
    legacy = getattr(admin, "list_consumer_group_offsets", None)
    if legacy is not None:  # kafka-python 2.x
        return dict(legacy(group))
    result = admin.list_group_offsets({group: None})
    return dict(result.get(group, {}))


def _peek(
    consumer: KafkaConsumer, wanted: dict[TopicPartition, set[int]], end: dict[TopicPartition, int], budget_s: float
) -> dict[tuple[TopicPartition, int], bool]:
    """For every (partition, from_offset): is there a committed data record in [from_offset, end)?

    Rounds: each round seeks every undecided partition to its smallest undecided from_offset and reads until
    the first data record (decides every from_offset <= that record as pending) or the end (decides all the rest
    as not pending). Undecided ones when the time budget runs out count as pending (the safe answer)."""
    result: dict[tuple[TopicPartition, int], bool] = {}
    todo = {tp: sorted(offs) for tp, offs in wanted.items() if offs}
    deadline = time.monotonic() + budget_s
    if not todo:
        return result
    consumer.assign(list(todo))
    while todo and time.monotonic() < deadline:
        for tp, offs in todo.items():
            consumer.seek(tp, offs[0])
        consumer.resume(*todo.keys())
        active = set(todo)
        while active and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=100, max_records=500)
            for tp in list(active):
                records = [r for r in batch.get(tp, []) if r.offset >= todo[tp][0]]
                if records:
                    first = min(r.offset for r in records)
                    for o in [o for o in todo[tp] if o <= first]:
                        result[(tp, o)] = True
                    todo[tp] = [o for o in todo[tp] if o > first]
                elif consumer.position(tp) >= end[tp]:
                    for o in todo[tp]:
                        result[(tp, o)] = False
                    todo[tp] = []
                else:
                    continue
                active.discard(tp)
                consumer.pause(tp)
        todo = {tp: offs for tp, offs in todo.items() if offs}
    for tp, offs in todo.items():
        for o in offs:
            result[(tp, o)] = True
    return result


def kafka_status(
    servers: list[str],
    validator_group: str,
    ingress_prefix: str,
    events_topic: str,
    projections: ProjectionOffsets,
    timeout_ms: int = 5000,
    peek_budget_s: float = 2.0,
) -> list[ConsumerLag]:
    """The validator's lag on every ingress topic and each projection's lag on the events topic (and on any
    other topic it has stored offsets for, e.g. the rejections topic)."""
    try:
        admin = KafkaAdminClient(
            **client_config(servers),
            client_id="praktijkregister-api-status",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except Exception as exc:  # NoBrokersAvailable, KafkaTimeoutError, ...
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(servers)}: {type(exc).__name__}") from exc
    consumer: KafkaConsumer | None = None
    try:
        topics = set(admin.list_topics())
        ingress = sorted(t for t in topics if t.startswith(ingress_prefix))
        projected = {events_topic} | {t for stored in projections.values() for t, _ in stored}
        wanted_topics = ingress + sorted(t for t in projected if t in topics and t not in ingress)
        tps: list[TopicPartition] = []
        for meta in admin.describe_topics(wanted_topics) if wanted_topics else []:
            for p in meta["partitions"]:
                tps.append(TopicPartition(meta["name"], int(p["partition_index"])))
        tps.sort()
        committed = _group_offsets(admin, validator_group)
        consumer = KafkaConsumer(
            **client_config(servers),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=max(timeout_ms, 1000),
            bootstrap_timeout_ms=timeout_ms,
            client_id="praktijkregister-api-status",
        )
        end = {tp: int(o) for tp, o in consumer.end_offsets(tps).items()} if tps else {}
        begin = {tp: int(o) for tp, o in consumer.beginning_offsets(tps).items()} if tps else {}

        validator = ConsumerLag("validator", "validator", validator_group)
        for tp in (tp for tp in tps if tp.topic in ingress):
            c = _committed(committed.get(tp))
            base = c if c is not None else begin[tp]  # no commit yet: the group starts at the log start
            validator.partitions.append(PartitionLag(tp.topic, tp.partition, end[tp], c, max(end[tp] - base, 0)))
        result = [validator]
        for naam in sorted(projections):
            lag = ConsumerLag(naam, "projectie", None)
            stored = projections[naam]
            mine = {events_topic} | {t for t, _ in stored}
            for tp in (tp for tp in tps if tp.topic in mine):
                off, recorded = stored.get((tp.topic, tp.partition), (None, None))
                base = off if off is not None else begin[tp]
                lag.partitions.append(
                    PartitionLag(
                        tp.topic, tp.partition, end[tp], off, max(end[tp] - base, 0), last_recorded_at=recorded
                    )
                )
            result.append(lag)

        # an ingress partition's lag is all records (partners' producers are idempotent, not transactional: no
        # commit markers), so it is pending without a peek; the api login may not read submissions anyway
        wanted: dict[TopicPartition, set[int]] = {}
        for cl in result:
            for p in cl.partitions:
                if p.lag > 0 and p.topic not in ingress:
                    tp = TopicPartition(p.topic, p.partition)
                    wanted.setdefault(tp, set()).add(end[tp] - p.lag)
        peeked = _peek(consumer, wanted, end, peek_budget_s)
        for cl in result:
            for p in cl.partitions:
                if p.lag > 0:
                    tp = TopicPartition(p.topic, p.partition)
                    p.pending = peeked.get((tp, end[tp] - p.lag), True)
        return result
    except KafkaUnavailable:
        raise
    except Exception as exc:
        raise KafkaUnavailable(f"Kafka status failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if consumer is not None:
            consumer.close()
        admin.close()


def parked_topic(events_topic: str) -> str:
    """``<prefix>.parked`` next to ``<prefix>.events`` (registry.infra.topics.Topics)."""
    return (events_topic[: -len(".events")] if events_topic.endswith(".events") else events_topic) + ".parked"


def parked_counts(servers: list[str], topic: str, timeout_ms: int = 5000) -> list[tuple[str, str, int]]:
    """(partner, reason code, number) of the submissions parked now: the fold of the validator's parked topic
    (read_committed, so exactly what the validator committed). No topic yet: nothing parked."""
    try:
        consumer = KafkaConsumer(
            **client_config(servers),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=max(timeout_ms, 1000),
            bootstrap_timeout_ms=timeout_ms,
            client_id="praktijkregister-api-parked",
        )
    except Exception as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(servers)}: {type(exc).__name__}") from exc
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        records: list[Any] = []
        if tps:
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            end = consumer.end_offsets(tps)
            while achter(consumer, end):
                for batch in consumer.poll(timeout_ms=timeout_ms).values():
                    records.extend(batch)
        plaats = vouw_alles(json.loads(r.value) for r in records)
        return sorted((partner, reden, n) for (partner, reden), n in plaats.tellingen().items())
    except Exception as exc:
        raise KafkaUnavailable(f"reading {topic} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        consumer.close()
