"""How soon a thread that waits for the GIL gets it: CPython hands it over every 5 ms by default (``sys.
setswitchinterval``), so while one thread runs Python (judging, decoding, serving) each I/O step of another thread
(a Kafka client's network and sender threads, a PostgreSQL writer) waits up to 5 ms before it goes on. A Kafka
transaction is a chain of such steps (add partitions, add offsets, offset commit, produce, end): with one busy thread
beside it, one took ~80 ms (median) instead of ~20 ms alone; handing the GIL over within 1 ms, ~50 ms (200 records a
transaction, as the validator's writer sends them; docs/benchmarks.md, *Freshness*). The serving API does the same (``registry.api.app``, while it serves). The projector does
not: with it, its stage's p99 came out higher in five of six pairs of bench runs (its writer builds the ``COPY``
rows in Python beside the decoding: both of its threads want the GIL; docs/benchmarks.md)."""

from __future__ import annotations

import sys

SWITCH_SECONDS = 0.001  # CPython's default: 0.005


def quick_handover() -> float:
    """Hand the GIL over within ``SWITCH_SECONDS`` from now on; returns the interval it replaced."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_SECONDS)
    return before
