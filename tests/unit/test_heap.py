"""The long-running consumers' heap: collected and frozen once a second, so full collections walk only what is new;
a full collection of the frozen objects too every FULL_S, so a cycle that died after its freeze is freed. On the
projector's bulk path the young generation is collected less often (BulkHeap)."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator
from typing import cast

import pytest
from sqlalchemy import Engine

from consumers.projector_config import RunnerConfig
from consumers.projector_worker import Worker
from projections import feiten
from registry.infra import gil, heap
from registry.infra.heap import BulkHeap, YoungHeap


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


def test_the_bulk_path_collects_the_young_generation_less_often_until_the_last_runner_leaves_it(
    unfrozen: None,
) -> None:
    before, switch = gc.get_threshold(), sys.getswitchinterval()
    bulk = BulkHeap(young=before[0] + 12_345, older=(3, 2))
    bulk.end()  # never begun: nothing to give back
    assert gc.get_threshold() == before
    try:
        bulk.begin()
        assert gc.get_threshold() == (before[0] + 12_345, 3, 2)
        assert gc.get_freeze_count() > 0  # what the process held when the bulk path began: not walked again
        assert sys.getswitchinterval() == pytest.approx(min(switch, gil.BULK_SECONDS))  # the GIL handed over sooner
        bulk.begin()  # a second runner
        bulk.end()
        assert gc.get_threshold()[0] == before[0] + 12_345  # one runner is still on it
        assert sys.getswitchinterval() == pytest.approx(min(switch, gil.BULK_SECONDS))
        bulk.end()
        assert gc.get_threshold() == before and sys.getswitchinterval() == pytest.approx(switch)
    finally:
        sys.setswitchinterval(switch)


def test_a_runner_holds_the_bulk_heap_while_on_the_bulk_path_and_gives_it_back_on_close(
    monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    bulk = BulkHeap()
    monkeypatch.setattr(heap, "BULK", bulk)
    config = RunnerConfig("kafka:9092", "postgresql://x", bulk_lag=0)
    worker = Worker([feiten.PROJECTION], cast(Engine, None), "s", config)
    worker._heap(True)
    worker._heap(True)  # every bulk batch: begun once
    assert bulk.runners == 1
    worker._heap(False)  # back on the live path
    assert bulk.runners == 0
    worker._heap(True)
    worker.close()
    assert bulk.runners == 0 and bulk.saved is None
