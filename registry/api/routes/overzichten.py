"""GET /v1/overzichten (the list) and GET /v1/overzichten/{naam} (one table as of a peildatum, JSON or CSV)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import functools
import inspect
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from registry.api.answers import Answers, CachedAnswers, off_loop_if_needed
from registry.api.csv_uitvoer import to_csv
from registry.api.deps import Context, Queries
from registry.api.docs import overzicht_description
from registry.api.params import Datum, InstellingQuery, PilotQuery, RegioQuery
from registry.api.principal import Principal
from registry.api.problems import problem_responses
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
    context: Context,
    peildatum: DateParam,
    pilot: PilotQuery = None,
    regio: RegioQuery = None,
    instelling: InstellingQuery = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Any:
    filters = diensten.Filters(pilot, regio, instelling)
    rows = diensten.overzicht(
        rm, answers, principal, naam, peildatum, filters, publieke_peildata=context.settings.public_peildata
    )
    verstoord = diensten.beschermd(principal)
    if format == "csv":
        return Response(
            (onthulling.csv_kop() if verstoord else "") + to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{naam}_{peildatum.isoformat()}.csv"'},
        )
    if verstoord:
        return OverzichtResponse(
            naam=naam,
            peildatum=peildatum,
            rijen=rows,
            onthullingsbeheersing=Onthullingsbeheersing(**onthulling.beschrijving()),
        )
    return OverzichtResponse(naam=naam, peildatum=peildatum, rijen=rows)


def as_json(answer: Any) -> Any:
    """The model as JSON, rendered here (on the event loop or in the endpoint's worker thread): returned as a model,
    FastAPI would validate it again. The bytes are those FastAPI renders (pydantic's
    serializer of the same model); the OpenAPI document still names OverzichtResponse (response_model)."""
    if isinstance(answer, OverzichtResponse):
        # unset: landelijk and instelling answers carry no onthullingsbeheersing (their shape stays as it was)
        return Response(answer.model_dump_json(exclude_unset=True), media_type="application/json")
    return answer


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

    async def answer(answers: CachedAnswers, **kwargs: Any) -> Any:
        # a cached overzicht is answered on the event loop; one that needs the database in a worker thread
        return await off_loop_if_needed(answers, lambda a: as_json(overzicht(answers=a, **kwargs)))

    endpoint = functools.wraps(overzicht)(answer)
    signature = inspect.signature(overzicht)
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=naam_param) if p.name == "naam" else p for p in signature.parameters.values()]
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
            },
        },
        summary="One overzicht as of a peildatum",
        description=overzicht_description(catalogue),
    )
    return routes
