"""Runs the long-running processes (validator, projector, reconciler, API) and restarts whichever exits, like
systemd's ``Restart=always``: recovery after a fault must need no manual step, only a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.support.faults.stapel import ROOT


@dataclass
class Dienst:
    name: str
    args: list[str]  # after `praktijkregister`
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _out: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        if self._out is None:
            self._out = self.log.open("ab")
        self._out.write(f"\n==== start {self.starts + 1} at {time.strftime('%H:%M:%S')}\n".encode())
        self._out.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "registry.cli", *self.args],
            env=self.env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.starts += 1

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    def __init__(self, restart_delay: float = 0.5) -> None:
        self.restart_delay = restart_delay
        self.diensten: dict[str, Dienst] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def add(self, dienst: Dienst) -> None:
        with self._lock:
            self.diensten[dienst.name] = dienst
            dienst.start()

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                dead = [d for d in self.diensten.values() if not d.running()]
            for d in dead:
                time.sleep(self.restart_delay)  # a process that dies at once (its server is down) does not spin
                with self._lock:
                    if not self._stop.is_set() and not d.running():
                        d.start()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the service's current process and wait until it has exited (the watcher restarts it)."""
        with self._lock:
            proc = self.diensten[name].proc
            if proc is None or proc.poll() is not None:
                return
            proc.send_signal(sig)
            proc.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM every service (SIGKILL after 30 s); no restarts from now on."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for d in self.diensten.values():
            if d.running() and d.proc is not None:
                d.proc.terminate()
        for d in self.diensten.values():
            if d.proc is not None:
                try:
                    d.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    d.proc.kill()
                    d.proc.wait(timeout=30)
            if d._out is not None:
                d._out.close()
