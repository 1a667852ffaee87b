"""Poison for an ingress topic: bytes that are no event, an Avro event cut short, an event under a schema the
registry does not know, a JSON line, and a record over the ingress limit (gzip-compressed, so the broker takes
it although it is bigger than max.message.bytes once unpacked: what a hostile partner can do)."""

from __future__ import annotations

import random

from kafka import KafkaProducer

from registry.infra import codec
from registry.infra.kafka import client_config
from registry.infra.topics import INGRESS_MAX_BYTES, Topics
from tests.support.builders import MBO
from tests.support.faults.stroom import deelnemers


def poisons(seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    event_type, record = next(deelnemers(seed))
    good = codec.encode(event_type, record)
    return [
        bytes(rnd.getrandbits(8) for _ in range(5000)),
        good[: len(good) // 2],
        b"\xc3\x01" + b"\x7f" * 8 + good[codec.HEADER_LEN :],  # a schema fingerprint no one registered
        b'{"event_type": "DeelnemerIngeschreven", "deelnemer": "x"}',
        b"\xc3\x01" + b"\x00" * (INGRESS_MAX_BYTES + 40_000),
    ]


def inject(bootstrap: str, seed: int, partner: str = MBO) -> int:
    """Send every poison to ``partner``'s ingress topic; returns how many (each must become one dead letter)."""
    values = poisons(seed)
    producer = KafkaProducer(
        **client_config(bootstrap), acks="all", compression_type="gzip", max_request_size=4 * 1024 * 1024
    )
    try:
        for i, value in enumerate(values):
            producer.send(Topics().ingress(partner), key=f"gif-{seed}-{i}".encode(), value=value).get(timeout=60)
    finally:
        producer.close()
    return len(values)
