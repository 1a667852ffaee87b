"""GET /verificatie/{verklaring_id}: the public verification page (HTML, no key, rate-limited per client IP).

What the QR code on a printed verklaring opens. Accepts the verklaring id or the printed short code
(``PV-XXXX-XXXX-XXXX``). Shows valid / ingetrokken (with date), instelling, kwalificatie, werkprocessen,
leerbedrijf and issue date - the same facts as the JSON ``/v1/verklaringen/{id}/verificatie``, never personal
data. Each client IP has a token bucket (``BURST`` requests, refilled at ``PER_SECOND``); an empty bucket is
429 with ``Retry-After``.
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from registry.api.deps import Conn, Queries
from registry.api.params import VerklaringOfCode, geldig_id_of_code
from registry.api.problems import problem_responses
from registry.api.ratelimit import BURST, PER_SECOND, TokenBucket, check, limiter  # noqa: F401 (re-exported)
from registry.api.readmodels import strip_personal
from registry.api.web.templating import templates
from registry.domein.verklaring_document import datum_nl, id_prefix, korte_code

router = APIRouter(tags=["verificatie"])


def _pagina(request: Request, status: int, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, "verificatie.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get(
    "/verificatie/{verklaring_id}",
    response_class=HTMLResponse,
    include_in_schema=True,
    responses={
        **problem_responses(429),
        **{
            s: {"description": d, "content": {"text/html": {}}}
            for s, d in (
                (404, "No verklaring with this id or code, or not an id or code (HTML page)"),
                (409, "The short code matches more than one verklaring (HTML page)"),
            )
        },
    },
    summary="Public verification page of a praktijkverklaring (HTML, rate-limited)",
)
def verificatie_pagina(verklaring_id: VerklaringOfCode, request: Request, rm: Queries, conn: Conn) -> HTMLResponse:
    """HTML for people: geldig or ingetrokken (with date), instelling, kwalificatie, werkprocessen, leerbedrijf,
    issue date; no personal data. Also accepts the short code printed under the QR code. Unknown: 404 page;
    too many requests from one IP: 429 with Retry-After."""
    check(request)
    if not geldig_id_of_code(verklaring_id):  # never looked up: not an id or code (the page does not echo it)
        return _pagina(
            request, 404, gezocht="", fout="Dit is geen verklaringnummer en geen code van de vorm PV-XXXX-XXXX-XXXX."
        )
    gezocht = verklaring_id.strip()
    prefix = id_prefix(gezocht)
    if prefix is not None:
        ids = rm.verklaringen_met_prefix(conn, prefix)
        if len(ids) > 1:
            return _pagina(
                request,
                409,
                gezocht=gezocht,
                fout="Deze code past bij meer dan één verklaring. Gebruik het volledige verklaringnummer.",
            )
        gezocht = ids[0] if ids else gezocht
    found = rm.verificatie(conn, gezocht)
    if found is None:
        return _pagina(
            request,
            404,
            gezocht=verklaring_id,
            fout="Er is geen praktijkverklaring met dit nummer of deze code in het Praktijkregister.",
        )
    v = strip_personal(found)
    try:
        code: str | None = korte_code(v["verklaring_id"])
    except ValueError:  # an id without 12 hex digits has no short code
        code = None
    return _pagina(request, 200, v=v, code=code, datum=datum_nl, gezocht=verklaring_id)
