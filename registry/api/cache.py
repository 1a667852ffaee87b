"""Per-worker memory that spares a cached answer its database round trips: key lookups remembered for a few
seconds (``CachedKeyLookup``) and the read models' data version re-read at most every fraction of a second
(``RecentDataVersion``).

The answers themselves are cached in ``readmodels.AnswerCache`` (keyed by the request AND the read models' position,
so never stale). A key is different: only its revocation changes it, and a revocation may take effect a bounded time
later. ``CachedKeyLookup`` remembers a FOUND (active) key for at most ``ttl`` seconds per worker process, so a revoked
key is refused at most ``ttl`` seconds after ``apikey revoke`` (default 2 s). An unknown or revoked key is never
remembered: a new key works at once, and a wrong one is always asked of the table.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from sqlalchemy import Connection

from registry.api.auth import ApiKey, KeyLookup, hash_key

DEFAULT_KEY_TTL_SECONDS = 2.0
DEFAULT_DATA_VERSION_SECONDS = 0.2
MAX_KEYS = 10_000


class CachedKeyLookup:
    """A ``KeyLookup`` in front of another one (the ``api_keys`` table), remembering active keys ``ttl`` seconds."""

    def __init__(self, inner: KeyLookup, ttl: float = DEFAULT_KEY_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.ttl = ttl
        self.clock = clock
        self._found: dict[str, tuple[float, ApiKey]] = {}  # SHA-256 of the key -> (valid until, key)
        self._lock = threading.Lock()

    def remembered(self, key: str) -> ApiKey | None:
        """The key when it was found active less than ``ttl`` seconds ago, else None (no I/O)."""
        digest = hash_key(key)  # the secret itself is not kept as a dictionary key
        with self._lock:
            hit = self._found.get(digest)
        return hit[1] if hit is not None and self.clock() < hit[0] else None

    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        hit = self.remembered(key)
        if hit is not None:
            return hit
        digest, now = hash_key(key), self.clock()
        found = self.inner.lookup(key, conn)
        with self._lock:
            if found is None:
                self._found.pop(digest, None)
            else:
                if len(self._found) >= MAX_KEYS:
                    self._found.clear()
                self._found[digest] = (now + self.ttl, found)
        return found


class RecentDataVersion:
    """The read models' data version (``readmodels.data_version``), remembered per worker process and read again
    once it is ``max_age`` seconds old (0: read on every call).

    Bound: an event projected at time t is served by every request that starts after t + ``max_age``; a request
    within that window may still get the answer cached for the previous version. The window starts when the
    version query is *sent*, so a version is never used longer than ``max_age`` after the moment it describes.
    An answer computed under a version is at least as new as that version (it is computed after the read)."""

    def __init__(self, max_age: float = DEFAULT_DATA_VERSION_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._version: str | None = None
        self._read_at = float("-inf")  # when the remembered version's query was sent
        self.reads = 0
        self._lock = threading.Lock()

    def get(self, read: Callable[[], str]) -> str:
        now = self.clock()
        with self._lock:
            if self._version is not None and now < self._read_at + self.max_age:
                return self._version
        # read outside the lock: a request never waits (holding its connection) behind another one's read; when
        # the version expires, the few requests that arrive during one read each send their own
        version = read()
        with self._lock:
            self.reads += 1
            if now >= self._read_at:  # keep the newest read
                self._version, self._read_at = version, now
        return version
