"""Step freshness: a steady rate of events through publisher -> validator -> projector (separate processes) -> API;
the time from publish to visible (GET /v1/trajecten/{id})."""

from __future__ import annotations

import os
import time

from benchmarks.etappes import GET, Waarnemer, cpu_seconds, etappes
from benchmarks.meting import must
from benchmarks.servers import start_api, start_pipeline, stop, wait_for
from benchmarks.werklast import reference, stream
from producers.publisher import Publisher
from registry.infra.db import engine
from tests.support.builders import MBO
from tests.support.faults.stilstand import Versheid
from tests.support.validator import met_aanmeldingen

PROBERS = 2  # threads asking GET /v1/trajecten/{id} for the sampled events whose row is there
# The publishing loop hands over what is due every TAKT_S: a steady rate in 5 ms steps. The Publisher sends as a
# partner's does, after its own linger (20 ms), not flushed per step: a produce request every 5 ms, each waited for,
# cost the bench twice the CPU (16 against 7 s a minute at 1,000 ev/s) on the two cores the pipeline it measures
# runs on. The clock of each sampled event starts when it is handed over, so the linger is counted.
TAKT_S = 0.005


def bench_freshness(
    bootstrap: str, database_url: str, rate: int, seconds: int, samples_per_s: int = 10
) -> tuple[list[float], float, int, dict[str, list[float]], dict[str, float]]:
    """Publish ``rate`` events/s for ``seconds`` through the real pipeline (validator, projector and API each in
    its own process, on a fresh prefix and schema); sample ``samples_per_s`` inschrijvingen per second and measure
    from the publish call to the first 200 of GET /v1/trajecten/{id}. (latencies in s, achieved rate, events)."""
    from registry.api.auth import KeyStore

    pijp = start_pipeline(bootstrap, database_url, reference(), "bench-freshness.log")
    prefix, schema, procs, log = pijp.prefix, pijp.schema, pijp.procs, pijp.log
    keystore = KeyStore(engine(database_url))
    api_key, key = keystore.create("landelijk", naam="bench-freshness")
    server, port, slog = start_api(database_url, 1, schema)
    procs.append(server)
    per_deelnemer = 6  # aanmelding, inschrijving, three sign-offs, verklaring
    try:
        with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub:
            # an inschrijving needs its aanmelding (registry/domein/relaties.py), else it waits parked for ever
            warm = met_aanmeldingen(stream(1, start=10**9))  # the whole pipeline is up once this one is visible
            pub.publish_batch(warm)
            traject = next(r["traject_id"] for t, r in warm if t == "DeelnemerIngeschreven")
            wait_for(f"http://127.0.0.1:{port}/v1/trajecten/{traject}", key, server, slog, seconds=180)
            published: dict[str, float] = {}
            watcher = Waarnemer(bootstrap, pijp.topics.ingress(MBO), pijp.topics.events, engine(database_url), schema)
            watcher.start()
            # the bench picks its samples itself (one deelnemer in ``every``): the prober takes each it is given
            versheid = Versheid(f"http://127.0.0.1:{port}", key, every=1, probers=PROBERS, klaar=watcher.rij_gezien)
            versheid.start()
            every = max(1, rate // samples_per_s // per_deelnemer)  # sample one deelnemer in ``every``
            total = rate * seconds
            items = met_aanmeldingen(stream(total // per_deelnemer + 1))[:total]
            # the measuring process too (publisher, watcher, probers): it shares the two cores with the pipeline
            pids = dict(zip(("validator", "projector", "API"), (p.pid for p in procs), strict=False))
            pids["bench"] = os.getpid()
            cpu0 = {naam: cpu_seconds(pid) for naam, pid in pids.items()}
            start, sent = time.monotonic(), 0
            while sent < total:
                due = min(total, int((time.monotonic() - start) * rate) + 1)
                for event_type, record in items[sent:due]:
                    if event_type == "DeelnemerIngeschreven" and (sent // per_deelnemer) % every == 0:
                        watcher.zoek(str(record["traject_id"]), str(record["event_id"]))
                        # the clock starts when the event is handed to the publisher
                        published[str(record["traject_id"])] = time.monotonic()
                        versheid.sample(str(record["traject_id"]), published[str(record["traject_id"])])
                    pub.publish(event_type, record)
                    sent += 1
                time.sleep(max(0.0, start + sent / rate + TAKT_S - time.monotonic()))
            pub.flush()  # every event acknowledged (PublishError if not)
            achieved = sent / (time.monotonic() - start)
            cpu = {naam: cpu_seconds(pid) - cpu0[naam] for naam, pid in pids.items()}
            versheid.stop(grace=60)
            must(len(versheid.latencies) > 0, f"no sampled event became visible in the API (see {log.name})")
            # an event still not visible 60 s after the last publish counts as never: infinitely late
            seen = versheid.latencies + [float("inf")] * versheid.never()
            gezien = watcher.close()
        stages = etappes(published, gezien["ingress"], gezien["canoniek"], gezien["rij"], versheid.zichtbaar)
        stages[GET] = versheid.get_seconds  # row -> API is the wait for the next GET plus the GET itself
        return seen, achieved, sent, stages, cpu
    finally:
        for p in procs:
            stop(p)
        keystore.revoke(api_key.key_id)
