"""Benchmarks, each a ratio against a baseline measured in the same run.

1. producer: Publisher (encode + key + send, acks=all, idempotent) vs kafka-python
   sending the same pre-encoded bytes with the same producer settings. Goal >= 0.8.
2. validator: Validator (decode, judge, transactional append, state to PostgreSQL)
   vs a raw consume + decode of the same ingress topic. Goal >= 0.5.
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
import uuid
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumers.validator import Validator, ValidatorConfig
from producers.publisher import Publisher
from registry import codec, events, topics
from registry.db import engine
from registry.topics import Topics

MBO, LB = "mbo.albeda", "123456789"
T0 = dt.datetime(2020, 6, 1, tzinfo=dt.timezone.utc)


def ev(partner: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": T0, "partner": partner, "recorded_at": None, "warnings": [], **fields}


def reference() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("KwalificatiedossierVastgesteld", ev("sbb", crebo="25250", naam="Assistent bouwen", niveau=1, domein="Bouw", kerntaken=[
            {"code": "B1-K1", "naam": "k", "werkprocessen": [{"code": f"B1-K1-W{i}", "naam": "w"} for i in range(1, 5)]}])),
        ("LeerbedrijfErkend", ev("sbb", leerbedrijf_id=LB, naam="Bouw BV", crebos=["25250"])),
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=MBO, crebo="25250", vanaf=dt.date(2019, 1, 1))),
    ]


def stream(deelnemers: int) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(deelnemers):
        p, traject = f"{i:064x}", str(uuid.uuid4())
        out.append(("DeelnemerIngeschreven", ev(MBO, deelnemer=p, traject_id=traject, mbo_instelling=MBO, crebo="25250", leertraject="OVO",
                                                pilot="rijnmond", startdatum=T0.date(), leerbedrijf_id=LB, geslacht="man",
                                                leeftijd=20 + i % 40, gemeente=None, persoonsgegevens=None, pok_datum=None)))
        wps = ["B1-K1-W1", "B1-K1-W2", "B1-K1-W3"]
        out += [("WerkprocesAfgetekend", ev(MBO, deelnemer=p, traject_id=traject, crebo="25250", werkproces=w, afgetekend_door="po")) for w in wps]
        out.append(("PraktijkverklaringUitgegeven", ev(MBO, deelnemer=p, traject_id=traject, verklaring_id=str(uuid.uuid4()),
                                                       werkprocessen=[{"crebo": "25250", "werkproces": w} for w in wps],
                                                       leerbedrijf_id=LB, brancheorganisaties=[], volgnummer=None)))
    return out


PRODUCER_SETTINGS = dict(acks="all", enable_idempotence=True, linger_ms=20, batch_size=256 * 1024)


def bench_producer(bootstrap: str, n_deelnemers: int, rounds: int = 3) -> tuple[float, float]:
    """Median of alternating rounds, both producers warmed up: the order must not decide."""
    items = stream(n_deelnemers)
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    t = Topics(prefix)
    topics.create([bootstrap], 6, [MBO, "werkgever.raw"], prefix)
    encoded = [(events.key(et, r), codec.encode(et, r)) for et, r in items]
    raw = KafkaProducer(bootstrap_servers=[bootstrap], **PRODUCER_SETTINGS)  # type: ignore[arg-type]
    pub = Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False, producer_config=PRODUCER_SETTINGS)
    raw_topic = t.ingress("werkgever.raw")

    def raw_round(batch: list[tuple[bytes, bytes]]) -> float:
        start = time.perf_counter()
        for key, value in batch:
            raw.send(raw_topic, key=key, value=value)
        raw.flush()
        return len(batch) / (time.perf_counter() - start)

    def pub_round(batch: list[tuple[str, dict[str, Any]]]) -> float:
        start = time.perf_counter()
        pub.publish_batch(batch)
        return len(batch) / (time.perf_counter() - start)

    raw_round(encoded[:500]), pub_round(items[:500])  # warm-up: connections, metadata
    raw_rates, pub_rates = [], []
    for _ in range(rounds):
        raw_rates.append(raw_round(encoded))
        pub_rates.append(pub_round(items))
    raw.close(), pub.close()
    return statistics.median(pub_rates), statistics.median(raw_rates)


def drain(v: Validator) -> int:
    total, idle = 0, 0
    while idle < 2:
        n = v.run_once(timeout_ms=300)
        total += n
        idle = 0 if n else (idle + 1 if v.caught_up() else 0)
    return total


def bench_validator(bootstrap: str, database_url: str, n_deelnemers: int) -> tuple[float, float, int]:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    t = Topics(prefix)
    topics.create([bootstrap], 6, ["sbb", "duo", MBO], prefix)
    cfg = ValidatorConfig([bootstrap], database_url, group=f"{prefix}-validator", prefix=prefix, schema=f"{prefix}_validator")
    for partner in ("sbb", "duo"):
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            pub.publish_batch([(et, r) for et, r in reference() if r["partner"] == partner])
    v = Validator(cfg, engine(database_url))
    v.start()
    drain(v)
    items = stream(n_deelnemers)
    with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub:
        pub.publish_batch(items)
    # baseline: raw consume + decode of the same ingress topic
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None, enable_auto_commit=False, isolation_level="read_committed",
                             max_poll_records=2000, fetch_max_bytes=32 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024)
    tps = [TopicPartition(t.ingress(MBO), p) for p in range(6)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    start, n = time.perf_counter(), 0
    while any(consumer.position(tp) < end[tp] for tp in tps):
        for records in consumer.poll(timeout_ms=500).values():
            for rec in records:
                codec.decode(rec.value)
                n += 1
    raw_rate = n / (time.perf_counter() - start)
    consumer.close()
    start = time.perf_counter()
    done = drain(v)
    val_rate = done / (time.perf_counter() - start)
    v.close()
    return val_rate, raw_rate, done


def main() -> None:
    bootstrap = os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"]
    database_url = os.environ["PRAKTIJK_DATABASE_URL"]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000  # deelnemers; x5 events
    print(f"bench: {n * 5} events per measurement (Kafka {bootstrap})")
    pub, raw = bench_producer(bootstrap, n)
    print(f"producer   Publisher {pub:10.0f} ev/s | kafka-python pre-encoded {raw:10.0f} ev/s | ratio {pub / raw:.2f} (goal >= 0.8)")
    val, rawc, done = bench_validator(bootstrap, database_url, n)
    print(f"validator  Validator {val:10.0f} ev/s | raw consume+decode       {rawc:10.0f} ev/s | ratio {val / rawc:.2f} (goal >= 0.5) [{done} events]")


if __name__ == "__main__":
    main()
