"""A group member finishes a rebalance that kafka-python left unfinished (consumers/groep.py, real broker)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewPartitions, NewTopic
from kafka.coordinator.assignors.range import RangePartitionAssignor

from consumers import groep
from registry.infra.kafka import client_config


class Lid:
    """Records what the listener was told."""

    def __init__(self) -> None:
        self.ingetrokken_n = 0
        self.toegewezen_laatst: set[TopicPartition] = set()

    def ingetrokken(self, partitions: set[TopicPartition]) -> None:
        self.ingetrokken_n += 1

    def toegewezen(self, partitions: set[TopicPartition]) -> None:
        self.toegewezen_laatst = set(partitions)


@pytest.fixture()
def onderwerpen(admin: KafkaAdminClient, unique: str) -> Iterator[tuple[str, str]]:
    a, b = f"groep{unique}.a", f"groep{unique}.b"
    admin.create_topics([NewTopic(a, 3, 1), NewTopic(b, 3, 1)])
    yield a, b
    admin.delete_topics([a, b])


def test_a_rebalance_whose_poll_ended_before_its_join_finished_is_finished_by_the_next_polls(
    kafka_bootstrap: str, admin: KafkaAdminClient, onderwerpen: tuple[str, str], unique: str
) -> None:
    """The validator polls with a time-out of 0 while it collects a batch. A rebalance such a poll starts (here: a
    topic gained partitions) is joined on the client's IO thread; once the leader has computed the assignment,
    kafka-python 3.0.12 no longer wants to rejoin, so no later poll awaited that join: the member stayed
    rebalancing for good, its partitions revoked and never assigned again (the validator read nothing, for ever).
    ``groep.poll`` takes the join up again: the member is stable with every partition and reads the new one."""
    a, b = onderwerpen
    lid = Lid()
    consumer = KafkaConsumer(
        **client_config(kafka_bootstrap) | {"metadata_max_age_ms": 1000},
        group_id=f"groep{unique}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        partition_assignment_strategy=[RangePartitionAssignor],
        session_timeout_ms=groep.SESSIE_TIMEOUT_MS,
        heartbeat_interval_ms=groep.HEARTBEAT_MS,
    )
    try:
        consumer.subscribe(topics=[a, b], listener=groep.Toewijzing(lid))
        deadline = time.monotonic() + 30
        while len(consumer.assignment()) < 6 and time.monotonic() < deadline:
            groep.poll(consumer, 300)
        assert len(consumer.assignment()) == 6 and groep.stabiel(consumer)

        admin.create_partitions({b: NewPartitions(6)})
        gezien = lid.ingetrokken_n
        while lid.ingetrokken_n == gezien and time.monotonic() < deadline:
            consumer.poll(timeout_ms=0)  # as the validator's poll while a batch commits: the join outlives it
            time.sleep(1.0)
        assert lid.ingetrokken_n > gezien, "the new partitions never started a rebalance"
        time.sleep(2.0)  # the join goes on (and ends) on the IO thread; no poll awaits it
        assert not groep.stabiel(consumer)

        alles = {TopicPartition(a, p) for p in range(3)} | {TopicPartition(b, p) for p in range(6)}
        with KafkaProducer(**client_config(kafka_bootstrap)) as producer:
            producer.send(b, value=b"x", partition=5).get(timeout=30)
        gelezen: list[TopicPartition] = []
        deadline = time.monotonic() + 30
        while not gelezen and time.monotonic() < deadline:
            gelezen += [tp for tp, records in groep.poll(consumer, 300).items() if records]
        assert groep.stabiel(consumer) and consumer.assignment() == alles and lid.toegewezen_laatst == alles
        assert gelezen == [TopicPartition(b, 5)]
    finally:
        consumer.close()
