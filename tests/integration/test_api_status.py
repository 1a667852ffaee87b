"""Consumer lag from the real broker: committed group offsets, stored projection offsets, transaction markers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

from registry.api.status import kafka_status, projection_offsets
from registry.infra.kafka import client_config


def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    c = KafkaConsumer(**client_config(bootstrap), group_id=group, enable_auto_commit=False)
    c.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    c.close()


def test_lag_and_pending_with_transactions(kafka_bootstrap: str, admin: Any, unique: str) -> None:
    prefix = f"t{unique}"
    ingress, events = f"{prefix}.ingress.mbo.albeda", f"{prefix}.events"
    admin.create_topics([NewTopic(ingress, 2, 1), NewTopic(events, 2, 1)])
    plain = KafkaProducer(**client_config(kafka_bootstrap))
    for i in range(3):
        plain.send(ingress, f"in-{i}".encode(), partition=0)
    plain.flush()
    plain.close()
    tx = KafkaProducer(**client_config(kafka_bootstrap), transactional_id=f"tx.{unique}")
    tx.init_transactions()
    tx.begin_transaction()
    tx.send(events, b"e0", partition=0)
    tx.send(events, b"e1", partition=0)
    tx.commit_transaction()
    tx.begin_transaction()
    tx.send(events, b"aborted", partition=0)
    tx.abort_transaction()
    tx.close()
    group = f"g.{unique}"
    _commit(kafka_bootstrap, group, {TopicPartition(ingress, 0): 1})
    stamp = dt.datetime(2021, 1, 13, 12, tzinfo=dt.UTC)
    projections = projection_offsets(
        [
            # "done" consumed both committed records (next offset 2) but stopped before the commit marker
            {"projection": "done", "topic": events, "partition": 0, "next_offset": 2, "last_recorded_at": stamp},
            {"projection": "done", "topic": events, "partition": 1, "next_offset": 0, "last_recorded_at": None},
            {"projection": "half", "topic": events, "partition": 0, "next_offset": 1, "last_recorded_at": stamp},
            {"projection": "new", "topic": None, "partition": None, "next_offset": None, "last_recorded_at": None},
        ],
        events,
    )

    lags = {c.naam: c for c in kafka_status([kafka_bootstrap], group, f"{prefix}.ingress.", events, projections)}

    val = lags["validator"]
    p0, p1 = sorted(val.partitions, key=lambda p: p.partition)
    assert (p0.end_offset, p0.committed_offset, p0.lag, p0.pending) == (3, 1, 2, True)
    assert (p1.end_offset, p1.committed_offset, p1.lag, p1.pending) == (0, None, 0, False)
    assert val.pending is True

    done = lags["done"]
    d0 = next(p for p in done.partitions if p.partition == 0)
    assert d0.end_offset >= 3 and d0.lag == d0.end_offset - 2 >= 1  # commit marker (+ aborted record, abort marker)
    assert d0.pending is False and done.pending is False  # ... but no committed record left to consume
    assert done.last_recorded_at == stamp
    assert lags["half"].pending is True  # e1 at offset 1 is still to be applied
    new = lags["new"]
    assert new.pending is True and {p.committed_offset for p in new.partitions} == {None}

    # the validator's group catches up: nothing pending there any more
    _commit(kafka_bootstrap, group, {TopicPartition(ingress, 0): 3})
    again = {c.naam: c for c in kafka_status([kafka_bootstrap], group, f"{prefix}.ingress.", events, projections)}
    assert again["validator"].pending is False and again["validator"].lag == 0
    admin.delete_topics([ingress, events])
