"""registry/api/cache.py: an active key is remembered for ttl seconds at most; unknown keys are never remembered; the
data version is read at most once per bound, and once for all the requests that find it expired together."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection

from registry.api.auth import ApiKey, MemoryKeyStore
from registry.api.cache import CachedKeyLookup, RecentDataVersion


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Counting(MemoryKeyStore):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        self.asked += 1
        return super().lookup(key, conn)


def test_revocation_takes_effect_within_ttl() -> None:
    store, clock = _Counting(), _Clock()
    cached = CachedKeyLookup(store, ttl=2.0, clock=clock)
    key, secret = store.create("landelijk", "x")
    assert cached.lookup(secret) == key and cached.lookup(secret) == key
    assert store.asked == 1  # the second request asked no table
    store.revoke(key.key_id)
    clock.now += 1.9
    assert cached.lookup(secret) == key  # within the bound: still remembered
    clock.now += 0.2
    assert cached.lookup(secret) is None  # past the bound: refused
    assert cached.lookup(secret) is None and store.asked == 3  # and a refusal is never remembered


def test_new_and_unknown_keys_are_asked_every_time() -> None:
    store, clock = _Counting(), _Clock()
    cached = CachedKeyLookup(store, ttl=2.0, clock=clock)
    wrong = "prk_000000000000_" + "y" * 43
    assert cached.lookup(wrong) is None and cached.lookup(wrong) is None and store.asked == 2
    key, secret = store.create("regio:rijnmond", "new")
    assert cached.lookup(secret) == key


def test_data_version_is_read_at_most_once_per_max_age() -> None:
    clock, versions = _Clock(), ["v1"]
    recent = RecentDataVersion(max_age=0.2, clock=clock)
    assert recent.get(lambda: versions[-1]) == "v1" and recent.get(lambda: versions[-1]) == "v1"
    assert recent.reads == 1  # the second request sent no version query
    versions.append("v2")  # a new event projected
    clock.now += 0.19
    assert recent.get(lambda: versions[-1]) == "v1"  # within the bound: the previous version
    clock.now += 0.01
    assert recent.get(lambda: versions[-1]) == "v2" and recent.reads == 2  # at the bound: read again


def test_data_version_max_age_zero_reads_every_time() -> None:
    recent, reads = RecentDataVersion(max_age=0.0, clock=_Clock()), iter(["a", "b"])
    assert recent.get(lambda: next(reads)) == "a" and recent.get(lambda: next(reads)) == "b"


def test_remembered_asks_nothing() -> None:
    store, clock = _Counting(), _Clock()
    cached = CachedKeyLookup(store, ttl=2.0, clock=clock)
    key, secret = store.create("landelijk", "x")
    assert cached.remembered(secret) is None and store.asked == 0  # not yet looked up: not remembered
    assert cached.lookup(secret) == key and cached.remembered(secret) == key and store.asked == 1
    clock.now += 2.0
    assert cached.remembered(secret) is None and store.asked == 1


def test_current_version_is_none_once_past_the_bound() -> None:
    """``current`` is the event loop's look: the remembered version within the bound, never a read."""
    clock = _Clock()
    recent = RecentDataVersion(max_age=0.2, clock=clock)
    assert recent.current() is None  # nothing read yet
    assert recent.get(lambda: "v1") == "v1" and recent.current() == "v1"
    clock.now += 0.2
    assert recent.current() is None and recent.reads == 1


def test_requests_that_find_the_version_expired_together_read_it_once() -> None:
    recent, started, release = RecentDataVersion(max_age=10.0), threading.Event(), threading.Event()
    reads: list[int] = []

    def slow_read() -> str:
        reads.append(1)
        started.set()
        release.wait(5)
        return "v1"

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(recent.get, slow_read)
        assert started.wait(5)
        others = [pool.submit(recent.get, slow_read) for _ in range(7)]  # arrive while the first one reads
        time.sleep(0.05)
        release.set()
        assert first.result() == "v1" and [f.result() for f in others] == ["v1"] * 7
    assert len(reads) == 1 and recent.reads == 1


def test_a_version_read_before_a_waiting_request_s_bound_is_not_used_by_it() -> None:
    """A request that waited for another one's read uses that version only if its query was sent within its bound."""
    clock, reading, release = _Clock(), threading.Event(), threading.Event()
    recent = RecentDataVersion(max_age=0.2, clock=clock)

    def slow_old() -> str:
        reading.set()
        release.wait(5)
        return "old"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(recent.get, slow_old)  # sent at 100.0
        assert reading.wait(5)
        clock.now += 0.3  # the next request starts after 100.0 + max_age
        late = pool.submit(recent.get, lambda: "new")
        time.sleep(0.05)
        release.set()
        assert first.result() == "old" and late.result() == "new" and recent.reads == 2


class _Slow(_Counting):
    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        time.sleep(0.05)
        return super().lookup(key, conn)


def test_requests_that_find_a_key_expired_together_ask_the_table_once() -> None:
    store = _Slow()
    cached = CachedKeyLookup(store, ttl=2.0)
    key, secret = store.create("landelijk", "x")
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: cached.lookup(secret), range(8))) == [key] * 8
    assert store.asked == 1 and cached._asking == {}  # and nothing left behind per key


def test_a_revoked_key_is_refused_by_every_request_after_the_bound_also_when_they_wait_together() -> None:
    store, clock = _Slow(), _Clock()
    cached = CachedKeyLookup(store, ttl=2.0, clock=clock)
    key, secret = store.create("landelijk", "x")
    assert cached.lookup(secret) == key
    store.revoke(key.key_id)
    clock.now += 2.0
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: cached.lookup(secret), range(8))) == [None] * 8


def test_the_version_is_due_for_a_read_ahead_once_past_a_quarter_of_its_bound() -> None:
    clock = _Clock()  # times in binary fractions: exact sums
    recent = RecentDataVersion(max_age=0.5, clock=clock)
    assert not recent.due()  # nothing to read ahead of: the first request reads
    recent.get(lambda: "v1")
    clock.now += 0.0625
    assert not recent.due()  # young
    clock.now += 0.0625
    assert recent.due() and not recent.due()  # once: the read ahead is under way
    clock.now += 0.25
    assert not recent.due()  # still under way (a slow read): not a second one within the bound
    recent.read_ahead(lambda: "v2")
    assert recent.current() == "v2" and recent.reads == 2 and not recent.due()  # its bound starts again
    clock.now += 0.125
    assert recent.due()


def test_a_failed_read_ahead_is_tried_again_after_the_bound() -> None:
    clock = _Clock()
    recent = RecentDataVersion(max_age=0.5, clock=clock)
    recent.get(lambda: "v1")
    clock.now += 0.125
    assert recent.due()  # ... and that read fails: nothing changes
    clock.now += 0.375
    assert recent.current() is None and not recent.due()  # expired: the next request reads it itself
    assert recent.get(lambda: "v2") == "v2"
    clock.now += 0.125
    assert recent.due()


def test_a_key_is_due_for_a_lookup_ahead_once_past_half_its_bound() -> None:
    store, clock = _Counting(), _Clock()
    cached = CachedKeyLookup(store, ttl=2.0, clock=clock)
    key, secret = store.create("landelijk", "x")
    assert not cached.due(secret)  # not remembered: the request asks itself
    cached.lookup(secret)
    clock.now += 0.5
    assert not cached.due(secret)  # young
    clock.now += 0.5
    assert cached.due(secret) and not cached.due(secret)  # once: the lookup ahead is under way
    cached.lookup_ahead(secret)
    assert store.asked == 2 and not cached.due(secret)  # its bound starts again
    clock.now += 1.5
    assert cached.remembered(secret) == key  # 2.5 s after the first lookup, 1.5 s after the one ahead


def test_a_lookup_ahead_forgets_a_revoked_key_at_once() -> None:
    store, clock = _Counting(), _Clock()
    cached = CachedKeyLookup(store, ttl=2.0, clock=clock)
    key, secret = store.create("landelijk", "x")
    cached.lookup(secret)
    store.revoke(key.key_id)
    clock.now += 1.0
    assert cached.due(secret)
    cached.lookup_ahead(secret)
    assert cached.remembered(secret) is None and cached.lookup(secret) is None  # before the bound


def test_requests_on_the_event_loop_that_find_the_version_expired_await_one_read() -> None:
    recent, reads = RecentDataVersion(max_age=0.2), []

    def refresh() -> None:  # as answers.memory_answers: get() in a worker thread
        recent.get(lambda: (reads.append(1), time.sleep(0.05), "v1")[-1])  # type: ignore[func-returns-value]

    async def requests() -> list[str | None]:
        return await asyncio.gather(*(recent.on_loop(refresh) for _ in range(20)))

    assert asyncio.run(requests()) == ["v1"] * 20 and len(reads) == 1 and recent.reads == 1
    assert asyncio.run(requests()) == ["v1"] * 20 and len(reads) == 1  # within the bound: no read


def test_a_request_on_the_event_loop_does_not_use_a_read_sent_before_its_bound() -> None:
    clock, started, release = _Clock(), threading.Event(), threading.Event()
    recent, versions = RecentDataVersion(max_age=0.2, clock=clock), iter(["old", "new"])

    def read() -> str:
        version = next(versions)
        if version == "old":
            started.set()
            release.wait(5)
        return version

    async def requests() -> tuple[str | None, str | None]:
        first = asyncio.create_task(recent.on_loop(lambda: recent.read_ahead(read)))  # sent at 100.0
        while not started.is_set():
            await asyncio.sleep(0.01)
        clock.now += 0.3  # the next request starts after 100.0 + max_age
        late = asyncio.create_task(recent.on_loop(lambda: recent.read_ahead(read)))
        await asyncio.sleep(0.05)
        release.set()
        return await first, await late

    first, late = asyncio.run(requests())
    assert first in ("old", "new") and late == "new" and recent.reads == 2


def test_a_version_bound_of_zero_gives_the_event_loop_no_version_read_at_its_start() -> None:
    recent = RecentDataVersion(max_age=0.0, clock=_Clock())  # a clock that stands still: no read is after the start
    assert asyncio.run(recent.on_loop(lambda: recent.read_ahead(lambda: "v1"))) is None
    assert recent.reads == 2  # it tried twice and gave up (the declared route reads for itself)
