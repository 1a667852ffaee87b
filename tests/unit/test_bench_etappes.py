"""ops/benchmarks/etappes.py, the pure part: a sample's time per stage of the freshness step."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ops"))

from benchmarks.etappes import ETAPPES, etappes, kwantiel  # noqa: E402


def test_each_stage_is_the_time_between_two_points_of_a_sample_seen_at_every_point() -> None:
    publish = {"a": 10.0, "b": 20.0, "c": 30.0}
    ingress = {"a": 10.1, "b": 20.2, "c": 30.1}
    canoniek = {"a": 10.5, "b": 20.4}  # c never reached the canonical log: it counts nowhere
    rij = {"a": 10.6, "b": 20.9}
    api = {"a": 10.7, "b": 20.8}  # b's row seen after its 200 (the watcher's 20 ms): clipped to 0
    uit = etappes(publish, ingress, canoniek, rij, api)
    assert list(uit) == list(ETAPPES)
    assert [[round(x, 3) for x in uit[e]] for e in ETAPPES] == [[0.1, 0.2], [0.4, 0.2], [0.1, 0.5], [0.1, 0.0]]


def test_the_quantile_is_the_value_at_its_rank_and_nan_without_values() -> None:
    assert kwantiel([3.0, 1.0, 2.0, 4.0], 0.5) == 3.0
    assert kwantiel([float(i) for i in range(100)], 0.99) == 99.0
    assert math.isnan(kwantiel([], 0.5))


def test_cpu_seconds_grow_with_work_and_are_0_for_no_process() -> None:
    import os

    from benchmarks.etappes import cpu_seconds

    voor = cpu_seconds(os.getpid())
    sum(i * i for i in range(3_000_000))
    assert cpu_seconds(os.getpid()) > voor
    assert cpu_seconds(2**22 + 1) == 0.0  # above Linux's pid_max: no such process
