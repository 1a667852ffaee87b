"""The tail of the canonical log (consumers/volger.py): our own records are skipped, by a seek where they follow
on from the tail's position, else one by one; every other instance's record is applied."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import TopicPartition

from consumers import volger as volger_mod
from consumers.volger import CanoniekeVolger
from registry.infra import codec
from tests.support.builders import referentie_events
from tests.support.validator_fakes import Rec

TOPIC = "t.events"


class _Lezer:
    """A manually assigned consumer over two partitions: ``log`` per partition (offset -> record or None for a
    commit marker); ``poll`` hands out what lies from the position on, as read_committed does after a commit."""

    def __init__(self) -> None:
        self.log: dict[int, dict[int, Rec | None]] = {0: {}, 1: {}}
        self.posities: dict[TopicPartition, int] = {}
        self.gezocht: list[tuple[int, int]] = []

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(self.log)

    def assign(self, tps: list[TopicPartition]) -> None:
        self.posities = dict.fromkeys(tps, 0)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.posities[tp] = offset
        self.gezocht.append((tp.partition, offset))

    def position(self, tp: TopicPartition) -> int:
        return self.posities[tp]

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Rec]]:
        out: dict[TopicPartition, list[Rec]] = {}
        for tp, positie in self.posities.items():
            log = self.log[tp.partition]
            records = [r for o, r in sorted(log.items()) if o >= positie and r is not None]
            if records:
                out[tp] = records
            self.posities[tp] = max([positie, *(o + 1 for o in log)])
        return out

    def schrijf(self, partitie: int, n: int, marker: bool = True) -> list[tuple[int, int]]:
        """``n`` records (of one transaction) at the end of ``partitie``, then its commit marker."""
        log = self.log[partitie]
        begin = max(log, default=-1) + 1
        events = referentie_events()
        for i in range(n):
            event_type, record = events[(begin + i) % len(events)]
            log[begin + i] = Rec(codec.encode(event_type, record), topic=TOPIC, partition=partitie, offset=begin + i)
        if marker:
            log[begin + n] = None
        return [(partitie, begin + i) for i in range(n)]


@pytest.fixture
def lezer(monkeypatch: pytest.MonkeyPatch) -> _Lezer:
    fake = _Lezer()
    monkeypatch.setattr(volger_mod, "lezer", lambda bootstrap, client_id: fake)
    return fake


def _volger() -> CanoniekeVolger:
    return CanoniekeVolger([], TOPIC, {}, "test")


def _volg(v: CanoniekeVolger) -> list[Any]:
    toegepast: list[Any] = []
    v.volg(lambda event_type, record: toegepast.append(record["event_id"]))
    return toegepast


def test_our_records_that_follow_on_from_the_position_are_sought_past_never_read_back(lezer: _Lezer) -> None:
    v = _volger()
    v.geschreven(lezer.schrijf(0, 3))  # offsets 0-2, the marker at 3
    assert lezer.gezocht[-1] == (0, 3) and not v.eigen
    v.geschreven(lezer.schrijf(0, 2))  # 4-5: only the previous transaction's marker lies between
    assert lezer.gezocht[-1] == (0, 6) and not v.eigen
    assert _volg(v) == [] and v.posities[0] == 7  # past the last marker too


def test_a_gap_of_one_that_is_not_known_to_be_our_marker_is_read(lezer: _Lezer) -> None:
    v = _volger()
    anders = lezer.schrijf(0, 1, marker=False)  # offset 0: another producer's record, not committed when we start
    eigen = lezer.schrijf(0, 2)  # 1-2
    v.geschreven(eigen)
    assert (0, 1) not in lezer.gezocht and v.eigen == set(eigen)
    [event_id] = _volg(v)  # the other record is applied, ours skipped one by one
    assert event_id == codec.decode(lezer.log[0][anders[0][1]].value)[1]["event_id"]  # type: ignore[union-attr]
    assert not v.eigen


def test_records_with_another_producers_record_between_them_are_skipped_one_by_one(lezer: _Lezer) -> None:
    v = _volger()
    [ons, anders, ook_ons] = lezer.schrijf(1, 3)  # 0 and 2 ours, 1 another instance's (same transaction window)
    v.geschreven([ons, ook_ons])
    assert lezer.gezocht == [(0, 0), (1, 0)] and v.eigen == {ons, ook_ons}  # only the seeks of the start
    [event_id] = _volg(v)
    assert event_id == codec.decode(lezer.log[1][anders[1]].value)[1]["event_id"]  # type: ignore[union-attr]
    assert not v.eigen


def test_a_position_behind_our_records_reads_what_lies_before_them(lezer: _Lezer) -> None:
    v = _volger()
    lezer.schrijf(0, 2)  # another instance's transaction, not read yet
    v.geschreven(lezer.schrijf(0, 1))
    assert v.eigen == {(0, 3)}
    assert len(_volg(v)) == 2 and not v.eigen
