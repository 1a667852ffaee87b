"""consumers/records.DecodeCache: the projections of one process decode each record once; never a stale message."""
from __future__ import annotations

from typing import Any

import pytest

from consumers import records
from consumers.records import DecodeCache
from registry.infra import codec
from tests.support import builders


def _bytes(**over: Any) -> bytes:
    return codec.encode("DeelnemerIngeschreven", builders.inschrijving(**over))


def test_one_decode_per_record_and_only_for_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real = records.decode_message

    def counting(kind: Any, partition: int, offset: int, value: bytes | None) -> Any:
        decoded.append(offset)
        return real(kind, partition, offset, value)

    monkeypatch.setattr(records, "decode_message", counting)
    cache = DecodeCache(size=2)
    a, b = _bytes(leeftijd=20), _bytes(leeftijd=50)
    first = cache.decode("t.events", "events", 0, 7, a)
    assert first is not None and cache.decode("t.events", "events", 0, 7, a) is first  # the second projection
    assert decoded == [7]
    other = cache.decode("t.events", "events", 0, 7, b)  # other bytes at that position (a recreated topic)
    assert other is not None and other.record["leeftijd"] == 50 and decoded == [7, 7]
    assert cache.decode("u.events", "events", 0, 7, a) is not first  # another topic is another record
    cache.decode("t.events", "events", 1, 1, a)
    cache.decode("t.events", "events", 1, 2, a)
    assert len(cache._entries) == 2  # bounded: the oldest went
