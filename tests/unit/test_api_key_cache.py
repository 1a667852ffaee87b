"""registry/api/cache.py: an active key is remembered for ttl seconds at most; unknown keys are never remembered."""
from __future__ import annotations

from sqlalchemy import Connection

from registry.api.auth import ApiKey, MemoryKeyStore
from registry.api.cache import CachedKeyLookup


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
