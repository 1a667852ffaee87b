"""kafka-python leaves a flush open after every transaction; ``einde_flush`` ends it (linger works again)."""

from __future__ import annotations

from kafka import KafkaProducer

from registry.infra import topics
from registry.infra.kafka import client_config, einde_flush
from registry.infra.topics import Topics


def test_a_committed_transaction_leaves_no_flush_open_once_einde_flush_ran(kafka_bootstrap: str, unique: str) -> None:
    prefix = f"t{unique}"
    topics.create([kafka_bootstrap], 1, [], prefix)
    producer = KafkaProducer(
        **client_config([kafka_bootstrap]), transactional_id=f"{prefix}-flush", enable_idempotence=True, acks="all"
    )
    try:
        producer.init_transactions()
        for _ in range(2):
            producer.begin_transaction()
            producer.send(Topics(prefix).events, key=b"k", value=b"v")
            producer.commit_transaction()
            # without this, every later batch is sent at once, whatever linger_ms says
            assert producer._accumulator.flush_in_progress()
            einde_flush(producer)
            assert not producer._accumulator.flush_in_progress()
        einde_flush(producer)  # nothing open: a no-op, never below zero
        assert producer._accumulator._flushes_in_progress.get() == 0
    finally:
        producer.close()
