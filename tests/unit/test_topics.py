"""Topic specifications (registry/infra/topics.py): replicas and the in-sync minimum that lets one broker go."""

from __future__ import annotations

import pytest

from registry.infra import topics


@pytest.mark.parametrize(("brokers", "replicas"), [(1, 1), (2, 2), (3, 3), (5, 3), (0, 1)])
def test_three_copies_where_there_are_three_brokers(brokers: int, replicas: int) -> None:
    assert topics.default_replication(brokers) == replicas


@pytest.mark.parametrize(("replicas", "isr"), [(1, 1), (2, 2), (3, 2), (5, 2)])
def test_a_write_waits_for_two_copies_from_three_replicas(replicas: int, isr: int) -> None:
    assert topics.min_insync(replicas) == isr


def test_every_topic_gets_the_replication_and_its_in_sync_minimum() -> None:
    specs = topics.specs(6, ["sbb", "mbo.albeda"], "t", retention_days=7, replication=3)
    assert len(specs) == 4 + 2 + 2
    assert {s.replication_factor for s in specs} == {3}
    assert {s.topic_configs["min.insync.replicas"] for s in specs} == {"2"}
    assert {s.num_partitions for s in specs} == {6}  # co-partitioned, whatever the replication


def test_a_single_broker_keeps_one_copy() -> None:
    specs = topics.specs(6, ["sbb"], "t", retention_days=7)
    assert {s.replication_factor for s in specs} == {1}
    assert {s.topic_configs["min.insync.replicas"] for s in specs} == {"1"}
