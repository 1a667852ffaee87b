"""A long-running validator or projector keeps its heap young and hands the GIL over within 1 ms
(registry/infra/dienst.py)."""

from __future__ import annotations

import sys

import pytest

from registry.infra import dienst, gil, heap


def test_als_dienst_keeps_the_heap_young_and_hands_the_gil_over_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[bool] = []
    monkeypatch.setattr(heap, "keep_young", lambda: started.append(True))  # its thread would outlive the test
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        dienst.als_dienst()
        assert started == [True]
        assert abs(sys.getswitchinterval() - gil.SWITCH_SECONDS) < 1e-9
    finally:
        sys.setswitchinterval(before)
