"""GET /v1/overzichten (the list) and GET /v1/overzichten/{naam} (one table as of a peildatum, JSON or CSV)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import functools
import inspect
import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from registry.api.answers import (
    Answers,
    CachedAnswers,
    NeedsDatabase,
    Rows,
    memory_answers,
    memory_route,
    off_loop_if_needed,
)
from registry.api.csv_uitvoer import to_csv
from registry.api.deps import Queries, context_of
from registry.api.docs import overzicht_description
from registry.api.encoded import Encoded, encoded, respond
from registry.api.params import NAAM_PATTERN as FILTER_PATTERN
from registry.api.params import Datum, InstellingQuery, PilotQuery, RegioQuery, in_range
from registry.api.principal import Principal, keep_fresh, remembered_principal
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import Onthullingsbeheersing, OverzichtenLijst, OverzichtInfo, OverzichtResponse
from registry.diensten import onthulling
from registry.diensten import overzichten as diensten

NAAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
DateParam = Annotated[
    Datum, Query(description="Peildatum (business date), YYYY-MM-DD, 1990-01-01..2100-12-31.", examples=["2021-01-13"])
]


def overzichten(principal: Principal, rm: Queries) -> OverzichtenLijst:
    """The names of the overzichten, each with a one-line description. Any scope."""
    return OverzichtenLijst(overzichten=[OverzichtInfo(naam=n, beschrijving=d) for n, d in diensten.catalogus(rm)])


def overzicht(
    naam: Annotated[str, Path(pattern=NAAM_PATTERN, description="Overzicht name, see GET /v1/overzichten.")],
    principal: Principal,
    rm: Queries,
    answers: Answers,
    peildatum: DateParam,
    pilot: PilotQuery = None,
    regio: RegioQuery = None,
    instelling: InstellingQuery = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Encoded:
    """The table as the key may see it, encoded (JSON or CSV) once per data version (``encoded.EncodedCache``)."""
    filters = diensten.Filters(pilot, regio, instelling)
    rows = diensten.overzicht(
        rm, answers, principal, naam, peildatum, filters, publieke_peildata=answers.context.settings.public_peildata
    )
    scope, verstoord = str(principal.scope), diensten.beschermd(principal)
    return answers.context.encoded.get_or_encode(
        ("overzicht", naam, peildatum, pilot, regio, instelling, format, scope),
        answers.version,
        lambda: _encode(scope, naam, peildatum, rows, format, verstoord),
    )


def _encode(scope: str, naam: str, peildatum: date, rows: Rows, format: str, verstoord: bool) -> Encoded:
    """``verstoord``: a publiek/regio answer, whose counts are perturbed, says so (``onthulling``)."""
    if format == "csv":
        disposition = f'attachment; filename="{naam}_{peildatum.isoformat()}.csv"'
        body = (onthulling.csv_kop() if verstoord else "") + to_csv(rows)
        return encoded(scope, body.encode(), "text/csv; charset=utf-8", {"Content-Disposition": disposition})
    # rendered here, not returned as a model (FastAPI would validate it again); the bytes are those FastAPI renders
    # (pydantic's serializer of the same model), the OpenAPI document still names OverzichtResponse (response_model)
    if verstoord:
        answer = OverzichtResponse(
            naam=naam,
            peildatum=peildatum,
            rijen=rows,
            onthullingsbeheersing=Onthullingsbeheersing(**onthulling.beschrijving()),
        )
    else:
        answer = OverzichtResponse(naam=naam, peildatum=peildatum, rijen=rows)
    # unset: landelijk and instelling answers carry no onthullingsbeheersing (their shape stays as it was)
    return encoded(scope, answer.model_dump_json(exclude_unset=True).encode(), "application/json")


# --- an answer from memory (answers.memory_route) ------------------------------------------------------------------

FILTERS = ("pilot", "regio", "instelling")
PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


MAX_PLAIN = 1024  # query strings whose plain arguments are remembered per worker (then forgotten all at once)
_plain: dict[tuple[object, bytes], dict[str, Any] | None] = {}


def plain_arguments(request: Request) -> dict[str, Any] | None:
    """``arguments_of`` the request, remembered per (naam, query string): a function of those two alone, and
    parsing them was a fifth of an answer from memory. The caller must not change the dict."""
    key = (request.path_params.get("naam"), request.scope.get("query_string", b""))
    if key in _plain:
        return _plain[key]
    arguments = arguments_of(request)
    if len(_plain) >= MAX_PLAIN:
        _plain.clear()
    _plain[key] = arguments
    return arguments


def arguments_of(request: Request) -> dict[str, Any] | None:
    """The arguments of a request in the form the declared parameters take without conversion or error (each at
    most once, a plain date within range, filters of the declared pattern), else None: then FastAPI validates."""
    naam = request.path_params.get("naam")
    items = request.query_params.multi_items()
    given = dict(items)
    if not isinstance(naam, str) or not re.fullmatch(NAAM_PATTERN, naam) or len(given) != len(items):
        return None
    if not set(given) <= {"peildatum", "format", *FILTERS} or given.get("format", "json") not in ("json", "csv"):
        return None
    raw = given.get("peildatum", "")
    if not PLAIN_DATE.fullmatch(raw):
        return None
    try:
        peildatum = in_range(date.fromisoformat(raw))
    except ValueError:
        return None
    if any(f in given and not re.fullmatch(FILTER_PATTERN, given[f]) for f in FILTERS):
        return None
    filters = {f: given.get(f) for f in FILTERS}
    return {"naam": naam, "peildatum": peildatum, "format": given.get("format", "json"), **filters}


async def from_memory(request: Request) -> Response | None:
    """The answer without dependency resolution when the key is remembered and the answer is in memory; the same
    checks run (the key opens the path; the use case checks the scope); None for anything else."""
    arguments = plain_arguments(request)
    context = context_of(request)
    if arguments is None or context.queries is None:
        return None
    remembered = await remembered_principal(request)
    if remembered is None:
        return None
    principal, secret = remembered
    answers = await memory_answers(context)  # may await the data version's read (shared), never a thread of its own
    if answers is None:
        return None
    try:
        answer = overzicht(principal=principal, rm=context.queries, answers=answers, **arguments)
    except (NeedsDatabase, ProblemError):
        return None  # the route as declared: it computes, or gives the error
    keep_fresh(context, secret)
    return respond(answer, request.headers.get("if-none-match"))


def router(catalogue: dict[str, str]) -> APIRouter:
    """The routes; built per app because the description of /v1/overzichten/{naam} lists the app's overzichten."""
    routes = APIRouter(tags=["overzichten"])
    # the OpenAPI schema lists the app's names as an enum; another name is still a 404 with valid_values
    naam_param = Annotated[
        str,
        Path(
            pattern=NAAM_PATTERN,
            description="Overzicht name, see GET /v1/overzichten.",
            json_schema_extra={"enum": sorted(catalogue)} if catalogue else None,
        ),
    ]

    async def answer(answers: CachedAnswers, request: Request, **kwargs: Any) -> Response:
        # a cached overzicht is answered on the event loop; one that needs the database in a worker thread
        found = await off_loop_if_needed(answers, lambda a: overzicht(answers=a, **kwargs))
        return respond(found, request.headers.get("if-none-match"))

    endpoint = functools.wraps(overzicht)(answer)
    signature = inspect.signature(overzicht)
    request = inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=naam_param) if p.name == "naam" else p for p in signature.parameters.values()]
        + [request],
        return_annotation=Response,
    )
    routes.add_api_route(
        "/v1/overzichten",
        overzichten,
        methods=["GET"],
        response_model=OverzichtenLijst,
        responses=problem_responses(401),
        summary="List the overzichten",
    )
    routes.add_api_route(
        "/v1/overzichten/{naam}",
        endpoint,
        methods=["GET"],
        response_model=OverzichtResponse,
        responses={
            **problem_responses(400, 401, 403, 404),
            200: {
                "description": "The table (JSON, or CSV with the same columns when format=csv).",
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "headers": {
                    "ETag": {
                        "description": "The answer's tag (per scope and answer): send it in If-None-Match.",
                        "schema": {"type": "string"},
                    }
                },
            },
            304: {"description": "Not Modified: If-None-Match named this answer's tag (no body)."},
        },
        summary="One overzicht as of a peildatum",
        description=overzicht_description(catalogue),
        route_class_override=memory_route(from_memory),
    )
    return routes
