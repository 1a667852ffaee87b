"""consumers/records: one poll is decoded once and shared by every projection of the process; each projection
takes only the records from its own stored offset on (a projection behind the others catches up)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers import records
from registry.infra import codec
from tests.support import builders

EV, REJ = "t.events", "t.rejections"
KINDS: dict[str, Any] = {EV: "events", REJ: "rejections"}


def _rec(topic: str, partition: int, offset: int, value: bytes | None) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, None, offset, 0, 0, None, value, [], None, 0, len(value or b""), 0)


def _event(leeftijd: int) -> bytes:
    at = dt.datetime(2020, 6, 1, 12, leeftijd % 60, tzinfo=dt.UTC)
    return codec.encode("DeelnemerIngeschreven", builders.inschrijving(leeftijd=leeftijd, recorded_at=at))


def _poll() -> dict[TopicPartition, list[ConsumerRecord]]:
    return {
        TopicPartition(EV, 0): [_rec(EV, 0, o, _event(20 + o)) for o in (10, 11, 13)],
        TopicPartition(EV, 1): [_rec(EV, 1, 4, b"not avro"), _rec(EV, 1, 5, _event(40))],
        TopicPartition(REJ, 0): [_rec(REJ, 0, 2, json.dumps({"reden": "x"}).encode())],
    }


def test_a_poll_is_decoded_once_for_every_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = records.decode_message

    def counting(kind: Any, partition: int, offset: int, value: bytes | None, lean: Any = ()) -> Any:
        calls.append(offset)
        return real(kind, partition, offset, value, lean)

    monkeypatch.setattr(records, "decode_message", counting)
    decoded = records.decode(_poll(), KINDS)
    for topics in ({EV}, {EV}, {EV, REJ}):  # feiten, referentie, tijdlijn
        records.share(decoded, topics, {})
    assert sorted(calls) == [2, 4, 5, 10, 11, 13]


def test_each_projection_takes_the_records_from_its_own_stored_offset() -> None:
    decoded = records.decode(_poll(), KINDS)
    fresh = records.share(decoded, {EV, REJ}, {})
    assert [(m.kind, m.partition, m.offset) for m in fresh.messages] == [
        ("events", 0, 10),
        ("events", 0, 11),
        ("events", 0, 13),
        ("events", 1, 5),
        ("rejections", 0, 2),
    ]
    assert (fresh.count, fresh.undecodable) == (6, 1)
    assert {k: n for k, (n, _) in fresh.positions.items()} == {(EV, 0): 14, (EV, 1): 6, (REJ, 0): 3}

    ahead = records.share(decoded, {EV}, {(EV, 0): 12, (EV, 1): 6})  # already has 10, 11 and all of partition 1
    assert [m.offset for m in ahead.messages] == [13] and ahead.count == 1
    assert {k: n for k, (n, _) in ahead.positions.items()} == {(EV, 0): 14}  # nothing to store for partition 1
    assert ahead.positions[(EV, 0)][1] == dt.datetime(2020, 6, 1, 12, 33, tzinfo=dt.UTC)  # its last event

    done = records.share(decoded, {EV}, {(EV, 0): 14, (EV, 1): 6})
    assert (done.messages, done.positions, done.count) == ([], {}, 0)


def test_decode_poll_is_one_projection_reading_everything() -> None:
    poll = records.decode_poll(_poll(), KINDS)
    assert poll.count == 6 and len(poll.messages) == 5
