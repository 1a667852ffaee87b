"""Polling a consumer-group member so that a rebalance completes.

kafka-python 3.0.12 keeps a JoinGroup in flight when ``poll`` times out, but if that join completes before the
next ``poll`` starts, it is dropped and a new JoinGroup is sent, which starts another rebalance for every member:
with several instances that each spend time between polls (a batch, a transaction) the group can rebalance for
many seconds without assigning a partition (seen with two validators). So while the member is (re)joining, it
polls back to back in short slices: a join completes inside a poll and its result is never dropped.

A later poll awaits a join in flight only while the coordinator still ``need_rejoin()``, and that turns false before
the join's answer is applied: when the JoinGroup is built (a changed subscription) or when the leader has computed
the assignment (changed topic metadata; both on the IO thread, whatever the caller does). A join whose poll ended
before that answer came (a poll with a short time-out, a loaded machine) was then never finished: the member stayed
``REBALANCING`` for good, its heartbeats off, every partition it held revoked (told to the listener, not fetched)
and none assigned again: a validator with 18 partitions assigned that read nothing for ever. ``poll`` asks the
coordinator to rejoin again in that state (``verlaten_join``), so its next poll awaits the join or sends a new one.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition

from registry.infra import kafka as registry_kafka

# at most this long back to back while rebalancing (a killed member is noticed after the session time-out, 10 s)
REBALANCE_S = 12.0
# how soon the group notices a killed member (kafka-python's default is 45 s); validator and projector alike
SESSIE_TIMEOUT_MS = 10_000
HEARTBEAT_MS = 3_000
# a just-killed member is removed by the coordinator after its session time-out (counted from the join that made the
# assignment); a live member hears of the rebalance at its next heartbeat; plus slack for a loaded machine (2 s was
# too little in CI)
DEFINITIEF_NA_S = SESSIE_TIMEOUT_MS / 1000 + HEARTBEAT_MS / 1000 + 5
SLICE_MS = 100

log = logging.getLogger("praktijkregister.groep")


class GroupConsumer(Protocol):
    """What ``verweesd`` asks of a group member's consumer."""

    def assignment(self) -> set[TopicPartition]: ...

    def paused(self) -> set[TopicPartition]: ...

    def group_metadata(self) -> Any: ...


def poll(consumer: KafkaConsumer, timeout_ms: int, **kwargs: Any) -> Any:
    """``consumer.poll``; while the member is (re)joining its group, back-to-back short polls until it is stable (a
    join kafka-python left unfinished is taken up again first: ``verlaten_join``)."""
    if stabiel(consumer):
        return consumer.poll(timeout_ms=timeout_ms, **kwargs)
    deadline = time.monotonic() + REBALANCE_S
    while True:
        verlaten_join(consumer)
        records = consumer.poll(timeout_ms=SLICE_MS, **kwargs)
        if records or stabiel(consumer) or time.monotonic() > deadline:
            return records


def verlaten_join(consumer: KafkaConsumer) -> bool:
    """Take up a join kafka-python left unfinished (module docstring; ``registry.infra.kafka.verlaten_join``), saying so."""
    if not registry_kafka.verlaten_join(consumer):
        return False
    log.warning("%s: a rebalance the client left unfinished: rejoining", consumer.config.get("client_id"))
    return True


def verweesd(consumer: GroupConsumer, wachtend: set[TopicPartition]) -> set[TopicPartition]:
    """Assigned partitions that are paused but not in ``wachtend`` (waiting for a hand-over): a member's listener
    was told they were revoked but not that they were assigned again (a rebalance the client left unfinished,
    ``verlaten_join``). Only once the member is stable: before, its partitions are not fetched anyway and the
    assignment still to come may differ (it pauses what it gives)."""
    if not stabiel(consumer):
        return set()
    return (set(consumer.paused()) & consumer.assignment()) - wachtend


def definitief(consumer: KafkaConsumer, sinds: float) -> bool:
    """Whether being caught up on this member's assignment means the group's work is done: true if it holds every
    partition of its subscription, or once the assignment (``sinds``, time.monotonic) is older than
    ``DEFINITIEF_NA_S``. A member killed moments ago stays in the group, with its partitions, until its session
    times out; a member that stops when caught up on the rest would stop before it is given them (seen in CI: a
    validator left with the part that did not hold the reference data, so nothing was released)."""
    alle = {TopicPartition(t, p) for t in consumer.subscription() or () for p in consumer.partitions_for_topic(t) or ()}
    return alle <= consumer.assignment() or time.monotonic() - sinds >= DEFINITIEF_NA_S


def stabiel(consumer: KafkaConsumer | GroupConsumer) -> bool:
    """The member is in the group with its assignment (not joining or rebalancing)."""
    return registry_kafka.stabiel(consumer)


class Lid(Protocol):
    """A group member that owns partitions: told what it lost and what it got."""

    def ingetrokken(self, partitions: set[TopicPartition]) -> None: ...

    def toegewezen(self, partitions: set[TopicPartition]) -> None: ...


class Toewijzing(ConsumerRebalanceListener):  # type: ignore[misc]
    """Rebalance hooks; they run on the consumer's IO thread inside ``poll``, so they only tell the member what
    changed (the member acts on it in its own loop: a revoked partition is lost too, for a member)."""

    def __init__(self, lid: Lid) -> None:
        self.lid = lid

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.lid.ingetrokken(set(revoked))

    def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        self.lid.ingetrokken(set(lost))

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.lid.toegewezen(set(assigned))
