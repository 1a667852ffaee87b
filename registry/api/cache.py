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

import asyncio
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection

from registry.api.auth import ApiKey, KeyLookup, hash_key

DEFAULT_KEY_TTL_SECONDS = 2.0
DEFAULT_DATA_VERSION_SECONDS = 0.2
MAX_KEYS = 10_000
READ_AHEAD_AT = 0.25  # of the data version's bound (RecentDataVersion.due)


class CachedKeyLookup:
    """A ``KeyLookup`` in front of another one (the ``api_keys`` table), remembering active keys ``ttl`` seconds."""

    def __init__(
        self, inner: KeyLookup, ttl: float = DEFAULT_KEY_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = inner
        self.ttl = ttl
        self.clock = clock
        self._found: dict[str, tuple[float, ApiKey]] = {}  # SHA-256 of the key -> (valid until, key)
        self._asking: dict[str, threading.Lock] = {}  # SHA-256 of the key -> held while its table lookup runs
        self._ahead: dict[str, float] = {}  # SHA-256 of the key -> when a lookup ahead of its bound was started
        self._lock = threading.Lock()

    def remembered(self, key: str) -> ApiKey | None:
        """The key when it was found active less than ``ttl`` seconds ago, else None (no I/O)."""
        return self._remembered(hash_key(key))  # the secret itself is not kept as a dictionary key

    def _remembered(self, digest: str) -> ApiKey | None:
        with self._lock:
            hit = self._found.get(digest)
        return hit[1] if hit is not None and self.clock() < hit[0] else None

    def due(self, key: str) -> bool:
        """True when ``key`` is remembered but past half its bound and no lookup ahead of it started within the bound:
        the caller then asks the table again in the background (``lookup_ahead``), so that under steady load no
        request finds the key expired and waits for the table (every ``ttl``). No I/O."""
        digest, now = hash_key(key), self.clock()
        with self._lock:
            hit = self._found.get(digest)
            if hit is None or now < hit[0] - self.ttl / 2 or now < self._ahead.get(digest, float("-inf")) + self.ttl:
                return False
            self._ahead[digest] = now
            return True

    def lookup_ahead(self, key: str, conn: Connection | None = None) -> None:
        """Ask the table now, however young the remembered answer (after ``due``; in a thread of its own). A revoked
        key is forgotten at once."""
        digest = hash_key(key)
        with self._lock:
            asking = self._asking.setdefault(digest, threading.Lock())
        with asking:
            self._ask(key, digest, conn)

    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        digest = hash_key(key)
        hit = self._remembered(digest)
        if hit is not None:
            return hit
        with self._lock:
            asking = self._asking.setdefault(digest, threading.Lock())
        try:
            # one lookup per key at a time: the requests that find a busy key expired together ask the table once,
            # the others use its answer (under load each used to send its own query)
            with asking:
                return self._remembered(digest) or self._ask(key, digest, conn)
        finally:
            with self._lock:
                if not asking.locked() and self._asking.get(digest) is asking:
                    del self._asking[digest]

    def _ask(self, key: str, digest: str, conn: Connection | None) -> ApiKey | None:
        # the bound starts before the question: the key was active at some moment after ``now``
        now = self.clock()
        found = self.inner.lookup(key, conn)
        with self._lock:
            self._ahead.pop(digest, None)  # asked: the next lookup ahead is due half a bound from now
            if found is None:
                self._found.pop(digest, None)
            else:
                if len(self._found) >= MAX_KEYS:
                    self._found.clear()
                    self._ahead.clear()
                self._found[digest] = (now + self.ttl, found)
        return found


class RecentDataVersion:
    """The read models' data version (``readmodels.data_version``), remembered per worker process and read again
    once it is ``max_age`` seconds old (0: read on every call).

    Bound: an event projected at time t is served by every request that starts after t + ``max_age``; a request
    within that window may still get the answer cached for the previous version. The window starts when the
    version query is *sent*, so a version is never used by a request that starts ``max_age`` after the moment it
    describes.
    An answer computed under a version is at least as new as that version (it is computed after the read)."""

    def __init__(
        self, max_age: float = DEFAULT_DATA_VERSION_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self.clock = clock
        self._version: str | None = None
        self._read_at = float("-inf")  # when the remembered version's query was sent
        self.reads = 0
        self._ahead_at = float("-inf")  # when a read ahead of the bound was started and has not finished
        self._lock = threading.Lock()  # guards the fields above; never held during a read
        self._reading = threading.Lock()  # held while one request reads the version
        # the event loop's read in a worker thread that its requests await (``on_loop``), with its loop
        self._pending: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def _fresh(self, now: float) -> str | None:
        """The remembered version when its query was sent less than ``max_age`` before ``now``, else None."""
        with self._lock:
            return self._version if now < self._read_at + self.max_age else None

    def current(self) -> str | None:
        """The remembered version while it is within the bound, else None: the event loop's check (no I/O)."""
        return self._fresh(self.clock())

    async def on_loop(self, refresh: Callable[[], None]) -> str | None:
        """``get`` for the event loop: the version for a request that starts now, without a worker thread of its
        own. Past the bound, ``refresh`` (which reads the version into this object: ``get`` on a connection of its
        own) runs in one worker thread, and every request of the loop that finds the version expired meanwhile
        awaits that one read. The bound is ``get``'s: a version is used only when its query was sent less than
        ``max_age`` before the request started. None when even a read started after the request did not give one
        (``max_age`` 0)."""
        start = self.clock()
        loop = asyncio.get_running_loop()
        for _ in range(2):  # the read awaited may have been sent before this request's bound; then one more
            version = self._fresh(start)
            if version is not None:
                return version
            pending = self._pending
            if pending is None or pending[0] is not loop or pending[1].done():
                pending = self._pending = (loop, loop.run_in_executor(None, refresh))
            await asyncio.shield(pending[1])  # a request that goes away does not cancel the others' read
        return self._fresh(start)

    def get(self, read: Callable[[], str]) -> str:
        """The remembered version, or ``read()`` (in a worker thread: it may query) when it is ``max_age`` old.
        ``read`` must not wait for anything a waiting caller may hold (check its connection out before calling)."""
        now = self.clock()
        fresh = self._fresh(now)
        if fresh is not None:
            return fresh
        # one read at a time per worker: the requests that find the version expired while another one reads it wait
        # for that read instead of each sending their own (under load: dozens of queries and pool checkouts per
        # expiry). A version whose query was sent after ``now - max_age`` is within this request's bound.
        with self._reading:
            fresh = self._fresh(now)
            return fresh if fresh is not None else self._read(read)

    def due(self) -> bool:
        """True when the remembered version is past a quarter of its bound and no read ahead started within the
        bound: the caller then reads it again in the background (``read_ahead``), so that under steady load no
        request finds the version expired and waits for a read (every ``max_age``). No I/O.

        A quarter, not half: under load a read in a worker thread took 10-20 ms, and more than half the 0.2 s bound
        (the thread waits for the GIL, PostgreSQL for a core) often enough that ~1% of the requests waited for it."""
        now = self.clock()
        with self._lock:
            ahead_from = self._read_at + self.max_age * READ_AHEAD_AT
            if self._version is None or now < ahead_from or now < self._ahead_at + self.max_age:
                return False
            self._ahead_at = now
            return True

    def read_ahead(self, read: Callable[[], str]) -> None:
        """Read the version now, however young (after ``due``, in a thread of its own; ``read`` as for ``get``)."""
        with self._reading:
            self._read(read)

    def _read(self, read: Callable[[], str]) -> str:
        sent = self.clock()
        version = read()
        with self._lock:
            self.reads += 1
            self._version, self._read_at = version, sent
            self._ahead_at = float("-inf")  # read: the next one is due a quarter of a bound from now
        return version
