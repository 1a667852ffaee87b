"""The long-running consumers hand the GIL over within 1 ms (registry/infra/gil.py)."""

from __future__ import annotations

import gc
import sys

from registry.infra import gil


def test_quick_handover_sets_a_1_ms_switch_interval_and_returns_the_one_it_replaced() -> None:
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        assert gil.quick_handover() == 0.005
        assert abs(sys.getswitchinterval() - gil.SWITCH_SECONDS) < 1e-9 and gil.SWITCH_SECONDS == 0.001
        assert abs(gil.handover(0.002) - 0.001) < 1e-9 and abs(sys.getswitchinterval() - 0.002) < 1e-9
    finally:
        sys.setswitchinterval(before)


def test_the_bulk_path_uses_the_default_switch_interval_until_the_last_runner_leaves_it() -> None:
    from registry.infra.heap import BulkHeap

    before = sys.getswitchinterval()
    gc_before = gc.get_threshold()
    try:
        gil.quick_handover()  # a long-running projector
        bulk = BulkHeap()
        bulk.begin()
        bulk.begin()  # a second runner
        assert abs(sys.getswitchinterval() - gil.DEFAULT_SECONDS) < 1e-9
        bulk.end()
        assert abs(sys.getswitchinterval() - gil.DEFAULT_SECONDS) < 1e-9  # one runner is still on it
        bulk.end()
        assert abs(sys.getswitchinterval() - gil.SWITCH_SECONDS) < 1e-9
    finally:
        sys.setswitchinterval(before)
        gc.set_threshold(*gc_before)
        gc.unfreeze()
