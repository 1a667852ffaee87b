"""The real components: Kafka transactions with read_committed, PostgreSQL via SQLAlchemy 2 + psycopg 3."""

from __future__ import annotations

import time
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import text

from registry.infra.db import engine
from registry.infra.kafka import client_config
from tests.support.hangend import lso_en_hw


def _dicht(bootstrap: str, tp: TopicPartition) -> bool:
    """No transaction is open on ``tp`` (its last stable offset is its high watermark)."""
    lso, hw = lso_en_hw(bootstrap, tp)
    return lso == hw


def _consume_all(bootstrap: str, topic: str, isolation: str, expect_max: int) -> list[ConsumerRecord]:
    """At most ``expect_max`` records of partition 0; fewer when the reader has reached the end and no transaction
    is open there any more (the coordinator writes a commit or abort marker after EndTxn returned): all a reader ever
    gets, without waiting for it to be idle."""
    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(
        **client_config(bootstrap), isolation_level=isolation, enable_auto_commit=False, group_id=None
    )
    out: list[ConsumerRecord] = []
    deadline = time.monotonic() + 30
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        while len(out) < expect_max:
            got = consumer.poll(timeout_ms=200)
            for records in got.values():
                out.extend(records)
            at_end = not got and _dicht(bootstrap, tp)  # asked only when a poll brought nothing
            if at_end and consumer.position(tp) >= consumer.end_offsets([tp])[tp]:
                break
            assert time.monotonic() < deadline, f"{tp}: no end in sight after 30 s"
    finally:
        consumer.close()
    return out[:expect_max]


def test_transactional_produce_with_offsets_is_read_committed(kafka_bootstrap: str, admin: Any, unique: str) -> None:
    src, dst, group = f"t.src.{unique}", f"t.dst.{unique}", f"g.{unique}"
    admin.create_topics([NewTopic(src, 1, 1), NewTopic(dst, 1, 1)])
    plain = KafkaProducer(**client_config(kafka_bootstrap))
    for i in range(3):
        plain.send(src, f"in-{i}".encode())
    plain.flush()
    plain.close()

    consumer = KafkaConsumer(
        src,
        **client_config(kafka_bootstrap),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    records: list[ConsumerRecord] = []
    while len(records) < 3:
        for batch in consumer.poll(timeout_ms=1000).values():
            records.extend(batch)
    producer = KafkaProducer(**client_config(kafka_bootstrap), transactional_id=f"tx.{unique}")
    producer.init_transactions()
    producer.begin_transaction()
    for rec in records:
        producer.send(dst, rec.value.replace(b"in", b"out"))
    offsets = {TopicPartition(src, 0): _offset(records[-1].offset + 1)}
    producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
    producer.commit_transaction()
    producer.close()
    consumer.close()

    got = _consume_all(kafka_bootstrap, dst, "read_committed", 3)
    assert [r.value for r in got] == [b"out-0", b"out-1", b"out-2"]
    check = KafkaConsumer(**client_config(kafka_bootstrap), group_id=group, enable_auto_commit=False)
    assert check.committed(TopicPartition(src, 0)) == 3  # offsets committed inside the transaction
    check.close()


def _offset(n: int) -> Any:
    from kafka.structs import OffsetAndMetadata

    return OffsetAndMetadata(n, "", -1)


def test_aborted_transaction_is_invisible_to_read_committed(kafka_bootstrap: str, admin: Any, unique: str) -> None:
    topic = f"t.abort.{unique}"
    admin.create_topics([NewTopic(topic, 1, 1)])
    producer = KafkaProducer(**client_config(kafka_bootstrap), transactional_id=f"tx.abort.{unique}")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send(topic, b"aborted")
    producer.flush()
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send(topic, b"committed")
    producer.commit_transaction()
    producer.close()
    assert [r.value for r in _consume_all(kafka_bootstrap, topic, "read_committed", 5)] == [b"committed"]
    # read_uncommitted sees the aborted record too: proves the broker really wrote it
    assert b"aborted" in [r.value for r in _consume_all(kafka_bootstrap, topic, "read_uncommitted", 5)]


def test_postgres_round_trip(database_url: str, unique: str) -> None:
    eng = engine(database_url)
    table = f"rt_{unique}"
    with eng.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id int primary key, naam text not null)"))
        conn.execute(text(f"INSERT INTO {table} VALUES (:i, :n)"), [{"i": 1, "n": "Drenthe"}, {"i": 2, "n": "Zwolle"}])
    with eng.connect() as conn:
        rows = conn.execute(text(f"SELECT id, naam FROM {table} ORDER BY id")).all()
        version = conn.execute(text("select version()")).scalar_one()
        conn.execute(text(f"DROP TABLE {table}"))
        conn.commit()
    assert [tuple(r) for r in rows] == [(1, "Drenthe"), (2, "Zwolle")]
    assert "PostgreSQL" in version
    assert eng.dialect.driver == "psycopg"
