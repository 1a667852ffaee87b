"""The positions of many assigned partitions at the cost of one ``position`` call (registry/infra/kafka.py
``posities``), over the real broker: equal to asking each partition, for committed, reset and sought positions."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

from registry.infra import topics
from registry.infra.kafka import client_config, posities


@pytest.fixture()
def onderwerpen(admin: KafkaAdminClient, unique: str) -> Iterator[list[str]]:
    names = [f"posities{unique}.{i}" for i in range(4)]
    admin.create_topics([NewTopic(n, 6, 1) for n in names])
    yield names
    admin.delete_topics(names)


def test_posities_equal_a_position_call_per_partition(
    kafka_bootstrap: str, onderwerpen: list[str], unique: str
) -> None:
    tps = [TopicPartition(t, p) for t in onderwerpen for p in range(6)]
    producer = KafkaProducer(**client_config(kafka_bootstrap))
    for i, tp in enumerate(tps):
        for j in range(i % 5):  # 0-4 records a partition
            producer.send(tp.topic, value=b"x%d" % j, partition=tp.partition)
    producer.flush()
    producer.close()
    group = f"posities{unique}"
    committer = KafkaConsumer(**client_config(kafka_bootstrap), group_id=group, enable_auto_commit=False)
    committer.commit({tp: OffsetAndMetadata(1, "", -1) for tp in tps[3::4]})  # some committed, the rest reset
    committer.close()
    consumer = KafkaConsumer(
        **client_config(kafka_bootstrap), group_id=group, enable_auto_commit=False, auto_offset_reset="latest"
    )
    try:
        consumer.assign(tps)
        consumer.seek(tps[1], 0)
        consumer.seek_to_beginning(tps[2])
        got = posities(consumer, tps)
        expected = {tp: consumer.position(tp) for tp in tps}
        assert got == expected
        assert {got[tp] for tp in tps[3::4]} == {1} and got[tps[1]] == 0 and got[tps[4]] == 4  # committed / latest
        assert posities(consumer, []) == {}
        # what the validator's and the projector's ``caught_up`` ask: one partition behind, then none
        consumer.seek(tps[4], 2)
        assert topics.remaining(consumer, tps)[tps[4]] == 2
        ends = consumer.end_offsets(tps)
        behind = {tp for tp, n in topics.remaining(consumer, tps).items() if n}
        assert tps[4] in behind and set(topics.achter(consumer, ends)) == behind
        deadline = time.monotonic() + 20
        while any(topics.remaining(consumer, tps).values()) and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
        assert topics.caught_up(consumer, tps)
    finally:
        consumer.close(autocommit=False)
