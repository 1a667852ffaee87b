"""registry/api/cache.py: an active key is remembered for ttl seconds at most; unknown keys are never remembered."""
from __future__ import annotations

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
