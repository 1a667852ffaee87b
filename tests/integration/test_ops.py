"""The ops scripts fail with a one-line cause instead of hanging."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _postgres(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "ops" / "postgres.sh"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_postgres_script_refuses_a_taken_port(database_url: str, unique: str) -> None:
    # under the checkout: in a private (mode 700) clone this is exactly where the
    # script must still honour the kept port instead of relocating and choosing another
    tmp_path = ROOT / ".cache" / f"test-ops-{unique}"
    env = dict(os.environ, PRAKTIJK_CACHE_DIR=str(tmp_path))
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            (tmp_path / "pg").mkdir(parents=True)
            (tmp_path / "pg" / "port").write_text(f"{port}\n")
            out = _postgres(env, "start")
        assert out.returncode == 1
        assert f"port 127.0.0.1:{port} is already taken" in out.stderr
        assert len([line for line in out.stderr.splitlines() if line.startswith("praktijkregister:")]) == 1
        assert not (tmp_path / "pg" / "datadir").exists(), "a refused start must not create a data folder"
    finally:
        _postgres(env, "purge")  # stops and deletes whatever the script may have started
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_postgres_purge_removes_a_relocated_cluster(unique: str) -> None:
    # a cluster whose data folder the script recorded elsewhere is stopped and deleted by purge
    tmp_path = ROOT / ".cache" / f"test-ops-{unique}"
    env = dict(os.environ, PRAKTIJK_CACHE_DIR=str(tmp_path))
    try:
        started = _postgres(env, "start")
        assert started.returncode == 0, started.stderr
        port = int((tmp_path / "pg" / "port").read_text())
        assert started.stdout.strip().endswith(f"127.0.0.1:{port}/praktijkregister"), "the kept port is the one used"
        record = tmp_path / "pg" / "datadir"
        data = Path(record.read_text().strip()) if record.exists() else tmp_path / "pg" / "data"
        assert (data / "PG_VERSION").exists()
        assert _postgres(env, "status").returncode == 0
        purged = _postgres(env, "purge")
        assert purged.returncode == 0, purged.stderr
        assert not data.exists() and not (tmp_path / "pg").exists()
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "the server is still listening after purge"
    finally:
        _postgres(env, "purge")
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_kafka_script_refuses_a_taken_port(tmp_path: Path, kafka_bootstrap: str) -> None:
    # a config whose broker port is the running test broker's: must not start a second one
    kdir = tmp_path / "kafka"
    kdir.mkdir()
    (kdir / "libs").symlink_to(ROOT / ".cache" / "kafka" / "libs") if (
        ROOT / ".cache" / "kafka" / "libs"
    ).exists() else None
    port = kafka_bootstrap.rsplit(":", 1)[1]
    (kdir / "server.properties").write_text(
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\ncontroller.quorum.bootstrap.servers=127.0.0.1:{port}\n"
    )
    env = dict(os.environ, PRAKTIJK_CACHE_DIR=str(tmp_path))
    out = subprocess.run(
        [str(ROOT / "ops" / "kafka.sh"), "start"], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 1
    assert "already taken" in out.stderr
    assert not (kdir / "kafka.pid").exists()


def test_stop_without_a_pid_file_stops_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, PRAKTIJK_CACHE_DIR=str(tmp_path))
    out = subprocess.run([str(ROOT / "ops" / "kafka.sh"), "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "not running" in out.stdout
