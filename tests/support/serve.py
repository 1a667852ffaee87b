"""``praktijkregister serve`` as a subprocess on a free loopback port, for tests that need a real HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_env(database_url: str, kafka_bootstrap: str, port: int) -> dict[str, str]:
    """This process's environment plus the database, the broker and the loopback port ``serve`` listens on."""
    return os.environ | {
        "PRAKTIJK_DATABASE_URL": database_url,
        "PRAKTIJK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PRAKTIJK_API_PORT": str(port),
        "PRAKTIJK_API_HOST": "127.0.0.1",
        "PRAKTIJK_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }


def start_serve(env: dict[str, str], schema: str, stdout: int | IO[bytes] = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """``praktijkregister serve`` over the read models in ``schema`` (stderr goes where stdout goes)."""
    return subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--schema", schema, "--log-level", "warning"],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
    )


def wait_until_serving(proc: subprocess.Popen[bytes], base: str, log: Path | None = None, seconds: float = 30) -> None:
    """Until ``base`` answers ``/openapi.json``; fails when the server exits first or takes longer than ``seconds``
    (with the contents of ``log``, when given)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start" + (
            f": {log.read_text()}" if log is not None else ""
        )
        time.sleep(0.2)
