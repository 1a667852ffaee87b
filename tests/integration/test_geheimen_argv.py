"""No secret on any command line (any local user reads ``/proc/*/cmdline``, e.g. with ``ps``), and every data and
key folder the stack makes is its owner's only.

The start-up is watched on a PRIVATE stack (its own ``PRAKTIJK_CACHE_DIR``, ports and passwords, like the fault
suite's), so the shared one is never restarted: ``ops/stack.sh up`` (Kafka's StorageTool, its readiness probe and
the broker; PostgreSQL's initdb, pg_ctl and server; topics, keys, database roles), then what the demo starts
besides (Prometheus via ``ops/prometheus.sh``; the background validator, projector and reconciler of
``demo --serve``). A sampler reads every process's argv while that runs; short-lived ones (the probe, StorageTool)
live for seconds, the sampler looks every few milliseconds."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from registry.demo.run import Instanties
from tests.support.faults.stapel import PrivateStack, clean_environ, parse_env_file

ROOT = Path(__file__).resolve().parents[2]
SHARED_CACHE = Path(os.environ.get("PRAKTIJK_CACHE_DIR", ROOT / ".cache"))


def _argvs() -> dict[int, bytes]:
    """pid -> its command line (NUL-separated bytes) of every process now running."""
    out: dict[int, bytes] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                out[int(proc.name)] = (proc / "cmdline").read_bytes()
            except OSError:
                continue  # ended while we looked
    return out


class Sampler:
    """Every distinct (pid, argv) seen while it runs."""

    def __init__(self, interval: float = 0.03) -> None:
        self.interval = interval
        self.seen: set[tuple[int, bytes]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.update(_argvs().items())
            time.sleep(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def lines(self) -> list[str]:
        return [argv.replace(b"\0", b" ").decode(errors="replace") for _, argv in self.seen]

    def saw(self, *parts: str) -> bool:
        return any(all(p in line for p in parts) for line in self.lines())


def _secrets(cache: Path, env: dict[str, str]) -> dict[str, str]:
    """Every secret of a stack: name -> value (passwords, key material, the scrape's API key)."""
    found: dict[str, str] = {}
    for name, value in env.items():
        if name.endswith("PASSWORD") and value:
            found[name] = value
        if name.startswith("PRAKTIJK_DATABASE_URL") and value:
            password = make_url(value).password
            if password:
                found[name] = str(password)
    files = [cache / "kafka" / "admin.password", cache / "pg" / "password", cache / "prometheus" / "api.key"]
    files += sorted((cache / "pg" / "roles").glob("*.password"))
    keys = Path(env.get("PRAKTIJK_KEYS_DIR", cache / "keys"))
    files += [p for p in sorted(keys.glob("*")) if p.is_file() and p.name != "registry.pub"]
    for path in files:
        if path.exists():
            for i, line in enumerate(path.read_text().splitlines()):
                if line.strip():
                    found[f"{path}:{i + 1}"] = line.strip()
    return found


def _leaks(lines: list[str], secrets: dict[str, str]) -> list[str]:
    """Which secret is on which command line; the value itself masked (a failing test must not print it)."""
    return [
        f"{name} on: {line.replace(value, '***')[:200]}"
        for line in lines
        for name, value in secrets.items()
        if value in line
    ]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _private_libs(cache: Path) -> None:
    """The downloaded Kafka jars, linked one by one (``ops/kafka.sh fetch`` would otherwise run Maven again)."""
    shared = SHARED_CACHE / "kafka" / "libs"
    if not (shared / ".complete").exists():
        return  # none downloaded yet: the script fetches them itself
    libs = cache / "kafka" / "libs"
    libs.mkdir(parents=True)
    for jar in shared.glob("*.jar"):
        (libs / jar.name).symlink_to(jar)
    (libs / ".complete").touch()  # newer than ops/kafka/pom.xml


@pytest.fixture()
def private_stack(tmp_path: Path) -> Iterator[PrivateStack]:
    cache = tmp_path / "stack"
    _private_libs(cache)
    stack = PrivateStack(cache)
    try:
        yield stack
    finally:
        subprocess.run(
            [str(ROOT / "ops" / "prometheus.sh"), "stop"], env=stack.ops_env, capture_output=True, timeout=60
        )
        stack.down()


def _demo_components(env: dict[str, str], sampler: Sampler) -> None:
    """The background processes of ``demo --serve`` on the private stack, until the sampler has seen each."""
    run_env = clean_environ() | env | {"PYTHONPATH": str(ROOT)}
    commands = Instanties().commands()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "registry.cli", *args],
            env=run_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        for args in commands
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(sampler.saw("registry.cli", *args) for args in commands):
            time.sleep(0.2)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_no_secret_on_a_command_line_while_the_stack_and_the_demo_start(private_stack: PrivateStack) -> None:
    cache = private_stack.cache
    with Sampler() as sampler:
        env = private_stack.up()
        prom = subprocess.run(
            [str(ROOT / "ops" / "prometheus.sh"), "start"],
            env=private_stack.ops_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert prom.returncode == 0, prom.stderr
        _demo_components(env, sampler)
    secrets = _secrets(cache, env)

    # the sampler saw the processes that used to carry a password, and the ones that could
    assert sampler.saw("kafka.tools.StorageTool", "format", f"@{cache}/kafka/format.args")
    assert sampler.saw("kafka.Kafka", f"{cache}/kafka/server.properties")
    assert sampler.saw(" - ", env["PRAKTIJK_KAFKA_BOOTSTRAP"]), "the readiness probe (python - <bootstrap>)"
    assert sampler.saw("initdb") and sampler.saw("pg_ctl") and sampler.saw("db", "roles", "--secrets")
    assert sampler.saw("prometheus", f"--config.file={cache}/prometheus/prometheus.yml")
    for args in Instanties().commands():
        assert sampler.saw("registry.cli", *args), args
    # and none of them carried a secret
    assert "PRAKTIJK_KAFKA_PASSWORD" in secrets and f"{cache}/pg/password:1" in secrets
    assert any(name.startswith(f"{cache}/pg/roles/") for name in secrets)
    assert any(name.endswith("signing.key:1") for name in secrets)
    leaks = _leaks(sampler.lines(), secrets)
    assert not leaks
    assert not (cache / "kafka" / "format.args").exists(), "the argument file with the credential is removed"

    # every data and key folder is the owner's only
    record = cache / "pg" / "datadir"
    data = Path(record.read_text().strip()) if record.exists() else cache / "pg" / "data"
    folders = [
        cache / "kafka",
        cache / "kafka" / "data",
        cache / "keys",
        cache / "pg",
        cache / "pg" / "roles",
        data,
        data.parent,
        cache / "prometheus",
        cache / "prometheus" / "data",
    ]
    assert {str(f): oct(_mode(f)) for f in folders} == {str(f): "0o700" for f in folders}
    # what the broker wrote (topic segments, its metadata log) is the owner's only too
    wide = [p for p in (cache / "kafka" / "data").rglob("*") if _mode(p) & 0o077]
    assert not wide, wide[:5]
    assert all(_mode(p) == 0o600 for p in (cache / "keys").iterdir() if p.name != "registry.pub")


def test_no_secret_of_the_running_stack_on_any_command_line() -> None:
    """The shared stack, as it runs now (its broker and database, and whatever else runs on this machine)."""
    env = dict(os.environ)
    if (SHARED_CACHE / "stack.env").exists():
        env = parse_env_file(SHARED_CACHE / "stack.env") | env
    secrets = _secrets(SHARED_CACHE, env)
    assert "PRAKTIJK_KAFKA_PASSWORD" in secrets and any(n.endswith("pseudonym.key:1") for n in secrets)
    lines = [argv.replace(b"\0", b" ").decode(errors="replace") for argv in _argvs().values()]
    cache = str(SHARED_CACHE.resolve())  # its broker's config lives there (one node, or each of a cluster's)
    assert any("kafka.Kafka" in line and cache in line for line in lines), "the stack's broker is running"
    assert any("postgres" in line and "-D" in line for line in lines), "the stack's PostgreSQL is running"
    leaks = _leaks(lines, secrets)
    assert not leaks
