"""The long-running consumers' heap: collected and frozen once a second, so full collections walk only what is new;
a full collection of the frozen objects too every FULL_S, so a cycle that died after its freeze is freed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from registry.infra.heap import YoungHeap


class Knoop:
    def __init__(self) -> None:
        self.ander: Knoop | None = None


@pytest.fixture()
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def _cycle() -> tuple[Knoop, weakref.ref[Knoop]]:
    a, b = Knoop(), Knoop()
    a.ander, b.ander = b, a
    return a, weakref.ref(a)


def test_a_step_collects_what_is_new_and_freezes_the_rest(unfrozen: None) -> None:
    now = [0.0]
    heap = YoungHeap(full_s=600, clock=lambda: now[0])
    dead, dead_ref = _cycle()
    del dead
    kept, _ = _cycle()
    heap.step()
    assert dead_ref() is None  # garbage before the freeze: collected
    assert gc.get_freeze_count() > 0 and kept.ander is not None


def test_a_cycle_that_died_frozen_waits_for_the_full_collection(unfrozen: None) -> None:
    now = [0.0]
    heap = YoungHeap(full_s=600, clock=lambda: now[0])
    a, ref = _cycle()
    heap.step()  # frozen while alive
    del a
    heap.step()
    assert ref() is not None  # a frozen cycle: not walked by the young collections
    now[0] += 600
    heap.step()  # unfreeze, full collection, freeze
    assert ref() is None and heap.last_full == 600
