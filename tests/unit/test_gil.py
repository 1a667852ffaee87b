"""A long-running validator or projector hands the GIL over within 1 ms (registry/infra/gil.py)."""

from __future__ import annotations

import sys

from registry.infra import gil


def test_quick_handover_sets_a_1_ms_switch_interval_and_returns_the_one_it_replaced() -> None:
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(gil.PYTHON_SECONDS)
        assert gil.quick_handover() == gil.PYTHON_SECONDS == 0.005
        assert abs(sys.getswitchinterval() - gil.SWITCH_SECONDS) < 1e-9 and gil.SWITCH_SECONDS == 0.001
    finally:
        sys.setswitchinterval(before)
