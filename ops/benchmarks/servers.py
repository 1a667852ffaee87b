"""The API servers of the api and freshness steps: uvicorn processes over a read-model schema of the bench's own,
their environment and logs."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks import ROOT
from benchmarks.meting import must
from registry.infra.topics import Topics


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


@dataclasses.dataclass
class Pijplijn:
    """A fresh prefix with the reference data published, and a validator and a projector process on it."""

    prefix: str
    topics: Topics
    schema: str  # the projector's read models
    procs: list[subprocess.Popen[bytes]]
    log: Any


def start_pipeline(
    bootstrap: str, database_url: str, referentie: list[Any], log_name: str, projections: Sequence[str] = ()
) -> Pijplijn:
    """Topics of a fresh prefix, ``referentie`` published by its partners (sbb, duo), then the validator and the
    projector (``projections``; all by default) as processes, logging to ``.cache/<log_name>``."""
    from benchmarks.werklast import fresh_prefix
    from producers.publisher import Publisher
    from registry.infra import topics
    from tests.support.builders import MBO

    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, ["sbb", "duo", MBO], prefix)
    for partner in ("sbb", "duo"):
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            pub.publish_batch([(et, r) for et, r in referentie if r["partner"] == partner])
    env = component_env(database_url, PRAKTIJK_VALIDATOR_GROUP=f"{prefix}-validator")
    log = log_file(log_name)
    cli = [sys.executable, "-m", "registry.cli"]
    procs = [
        subprocess.Popen(
            [*cli, "validator", "--prefix", prefix, "--schema", f"{prefix}_validator", "--metrics-port", "0"],
            env=env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
        ),
        subprocess.Popen(
            [
                *cli,
                "project",
                *projections,
                "--schema",
                f"{prefix}_rm",
                "--events-topic",
                t.events,
                "--rejections-topic",
                t.rejections,
                "--metrics-port",
                "0",
            ],
            env=env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
        ),
    ]
    return Pijplijn(prefix, t, f"{prefix}_rm", procs, log)


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
import os, signal, sys, tempfile, uvicorn
# uvicorn raises a SIGTERM again once it has shut down; as SystemExit the folder below is still removed
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with tempfile.TemporaryDirectory(prefix="praktijk-bench-metrics-") as folder:  # gone when the server stops (SIGTERM)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    uvicorn.run("benchmarks.servers:api_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]),
                workers=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def start_api(
    database_url: str, workers: int, schema: str, baseline_file: str = ""
) -> tuple[subprocess.Popen[bytes], int, Any]:
    """``workers`` uvicorn processes of the API over the read models in ``schema`` (``baseline_file``: also
    ``GET /v1/bench/baseline`` answering that file's bytes, registry/api/routes/baseline.py)."""
    port = free_port()
    log = log_file(f"bench-serve-{port}.log")
    env = component_env(
        database_url,
        BENCH_READ_SCHEMA=schema,
        PRAKTIJK_BENCH_BASELINE_FILE=baseline_file,
        PYTHONPATH=os.pathsep.join([str(ROOT / "ops"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    return (
        subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port), str(workers)], env=env, stdout=log, stderr=log, cwd=ROOT
        ),
        port,
        log,
    )


def wait_for(url: str, key: str, server: subprocess.Popen[bytes], log: Any, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while True:  # until the server answers this very request
        try:
            if httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        must(
            time.monotonic() < deadline and server.poll() is None,
            f"{url} did not answer 200 within {seconds:.0f} s (see {log.name})",
        )
        time.sleep(0.3)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
