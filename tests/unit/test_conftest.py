"""The test run's own housekeeping: which topics a module's end deletes under ``PRAKTIJK_TEST_DROP_TOPICS=1``."""

from __future__ import annotations

from tests.conftest import topics_to_drop


def test_only_the_topics_a_module_made_are_dropped() -> None:
    before = {"t1.events", "praktijkleren.events"}
    now = before | {"t2.events", "t2.ingress.sbb", "__transaction_state", "__consumer_offsets", "praktijkleren.parked"}
    assert topics_to_drop(before, now) == ["t2.events", "t2.ingress.sbb"]
