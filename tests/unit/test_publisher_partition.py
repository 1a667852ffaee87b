"""The publisher picks a record's partition itself (cached per key): the same one kafka-python's default
partitioner picks, so every topic stays co-partitioned by deelnemer."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_murmur2

from producers.publisher import murmur2, partition_of


class _Cluster:
    def __init__(self, n: int) -> None:
        self.n = n

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, _topic: str) -> set[int]:
        return set(range(self.n))

    def available_partitions_for_topic(self, _topic: str) -> set[int]:
        return set(range(self.n))


def test_partition_of_is_kafka_pythons_default_partition() -> None:
    default = DefaultPartitioner()
    keys = [os.urandom(32).hex().encode() for _ in range(300)] + [b"", b"a", b"mbo.albeda"]
    for n in (1, 3, 6, 12):
        cluster = _Cluster(n)
        for key in keys:
            assert partition_of(key, tuple(range(n))) == default.partition("t", key, key, b"v", b"v", cluster)


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None)
def test_murmur2_is_kafka_pythons_for_every_input(data: bytes) -> None:
    assert murmur2(data) == kafka_murmur2(data)  # every length: the 0-3 trailing bytes included
