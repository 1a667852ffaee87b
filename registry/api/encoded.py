"""Cached answers as pre-encoded bytes with an ``ETag``: the body of an answer is encoded once per data version and
kept (``EncodedCache``), and a request whose ``If-None-Match`` names the answer's tag gets 304 without the body.

The tag is a hash of the caller's scope and the body bytes the caller would get (``etag_of``), so it differs per
scope and per answer: a tag says nothing a caller cannot read in its own answer, and a tag seen under one scope
never matches under another. A 304 is only ever built from an answer the endpoint already computed for this caller,
after every key and scope check (``respond``), so it tells a caller nothing it may not read.

Kept answers are keyed by the request's arguments and the caller's scope, and valid for the one data version the
answer's rows were read under (``answers.CachedAnswers.version``): the use case is a function of those, so the
bytes kept are the bytes it would encode again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from starlette.responses import Response

from registry.api.readmodels import DEFAULT_CACHE_BYTES

# the answer is the caller's own (keyed by Authorization) and must be revalidated before each use: a shared cache
# never keeps it, a browser or client may keep it and ask again with If-None-Match
CACHE_CONTROL = "private, no-cache"
VARY = "Authorization"


@dataclass(frozen=True)
class Encoded:
    """An answer's bytes, media type, own headers and tag."""

    body: bytes
    media_type: str
    etag: str
    headers: Mapping[str, str] = field(default_factory=dict)


def etag_of(scope: str, body: bytes) -> str:
    """A strong tag of ``body`` as served under ``scope``: different scopes, different tags, even for equal bytes."""
    digest = hashlib.blake2b(scope.encode() + b"\0" + body, digest_size=16, person=b"praktijk-etag").hexdigest()
    return f'"{digest}"'


def encoded(scope: str, body: bytes, media_type: str, headers: Mapping[str, str] | None = None) -> Encoded:
    return Encoded(body, media_type, etag_of(scope, body), dict(headers or {}))


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (RFC 9110 13.1.2: weak comparison, ``*`` matches any)."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def respond(answer: Encoded, if_none_match: str | None) -> Response:
    """200 with the bytes, or 304 (no body) when the caller already holds this very answer."""
    headers = {**answer.headers, "ETag": answer.etag, "Cache-Control": CACHE_CONTROL, "Vary": VARY}
    if matches(if_none_match, answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type=answer.media_type, headers=headers)


class EncodedCache:
    """Encoded answers by request, each valid for one data version; least recently used dropped beyond
    ``max_bytes`` of bodies (0: keep nothing)."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[str, Encoded]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def get_or_encode(self, key: Hashable, version: str | None, encode: Callable[[], Encoded]) -> Encoded:
        """The answer kept for ``key`` under ``version``, else ``encode()`` (kept when ``version`` is known)."""
        if version is None or self.max_bytes <= 0:
            return encode()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self._entries.move_to_end(key)
                return hit[1]
        answer = encode()
        self._put(key, version, answer)
        return answer

    def _put(self, key: Hashable, version: str, answer: Encoded) -> None:
        cost = len(answer.body) + 64
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= len(old[1].body) + 64
            if cost > self.max_bytes // 8:  # as readmodels.AnswerCache: one huge answer cannot empty the cache
                return
            self._entries[key] = (version, answer)
            self.bytes += cost
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= len(dropped.body) + 64

    def __len__(self) -> int:
        return len(self._entries)
