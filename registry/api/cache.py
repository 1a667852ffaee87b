"""Key lookups remembered for a few seconds, so a request for a cached answer costs no key query.

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

    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        digest = hash_key(key)  # the secret itself is not kept as a dictionary key
        now = self.clock()
        with self._lock:
            hit = self._found.get(digest)
        if hit is not None and now < hit[0]:
            return hit[1]
        found = self.inner.lookup(key, conn)
        with self._lock:
            if found is None:
                self._found.pop(digest, None)
            else:
                if len(self._found) >= MAX_KEYS:
                    self._found.clear()
                self._found[digest] = (now + self.ttl, found)
        return found
