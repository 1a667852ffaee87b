"""Per-client token buckets of the public endpoints; an empty bucket is 429 problem+json with ``Retry-After``
(whole seconds).

Two buckets per client: ``verificatie`` (``/verificatie/{id}`` and ``/v1/verklaringen/{id}/verificatie`` share it:
``BURST`` at once, refilled at ``PER_SECOND``) and ``sleutels`` (the public key set and the status lists, which a
verifier fetches more often: ``SLEUTELS_BURST`` / ``SLEUTELS_PER_SECOND``).

A client is its IP address; an IPv6 client is its /64 (one subscriber gets a whole /64 and could otherwise take a
fresh bucket per address). Memory is bounded: at most ``MAX_CLIENTS`` buckets per kind, the least recently seen
forgotten first in O(1) (an LRU: the forgotten client is the one whose bucket had the longest to refill).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from registry.api.problems import ProblemError

BURST = 30  # requests a client may make at once
PER_SECOND = 0.5  # sustained: one page every 2 seconds per client IP
SLEUTELS_BURST = 60  # key set and status lists: a verifier checking a batch of credentials
SLEUTELS_PER_SECOND = 2.0
MAX_CLIENTS = 10_000  # buckets kept per kind (about 1 MB)
LIMITS = {"verificatie": (BURST, PER_SECOND), "sleutels": (SLEUTELS_BURST, SLEUTELS_PER_SECOND)}
WHAT = {"verificatie": "verification", "sleutels": "key set or status list"}


@dataclass
class TokenBucket:
    """Per-key token buckets in this process (one API worker = one set of buckets), at most ``max_keys``."""

    burst: float
    per_second: float
    clock: Callable[[], float] = time.monotonic
    max_keys: int = MAX_CLIENTS
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)  # key -> (tokens, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> float:
        """0.0 when a token was taken, else the seconds until one is available."""
        with self._lock:
            now = float(self.clock())
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.per_second)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.per_second
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            self._buckets.move_to_end(key)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)  # the least recently seen client: O(1)
            return wait

    def __len__(self) -> int:
        return len(self._buckets)


def client_key(host: str) -> str:
    """The bucket of a client address: IPv4 as is, IPv6 by its /64 (an IPv4-mapped IPv6 address as IPv4);
    anything else (a test client's name) as given."""
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


def limiter(request: Request, kind: str = "verificatie") -> TokenBucket:
    """The app's bucket set of ``kind`` (``LIMITS``), made on first use."""
    state = request.app.state
    if not hasattr(state, "limiters"):
        state.limiters = {}
    buckets: dict[str, TokenBucket] = state.limiters
    if kind not in buckets:
        buckets[kind] = TokenBucket(*LIMITS[kind])
    return buckets[kind]


def check(request: Request, kind: str = "verificatie") -> None:
    """Take a token of ``kind`` for the request's client; 429 with ``Retry-After`` when its bucket is empty."""
    wait = limiter(request, kind).take(client_key(request.client.host if request.client else "-"))
    if wait > 0:
        raise ProblemError(
            429,
            "too-many-requests",
            f"too many {WHAT[kind]} requests from this address",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
