"""The ops scripts fail with a one-line cause instead of hanging."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_postgres_script_refuses_a_taken_port(database_url: str, unique: str) -> None:
    # under the checkout, not pytest's private tmp dir: the script runs the server as 'postgres'
    tmp_path = ROOT / ".cache" / f"test-ops-{unique}"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "pg").mkdir(parents=True)
        (tmp_path / "pg" / "port").write_text(f"{port}\n")
        env = dict(os.environ, PRAKTIJK_CACHE_DIR=str(tmp_path))
        out = subprocess.run([str(ROOT / "ops" / "postgres.sh"), "start"], env=env, capture_output=True, text=True, timeout=120)
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert out.returncode == 1
    assert f"port 127.0.0.1:{port} is already taken" in out.stderr
    assert len([line for line in out.stderr.splitlines() if line.startswith("praktijkregister:")]) == 1


def test_kafka_script_refuses_a_taken_port(tmp_path: Path, kafka_bootstrap: str) -> None:
    # a config whose broker port is the running test broker's: must not start a second one
    kdir = tmp_path / "kafka"
    kdir.mkdir()
    (kdir / "libs").symlink_to(ROOT / ".cache" / "kafka" / "libs") if (ROOT / ".cache" / "kafka" / "libs").exists() else None
    port = kafka_bootstrap.rsplit(":", 1)[1]
    (kdir / "server.properties").write_text(
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\ncontroller.quorum.bootstrap.servers=127.0.0.1:{port}\n")
    env = dict(os.environ, PRAKTIJK_CACHE_DIR=str(tmp_path))
    out = subprocess.run([str(ROOT / "ops" / "kafka.sh"), "start"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert "already taken" in out.stderr
    assert not (kdir / "kafka.pid").exists()


def test_stop_without_a_pid_file_stops_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, PRAKTIJK_CACHE_DIR=str(tmp_path))
    out = subprocess.run([str(ROOT / "ops" / "kafka.sh"), "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "not running" in out.stdout
