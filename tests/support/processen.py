"""Whether a process still runs, for tests of processes that must end with their parent."""

from __future__ import annotations

import time


def leeft(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def verdwijnt(pid: int, binnen_s: float = 5.0) -> bool:
    """Whether process ``pid`` is gone within ``binnen_s`` seconds."""
    deadline = time.monotonic() + binnen_s
    while leeft(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not leeft(pid)
