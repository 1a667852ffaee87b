"""Benchmarks, each a ratio against a baseline measured in the same run.

1. producer: Publisher (encode + key + send, acks=all, idempotent) vs kafka-python
   sending the same pre-encoded bytes with the same producer settings. Goal >= 0.8.
2. validator: Validator (decode, judge, transactional append, state to PostgreSQL)
   vs a raw consume + decode of the same ingress topic. Goal >= 0.5.
3. projector: the projections (rows + offsets in one PostgreSQL transaction per batch)
   vs a raw consume + decode of the same canonical topic. Goal >= 0.5.
4. replay all: events/s and peak RSS of a replay process at 100k and 1M events.
   Goal: RSS at 1M within 1.5x of RSS at 100k.
5. API: p50/p99 latency of /v1/overzichten/kwalificaties at 50 concurrent clients,
   measured with wrk (a separate C process) against `praktijkregister serve`. Goal p99 < 100 ms.
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

# run as `python ops/bench.py`: Python puts ops/ on sys.path, not the repo root, and the
# event builders the benchmarks share with the tests live in tests/support
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

from registry.infra.kafka import client_config  # noqa: E402
from consumers.validator import Validator, ValidatorConfig  # noqa: E402
from producers.publisher import Publisher  # noqa: E402
from registry.infra import codec, topics  # noqa: E402
from registry.domein import events  # noqa: E402
from registry.infra.db import engine  # noqa: E402
from registry.infra.topics import Topics  # noqa: E402
from tests.support import builders  # noqa: E402
from tests.support.builders import MBO  # noqa: E402

Event = builders.Event


def reference() -> list[Event]:
    return builders.referentie_events(domein="Bouw")


def stream(deelnemers: int) -> list[Event]:
    """Per deelnemer: inschrijving, three sign-offs and a verklaring (builders' MBO, crebo 25250, LB)."""
    out: list[Event] = []
    wps = ["B1-K1-W1", "B1-K1-W2", "B1-K1-W3"]
    for i in range(deelnemers):
        p, traject = f"{i:064x}", str(uuid.uuid4())
        out.append(("DeelnemerIngeschreven", builders.inschrijving(deelnemer=p, traject_id=traject, geslacht="man",
                                                                   leeftijd=20 + i % 40)))
        out += [("WerkprocesAfgetekend", builders.afteken(w, deelnemer=p, traject_id=traject)) for w in wps]
        out.append(("PraktijkverklaringUitgegeven", builders.verklaring(wps, deelnemer=p, traject_id=traject,
                                                                        verklaring_id=str(uuid.uuid4()))))
    return out


PRODUCER_SETTINGS = dict(acks="all", enable_idempotence=True, linger_ms=20, batch_size=256 * 1024)


def bench_producer(bootstrap: str, n_deelnemers: int, rounds: int = 3) -> tuple[float, float]:
    """Median of alternating rounds, both producers warmed up: the order must not decide."""
    items = stream(n_deelnemers)
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    t = Topics(prefix)
    topics.create([bootstrap], 6, [MBO, "werkgever.raw"], prefix)
    encoded = [(events.key(et, r), codec.encode(et, r)) for et, r in items]
    raw = KafkaProducer(**client_config([bootstrap]), **PRODUCER_SETTINGS)  # type: ignore[arg-type]
    pub = Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False, producer_config=PRODUCER_SETTINGS)
    raw_topic = t.ingress("werkgever.raw")

    def raw_round(batch: list[tuple[bytes, bytes]]) -> float:
        start = time.perf_counter()
        for key, value in batch:
            raw.send(raw_topic, key=key, value=value)
        raw.flush()
        return len(batch) / (time.perf_counter() - start)

    def pub_round(batch: list[Event]) -> float:
        start = time.perf_counter()
        pub.publish_batch(batch)
        return len(batch) / (time.perf_counter() - start)

    raw_round(encoded[:500]), pub_round(items[:500])  # warm-up: connections, metadata
    raw_rates, pub_rates = [], []
    for _ in range(rounds):
        raw_rates.append(raw_round(encoded))
        pub_rates.append(pub_round(items))
    raw.close()
    pub.close()
    return statistics.median(pub_rates), statistics.median(raw_rates)


def bench_validator(bootstrap: str, database_url: str, n_deelnemers: int) -> tuple[float, float, int]:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    t = Topics(prefix)
    topics.create([bootstrap], 6, ["sbb", "duo", MBO], prefix)
    cfg = ValidatorConfig([bootstrap], database_url, group=f"{prefix}-validator", prefix=prefix, schema=f"{prefix}_validator",
                          registry_pseudonym_key=(os.urandom(32),))
    for partner in ("sbb", "duo"):
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            pub.publish_batch([(et, r) for et, r in reference() if r["partner"] == partner])
    v = Validator(cfg, engine(database_url))
    v.start()
    v.drain()
    items = stream(n_deelnemers)
    with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub:
        pub.publish_batch(items)
    raw_rate, _ = raw_consume_decode(bootstrap, t.ingress(MBO))  # baseline: the same ingress topic
    start = time.perf_counter()
    done = v.drain()
    val_rate = done / (time.perf_counter() - start)
    v.close()
    return val_rate, raw_rate, done


def produce_canonical(bootstrap: str, topic: str, n_deelnemers: int) -> int:
    """Write a plausible canonical log (tests.support.builders.scenario) straight to ``topic``."""
    producer = KafkaProducer(**client_config([bootstrap]), linger_ms=50, batch_size=512 * 1024, acks=1)
    n = 0
    for event_type, record in builders.scenario(n_deelnemers):
        producer.send(topic, key=events.key(event_type, record), value=codec.encode(event_type, record))
        n += 1
    producer.flush()
    producer.close()
    return n


def raw_consume_decode(bootstrap: str, topic: str) -> tuple[float, int]:
    consumer = KafkaConsumer(**client_config([bootstrap]), group_id=None, enable_auto_commit=False, isolation_level="read_committed",
                             max_poll_records=2000, fetch_max_bytes=32 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024)
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
    consumer.close()
    return n / (time.perf_counter() - start), n


def bench_projector(bootstrap: str, database_url: str, n_deelnemers: int) -> tuple[float, float, int]:
    from consumers import projector

    prefix = f"bench{uuid.uuid4().hex[:6]}"
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    produce_canonical(bootstrap, t.events, n_deelnemers)
    raw_rate, n = raw_consume_decode(bootstrap, t.events)
    cfg = projector.RunnerConfig(bootstrap, database_url, f"{prefix}_rm", t.events, t.rejections, batch_size=2000)
    start = time.perf_counter()
    stats = projector.project(cfg, ["all"], once=True)
    seconds = time.perf_counter() - start
    done = max(st.consumed for st in stats)
    return done / seconds, raw_rate, done


REPLAY = """
import resource, sys, time
from consumers.projector import RunnerConfig
from consumers.replay import replay
cfg = RunnerConfig(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], batch_size=2000)
start = time.perf_counter()
stats = replay(cfg, ["all"], progress=False)
print(max(st.consumed for st in stats), time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_replay(bootstrap: str, database_url: str, sizes: list[int]) -> list[tuple[int, float, float]]:
    """(events, events/s, peak RSS MiB) of a replay process per log size; the log grows between sizes."""
    import subprocess

    prefix = f"bench{uuid.uuid4().hex[:6]}"
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    out, produced = [], 0
    for size in sizes:
        while produced < size:  # ~9 events per deelnemer in the scenario
            produced += produce_canonical(bootstrap, t.events, max(1, (size - produced) // 9 + 1))
        res = subprocess.run([sys.executable, "-c", REPLAY, bootstrap, database_url, f"{prefix}_rm", t.events, t.rejections],
                             capture_output=True, text=True, check=True)
        events_n, seconds, rss_kib = res.stdout.split()[-3:]
        out.append((int(events_n), int(events_n) / float(seconds), int(rss_kib) / 1024))
    return out


def bench_api(bootstrap: str, database_url: str, clients: int = 50, seconds: int = 15, workers: int = 2) -> str:
    """Demo-sized read models (validator + projector), a real server, wrk as the load generator."""
    import shutil
    import socket
    import subprocess

    from registry.api.auth import KeyStore

    if not shutil.which("wrk"):
        return "wrk not installed (ops/bench installs it with apt-get)"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _, key = KeyStore(engine(database_url)).create("landelijk", naam="bench")
    env = dict(os.environ, PRAKTIJK_API_PORT=str(port), PRAKTIJK_API_HOST="127.0.0.1")
    log = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "bench-serve.log"), "w")
    server = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--log-level", "warning", "--workers", str(workers)],
                              env=env, stdout=log, stderr=log)
    try:
        import httpx

        url = f"http://127.0.0.1:{port}/v1/overzichten/kwalificaties?peildatum=2021-01-13"
        deadline = time.monotonic() + 60
        while True:  # wait until the server answers this very request
            try:
                if httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                return f"server did not answer within 60 s, see {log.name}"
            time.sleep(0.3)
        res = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {key}", url],
                             capture_output=True, text=True, timeout=seconds + 60)
        lines = res.stdout.splitlines()
        pick = [l.strip() for l in lines if l.strip().startswith(("50%", "99%", "Requests/sec", "Non-2xx"))]
        return f"{workers} uvicorn workers | " + " | ".join(pick)
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_reconciliatie(database_url: str, n: int = 100_000, rounds: int = 3) -> tuple[float, float, int]:
    """Median seconds to reconcile all 26 pilots over ``n`` registered deelnemers with lists of that size,
    against the baseline of the same run: the deelnemers-per-pilot overzicht on the same tables (the
    register count alone, the least any reconciliation must compute)."""
    from sqlalchemy import text

    from projections import queries, reconciliatie, store
    from tests.support.reconciliatie_data import bulk

    schema = f"bench_rec_{uuid.uuid4().hex[:8]}"
    eng = engine(database_url)
    d = dt.date(2020, 11, 30)
    try:
        with eng.begin() as conn:
            bulk(conn, schema, n, d)
        recon, base = [], []
        with eng.connect() as conn:
            conn.execute(text(f"SET search_path TO {schema}"))
            for _ in range(rounds):
                t0 = time.perf_counter()
                rows = reconciliatie.rijen(conn, schema, d)
                recon.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                queries.overzicht(conn, "deelnemers-per-pilot", d)
                base.append(time.perf_counter() - t0)
        return statistics.median(recon), statistics.median(base), len(rows)
    finally:
        with eng.begin() as conn:
            conn.execute(text(store.sql("DROP SCHEMA IF EXISTS {s} CASCADE", schema)))


def main() -> None:
    bootstrap = os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"]
    database_url = os.environ["PRAKTIJK_DATABASE_URL"]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000  # deelnemers; x5 events
    print(f"bench: {n * 5} events per measurement (Kafka {bootstrap})")
    pub, raw = bench_producer(bootstrap, n)
    print(f"producer   Publisher {pub:10.0f} ev/s | kafka-python pre-encoded {raw:10.0f} ev/s | ratio {pub / raw:.2f} (goal >= 0.8)")
    val, rawc, done = bench_validator(bootstrap, database_url, n)
    print(f"validator  Validator {val:10.0f} ev/s | raw consume+decode       {rawc:10.0f} ev/s | ratio {val / rawc:.2f} (goal >= 0.5) [{done} events]")
    proj, rawp, done = bench_projector(bootstrap, database_url, n * 2)
    print(f"projector  Projector {proj:10.0f} ev/s | raw consume+decode       {rawp:10.0f} ev/s | ratio {proj / rawp:.2f} (goal >= 0.5) [{done} events]")
    if os.environ.get("BENCH_API", "1") == "1":
        print(f"api        /v1/overzichten/kwalificaties, 50 clients (wrk): {bench_api(bootstrap, database_url)}")
    if os.environ.get("BENCH_RECONCILIATIE", "1") == "1":
        rec, base, pilots = bench_reconciliatie(database_url)
        print(f"reconcile  {pilots} pilots, 100,000 deelnemers + lists: median {rec:.2f} s (goal < 30 s) | "
              f"deelnemers-per-pilot on the same tables {base:.2f} s | ratio {rec / base:.1f}")
    sizes = [int(x) for x in os.environ.get("BENCH_REPLAY_SIZES", "100000,1000000").split(",") if x]
    if sizes:
        results = bench_replay(bootstrap, database_url, sizes)
        for events_n, rate, rss in results:
            print(f"replay all {events_n:8d} events: {rate:8.0f} ev/s, peak RSS {rss:6.0f} MiB")
        if len(results) > 1:
            print(f"replay     RSS at {results[-1][0]} / RSS at {results[0][0]}: {results[-1][2] / results[0][2]:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
