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


def test_the_bench_deletes_only_the_topics_of_its_own_prefixes() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ops"))
    from benchmarks.werklast import topics_of

    names = {
        "bencha1b2c3.events",
        "bencha1b2c3.ingress.mbo.albeda",
        "benchffffff.events",  # another run's
        "bencha1b2c3",  # no name after the prefix: not one of its topics
        "__consumer_offsets",
        "praktijkleren.events",
    }
    assert topics_of(["bencha1b2c3"], names) == ["bencha1b2c3.events", "bencha1b2c3.ingress.mbo.albeda"]
    assert topics_of([], names) == []


def test_the_bench_drops_only_the_schemas_of_its_own_prefixes() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ops"))
    from benchmarks.werklast import schemas_of

    names = {
        "bencha1b2c3_rm",
        "bencha1b2c3_validator",
        "bencha1b2c3_rm_replay_1f2e",
        "benchffffff_rm",  # another run's
        "bencha1b2c3",  # no name after the prefix
        "praktijk",
        "public",
    }
    assert schemas_of(["bencha1b2c3"], names) == [
        "bencha1b2c3_rm",
        "bencha1b2c3_rm_replay_1f2e",
        "bencha1b2c3_validator",
    ]
