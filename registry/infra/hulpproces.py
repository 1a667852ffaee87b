"""A helper process of a long-running command: a fresh interpreter on a pipe, off the command's GIL.

The validator hands work that does not need its state to such children (consumers/transactieproces.py: the
transactional producer; consumers/voorlezer.py: decoding and re-keying). What they share is said here: how a child
starts (``start``: ``python -c`` with the parent's ``sys.path``, the pipe's descriptor in argv and nothing secret:
whatever the child needs comes over the pipe), how it never outlives its parent (``bewaak_ouder``: a SIGKILL or a
watchdog exit of the parent ends it too) and how it is closed (``sluit``: ``None`` on the pipe, then a kill if it
does not end). A child ignores SIGINT and SIGTERM: a Ctrl-C or a service stop reaches the whole process group, and the
parent finishes its batch before it closes its children.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

# how often a child looks whether its parent is still there
OUDER_CHECK_S = 0.2
# argv[1] is the pipe's file descriptor, argv[2] the child's ``module:function``, the rest the parent's sys.path
KIND_CODE = (
    "import sys, importlib; from multiprocessing.connection import Connection; sys.path[:0] = sys.argv[3:]; "
    "m, f = sys.argv[2].split(':'); getattr(importlib.import_module(m), f)(Connection(int(sys.argv[1])))"
)


def start(doel: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``doel`` (``module:function``, called with the child's end of the pipe) in a child process;
    (the process, the parent's end of the pipe). The child imports from where the parent did (ops/bench.py puts the
    repository on sys.path itself): the parent's sys.path goes first."""
    ouder_kant, kind_kant = socket.socketpair()
    proces = subprocess.Popen(
        [sys.executable, "-c", KIND_CODE, str(kind_kant.fileno()), doel, *[p for p in sys.path if p]],
        pass_fds=[kind_kant.fileno()],
    )
    kind_kant.close()
    return proces, Connection(ouder_kant.detach())


def als_kind(ouder: int) -> None:
    """In the child, first: ignore the group's stop signals and end as soon as ``ouder`` is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=bewaak_ouder, args=(ouder,), daemon=True).start()


def bewaak_ouder(ouder: int) -> None:
    """End the child as soon as its parent is gone (reparented: another parent pid)."""
    while os.getppid() == ouder:
        time.sleep(OUDER_CHECK_S)
    os._exit(1)


def sluit(proces: subprocess.Popen[bytes], conn: Connection, lock: threading.Lock, wacht_s: float) -> None:
    """Ask the child to end (``None`` on the pipe) and wait ``wacht_s`` for it; one that does not end is killed."""
    if proces.poll() is None:
        try:
            with lock:
                conn.send(None)
        except OSError:
            pass
        try:
            proces.wait(wacht_s)
        except subprocess.TimeoutExpired:
            proces.kill()
            proces.wait()
    conn.close()
