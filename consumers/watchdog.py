"""A commit that never returns ends the process: the watchdog of the validator's and the reconciler's transactions."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

# kafka-python waits for a transaction's offsets and commit without a time-out; after a broker restart one such wait
# never ended, and when the broker that coordinates the transaction dies it may keep asking that dead node (seen in
# the fault suite, one and three brokers). By then the coordinator has aborted the transaction anyway (our 20 s
# time-out plus its 10 s check, counted from the transaction's start, which comes before the commit's), so the
# process exits instead (status 75) and is restarted: safe, since every effect is in a transaction with its offsets,
# and a fresh producer finds the new coordinator. 35 s keeps a killed broker's stall in accepted events, with the
# restart, under a minute.
TRANSACTIE_HANGT_S = 35.0
# A transactional request in flight to a coordinator that died waits this long before kafka-python retries it and,
# failing to reach that node, looks the coordinator up again (kafka-python's default is 30 s: the watchdog above
# ended the process first). By then the controller has usually fenced the dead broker, so the lookup finds the new one.
TRANSACTIE_REQUEST_TIMEOUT_MS = 10_000
EXIT_TRANSACTIE_HANGT = 75  # the exit status that says so (EX_TEMPFAIL)


def _hard_exit(code: int) -> None:
    """Leave at once (a supervisor restarts the process). Nothing is written: the stuck thread may hold the logging
    lock, and a full stderr pipe would block this thread too."""
    os._exit(code)


@contextlib.contextmanager
def watchdog(seconds: float, code: int, exit_fn: Callable[[int], None] = _hard_exit) -> Iterator[None]:
    """Exit the process with ``code`` if the block has not finished after ``seconds``."""
    timer = threading.Timer(seconds, exit_fn, args=(code,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
