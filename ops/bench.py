"""Benchmarks: ONE table of every figure beside a baseline measured in the same run, its ratio and its goal.

    ./ops/bench [deelnemers] [--runs 3] [--steps producer,validator,...] [--freshness-seconds 60] ...

Steps (``--steps``; all by default):

producer    Publisher.publish_batch (encode + key + send, acks=all, idempotent) vs kafka-python sending the same
            pre-encoded bytes with the same settings. Goal >= 0.8.
validator   Validator (decode, judge with parking, transactional append, state to PostgreSQL) vs a kafka-python
            *transactional copy* of the same ingress records (consume read_committed, produce the same bytes,
            send_offsets_to_transaction, commit) at its best records-per-transaction of ``--txn-sizes``. Goal >= 0.6.
projector   every projection (rows + offsets in one PostgreSQL transaction per batch) vs a raw consume + decode of
            the same canonical topic. Goal >= 0.5.
replay      ``replay all`` of ``--replay-sizes`` events (a process per size): events/s (goal >= 25,000) and peak
            RSS of the largest over the smallest (goal <= 1.5).
api         wrk, ``--clients`` connections, ``--workers`` uvicorn workers, against /v1/overzichten/kwalificaties:
            cached (the same request) goal p99 < 50 ms; cold (a new peildatum per request) goal p99 < 250 ms.
freshness   a steady ``--freshness-rate`` events/s for ``--freshness-seconds`` through publisher -> validator ->
            projector (separate processes) -> API; p50/p99 from publish to visible (GET /v1/trajecten/{id}).
            Goal p99 < 1 s.
reconcile   reconciliation of 26 pilots over 100,000 deelnemers vs deelnemers-per-pilot on the same tables.

Every throughput figure is the median of ``--runs`` runs (ratio: the median of the per-run ratios, each against
its own run's baseline); replay and freshness run once (minutes each). A step that measured nothing (0 events,
0 requests, a non-2xx answer, an event never visible) fails loudly: the table is still printed, then the failures,
and the exit status is 1.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

# run as `python ops/bench.py`: Python puts ops/ on sys.path, not the repo root, and the
# event builders the benchmarks share with the tests live in tests/support
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

from consumers.validator import Validator, ValidatorConfig  # noqa: E402
from producers.publisher import Publisher  # noqa: E402
from registry.domein import events  # noqa: E402
from registry.infra import codec, topics  # noqa: E402
from registry.infra.db import engine  # noqa: E402
from registry.infra.kafka import client_config  # noqa: E402
from registry.infra.topics import Topics  # noqa: E402
from tests.support import builders  # noqa: E402
from tests.support.builders import MBO  # noqa: E402

Event = builders.Event
STEPS = ("producer", "validator", "projector", "replay", "api", "freshness", "reconcile")
PRODUCER_SETTINGS: dict[str, Any] = dict(acks="all", enable_idempotence=True, linger_ms=20, batch_size=256 * 1024)
# what the validator's own transactional producer uses (consumers/validator.py), so the copy is a fair baseline
TXN_PRODUCER: dict[str, Any] = dict(acks="all", enable_idempotence=True, linger_ms=5, batch_size=512 * 1024)
FETCH: dict[str, Any] = dict(fetch_max_bytes=32 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024)


class NothingMeasured(RuntimeError):
    """A step produced no figure (0 events, 0 requests, errors): the bench must not print it as a result."""


def must(ok: bool, message: str) -> None:
    if not ok:
        raise NothingMeasured(message)


@dataclasses.dataclass
class Row:
    what: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        return [self.what, self.measured, self.baseline, self.ratio, self.goal,
                "" if self.met is None else ("met" if self.met else "NOT met")]


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float], fmt: str = "{:,.0f}", unit: str = "") -> str:
    """The runs behind a median, for the reader to judge the noise."""
    return "runs " + " / ".join(fmt.format(v) for v in values) + unit if len(values) > 1 else "1 run"


# --- workloads ----------------------------------------------------------------------------------------------------

def reference() -> list[Event]:
    return builders.referentie_events(domein="Bouw")


def stream(deelnemers: int, start: int = 0) -> list[Event]:
    """Per deelnemer: inschrijving, three sign-offs and a verklaring (builders' MBO, crebo 25250, LB)."""
    out: list[Event] = []
    wps = ["B1-K1-W1", "B1-K1-W2", "B1-K1-W3"]
    for i in range(start, start + deelnemers):
        p, traject = f"{i:064x}", str(uuid.uuid4())
        out.append(("DeelnemerIngeschreven", builders.inschrijving(deelnemer=p, traject_id=traject, geslacht="man",
                                                                   leeftijd=20 + i % 40)))
        out += [("WerkprocesAfgetekend", builders.afteken(w, deelnemer=p, traject_id=traject)) for w in wps]
        out.append(("PraktijkverklaringUitgegeven", builders.verklaring(wps, deelnemer=p, traject_id=traject,
                                                                        verklaring_id=str(uuid.uuid4()))))
    return out


def fresh_prefix() -> str:
    return f"bench{uuid.uuid4().hex[:6]}"


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
    consumer = KafkaConsumer(**client_config([bootstrap]), group_id=None, enable_auto_commit=False,
                             isolation_level="read_committed", max_poll_records=2000, **FETCH)
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


# --- 1. producer ----------------------------------------------------------------------------------------------------

def bench_producer(bootstrap: str, n_deelnemers: int, runs: int) -> tuple[list[float], list[float]]:
    """Alternating rounds, both producers warmed up: the order must not decide. (Publisher, raw) ev/s per run."""
    items = stream(n_deelnemers)
    prefix = fresh_prefix()
    topics.create([bootstrap], 6, [MBO, "werkgever.raw"], prefix)
    encoded = [(events.key(et, r), codec.encode(et, r)) for et, r in items]
    raw = KafkaProducer(**client_config([bootstrap]), **PRODUCER_SETTINGS)
    pub = Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False, producer_config=PRODUCER_SETTINGS)
    raw_topic = Topics(prefix).ingress("werkgever.raw")

    def raw_round(batch: list[tuple[bytes, bytes]]) -> float:
        start = time.perf_counter()
        for key, value in batch:
            raw.send(raw_topic, key=key, value=value)
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


# --- 2. validator ---------------------------------------------------------------------------------------------------

def transactional_copy(bootstrap: str, source: str, expected: int, per_txn: int) -> float:
    """kafka-python copying ``source`` (read_committed) into a new topic in transactions of ``per_txn`` records,
    with the consumed offsets in each transaction: the client's own limit for a consume-transform-produce step.
    Timed from the first record to the last commit (the group join is not counted, as for the validator)."""
    prefix = fresh_prefix()
    topics.create([bootstrap], 6, [], prefix)
    target = Topics(prefix).events
    consumer = KafkaConsumer(**client_config([bootstrap]), group_id=f"{prefix}-copy", enable_auto_commit=False,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             max_poll_records=per_txn, **FETCH)
    consumer.subscribe([source])
    producer = KafkaProducer(**client_config([bootstrap]), transactional_id=f"{prefix}-copy", **TXN_PRODUCER)
    producer.init_transactions()
    n, start, deadline = 0, 0.0, time.monotonic() + 300
    while n < expected and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=500, max_records=per_txn)
        if not batch:
            continue
        start = start or time.perf_counter()
        producer.begin_transaction()
        offsets = {}
        for tp, records in batch.items():
            for rec in records:
                producer.send(target, key=rec.key, value=rec.value)
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            n += len(records)
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        producer.commit_transaction()
    seconds = time.perf_counter() - start
    consumer.close()
    producer.close()
    must(n >= expected, f"transactional copy ({per_txn}/txn) copied {n} of {expected} records")
    return n / seconds


def bench_validator(bootstrap: str, database_url: str, n_deelnemers: int, txn_sizes: Sequence[int],
                    max_poll_records: int) -> tuple[float, dict[int, float]]:
    """(validator ev/s, {records per transaction: copy rec/s}) on the same ingress records."""
    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, ["sbb", "duo", MBO], prefix)
    cfg = ValidatorConfig([bootstrap], database_url, group=f"{prefix}-validator", prefix=prefix,
                          schema=f"{prefix}_validator", registry_pseudonym_key=(os.urandom(32),),
                          max_poll_records=max_poll_records)
    for partner in ("sbb", "duo"):
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            pub.publish_batch([(et, r) for et, r in reference() if r["partner"] == partner])
    v = Validator(cfg, engine(database_url))
    v.start()
    v.drain()  # the reference data, the group join: not timed
    items = stream(n_deelnemers)
    with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub:
        pub.publish_batch(items)
    copies = {size: transactional_copy(bootstrap, t.ingress(MBO), len(items), size) for size in txn_sizes}
    done, start, deadline = 0, time.perf_counter(), time.monotonic() + 600
    while done < len(items) and time.monotonic() < deadline:  # timed to the last record, not to idle detection
        done += v.run_once(timeout_ms=300)
    seconds = time.perf_counter() - start
    v.close()
    must(done >= len(items), f"validator judged {done} of {len(items)} events")
    return done / seconds, copies


# --- 3. projector ---------------------------------------------------------------------------------------------------

def bench_projector(bootstrap: str, database_url: str, n_deelnemers: int) -> tuple[float, float, int]:
    """(projector ev/s, raw consume+decode ev/s, events) on the same canonical topic; the workers' start-up is not
    timed, and the clock stops when every projection has consumed the whole log (not at idle detection)."""
    from consumers import projector

    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    n = produce_canonical(bootstrap, t.events, n_deelnemers)
    raw_rate, _ = raw_consume_decode(bootstrap, t.events)
    cfg = projector.RunnerConfig(bootstrap, database_url, f"{prefix}_rm", t.events, t.rejections, batch_size=2000)
    runner = projector.make_runner(cfg, ["all"])  # one consumer for every projection, as `project` runs them
    try:
        runner.start()
        start, deadline = time.perf_counter(), time.monotonic() + 600
        while any(st.consumed < n for st in runner.all_stats) and time.monotonic() < deadline:
            runner.step(timeout_ms=200)
        seconds = time.perf_counter() - start
    finally:
        runner.close()
    done = min(st.consumed for st in runner.all_stats)
    must(done >= n, f"projector consumed {done} of {n} events")
    return n / seconds, raw_rate, n


# --- 4. replay ------------------------------------------------------------------------------------------------------

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
    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    out, produced = [], 0
    for size in sizes:
        while produced < size:  # ~9 events per deelnemer in the scenario
            produced += produce_canonical(bootstrap, t.events, max(1, (size - produced) // 9 + 1))
        res = subprocess.run([sys.executable, "-c", REPLAY, bootstrap, database_url, f"{prefix}_rm", t.events, t.rejections],
                             capture_output=True, text=True, cwd=ROOT)
        must(res.returncode == 0, f"replay of {size} events failed: {res.stderr.strip()[-300:]}")
        events_n, seconds, rss_kib = res.stdout.split()[-3:]
        must(int(events_n) > 0, f"replay of {size} events replayed nothing")
        out.append((int(events_n), int(events_n) / float(seconds), int(rss_kib) / 1024))
    return out


# --- servers for the api and freshness steps ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def component_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a bench subprocess: every component logs in with the URL the bench uses (the bench's
    own schemas belong to no component role)."""
    env = dict(os.environ, **extra)
    for component in ("OWNER", "PROJECTOR", "API", "VALIDATOR", "RECONCILER"):
        env[f"PRAKTIJK_DATABASE_URL_{component}"] = database_url
    return env


def log_file(name: str) -> Any:
    folder = ROOT / ".cache"
    folder.mkdir(exist_ok=True)
    return open(folder / name, "w")


def api_app() -> Any:
    """uvicorn factory of the API over the read models in ``BENCH_READ_SCHEMA`` (each worker process builds one):
    ``serve --schema`` takes one worker only, and the bench must not write its data into the live schema."""
    from registry.cli.api import build_app
    from registry.infra import settings as settings_mod

    return build_app(settings_mod.load(), schema=os.environ["BENCH_READ_SCHEMA"])


SERVE = """
import os, sys, tempfile, uvicorn
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="praktijk-bench-metrics-")
uvicorn.run("bench:api_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]),
            log_level="warning", access_log=False)
"""


def start_api(database_url: str, workers: int, schema: str) -> tuple[subprocess.Popen[bytes], int, Any]:
    """``workers`` uvicorn processes of the API over the read models in ``schema``."""
    port = free_port()
    log = log_file(f"bench-serve-{port}.log")
    env = component_env(database_url, BENCH_READ_SCHEMA=schema,
                        PYTHONPATH=os.pathsep.join([str(ROOT / "ops"), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", SERVE, str(port), str(workers)], env=env, stdout=log, stderr=log,
                            cwd=ROOT), port, log


def wait_for(url: str, key: str, server: subprocess.Popen[bytes], log: Any, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while True:  # until the server answers this very request
        try:
            if httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        must(time.monotonic() < deadline and server.poll() is None, f"{url} did not answer 200 within {seconds:.0f} s "
             f"(see {log.name})")
        time.sleep(0.3)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- 5. api ---------------------------------------------------------------------------------------------------------

# a new peildatum per request, from the first day of the scenario's data onwards (every answer is computed over
# data): wrk thread k of n asks days k, k + n, k + 2n, ... so no two requests ask the same one
COLD_LUA = """
local counter = 0
local base = os.time{year=2019, month=9, day=1, hour=12}
local threads = 0
function setup(thread) thread:set("thread_no", threads); threads = threads + 1 end
function init(args) counter = 0 end
function request()
  local day = os.date("!%Y-%m-%d", base + (counter * 2 + thread_no) * 86400)
  counter = counter + 1
  return wrk.format("GET", "/v1/overzichten/kwalificaties?peildatum=" .. day)
end
"""


@dataclasses.dataclass
class Wrk:
    p50_ms: float
    p99_ms: float
    rps: float
    requests: int


def parse_wrk(out: str) -> Wrk:
    def ms(text: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
        must(m is not None, f"wrk latency {text!r} not understood")
        assert m is not None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]

    pct = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+(\S+)", out, re.M))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    must(bool(pct.get("50") and pct.get("99") and rps and total), f"wrk printed no latency: {out.strip()[-300:]}")
    assert rps is not None and total is not None
    must("Non-2xx" not in out and "Socket errors" not in out, f"wrk saw errors: {out.strip()[-300:]}")
    must(int(total.group(1)) > 0, "wrk made no request")
    return Wrk(ms(pct["50"]), ms(pct["99"]), float(rps.group(1)), int(total.group(1)))


def bench_api(bootstrap: str, database_url: str, n_deelnemers: int, clients: int, seconds: int, workers: int,
              runs: int) -> tuple[list[Wrk], list[Wrk], int]:
    """wrk (a separate C process) against the API (``workers`` uvicorn processes) over read models projected from a
    canonical log of ``n_deelnemers`` (builders.scenario) in a schema of its own: (cached, cold, events)."""
    from consumers import projector
    from registry.api.auth import KeyStore

    must(shutil.which("wrk") is not None, "wrk is not installed (ops/bench installs it with apt-get)")
    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    n_events = produce_canonical(bootstrap, t.events, n_deelnemers)
    schema = f"{prefix}_rm"
    projector.project(projector.RunnerConfig(bootstrap, database_url, schema, t.events, t.rejections, batch_size=2000),
                      ["all"], once=True)
    keystore = KeyStore(engine(database_url))
    api_key, key = keystore.create("landelijk", naam="bench")
    server, port, log = start_api(database_url, workers, schema)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1/overzichten/kwalificaties?peildatum=2021-01-13"
    cached: list[Wrk] = []
    cold: list[Wrk] = []
    wrk_log = log_file("bench-wrk.log")
    try:
        wait_for(url, key, server, log)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(COLD_LUA)
        # warm-up, not measured: every worker process answers its first requests (imports, connections) slowly
        subprocess.run(["wrk", "-t2", f"-c{clients}", "-d3s", "-H", f"Authorization: Bearer {key}", url],
                       capture_output=True, timeout=60)
        for _ in range(runs):
            for out, extra, target in ((cached, [], url), (cold, ["-s", script.name], base)):
                res = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "-H",
                                      f"Authorization: Bearer {key}", *extra, target],
                                     capture_output=True, text=True, timeout=seconds + 60)
                wrk_log.write(f"$ wrk ... {' '.join(extra)} {target}\n{res.stdout}{res.stderr}\n")
                out.append(parse_wrk(res.stdout + res.stderr))
        os.unlink(script.name)
    finally:
        stop(server)
        keystore.revoke(api_key.key_id)  # a landelijk key must not outlive the bench
    return cached, cold, n_events


# --- 6. freshness ---------------------------------------------------------------------------------------------------

def bench_freshness(bootstrap: str, database_url: str, rate: int, seconds: int,
                    samples_per_s: int = 10) -> tuple[list[float], float, int]:
    """Publish ``rate`` events/s for ``seconds`` through the real pipeline (validator, projector and API each in
    its own process, on a fresh prefix and schema); sample ``samples_per_s`` inschrijvingen per second and measure
    from the publish call to the first 200 of GET /v1/trajecten/{id}. (latencies in s, achieved rate, events)."""
    import httpx

    from registry.api.auth import KeyStore

    prefix = fresh_prefix()
    t = Topics(prefix)
    schema = f"{prefix}_rm"
    topics.create([bootstrap], 6, ["sbb", "duo", MBO], prefix)
    for partner in ("sbb", "duo"):
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            pub.publish_batch([(et, r) for et, r in reference() if r["partner"] == partner])
    env = component_env(database_url, PRAKTIJK_VALIDATOR_GROUP=f"{prefix}-validator")
    log = log_file("bench-freshness.log")
    procs = [
        subprocess.Popen([sys.executable, "-m", "registry.cli", "validator", "--prefix", prefix, "--schema",
                          f"{prefix}_validator", "--metrics-port", "0"], env=env, stdout=log, stderr=log, cwd=ROOT),
        subprocess.Popen([sys.executable, "-m", "registry.cli", "project", "--schema", schema, "--events-topic", t.events,
                          "--rejections-topic", t.rejections, "--metrics-port", "0"], env=env, stdout=log, stderr=log,
                         cwd=ROOT),
    ]
    keystore = KeyStore(engine(database_url))
    api_key, key = keystore.create("landelijk", naam="bench-freshness")
    server, port, slog = start_api(database_url, 1, schema)
    procs.append(server)
    headers = {"Authorization": f"Bearer {key}"}
    per_deelnemer = 5
    try:
        with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub, \
                httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
            warm = stream(1, start=10**9)  # the whole pipeline is up once this one is visible
            pub.publish_batch(warm)
            wait_for(f"http://127.0.0.1:{port}/v1/trajecten/{warm[0][1]['traject_id']}", key, server, slog, seconds=180)
            pending: dict[str, float] = {}
            seen: list[float] = []
            lock = threading.Lock()
            publishing = threading.Event()
            publishing.set()

            def probe() -> None:
                give_up = None
                while True:
                    with lock:
                        todo = list(pending.items())
                    if not todo and not publishing.is_set():
                        return
                    if not publishing.is_set():
                        give_up = give_up or time.monotonic() + 60
                        if time.monotonic() > give_up:
                            return
                    for traject, sent in todo:
                        if client.get(f"/v1/trajecten/{traject}").status_code == 200:
                            seen.append(time.monotonic() - sent)
                            with lock:
                                del pending[traject]
                    if not todo:
                        time.sleep(0.005)

            prober = threading.Thread(target=probe, daemon=True)
            prober.start()
            every = max(1, rate // samples_per_s // per_deelnemer)  # sample one deelnemer in ``every``
            total = rate * seconds
            items = stream(total // per_deelnemer + 1)[:total]
            start, sent = time.monotonic(), 0
            while sent < total:
                due = min(total, int((time.monotonic() - start) * rate) + 1)
                for event_type, record in items[sent:due]:
                    if event_type == "DeelnemerIngeschreven" and (sent // per_deelnemer) % every == 0:
                        with lock:  # the clock starts when the event is handed to the publisher
                            pending[str(record["traject_id"])] = time.monotonic()
                    pub.publish(event_type, record)
                    sent += 1
                pub.flush()
                time.sleep(max(0.0, start + sent / rate - time.monotonic()))
            achieved = sent / (time.monotonic() - start)
            publishing.clear()
            prober.join(timeout=120)
            must(len(seen) > 0, f"no sampled event became visible in the API (see {log.name})")
            # an event still not visible 60 s after the last publish counts as never: infinitely late
            seen += [float("inf")] * len(pending)
        return seen, achieved, sent
    finally:
        for p in procs:
            stop(p)
        keystore.revoke(api_key.key_id)


# --- 7. reconciliation ----------------------------------------------------------------------------------------------

def bench_reconciliatie(database_url: str, n: int = 100_000, rounds: int = 3) -> tuple[list[float], list[float], int]:
    """Seconds to reconcile all 26 pilots over ``n`` registered deelnemers with lists of that size, against the
    baseline of the same run: the deelnemers-per-pilot overzicht on the same tables (the register count alone,
    the least any reconciliation must compute)."""
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
        must(len(rows) > 0, "reconciliation returned no rows")
        return recon, base, len(rows)
    finally:
        with eng.begin() as conn:
            conn.execute(text(store.sql("DROP SCHEMA IF EXISTS {s} CASCADE", schema)))


# --- the table ------------------------------------------------------------------------------------------------------

def seconds(value: float) -> str:
    return f"{value:.2f} s" if value != float("inf") else "never (> 60 s after the last publish)"


def rate_row(what: str, rates: list[float], base_what: str, bases: list[float], goal: float) -> Row:
    ratios = [r / b for r, b in zip(rates, bases)]
    return Row(what, f"{med(rates):,.0f} ev/s ({spread(rates)})", f"{base_what}: {med(bases):,.0f} ev/s ({spread(bases)})",
               f"{med(ratios):.2f}", f">= {goal}", med(ratios) >= goal)


def step_rows(step: str, args: argparse.Namespace, bootstrap: str, database_url: str) -> Iterator[Row]:
    n, runs = args.deelnemers, args.runs
    if step == "producer":
        pub, raw = bench_producer(bootstrap, n, runs)
        yield rate_row(f"producer: Publisher.publish_batch, {n * 5:,} events", pub,
                       "kafka-python, same pre-encoded bytes", raw, 0.8)
    elif step == "validator":
        results = [bench_validator(bootstrap, database_url, n, args.txn_sizes, args.max_poll_records) for _ in range(runs)]
        vals = [v for v, _ in results]
        per_size = {s: [c[s] for _, c in results] for s in args.txn_sizes}
        best = max(per_size, key=lambda s: med(per_size[s]))
        copies = ", ".join(f"{s}/txn {med(r):,.0f}" for s, r in per_size.items())
        row = rate_row(f"validator (max_poll_records {args.max_poll_records}), {n * 5:,} events", vals,
                       f"transactional copy at its best, {best}/txn", [c[best] for _, c in results], 0.6)
        row.baseline += f"; copy rec/s by txn size: {copies}"
        yield row
    elif step == "projector":
        proj = [bench_projector(bootstrap, database_url, n * 2) for _ in range(runs)]
        yield rate_row(f"projector: feiten + referentie + tijdlijn, {proj[0][2]:,} events", [r[0] for r in proj],
                       "raw consume + decode", [r[1] for r in proj], 0.5)
    elif step == "replay":
        replays = bench_replay(bootstrap, database_url, args.replay_sizes)
        for events_n, rate, rss in replays:
            yield Row(f"`replay all`, {events_n:,} events (1 run)", f"{rate:,.0f} ev/s, peak RSS {rss:,.0f} MiB",
                      "", "", ">= 25,000 ev/s", rate >= 25_000)
        if len(replays) > 1:
            ratio = replays[-1][2] / replays[0][2]
            yield Row(f"replay RSS at {replays[-1][0]:,} / at {replays[0][0]:,}", f"{replays[-1][2]:,.0f} MiB",
                      f"{replays[0][2]:,.0f} MiB", f"{ratio:.2f}", "<= 1.5", ratio <= 1.5)
    elif step == "api":
        cached, cold, n_events = bench_api(bootstrap, database_url, args.api_deelnemers, args.clients, args.api_seconds,
                                           args.workers, runs)
        for name, res, goal in (("cached (same request)", cached, 50.0), ("cold (new peildatum per request)", cold, 250.0)):
            p99s = [w.p99_ms for w in res]
            yield Row(f"API kwalificaties {name}, {args.clients} clients, {args.workers} workers, wrk "
                      f"{args.api_seconds} s, read models of {n_events:,} events",
                      f"p50 {med([w.p50_ms for w in res]):.1f} ms, p99 {med(p99s):.1f} ms, "
                      f"{med([w.rps for w in res]):,.0f} req/s (p99 {spread(p99s, '{:.0f}', ' ms')})",
                      "", "", f"p99 < {goal:.0f} ms", med(p99s) < goal)
    elif step == "freshness":
        seen, achieved, sent = bench_freshness(bootstrap, database_url, args.freshness_rate, args.freshness_seconds)
        ordered = sorted(seen)
        p50, p99 = (ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.50, 0.99))
        never = sum(1 for x in seen if x == float("inf"))
        yield Row(f"freshness: publish -> visible in the API, {achieved:,.0f} ev/s for {args.freshness_seconds} s "
                  f"({sent:,} events, {len(seen)} sampled, 1 run)",
                  f"p50 {seconds(p50)}, p99 {seconds(p99)}" + (f"; {never} of {len(seen)} not visible 60 s after the "
                                                               "last publish" if never else ""),
                  "", "", "p99 < 1 s", p99 < 1.0)
    elif step == "reconcile":
        rec, base, pilots = bench_reconciliatie(database_url, rounds=max(3, runs))
        yield Row(f"reconciliation, {pilots} pilots, 100,000 deelnemers + lists", f"{med(rec):.2f} s ({spread(rec, '{:.2f}', ' s')})",
                  f"deelnemers-per-pilot, same tables: {med(base):.2f} s", f"{med(rec) / med(base):.1f}", "< 30 s",
                  med(rec) < 30)


def print_table(rows: list[Row], header: str) -> None:
    print()
    print(header)
    print()
    print("| what | measured (median) | baseline (same run) | ratio | goal | |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")
    sys.stdout.flush()


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ops/bench", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("deelnemers", nargs="?", type=int, default=4000, help="deelnemers per measurement (x5 events)")
    p.add_argument("--runs", type=int, default=3, help="runs per throughput figure (the median is reported)")
    p.add_argument("--steps", default=",".join(STEPS), help=f"comma separated, of: {', '.join(STEPS)}")
    p.add_argument("--txn-sizes", type=ints, default=[500, 2000, 8000], help="records per transaction of the copy")
    p.add_argument("--max-poll-records", type=int, default=ValidatorConfig([], "").max_poll_records,
                   help="the validator's records per poll (= per transaction)")
    p.add_argument("--replay-sizes", type=ints, default=ints(os.environ.get("BENCH_REPLAY_SIZES", "100000,1000000")),
                   help="log sizes to replay, comma separated (1,000,000 takes minutes; an empty value skips replay)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--api-seconds", type=int, default=10)
    p.add_argument("--api-deelnemers", type=int, default=2000, help="deelnemers in the API's read models")
    p.add_argument("--freshness-rate", type=int, default=1000, help="events/s published for the freshness step")
    p.add_argument("--freshness-seconds", type=int, default=60)
    args = p.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        p.error(f"unknown step(s) {', '.join(sorted(unknown))}; known: {', '.join(STEPS)}")
    # the environment switches of the earlier bench still work
    off = {"api": "BENCH_API", "reconcile": "BENCH_RECONCILIATIE"}
    args.steps = [s for s in steps if os.environ.get(off.get(s, ""), "1") != "0" and (s != "replay" or args.replay_sizes)]
    must(args.runs >= 1, "--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bootstrap = os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"]
    database_url = os.environ["PRAKTIJK_DATABASE_URL"]
    cores = os.cpu_count() or 0
    header = (f"ops/bench {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC: {cores} cores, load average "
              f"{os.getloadavg()[0]:.1f} at the start, {args.runs} run(s) per figure, {args.deelnemers * 5:,} events "
              f"per throughput measurement (Kafka {bootstrap})")
    print(header, flush=True)
    rows: list[Row] = []
    failures: list[str] = []
    for step in args.steps:
        t0 = time.monotonic()
        try:
            for row in step_rows(step, args, bootstrap, database_url):
                rows.append(row)
                print(f"  {step}: {row.measured} | {row.baseline} | ratio {row.ratio or '-'} | goal {row.goal}", flush=True)
        except NothingMeasured as exc:
            failures.append(f"{step}: {exc}")
            print(f"  {step}: FAILED: {exc}", flush=True)
        except Exception as exc:  # noqa: BLE001 - a broken step is reported, the others still run
            failures.append(f"{step}: {type(exc).__name__}: {str(exc)[:300]}")
            print(f"  {step}: FAILED: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
        print(f"  ({step}: {time.monotonic() - t0:.0f} s)", flush=True)
    print_table(rows, header)
    if failures:
        print("\nbench FAILED: step(s) measured nothing or broke:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
