"""The signed status lists and the public key set of this API process, reused rather than signed or read per
request.

A partition's list is signed again only when what it says changes (another set of revoked offsets, or a longer
list) or when a quarter of its validity (``PRAKTIJK_STATUS_LIST_VALIDITY``) is gone: a verifier that fetched it
just before it is replaced still has three quarters of the validity left, and a public endpoint costs one read
of the revoked offsets, not a signature and a key-file read, per request.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry.infra.ondertekening import Ondertekenaar, SleutelFout

KEYSET_SECONDS = 60.0  # the published key set is read from the key file at most this often (a rotation shows after it)
MAX_LISTS = 1024  # partitions remembered per process (the path allows 0..10,000: the bound keeps memory fixed)


@dataclass(frozen=True)
class GetekendeLijst:
    token: str
    gezet: frozenset[int]
    bits: int
    getekend_om: float  # wall-clock seconds: validFrom of the list


class StatuslijstCache:
    """The last signed list per partition, at most ``MAX_LISTS`` (least recently asked forgotten first)."""

    def __init__(
        self, validity: dt.timedelta, clock: Callable[[], float] = time.time, max_lists: int = MAX_LISTS
    ) -> None:
        self.validity = validity
        self.clock = clock
        self.max_lists = max_lists
        self.signed = 0  # how many lists were signed (tests, and a hint when reading a profile)
        self._lists: OrderedDict[int, GetekendeLijst] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, partitie: int, gezet: frozenset[int], bits: int, sign: Callable[[dt.datetime, dt.datetime], str]
    ) -> str:
        """The list of ``partitie`` with these revoked offsets and length: the remembered one while it still says
        the same and is less than a quarter of its validity old, else ``sign(valid_from, valid_until)``."""
        now = self.clock()
        with self._lock:
            found = self._lists.get(partitie)
            if found is not None and self._reusable(found, gezet, bits, now):
                self._lists.move_to_end(partitie)
                return found.token
        # signing outside the lock: one slow signature does not hold up the other partitions
        valid_from = dt.datetime.fromtimestamp(int(now), dt.UTC)
        token = sign(valid_from, valid_from + self.validity)
        with self._lock:
            self.signed += 1
            self._lists[partitie] = GetekendeLijst(token, gezet, bits, float(int(now)))
            self._lists.move_to_end(partitie)
            while len(self._lists) > self.max_lists:
                self._lists.popitem(last=False)
        return token

    def _reusable(self, found: GetekendeLijst, gezet: frozenset[int], bits: int, now: float) -> bool:
        fresh = now - found.getekend_om < self.validity.total_seconds() / 4
        return fresh and found.gezet == gezet and found.bits == bits


def cache_of(state: Any, validity: dt.timedelta) -> StatuslijstCache:
    """The app's cache (``app.state``), made on first use."""
    if not hasattr(state, "statuslijsten"):
        state.statuslijsten = StatuslijstCache(validity)
    cache: StatuslijstCache = state.statuslijsten
    return cache


def key_set(
    state: Any,
    ondertekenaar: Callable[[], Ondertekenaar],
    problem: Callable[[SleutelFout], Exception],
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """The public JWK set, read from the signing key file at most every ``KEYSET_SECONDS`` (a missing key file is
    not remembered: ``problem(exc)`` is raised every time until it is there)."""
    now = clock()
    cached: tuple[float, dict[str, Any]] | None = getattr(state, "key_set", None)
    if cached is not None and now - cached[0] < KEYSET_SECONDS:
        return cached[1]
    try:
        jwks = ondertekenaar().jwks()
    except SleutelFout as exc:
        raise problem(exc) from None
    state.key_set = (now, jwks)
    return jwks
