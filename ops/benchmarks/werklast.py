"""The workloads the steps share: reference data, a stream of deelnemers, a canonical log, and the raw consume +
decode baseline."""

from __future__ import annotations

import time
import uuid
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from benchmarks.meting import must
from registry.domein import events
from registry.infra import codec
from registry.infra.kafka import client_config
from tests.support import builders

Event = builders.Event
FETCH: dict[str, Any] = {"fetch_max_bytes": 32 * 1024 * 1024, "max_partition_fetch_bytes": 4 * 1024 * 1024}


def reference() -> list[Event]:
    return builders.referentie_events(domein="Bouw")


def stream(deelnemers: int, start: int = 0) -> list[Event]:
    """Per deelnemer: inschrijving, three sign-offs and a verklaring (builders' MBO, crebo 25250, LB)."""
    out: list[Event] = []
    wps = ["B1-K1-W1", "B1-K1-W2", "B1-K1-W3"]
    for i in range(start, start + deelnemers):
        p, traject = f"{i:064x}", str(uuid.uuid4())
        out.append(
            (
                "DeelnemerIngeschreven",
                builders.inschrijving(deelnemer=p, traject_id=traject, geslacht="man", leeftijd=20 + i % 40),
            )
        )
        out += [("WerkprocesAfgetekend", builders.afteken(w, deelnemer=p, traject_id=traject)) for w in wps]
        out.append(
            (
                "PraktijkverklaringUitgegeven",
                builders.verklaring(wps, deelnemer=p, traject_id=traject, verklaring_id=str(uuid.uuid4())),
            )
        )
    return out


# every topic prefix this process made: ``drop_topics`` deletes their topics when the bench ends (a run leaves some
# 1,300 partitions, each with a segment file open on the broker; a shared broker dies at its open-file limit)
MADE: list[str] = []


def fresh_prefix() -> str:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    MADE.append(prefix)
    return prefix


def topics_of(prefixes: list[str], names: set[str]) -> list[str]:
    """The topics of ``names`` under one of ``prefixes`` (``<prefix>.<name>``): never another run's or the broker's."""
    made = set(prefixes)
    return sorted(t for t in names if t.split(".", 1)[0] in made and "." in t)


def schemas_of(prefixes: list[str], names: set[str]) -> list[str]:
    """The PostgreSQL schemas of ``names`` under one of ``prefixes`` (``<prefix>_rm``, ``<prefix>_validator``, a
    replay's staging schema): never another run's or the registry's."""
    made = set(prefixes)
    return sorted(s for s in names if s.split("_", 1)[0] in made and "_" in s)


def drop_schemas(database_url: str) -> int:
    """Drop the PostgreSQL schemas of every prefix this process made (the replay step's read models alone hold a
    million events); how many."""
    from sqlalchemy import create_engine, text

    eng = create_engine(database_url)
    try:
        with eng.begin() as c:
            made = schemas_of(MADE, set(c.execute(text("SELECT nspname FROM pg_namespace")).scalars()))
            for schema in made:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        return len(made)
    finally:
        eng.dispose()


def drop_topics(bootstrap: str) -> int:
    """Delete the topics of every prefix this process made; how many. A topic that will not go is left (a few do
    no harm): the bench's figures are printed already."""
    from kafka import KafkaAdminClient

    from tests.support.opruimen import verwijder_topics

    admin = KafkaAdminClient(**client_config([bootstrap]))
    try:
        made = topics_of(MADE, set(admin.list_topics()))
        verwijder_topics(admin, made)
        return len(made)
    finally:
        admin.close()


def produce_canonical(bootstrap: str, topic: str, n_deelnemers: int, seed: int = 1) -> int:
    """Write a plausible canonical log (tests.support.builders.scenario) straight to ``topic``. Each ``seed`` makes
    other deelnemers and event ids: a log grown by a second call must not repeat the first call's events."""
    producer = KafkaProducer(**client_config([bootstrap]), linger_ms=50, batch_size=512 * 1024, acks=1)
    n = 0
    for event_type, record in builders.scenario(n_deelnemers, seed=seed):
        producer.send(topic, key=events.key(event_type, record), value=codec.encode(event_type, record))
        n += 1
    producer.flush()
    producer.close()
    return n


def raw_consume_decode(bootstrap: str, topic: str) -> tuple[float, int]:
    consumer = KafkaConsumer(
        **client_config([bootstrap]),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=2000,
        **FETCH,
    )
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    start, n = time.perf_counter(), 0
    while any(consumer.position(tp) < end[tp] for tp in tps):
        for records in consumer.poll(timeout_ms=500).values():
            for rec in records:
                codec.decode(rec.value)
                n += 1
    seconds = time.perf_counter() - start
    consumer.close()
    must(n > 0, f"raw consume of {topic} read nothing")
    return n / seconds, n
