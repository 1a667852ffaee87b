"""Step producer: Publisher.publish_batch (encode + key + send, acks=all, idempotent) vs kafka-python sending the
same pre-encoded bytes with the same settings to the same partitions, worked out ahead (untimed): the Publisher
remembers each key's partition, so a baseline that left kafka-python's pure-Python murmur2 to run per send would be
slower than the stage it measures."""

from __future__ import annotations

import time
from typing import Any

from kafka import KafkaProducer

from benchmarks.meting import must
from benchmarks.werklast import Event, fresh_prefix, stream
from producers.publisher import Publisher, partition_of
from registry.domein import events
from registry.infra import codec, topics
from registry.infra.kafka import client_config
from registry.infra.topics import Topics
from tests.support.builders import MBO

PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 256 * 1024,
}


def bench_producer(bootstrap: str, n_deelnemers: int, runs: int) -> tuple[list[float], list[float]]:
    """Alternating rounds, both producers warmed up: the order must not decide. (Publisher, raw) ev/s per run."""
    items = stream(n_deelnemers)
    prefix = fresh_prefix()
    topics.create([bootstrap], 6, [MBO, "werkgever.raw"], prefix)
    encoded = [(events.key(et, r), codec.encode(et, r)) for et, r in items]
    raw = KafkaProducer(**client_config([bootstrap]), **PRODUCER_SETTINGS)
    pub = Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False, producer_config=PRODUCER_SETTINGS)
    raw_topic = Topics(prefix).ingress("werkgever.raw")
    partities = tuple(sorted(raw.partitions_for(raw_topic)))
    encoded = [(key, value, partition_of(key, partities)) for key, value in encoded]

    def raw_round(batch: list[tuple[bytes, bytes, int]]) -> float:
        start = time.perf_counter()
        for key, value, partition in batch:
            raw.send(raw_topic, key=key, value=value, partition=partition)
        raw.flush()
        return len(batch) / (time.perf_counter() - start)

    def pub_round(batch: list[Event]) -> float:
        start = time.perf_counter()
        sent = pub.publish_batch(batch)
        return sent / (time.perf_counter() - start)

    raw_round(encoded[:500]), pub_round(items[:500])  # warm-up: connections, metadata
    raw_rates, pub_rates = [], []
    for _ in range(runs):
        raw_rates.append(raw_round(encoded))
        pub_rates.append(pub_round(items))
    raw.close()
    pub.close()
    must(min(pub_rates) > 0 and min(raw_rates) > 0, "producer step measured nothing")
    return pub_rates, raw_rates
