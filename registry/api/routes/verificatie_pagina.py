"""GET /verificatie/{verklaring_id}: the public verification page (HTML, no key, rate-limited per client IP).

What the QR code on a printed verklaring opens. Accepts the verklaring id or the printed short code
(``PV-XXXX-XXXX-XXXX``). Shows valid / ingetrokken (with date), instelling, kwalificatie, werkprocessen,
leerbedrijf and issue date - the same facts as the JSON ``/v1/verklaringen/{id}/verificatie``, never personal
data. Each client IP has a token bucket (``BURST`` requests, refilled at ``PER_SECOND``); an empty bucket is
429 with ``Retry-After``.
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from registry.api.deps import Conn, Queries
from registry.api.problems import ProblemError
from registry.api.readmodels import strip_personal
from registry.api.web.templating import templates
from registry.domein.verklaring_document import datum_nl, id_prefix, korte_code

BURST = 30  # requests a client may make at once
PER_SECOND = 0.5  # sustained: one page every 2 seconds per client IP

router = APIRouter(tags=["verificatie"])


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


def _pagina(request: Request, status: int, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, "verificatie.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/verificatie/{verklaring_id}", response_class=HTMLResponse, include_in_schema=True,
            summary="Public verification page of a praktijkverklaring (HTML, rate-limited)")
def verificatie_pagina(verklaring_id: str, request: Request, rm: Queries, conn: Conn) -> HTMLResponse:
    """HTML for people: geldig or ingetrokken (with date), instelling, kwalificatie, werkprocessen, leerbedrijf,
    issue date; no personal data. Also accepts the short code printed under the QR code. Unknown: 404 page;
    too many requests from one IP: 429 with Retry-After."""
    wait = limiter(request).take(request.client.host if request.client else "-")
    if wait > 0:
        raise ProblemError(429, "too-many-requests", "too many verification requests from this address",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})
    gezocht = verklaring_id.strip()
    prefix = id_prefix(gezocht)
    if prefix is not None:
        ids = rm.verklaringen_met_prefix(conn, prefix)
        if len(ids) > 1:
            return _pagina(request, 409, gezocht=gezocht, fout="Deze code past bij meer dan één verklaring. "
                                                                "Gebruik het volledige verklaringnummer.")
        gezocht = ids[0] if ids else gezocht
    found = rm.verificatie(conn, gezocht)
    if found is None:
        return _pagina(request, 404, gezocht=verklaring_id, fout="Er is geen praktijkverklaring met dit nummer of "
                                                                 "deze code in het Praktijkregister.")
    v = strip_personal(found)
    try:
        code: str | None = korte_code(v["verklaring_id"])
    except ValueError:  # an id without 12 hex digits has no short code
        code = None
    return _pagina(request, 200, v=v, code=code, datum=datum_nl, gezocht=verklaring_id)
