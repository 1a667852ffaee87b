"""The cyclic garbage collector of a long-running consumer (validator, projector) kept to its young objects.

Python's full collection walks every tracked object. The validator's and the projector's heaps (modules, Kafka
clients, the validator's state fold) hold hundreds of thousands of them and grow, so under load full collections
came every few seconds and each stopped every thread for 0.2-1 s: most of the freshness p99 (bench step freshness,
a gc callback counting the pauses: 14 full collections in 40 s, 7 s in all, in the validator alone). ``keep_young``
instead collects once a second and then freezes what survived (``gc.freeze``): the next collections walk only what
was made since. A frozen object is still freed by reference counting; only a cycle that becomes garbage after it was
frozen waits for the full collection this also runs every ``FULL_S`` seconds (after ``gc.unfreeze``), so memory
stays bounded at the price of one full pause per ``FULL_S``. Few wait: at 1,000 ev/s a full collection after 15 s
freed under 1,000 objects in either process.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable

from registry.infra import gil

YOUNG_S = 1.0  # collect what is new, then freeze it
FULL_S = 600.0  # a full collection (frozen objects too): cycles that died after being frozen

log = logging.getLogger("praktijkregister.heap")


class YoungHeap:
    """One step per ``young_s``: a collection of what was made since the last step, then a freeze; every
    ``full_s`` first an unfreeze, so that collection is a full one."""

    def __init__(self, full_s: float = FULL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.full_s = full_s
        self.clock = clock
        self.last_full = clock()

    def step(self) -> None:
        if self.clock() - self.last_full >= self.full_s:
            gc.unfreeze()
            self.last_full = self.clock()
        gc.collect()
        gc.freeze()


def keep_young(young_s: float = YOUNG_S, full_s: float = FULL_S) -> threading.Thread:
    """Freeze the heap as it is now (after start-up) and keep doing so every ``young_s`` in a daemon thread."""
    heap = YoungHeap(full_s)
    heap.step()

    def run() -> None:
        while True:
            time.sleep(young_s)
            try:
                heap.step()
            except Exception as exc:  # noqa: BLE001 - the collector itself then runs as before
                log.warning("heap step failed: %s", type(exc).__name__)

    thread = threading.Thread(target=run, name="young-heap", daemon=True)
    thread.start()
    return thread


# while a runner is on the bulk path: objects allocated between two collections of the young generation, and
# the thresholds of the older two (a full collection every fifth young one walks only what is not frozen, a batch
# or so: it bounds the cycles that died after a promotion to a few batches' worth, for ~2 ms a batch)
BULK_YOUNG = 50_000
BULK_OLDER = (5, 1)


class BulkHeap:
    """The collector while a projection runner is on the bulk path (consumers/projector_worker.py).

    A bulk batch makes some 100,000 objects (the decoded records, their messages and staging rows) that live for
    one batch, hold no cycles and are freed by reference counting. At the default threshold (700) the collector
    walked them again and again, and ran a full collection of the whole heap every ~10,000 events, holding the GIL
    that the decoding and the writer thread need: ~30% of the runner's Python CPU on a catch-up (against the
    collector off; 56,537 events of the bench's scenario, ``getrusage``). So while any runner is on the bulk path:
    what the process holds is frozen once (start-up, the clients: never garbage), and the young generation is
    collected every ``BULK_YOUNG`` allocations (~20% less Python CPU; one full collection in such a catch-up
    instead of six); the thresholds are given back when the last runner leaves it. Cycles are still collected,
    later; a long-running process's ``keep_young`` still unfreezes every ``FULL_S``.

    Meanwhile the GIL is handed over within ``gil.BULK_SECONDS``: the writer thread waits for it some 30 times a
    batch (each PostgreSQL round trip it waits for, and the ``COPY``'s), each time until the decoding main thread
    is made to hand it over."""

    def __init__(self, young: int = BULK_YOUNG, older: tuple[int, int] = BULK_OLDER) -> None:
        self.young, self.older = young, older
        self.runners = 0
        self.saved: tuple[int, int, int] | None = None
        self.switch_saved = 0.0
        self.lock = threading.Lock()

    def begin(self) -> None:
        with self.lock:
            self.runners += 1
            if self.runners == 1:
                self.saved = gc.get_threshold()
                gc.freeze()
                gc.set_threshold(max(self.young, self.saved[0]), *self.older)
                self.switch_saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.switch_saved, gil.BULK_SECONDS))

    def end(self) -> None:
        with self.lock:
            if self.runners == 0:
                return
            self.runners -= 1
            if self.runners == 0 and self.saved is not None:
                gc.set_threshold(*self.saved)
                self.saved = None
                sys.setswitchinterval(self.switch_saved)


BULK = BulkHeap()  # the process's one collector
