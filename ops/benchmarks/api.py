"""Step api: wrk against the API (uvicorn workers) over read models of its own: cached (the same request) and cold
(a new peildatum per request) latency, and the framework's floor for the cached one: ``GET /v1/bench/baseline`` of the
same app (same middlewares, same workers) answering the cached answer's very bytes without key, dependencies or
database, under the same wrk load right after it in the same run."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile

import httpx

from benchmarks import ROOT
from benchmarks.meting import must
from benchmarks.servers import log_file, start_api, stop, wait_for
from benchmarks.werklast import fresh_prefix, produce_canonical
from registry.infra import topics
from registry.infra.db import engine
from registry.infra.topics import Topics

# a new peildatum per request, from the first day of the scenario's data onwards (every answer is computed over
# data): wrk thread k of 2 asks days k, k + 2, k + 4, ... after the run's first day (``-- <offset>``); the runs share
# COLD_DAYS between them, so no request asks a day an earlier request asked (each worker keeps its answers: a day
# asked again would be a cached answer, not a cold one)
COLD_DAYS = 29_707  # 2019-09-01 .. 2100-12-31 (the last peildatum the API accepts)
COLD_LUA = """
local counter = 0
local offset = 0
local base = os.time{year=2019, month=9, day=1, hour=12}
local threads = 0
function setup(thread) thread:set("thread_no", threads); threads = threads + 1 end
function init(args) counter = 0; offset = tonumber(args[1] or "0") end
function request()
  local day = os.date("!%Y-%m-%d", base + ((offset + counter * 2 + thread_no) % COLD_DAYS) * 86400)
  counter = counter + 1
  return wrk.format("GET", "/v1/overzichten/kwalificaties?peildatum=" .. day)
end
""".replace("COLD_DAYS", str(COLD_DAYS))


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


@dataclasses.dataclass
class ApiRuns:
    cached: list[Wrk]
    baseline: list[Wrk]  # GET /v1/bench/baseline: the same bytes, behind the same middlewares
    cold: list[Wrk]
    events: int


def cached_body(database_url: str, schema: str, key: str, path: str) -> bytes:
    """The answer the API gives to ``path`` over ``schema``, computed in this process (an app of its own, no
    server): the bytes the baseline route serves."""
    from fastapi.testclient import TestClient

    from projections import queries
    from registry.api.app import create_app
    from registry.infra import settings as settings_mod

    settings = dataclasses.replace(settings_mod.load(), database_url=database_url, component_database_urls=())
    app = create_app(settings, queries=queries, schema=schema)
    try:
        answer = TestClient(app).get(path, headers={"Authorization": f"Bearer {key}"})
        must(answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:200]}")
        return bytes(answer.content)
    finally:
        engine_of = app.state.context.engine
        if engine_of is not None:
            engine_of.dispose()


def bench_api(
    bootstrap: str, database_url: str, n_deelnemers: int, clients: int, seconds: int, workers: int, runs: int
) -> ApiRuns:
    """wrk (a separate C process) against the API (``workers`` uvicorn processes) over read models projected from a
    canonical log of ``n_deelnemers`` (builders.scenario) in a schema of its own: cached, baseline and cold."""
    from consumers import projector
    from registry.api.auth import KeyStore

    must(shutil.which("wrk") is not None, "wrk is not installed (ops/bench installs it with apt-get)")
    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    n_events = produce_canonical(bootstrap, t.events, n_deelnemers)
    schema = f"{prefix}_rm"
    projector.project(
        projector.RunnerConfig(bootstrap, database_url, schema, t.events, t.rejections, batch_size=2000),
        ["all"],
        once=True,
    )
    keystore = KeyStore(engine(database_url))
    api_key, key = keystore.create("landelijk", naam="bench")
    path = "/v1/overzichten/kwalificaties?peildatum=2021-01-13"
    body_file = ROOT / ".cache" / f"bench-baseline-{prefix}.json"
    body_file.write_bytes(cached_body(database_url, schema, key, path))
    server, port, log = start_api(database_url, workers, schema, baseline_file=str(body_file))
    base = f"http://127.0.0.1:{port}"
    url, baseline_url = f"{base}{path}", f"{base}/v1/bench/baseline"
    cached: list[Wrk] = []
    baseline: list[Wrk] = []
    cold: list[Wrk] = []
    wrk_log = log_file("bench-wrk.log")
    script = None
    try:
        wait_for(url, key, server, log)
        same = httpx.get(url, headers={"Authorization": f"Bearer {key}"}).content == httpx.get(baseline_url).content
        must(same, "GET /v1/bench/baseline does not answer the cached answer's bytes")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(COLD_LUA)
        # warm-up, not measured: every worker process answers its first requests (imports, connections) slowly
        for warm in (url, baseline_url):
            subprocess.run(
                ["wrk", "-t2", f"-c{clients}", "-d3s", "-H", f"Authorization: Bearer {key}", warm],
                capture_output=True,
                timeout=60,
            )
        for run in range(runs):
            cold_args = ["-s", script.name, base, "--", str(run * (COLD_DAYS // runs))]
            # the baseline right after the cached answer (same headers, same load): the ratio of the two
            for out, args in ((cached, [url]), (baseline, [baseline_url]), (cold, cold_args)):
                res = subprocess.run(
                    [
                        "wrk",
                        "-t2",
                        f"-c{clients}",
                        f"-d{seconds}s",
                        "--latency",
                        "-H",
                        f"Authorization: Bearer {key}",
                        *args,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=seconds + 60,
                )
                wrk_log.write(f"$ wrk ... {' '.join(args)}\n{res.stdout}{res.stderr}\n")
                out.append(parse_wrk(res.stdout + res.stderr))
    finally:
        stop(server)
        keystore.revoke(api_key.key_id)  # a landelijk key must not outlive the bench
        if script is not None:
            os.unlink(script.name)
        body_file.unlink(missing_ok=True)
    return ApiRuns(cached, baseline, cold, n_events)
