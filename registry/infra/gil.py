"""How soon a thread that waits for the GIL gets it: CPython hands it over every 5 ms by default (``sys.
setswitchinterval``), so while one thread runs Python (judging, decoding, serving) each I/O step of another thread
(a Kafka client's network and sender threads, a PostgreSQL writer) waits up to 5 ms before it goes on. A Kafka
transaction is a chain of such steps (add partitions, add offsets, offset commit, produce, end): with one busy thread
beside it, one took ~80 ms (median) instead of ~20 ms alone; handing the GIL over within 1 ms, ~50 ms (200 records a
transaction, as the validator's writer sends them). A projector's write is a chain of PostgreSQL round trips beside
the decoding of the next batch: with 1 ms its stage's p99 at 1,000 ev/s was lower in three of three pairs of bench
runs (docs/benchmarks.md, *Freshness*). The long-running validator and projector (registry/infra/dienst.py) and the
serving API (``registry.api.app``) hand it over within ``SWITCH_SECONDS``."""

from __future__ import annotations

import sys

SWITCH_SECONDS = 0.001
PYTHON_SECONDS = 0.005  # CPython's default
# while a projection runner is on the bulk path (registry/infra/heap.py ``BulkHeap``): its writer thread waits for
# the GIL some 30 times a batch; a catch-up of the bench's 56,537 events, 6 rounds each, alternated: 26,550 against
# 26,040 ev/s (medians) with ``SWITCH_SECONDS``
BULK_SECONDS = 0.0002


def quick_handover() -> float:
    """Hand the GIL over within ``SWITCH_SECONDS`` from now on; returns the interval it replaced."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_SECONDS)
    return before
