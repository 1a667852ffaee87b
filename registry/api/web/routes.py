"""The Praktijkloket pages under ``/`` (HTML, server-rendered, no JavaScript needed) and the API docs pages.

| page | what |
|---|---|
| ``GET /?peildatum=`` | headline numbers, their course over time (SVG line chart), links to everything |
| ``GET /overzichten/{naam}?peildatum=`` | one overzicht: table + SVG bar chart |
| ``GET /overzichten/{naam}/tabel.csv`` / ``grafiek.svg`` | downloads (the CSV is the API's) |
| ``GET /verloop.csv`` / ``/verloop.svg`` | downloads of the overview chart |
| ``GET /regios?peildatum=`` | a table per arbeidsmarktregio |
| ``GET /reconciliatie?peildatum=`` | the reconciliation (keys with scope landelijk, regio, instelling) |
| ``GET /doorstroom?cohort=&peildatum=`` | the doorstroom of a cohort: funnel chart + tables (landelijk keys) |
| ``GET /doorstroom.csv`` / ``/doorstroom.svg`` | its downloads (the CSV is the API's) |
| ``POST /sleutel`` / ``POST /sleutel/wissen`` | store the API key in a cookie (HttpOnly, SameSite=Strict) / forget it; only from this site's own page with its CSRF token, form at most 4 KiB (``formulier.py``) |
| ``GET /docs``, ``GET /redoc`` | Swagger UI and ReDoc, every asset served from ``/static`` |

A visitor without a key sees the ``publiek`` scope; a stored key shows that key's scope. Every number comes from
the same use cases as the API's (``registry.diensten``), called with the visitor's key, so the pages equal the API.
The texts are Dutch (the overzichten's descriptions: ``teksten``).
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from registry.api.answers import Answers, CachedAnswers
from registry.api.auth import ApiKey, opens
from registry.api.context import ApiContext
from registry.api.csv_uitvoer import to_csv
from registry.api.deps import Conn, Context, OptionalConn, Queries
from registry.api.params import EERSTE_DATUM, LAATSTE_DATUM, cohort_param, in_range
from registry.api.peildata import latest_published
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.schemas import ReconciliatieResponse
from registry.api.web import data, svg, teksten
from registry.api.web.formulier import FormulierFout, checked_form, secure
from registry.api.web.templating import templates
from registry.diensten import doorstroom as doorstroom_dienst
from registry.diensten import overzichten
from registry.diensten import reconciliatie as reconciliatie_dienst
from registry.diensten.doorstroom import DoorstroomAntwoord
from registry.diensten.onthulling import csv_kop
from registry.domein.doorstroom import csv_rijen
from registry.domein.reconciliatie import CATEGORIEEN

COOKIE = "praktijk_sleutel"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Bezoeker:
    principal: ApiKey
    ingelogd: bool
    melding: str | None = None  # a stored key that no longer works
    wis_cookie: bool = False
    context: ApiContext | None = None  # the app's context (settings: which peildata publiek may see)


def bezoeker(request: Request, conn: OptionalConn, context: Context) -> Bezoeker:
    """The visitor's key from the cookie (checked against the key store on every request), else publiek."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return Bezoeker(data.ANONIEM, False, context=context)
    found = context.keys.lookup(raw, conn)
    if found is None or not opens(found.scope, request.url.path):  # an operations key opens no page
        return Bezoeker(
            data.ANONIEM,
            False,
            "De opgeslagen sleutel is onbekend of ingetrokken: u ziet de publieke cijfers.",
            wis_cookie=True,
            context=context,
        )
    return Bezoeker(found, True, context=context)


Visitor = Annotated[Bezoeker, Depends(bezoeker)]


def _regel(visitor: Bezoeker | None) -> str:
    """Which peildata publiek may see (PRAKTIJK_PUBLIC_PEILDATA)."""
    return (
        visitor.context.settings.public_peildata
        if visitor is not None and visitor.context is not None
        else "maandeinde"
    )


def _rijen(visitor: Bezoeker, rm: ReadQueries, answers: CachedAnswers, naam: str, peildatum: date) -> data.Rows:
    """The rows exactly as ``GET /v1/overzichten/{naam}?peildatum=`` answers them for the visitor's key."""
    return overzichten.overzicht(rm, answers, visitor.principal, naam, peildatum, publieke_peildata=_regel(visitor))


def _peildatum(raw: str | None, visitor: Bezoeker | None = None) -> date:
    """The page's peildatum; for publiek only a published one (as the API: 400 with the nearest), default the
    latest published."""
    publiek = visitor is not None and visitor.principal.scope.kind == "publiek"
    regel = _regel(visitor)
    if raw is None or not raw.strip():
        return latest_published(regel, date.today()) if publiek else date.today()
    try:
        d = in_range(date.fromisoformat(raw.strip()))
    except ValueError:  # never echo the input: it is shown on the page
        raise ProblemError(
            400,
            "invalid-parameter",
            f"de peildatum is geen datum (JJJJ-MM-DD) van {EERSTE_DATUM.year} tot en met {LAATSTE_DATUM.year}",
            parameter="peildatum",
        ) from None
    if publiek:
        try:
            overzichten.check_published(d, regel)
        except ProblemError as exc:  # the same refusal as the API's, in Dutch
            detail = teksten.niet_gepubliceerd(regel, exc.extra["valid_values"])
            raise ProblemError(400, "invalid-parameter", detail, parameter="peildatum") from None
    return d


def _kop(visitor: Bezoeker) -> str:
    """A download's first line when its numbers are perturbed (publiek, regio), as the API's CSV."""
    return csv_kop() if overzichten.beschermd(visitor.principal) else ""


def _render(request: Request, visitor: Bezoeker, name: str, status: int = 200, **context: Any) -> Response:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    resp = templates.TemplateResponse(
        request,
        name,
        {
            "bezoeker": visitor,
            "scope": str(visitor.principal.scope),
            # publiek and regio numbers are perturbed by the cell key method: every page says so
            "verstoord": overzichten.beschermd(visitor.principal),
            "terug": path,
            "overzichten": context.pop("catalogus", None),
            **context,
        },
        status_code=status,
    )
    if visitor.wis_cookie:
        public_url = visitor.context.settings.public_url if visitor.context is not None else ""
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure(request, public_url))
    return resp


def _fout(request: Request, visitor: Bezoeker, exc: ProblemError, **context: Any) -> Response:
    return _render(request, visitor, "fout.html", exc.status, fout=exc.detail, **context)


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/", response_class=HTMLResponse)
def overzicht_pagina(
    request: Request, visitor: Visitor, rm: Queries, answers: Answers, peildatum: str | None = None
) -> Response:
    try:
        d = _peildatum(peildatum, visitor)
        kern = overzichten.kerncijfers(rm, answers, visitor.principal, d)
        verloop = overzichten.verloop(rm, answers, visitor.principal, d)
    except ProblemError as exc:
        return _fout(request, visitor, exc, peildatum=peildatum or "")
    series = data.reeksen(verloop)
    grafiek = svg.line_chart(verloop.peildata, series, title=f"Verloop tot {d.isoformat()} (einde van elke maand)")
    return _render(
        request,
        visitor,
        "index.html",
        peildatum=d.isoformat(),
        kern=kern,
        grafiek=grafiek,
        catalogus=teksten.catalogus(list(rm.OVERZICHTEN)),
        verloop=[(dt, [s.waarden[i] for s in series]) for i, dt in enumerate(verloop.peildata)],
        reeksen=[s.naam for s in series],
    )


def _verloop(
    visitor: Bezoeker, rm: ReadQueries, answers: CachedAnswers, peildatum: str | None
) -> tuple[date, overzichten.Verloop]:
    d = _peildatum(peildatum, visitor)
    return d, overzichten.verloop(rm, answers, visitor.principal, d)


@router.get("/verloop.csv")
def verloop_csv(
    request: Request, visitor: Visitor, rm: Queries, answers: Answers, peildatum: str | None = None
) -> Response:
    try:
        d, verloop = _verloop(visitor, rm, answers, peildatum)
    except ProblemError as exc:
        return _fout(request, visitor, exc)
    rows = [
        {"peildatum": dt, **{naam.replace(" ", "_"): waarden[i] for naam, waarden in verloop.reeksen.items()}}
        for i, dt in enumerate(verloop.peildata)
    ]
    return _download(_kop(visitor) + to_csv(rows), "text/csv; charset=utf-8", f"verloop_{d.isoformat()}.csv")


@router.get("/verloop.svg")
def verloop_svg(
    request: Request, visitor: Visitor, rm: Queries, answers: Answers, peildatum: str | None = None
) -> Response:
    try:
        d, verloop = _verloop(visitor, rm, answers, peildatum)
    except ProblemError as exc:
        return _fout(request, visitor, exc)
    return _download(
        svg.line_chart(verloop.peildata, data.reeksen(verloop), title=f"Verloop tot {d.isoformat()}"),
        "image/svg+xml",
        f"verloop_{d.isoformat()}.svg",
    )


def _overzicht(
    visitor: Bezoeker, rm: ReadQueries, answers: CachedAnswers, naam: str, peildatum: str | None
) -> tuple[date, data.Rows]:
    overzichten.check_naam(rm, naam, f"er is geen overzicht {naam!r}")
    d = _peildatum(peildatum, visitor)
    return d, _rijen(visitor, rm, answers, naam, d)


def _bar(naam: str, d: date, rows: data.Rows) -> str:
    labels, series = data.grafiekreeksen(rows)
    return svg.bar_chart(labels, series, title=f"{naam} op {d.isoformat()}", ident=f"grafiek-{naam}")


@router.get("/overzichten/{naam}", response_class=HTMLResponse)
def overzicht_tabel(
    request: Request, naam: str, visitor: Visitor, rm: Queries, answers: Answers, peildatum: str | None = None
) -> Response:
    try:
        d, rows = _overzicht(visitor, rm, answers, naam, peildatum)
    except ProblemError as exc:
        return _fout(request, visitor, exc, peildatum=peildatum or "")
    return _render(
        request,
        visitor,
        "overzicht.html",
        naam=naam,
        beschrijving=teksten.beschrijving(naam),
        peildatum=d.isoformat(),
        kolommen=data.kolommen(rows),
        rijen=rows,
        grafiek=_bar(naam, d, rows),
        query=urlencode({"peildatum": d.isoformat()}),
    )


@router.get("/overzichten/{naam}/tabel.csv")
def overzicht_csv(
    request: Request, naam: str, visitor: Visitor, rm: Queries, answers: Answers, peildatum: str | None = None
) -> Response:
    try:
        d, rows = _overzicht(visitor, rm, answers, naam, peildatum)
    except ProblemError as exc:
        return _fout(request, visitor, exc)
    return _download(_kop(visitor) + to_csv(rows), "text/csv; charset=utf-8", f"{naam}_{d.isoformat()}.csv")


@router.get("/overzichten/{naam}/grafiek.svg")
def overzicht_svg(
    request: Request, naam: str, visitor: Visitor, rm: Queries, answers: Answers, peildatum: str | None = None
) -> Response:
    try:
        d, rows = _overzicht(visitor, rm, answers, naam, peildatum)
    except ProblemError as exc:
        return _fout(request, visitor, exc)
    return _download(_bar(naam, d, rows), "image/svg+xml", f"{naam}_{d.isoformat()}.svg")


@router.get("/regios", response_class=HTMLResponse)
def regios(request: Request, visitor: Visitor, rm: Queries, answers: Answers, peildatum: str | None = None) -> Response:
    try:
        d = _peildatum(peildatum, visitor)
        tabellen = data.per_regio(
            _rijen(visitor, rm, answers, "deelnemers-per-pilot", d),
            _rijen(visitor, rm, answers, "verklaringen-per-pilot", d),
        )
    except ProblemError as exc:
        return _fout(request, visitor, exc, peildatum=peildatum or "")
    return _render(request, visitor, "regios.html", peildatum=d.isoformat(), tabellen=tabellen)


@router.get("/reconciliatie", response_class=HTMLResponse)
def reconciliatie(
    request: Request,
    visitor: Visitor,
    rm: Queries,
    conn: Conn,
    answers: Answers,
    context: Context,
    peildatum: str | None = None,
) -> Response:
    d: date | None = None
    try:
        d = _peildatum(peildatum)  # publiek gets 403 below whatever the date
        rijen, _ = reconciliatie_dienst.reconciliatie(
            rm, conn, answers, visitor.principal, d, None, context.settings.reconcile_window_days
        )
    except ProblemError as exc:
        if exc.status == 403:
            return _render(
                request,
                visitor,
                "reconciliatie.html",
                403,
                peildatum=(d or date.today()).isoformat(),
                rijen=None,
                categorieen=CATEGORIEEN,
            )
        return _fout(request, visitor, exc, peildatum=peildatum or "")
    # the rows as the API's JSON shows them (the response model's defaults included)
    rijen = ReconciliatieResponse.model_validate({"peildatum": d, "rijen": rijen}).model_dump(by_alias=True)["rijen"]
    return _render(
        request, visitor, "reconciliatie.html", peildatum=d.isoformat(), rijen=rijen, categorieen=CATEGORIEEN
    )


# --- the doorstroom -----------------------------------------------------------------------------------------------


def _doorstroom(
    visitor: Bezoeker, rm: Any, answers: Any, cohort: str | None, peildatum: str | None
) -> tuple[str, date, DoorstroomAntwoord]:
    d = _peildatum(peildatum, visitor)  # publiek: the latest published month end when none is given
    c = (cohort or "").strip() or str(d.year - 1)
    try:
        parsed = cohort_param(c)
    except ValueError:  # never echo the input: it is shown on the page
        raise ProblemError(
            400,
            "invalid-parameter",
            f"het cohort is JJJJ of JJJJ-Qn (n 1 tot en met 4), een jaar van {EERSTE_DATUM.year} tot en met "
            f"{LAATSTE_DATUM.year}",
        ) from None
    antwoord = doorstroom_dienst.doorstroom(
        rm, answers, visitor.principal, parsed, d, publieke_peildata=_regel(visitor)
    )
    return c, d, antwoord


def _trechter(c: str, d: date, a: DoorstroomAntwoord) -> str:
    labels = [stap for stap, _ in a.uitkomst.stappen]
    reeks = svg.Series("deelnemers", [n for _, n in a.uitkomst.stappen])
    return svg.bar_chart(labels, [reeks], title=f"Doorstroom cohort {c} op {d.isoformat()}", ident="trechter")


@router.get("/doorstroom", response_class=HTMLResponse)
def doorstroom_pagina(
    request: Request,
    visitor: Visitor,
    rm: Queries,
    answers: Answers,
    cohort: str | None = None,
    peildatum: str | None = None,
) -> Response:
    try:
        c, d, a = _doorstroom(visitor, rm, answers, cohort, peildatum)
    except ProblemError as exc:
        if exc.status == 403:
            return _render(request, visitor, "doorstroom.html", 403, peildatum="", cohort="", uitkomst=None)
        return _fout(request, visitor, exc, peildatum=peildatum or "")
    return _render(
        request,
        visitor,
        "doorstroom.html",
        peildatum=d.isoformat(),
        cohort=c,
        uitkomst=a.uitkomst,
        conversie=dict(a.uitkomst.conversie),
        grafiek=_trechter(c, d, a),
        query=urlencode({"cohort": c, "peildatum": d.isoformat()}),
    )


@router.get("/doorstroom.{soort}")
def doorstroom_download(
    request: Request,
    visitor: Visitor,
    rm: Queries,
    answers: Answers,
    soort: Literal["csv", "svg"],
    cohort: str | None = None,
    peildatum: str | None = None,
) -> Response:
    """The doorstroom as CSV (one row per section and key) or as the funnel chart in SVG."""
    try:
        c, d, a = _doorstroom(visitor, rm, answers, cohort, peildatum)
    except ProblemError as exc:
        return _fout(request, visitor, exc)
    naam = f"doorstroom_{c}_{d.isoformat()}.{soort}"
    if soort == "csv":
        body = to_csv(csv_rijen(a.uitkomst), header=["sectie", "sleutel", "waarde"])
        return _download((csv_kop() if a.verstoord else "") + body, "text/csv; charset=utf-8", naam)
    return _download(_trechter(c, d, a), "image/svg+xml", naam)


# --- the key --------------------------------------------------------------------------------------------------


def _safe_path(value: str) -> str:
    """Only a path on this site (no open redirect)."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


def _sleutel_pagina(request: Request, terug: str, melding: str, status: int) -> Response:
    visitor = Bezoeker(data.ANONIEM, False)
    return templates.TemplateResponse(
        request,
        "sleutel.html",
        {"bezoeker": visitor, "scope": "publiek", "terug": terug, "fout": melding},
        status_code=status,
    )


def _waarom_niet(key: str, found: ApiKey | None) -> str | None:
    """Why this key does not log in, or None when it does."""
    if not key:
        return "Vul een API-sleutel in."
    if found is None:
        return "Deze sleutel is onbekend of ingetrokken."
    if not opens(found.scope, "/"):
        return "Deze sleutel is alleen voor monitoring (/metrics en /v1/status) en opent geen pagina's."
    return None


@router.post("/sleutel")
async def sleutel(request: Request, context: Context) -> Response:
    public_url = context.settings.public_url
    try:  # the origin, size and CSRF token before anything else (registry/api/web/formulier.py)
        form = await checked_form(request, public_url)
    except FormulierFout as exc:
        return _sleutel_pagina(request, "/", exc.melding, exc.status)
    terug = _safe_path(form.get("terug", "/"))
    key = form.get("sleutel", "").strip()
    found = None
    if key:
        from starlette.concurrency import run_in_threadpool

        found = await run_in_threadpool(context.keys.lookup, key)  # the key store does database I/O
    melding = _waarom_niet(key, found)
    if melding is not None:
        return _sleutel_pagina(request, terug, melding, 401)
    resp = RedirectResponse(terug, status_code=303)
    resp.set_cookie(COOKIE, key, httponly=True, samesite="strict", secure=secure(request, public_url), path="/")
    return resp


@router.post("/sleutel/wissen")
async def sleutel_wissen(request: Request, context: Context) -> Response:
    public_url = context.settings.public_url
    try:
        form = await checked_form(request, public_url)
    except FormulierFout as exc:
        return _sleutel_pagina(request, "/", exc.melding, exc.status)
    resp = RedirectResponse(_safe_path(form.get("terug", "/")), status_code=303)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure(request, public_url))
    return resp


# --- API documentation, every asset from /static ------------------------------------------------------------


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> Response:
    return templates.TemplateResponse(request, "docs.html", {"openapi_url": request.app.openapi_url})


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> Response:
    return templates.TemplateResponse(request, "redoc.html", {"openapi_url": request.app.openapi_url})
