"""``./ops/faults --short`` as a background process: it takes minutes, mostly waiting for restarts on its private
stack, so the test run starts it with the first integration test and reads its table at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.faults.suite import PARENT_ENV

ROOT = Path(__file__).resolve().parents[3]


class KorteRun:
    """One ``./ops/faults --short`` in its own process group; its output goes to files (a pipe nobody reads while
    the other tests run would fill and stop it)."""

    def __init__(self) -> None:
        # both outlive this call (the run goes on while other tests run): closed in close()
        self.out = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.err = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(ROOT / "ops" / "faults"), "--short"],
            stdout=self.out,
            stderr=self.err,
            text=True,
            start_new_session=True,
            env={**os.environ, PARENT_ENV: str(os.getpid())},  # it stops once this test run is gone
        )

    def result(self, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Its exit and output; ``timeout`` counts from the start. On a time-out it is interrupted (SIGINT, so it
        still takes its private stack down) and the time-out fails the test with what it printed."""
        try:
            self.proc.wait(timeout=max(1.0, timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.stop()
            out, err = self._read()
            raise AssertionError(f"./ops/faults --short took over {timeout:.0f} s:\n{out}\n{err[-3000:]}") from None
        out, err = self._read()
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)

    def stop(self) -> None:
        """Interrupt it if it still runs (a test run cut short), and wait until its stack is down."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def close(self) -> None:
        self.stop()
        self.out.close()
        self.err.close()

    def _read(self) -> tuple[str, str]:
        self.out.seek(0)
        self.err.seek(0)
        return self.out.read(), self.err.read()
