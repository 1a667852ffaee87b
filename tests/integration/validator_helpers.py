"""Shared helpers for validator integration tests: a private topic set, publishing, reading back."""
from __future__ import annotations

import json
from typing import Any, Iterable

from kafka import KafkaConsumer, TopicPartition

from consumers.validator import Validator, ValidatorConfig
from producers.publisher import Publisher
from registry import codec, topics
from registry.db import engine
from registry.topics import Topics

PARTNERS = ["sbb", "duo", "mbo.albeda", "mbo.roc-top", "gemeente.gm0599", "leerbedrijf.123456789"]


def make_topics(bootstrap: str, prefix: str, partners: list[str] = PARTNERS, partitions: int = 6) -> Topics:
    topics.create([bootstrap], partitions, partners, prefix)
    return Topics(prefix)


def publish(bootstrap: str, prefix: str, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
    by_partner: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for event_type, record in items:
        by_partner.setdefault(record["partner"], []).append((event_type, record))
    n = 0
    for partner, batch in by_partner.items():
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            n += pub.publish_batch(batch)
    return n


def validator(bootstrap: str, database_url: str, prefix: str) -> Validator:
    cfg = ValidatorConfig([bootstrap], database_url, group=f"{prefix}-validator", prefix=prefix, schema=f"{prefix}_validator")
    v = Validator(cfg, engine(database_url))
    v.start()
    return v


def drain(v: Validator, idle_polls: int = 2) -> int:
    """Run until caught up with every assigned ingress partition and a few polls bring nothing."""
    total, idle = 0, 0
    while idle < idle_polls:
        n = v.run_once(timeout_ms=300)
        total += n
        idle = 0 if n else (idle + 1 if v.caught_up() else 0)
    return total


def read_topic(bootstrap: str, topic: str) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, isolation_level="read_committed")
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    out: list[Any] = []
    while any(consumer.position(tp) < end[tp] for tp in tps):
        for records in consumer.poll(timeout_ms=1000).values():
            out.extend(records)
    consumer.close()
    return out


def canonical(bootstrap: str, t: Topics) -> list[tuple[str, dict[str, Any]]]:
    return [codec.decode(r.value) for r in read_topic(bootstrap, t.events)]


def rejections(bootstrap: str, t: Topics) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_topic(bootstrap, t.rejections)]


def deadletters(bootstrap: str, t: Topics) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_topic(bootstrap, t.deadletter)]
