"""A private stack for the fault suite: Kafka and PostgreSQL of its own (``PRAKTIJK_CACHE_DIR``), started with the
ops scripts, so the suite may stop and kill them without touching the shared dev stack."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def clean_environ() -> dict[str, str]:
    """This process's environment without any PRAKTIJK_* setting: a shell that sourced the shared stack.env
    must not make the private stack use the shared broker or database. PRAKTIJK_TEST_RUN stays: it marks the
    servers a test run started, so tests/conftest.py sees one left running."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJK_") or k == "PRAKTIJK_TEST_RUN"}


def parse_env_file(path: Path) -> dict[str, str]:
    """``export NAME='value'`` lines (as ops/stack.sh writes them) -> {NAME: value}."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            out[name] = value
    return out


class PrivateStack:
    def __init__(self, cache: Path, brokers: int = 1) -> None:
        self.cache = cache
        self.brokers = brokers
        # a broker restarted after SIGKILL recovers its logs first; on a loaded machine that outlasts the default 90 s
        self.ops_env = clean_environ() | {
            "PRAKTIJK_CACHE_DIR": str(cache),
            "PRAKTIJK_KAFKA_START_TIMEOUT": "300",
            "PRAKTIJK_KAFKA_BROKERS": str(brokers),
        }
        self.env: dict[str, str] = {}

    def _ops(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [str(ROOT / "ops" / args[0]), *args[1:]], env=self.ops_env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"ops/{' '.join(args)} failed: {done.stderr.strip()[-800:]}")
        return done.stdout

    def up(self) -> dict[str, str]:
        """Start Kafka + PostgreSQL, create topics, keys and roles; returns the stack's PRAKTIJK_* settings."""
        self.cache.mkdir(parents=True, exist_ok=True)
        self._ops("stack.sh", "up")
        self.env = parse_env_file(self.cache / "stack.env") | {"PRAKTIJK_CACHE_DIR": str(self.cache)}
        return self.env

    def down(self) -> None:
        """Stop and purge (data, keys, the relocated cluster); never raises: it runs on every way out."""
        subprocess.run(
            [str(ROOT / "ops" / "stack.sh"), "down", "--purge"],
            env=self.ops_env,
            capture_output=True,
            timeout=300,
            check=False,
        )

    # ---- Kafka ----------------------------------------------------------------------------------------------
    def kafka_pid(self) -> int:
        return int((self.cache / "kafka" / "kafka.pid").read_text().split()[0])

    def kafka_terminate(self) -> None:
        """SIGTERM, and wait for the broker's controlled shutdown (ops/kafka.sh stop)."""
        self._ops("kafka.sh", "stop", timeout=120)

    def kafka_kill(self) -> None:
        """SIGKILL the broker (no shutdown at all) and wait until it is gone."""
        pid = self.kafka_pid()
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def kafka_start(self) -> None:
        """Start the broker again on the same ports with the same data (ops/kafka.sh start waits until it answers)."""
        self._ops("kafka.sh", "start", timeout=300)

    # ---- a node of a cluster (PRAKTIJK_KAFKA_BROKERS > 1, ops/kafka_cluster.sh) ----------------------------------
    def quorum_leader(self) -> int:
        """The node that leads the KRaft quorum now (the active controller)."""
        return int(self._ops("kafka_cluster.sh", "leader", timeout=60).strip())

    def node_kill(self, node: int) -> None:
        """SIGKILL one node: a machine that goes without a goodbye."""
        pid = int((self.cache / "kafka-cluster" / f"node{node}" / "kafka.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def node_start(self, node: int) -> None:
        """Start the node again with its data; returns when the cluster answers with every node."""
        self._ops("kafka_cluster.sh", "start-node", str(node), timeout=300)

    # ---- PostgreSQL -------------------------------------------------------------------------------------------
    def postgres_stop(self, mode: str) -> None:
        """pg_ctl stop -m fast (clients disconnected, checkpoint) or -m immediate (no checkpoint: crash recovery)."""
        self._ops("postgres.sh", "stop", mode, timeout=120)

    def postgres_start(self) -> None:
        self._ops("postgres.sh", "start", timeout=300)


def _wait_gone(pid: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    raise RuntimeError(f"process {pid} still there {limit:.0f} s after SIGKILL")


def _alive(pid: int) -> bool:
    """Until the process is reaped: ops/kafka.sh (kill -0) takes a zombie for a running broker and would not
    start a new one, so a SIGKILLed broker counts as gone only when init has reaped it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
