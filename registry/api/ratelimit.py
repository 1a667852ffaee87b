"""The per-client-IP token bucket of the public verification endpoints (``/verificatie/{id}`` and
``/v1/verklaringen/{id}/verificatie`` share one bucket per IP): ``BURST`` requests at once, refilled at
``PER_SECOND``; an empty bucket is 429 problem+json with ``Retry-After`` (whole seconds)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from registry.api.problems import ProblemError

BURST = 30  # requests a client may make at once
PER_SECOND = 0.5  # sustained: one page every 2 seconds per client IP


@dataclass
class TokenBucket:
    """Per-key token buckets in this process (one API worker = one set of buckets)."""

    burst: float
    per_second: float
    clock: Any = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> float:
        """0.0 when a token was taken, else the seconds until one is available."""
        with self._lock:
            now = float(self.clock())
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 10_000:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.per_second

    def _prune(self, now: float) -> None:  # forget clients whose bucket has refilled
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.per_second >= self.burst]
        for k in full:
            del self._buckets[k]


def limiter(request: Request) -> TokenBucket:
    state = request.app.state
    if not hasattr(state, "verificatie_limiter"):
        state.verificatie_limiter = TokenBucket(BURST, PER_SECOND)
    bucket: TokenBucket = state.verificatie_limiter
    return bucket


def check(request: Request) -> None:
    """Take a token for the request's client IP; 429 with ``Retry-After`` when its bucket is empty."""
    wait = limiter(request).take(request.client.host if request.client else "-")
    if wait > 0:
        raise ProblemError(
            429,
            "too-many-requests",
            "too many verification requests from this address",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
