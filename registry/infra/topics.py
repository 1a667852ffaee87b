"""Kafka topic names and their creation (the project owns its topics)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError

from registry.infra.kafka import client_config, posities

_PARTNER = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)?$")
# max.message.bytes of every ingress topic, set explicitly (PRAKTIJK_MAX_INGRESS_BYTES): a partner's record is
# at most this big; the producer refuses bigger rows before sending and the validator dead-letters any that get through
INGRESS_MAX_BYTES = 256 * 1024
# days the ingress and dead-letter topics keep a record (PRAKTIJK_INGRESS_RETENTION_DAYS; the settings' default)
INGRESS_RETENTION_DAYS = 7


def check_partner(partner: str) -> str:
    """A partner id is <soort>.<id> or a bare national id, in [a-z0-9-]: it becomes part of a topic name."""
    if not _PARTNER.match(partner):
        raise ValueError(f"partner {partner!r} is not of the form <soort>.<id> in [a-z0-9-]")
    return partner


def specs(
    partitions: int,
    partners: list[str],
    prefix: str = "praktijkleren",
    *,
    max_ingress_bytes: int = INGRESS_MAX_BYTES,
    retention_days: int = INGRESS_RETENTION_DAYS,
    replication: int = 1,
) -> list[NewTopic]:
    """``retention_days``: of the ingress and dead-letter topics (PRAKTIJK_INGRESS_RETENTION_DAYS, default 7), so
    partner-sealed copies of persoonsgegevens age out; every other topic is kept forever.

    Every topic has the same partition count: the validator relies on
    co-partitioning (partition i of each topic holds the same deelnemers).

    ``replication``: replicas per partition; with 3 or more, a write needs 2 of them (``min.insync.replicas``), so a
    broker may go without losing an acknowledged event or stopping a partner."""
    t = Topics(prefix)
    isr = {"min.insync.replicas": str(min_insync(replication))}
    forever = {"retention.ms": "-1", "retention.bytes": "-1", **isr}
    days = retention_days
    kort = {"retention.ms": str(days * 24 * 3600 * 1000), "retention.bytes": "-1", **isr}
    topics = [
        NewTopic(t.events, partitions, replication, topic_configs=forever),
        NewTopic(t.rejections, partitions, replication, topic_configs=forever),
        NewTopic(t.deadletter, partitions, replication, topic_configs=kort),
        NewTopic(t.parked, partitions, replication, topic_configs=forever),
    ]
    ingress = {"max.message.bytes": str(max_ingress_bytes), **kort}
    topics += [NewTopic(t.ingress(p), partitions, replication, topic_configs=ingress) for p in partners]
    # each partner reads its own refusals here (and nothing else); the validator writes them
    topics += [NewTopic(t.rejections_of(p), partitions, replication, topic_configs=forever) for p in partners]
    return topics


def create(
    bootstrap: list[str],
    partitions: int,
    partners: list[str],
    prefix: str = "praktijkleren",
    *,
    max_ingress_bytes: int = INGRESS_MAX_BYTES,
    replication: int | None = None,
    retention_days: int = INGRESS_RETENTION_DAYS,
) -> list[str]:
    """Create missing topics; returns the names that were newly created. ``replication`` None: min(3, brokers)."""
    admin = KafkaAdminClient(**client_config(bootstrap), client_id="praktijkregister-admin")
    try:
        rf = replication or default_replication(len(admin.describe_cluster()["brokers"]))
        alle = specs(
            partitions,
            partners,
            prefix,
            max_ingress_bytes=max_ingress_bytes,
            retention_days=retention_days,
            replication=rf,
        )
        existing = _zichtbaar(admin, [t.name for t in alle])
        wanted = [t for t in alle if t.name not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # raced with another creator: same outcome
            except TopicAuthorizationFailedError:
                raise ValueError(
                    f"not allowed to create topic {wanted[0].name} on the broker: only the registry's "
                    "admin creates topics (praktijkregister partners add / topics create)"
                ) from None
        return [t.name for t in wanted]
    finally:
        admin.close()


def default_replication(brokers: int) -> int:
    """Three copies where there are three brokers: one may be lost, one more may be down for maintenance."""
    return max(1, min(3, brokers))


def min_insync(replication: int) -> int:
    """Writes wait for 2 replicas when there are 3 or more (one broker may go); for fewer, all there are."""
    return 2 if replication >= 3 else replication


def exists(bootstrap: list[str], topic: str) -> bool:
    """``topic`` exists and this login may see it (a partner sees only its own topics)."""
    admin = KafkaAdminClient(**client_config(bootstrap), client_id="praktijkregister-admin")
    try:
        return topic in _zichtbaar(admin, [topic])
    finally:
        admin.close()


def _zichtbaar(admin: KafkaAdminClient, names: list[str]) -> set[str]:
    """Which of ``names`` exist and this login may see: metadata of those topics only (listing every topic
    costs ~0.4 s on a broker with 2,500 topics, and this runs once per published file)."""
    return {t["name"] for t in admin.describe_topics(names) if t.get("error_code") == 0}


def list_topics(bootstrap: list[str]) -> list[str]:
    admin = KafkaAdminClient(**client_config(bootstrap), client_id="praktijkregister-admin")
    try:
        return sorted(t for t in admin.list_topics() if not t.startswith("__"))
    finally:
        admin.close()


class Topics:
    """The registry's topic set under one prefix (tests use their own prefix)."""

    def __init__(self, prefix: str = "praktijkleren") -> None:
        self.prefix = prefix
        self.events = f"{prefix}.events"
        self.rejections = f"{prefix}.rejections"
        self.deadletter = f"{prefix}.deadletter"
        self.parked = f"{prefix}.parked"  # parked submissions and their resolutions (the validator's, exactly-once)
        self.ingress_prefix = f"{prefix}.ingress."
        self.ingress_pattern = "^" + re.escape(self.ingress_prefix) + ".+"

    def ingress(self, partner: str) -> str:
        return self.ingress_prefix + check_partner(partner)

    def rejections_of(self, partner: str) -> str:
        """The partner's own refusals (readable by that partner only)."""
        return f"{self.rejections}.{check_partner(partner)}"

    def partner_of(self, topic: str) -> str:
        if not topic.startswith(self.ingress_prefix):
            raise ValueError(f"{topic!r} is not an ingress topic of {self.prefix}")
        return topic[len(self.ingress_prefix) :]


# The registry's own topics; tests and benchmarks make their own set under another prefix.
DEFAULT = Topics()


def partitions_of(consumer: KafkaConsumer, topic: str, wait_s: float) -> set[int]:
    """The topic's partitions, waiting up to ``wait_s`` for it to be created (empty when it was not)."""
    deadline = time.monotonic() + wait_s
    while not (parts := consumer.partitions_for_topic(topic)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return set(parts or ())


def remaining(consumer: KafkaConsumer, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Per partition: records between the consumer's position and the end. For a read_committed
    consumer the end is the last stable offset, so open transactions do not count as pending."""
    parts = list(tps)
    if not parts:
        return {}
    ends = consumer.end_offsets(parts)
    positions = posities(consumer, parts)  # not ``position`` per partition: quadratic (registry/infra/kafka.py)
    return {tp: max(0, ends[tp] - (positions[tp] or 0)) for tp in parts}


def achter(consumer: KafkaConsumer, einde: Mapping[TopicPartition, int]) -> list[TopicPartition]:
    """The partitions of ``einde`` whose position is still before their end there (no broker round trip for the
    ends; the positions through ``posities``, one ``position`` call for all)."""
    nu = posities(consumer, list(einde))
    return [tp for tp, end in einde.items() if (nu[tp] or 0) < end]


def caught_up(consumer: KafkaConsumer, tps: Iterable[TopicPartition]) -> bool:
    """Nothing left to read on any of ``tps`` (vacuously true for none)."""
    return not any(remaining(consumer, tps).values())


def batches_to_end(
    consumer: KafkaConsumer, tps: list[TopicPartition], timeout_ms: int = 1000
) -> Iterator[tuple[TopicPartition, list[Any]]]:
    """Poll an assigned consumer until every partition has reached the end it had when called."""
    end = consumer.end_offsets(tps) if tps else {}
    while achter(consumer, end):
        yield from consumer.poll(timeout_ms=timeout_ms).items()


def read_to_end(bootstrap: list[str], topic: str) -> list[Any]:
    """Every committed record of ``topic`` from the beginning to its current end (read_committed)."""
    consumer = KafkaConsumer(
        **client_config(bootstrap), group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        out: list[Any] = []
        if tps:
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            for _tp, records in batches_to_end(consumer, tps):
                out.extend(records)
        return out
    finally:
        consumer.close()


# Transitional names (removed once every caller uses DEFAULT / read_to_end).
EVENTS, REJECTIONS, DEADLETTER = DEFAULT.events, DEFAULT.rejections, DEFAULT.deadletter
INGRESS_PREFIX = DEFAULT.ingress_prefix
ingress = DEFAULT.ingress
read_all = read_to_end
