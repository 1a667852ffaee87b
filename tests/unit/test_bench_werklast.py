"""The bench's canonical log grows by calls with other seeds: a grown log must not repeat events or deelnemers."""

from __future__ import annotations

from tests.support import builders


def _ids(seed: int) -> tuple[set[str], set[str]]:
    events = list(builders.scenario(20, seed=seed))
    return {r["event_id"] for _, r in events}, {r["deelnemer"] for _, r in events if "deelnemer" in r}


def test_scenarios_of_other_seeds_share_no_event_ids_and_no_deelnemers() -> None:
    ids1, mensen1 = _ids(1)
    ids2, mensen2 = _ids(2)
    assert len(ids1) > 100 and len(mensen1) == 20
    assert not ids1 & ids2
    assert not mensen1 & mensen2


def test_a_scenario_is_the_same_for_the_same_seed() -> None:
    assert _ids(3) == _ids(3)
