"""How soon a thread that waits for the GIL gets it: CPython hands it over every 5 ms by default (``sys.
setswitchinterval``), so while one thread runs Python (judging, decoding, serving) each I/O step of another thread
(a Kafka client's network and sender threads, a PostgreSQL writer) waits up to 5 ms before it goes on. A Kafka
transaction is a chain of such steps (add partitions, add offsets, offset commit, produce, end): with one busy thread
beside it, one took ~80 ms (median) instead of ~20 ms alone; handing the GIL over within 1 ms, ~50 ms (the
validator's writer, bench step freshness). The serving API does the same (``registry.api.app``). The projector's bulk
path goes back to the default while a runner is on it (``registry.infra.heap.BulkHeap``): there a shorter interval
gained nothing measurable and cost 2-3 µs more CPU per event (docs/benchmarks.md)."""

from __future__ import annotations

import sys

SWITCH_SECONDS = 0.001
DEFAULT_SECONDS = 0.005  # CPython's


def quick_handover() -> float:
    """Hand the GIL over within ``SWITCH_SECONDS`` from now on; returns the interval it replaced."""
    return handover(SWITCH_SECONDS)


def handover(seconds: float) -> float:
    """Hand the GIL over within ``seconds`` from now on; returns the interval it replaced (to restore it)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    return before
