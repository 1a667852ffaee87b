"""Prometheus for real: ``praktijkregister serve --workers 2`` aggregates its metrics over the workers
(prometheus-client multiprocess mode), and Debian's Prometheus, started by ``ops/prometheus.sh`` in a private cache
folder, scrapes it with a landelijk key and answers a metric back through ``/api/v1/query``; every dashboard panel's
PromQL is accepted by that Prometheus."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from registry.api.auth import KeyStore
from registry.infra.db import engine as make_engine
from tests.support.serve import free_port

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 40
ROUTE = 'praktijk_api_request_seconds_count{route="/v1/overzichten",status="200"}'


def _wait(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.fixture()
def api(database_url: str, kafka_bootstrap: str) -> Iterator[dict[str, Any]]:
    """``serve --workers 2`` on a free port, and a landelijk key for it."""
    port = free_port()
    keystore = KeyStore(make_engine(database_url))
    key, secret = keystore.create("landelijk", "test_prometheus")
    env = os.environ | {"PRAKTIJK_API_PORT": str(port), "PRAKTIJK_API_HOST": "127.0.0.1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--workers", "2", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, "serve exited"
        try:
            return httpx.get(base + "/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(up, "the API", 60)
        made: list[str] = [key.key_id]  # the test adds the key ops/prometheus.sh makes
        yield {"base": base, "port": port, "secret": secret, "pid": proc.pid, "keys": made, "keystore": keystore}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        with keystore.engine.begin() as conn:
            conn.execute(text("DELETE FROM api_keys WHERE key_id = ANY(:i)"), {"i": made})


def _worker_pids(parent: int) -> set[int]:
    """uvicorn's worker processes: the descendants of ``parent`` that multiprocessing spawned (not its resource
    tracker)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and _descends(int(proc.name), parent):
                found.add(int(proc.name))
    return found


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


def _multiproc_dir(pid: int) -> Path:
    environ = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    return Path(next(e for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")).split(b"=", 1)[1].decode())


def _sample(metrics_text: str, series: str) -> float:
    line = next(line for line in metrics_text.splitlines() if line.startswith(series + " "))
    return float(line.rsplit(" ", 1)[1])


def test_workers_metrics_are_one_view_and_prometheus_reads_them(api: dict[str, Any], tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {api['secret']}"}
    for _ in range(REQUESTS):  # a new connection each time: the kernel spreads them over the workers
        with httpx.Client(base_url=api["base"]) as client:
            assert client.get("/v1/overzichten", headers=auth).status_code == 200

    workers = _worker_pids(api["pid"])
    assert len(workers) == 2
    folder = _multiproc_dir(next(iter(workers)))
    served = {int(m.group(1)) for f in folder.iterdir() if (m := re.fullmatch(r"histogram_(\d+)\.db", f.name))}
    assert served == workers, "both workers served requests"
    for _ in range(6):  # whichever worker answers the scrape, it reports every worker's requests
        with httpx.Client(base_url=api["base"]) as client:
            assert _sample(client.get("/metrics", headers=auth).text, ROUTE) == REQUESTS

    cache = tmp_path / "cache"
    env = os.environ | {
        "PRAKTIJK_CACHE_DIR": str(cache),
        "PRAKTIJK_API_PORT": str(api["port"]),
        "PRAKTIJK_API_HOST": "127.0.0.1",
        "PRAKTIJK_PROMETHEUS_SCRAPE_INTERVAL": "1s",
    }
    ops = str(ROOT / "ops" / "prometheus.sh")
    started = subprocess.run([ops, "start"], env=env, capture_output=True, text=True, timeout=300)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        url = subprocess.run([ops, "url"], env=env, capture_output=True, text=True, check=True).stdout.strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and url in started.stdout

        def query(promql: str) -> dict[str, Any]:
            body: dict[str, Any] = httpx.get(url + "/api/v1/query", params={"query": promql}, timeout=10).json()
            return body

        def scraped() -> float | None:
            result = query(f'sum({ROUTE[:-1]},job="praktijkregister-api"}})')["data"]["result"]
            return float(result[0]["value"][1]) if result else None

        assert _wait(scraped, "Prometheus to scrape the API", 60) == REQUESTS
        # the scrape key on Prometheus's disk is an operations key: it opens /metrics and /v1/status only
        scrape_key = api["keystore"].lookup((cache / "prometheus" / "api.key").read_text().strip())
        assert scrape_key is not None and scrape_key.scope.kind == "operations"
        up = query('up{job="praktijkregister-api"}')["data"]["result"]
        assert [float(r["value"][1]) for r in up] == [1.0]

        panels = json.loads((ROOT / "ops/grafana/dashboards/praktijkregister.json").read_text())["panels"]
        for expr in (t["expr"] for p in panels for t in p["targets"]):
            answer = query(expr)
            assert answer["status"] == "success", (expr, answer)
        assert query("sum(rate(praktijk_nope_total[5m]) ")["status"] == "error"  # a parse error is reported
        rules = httpx.get(url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert len(rules[0]["rules"]) == 8 and all(r["health"] == "ok" for r in rules[0]["rules"])
    finally:
        stopped = subprocess.run([ops, "stop"], env=env, capture_output=True, text=True, timeout=60)
        key_file = cache / "prometheus" / "api.key"
        if key_file.exists() and key_file.read_text().strip():
            api["keys"].append(key_file.read_text().split("_")[1])
    assert "stopped" in stopped.stdout
