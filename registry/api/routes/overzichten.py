"""GET /v1/overzichten (the list) and GET /v1/overzichten/{naam} (one table as of a peildatum, JSON or CSV)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import functools
import inspect
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from registry.api.csv_uitvoer import to_csv
from registry.api.deps import Answers, CachedAnswers, Context, Principal, Queries, forbid, off_loop_if_needed
from registry.api.docs import overzicht_description
from registry.api.kleine_cellen import PER_PILOT, protect_overzicht
from registry.api.params import Datum, InstellingQuery, PilotQuery, RegioQuery
from registry.api.peildata import is_published, nearest_published
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import OverzichtenLijst, OverzichtInfo, OverzichtResponse
from registry.api.scopes import aggregate_filters

NAAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
DateParam = Annotated[
    Datum, Query(description="Peildatum (business date), YYYY-MM-DD, 1990-01-01..2100-12-31.", examples=["2021-01-13"])
]


def overzichten(principal: Principal, rm: Queries) -> OverzichtenLijst:
    """The names of the overzichten, each with a one-line description. Any scope."""
    return OverzichtenLijst(
        overzichten=[OverzichtInfo(naam=n, beschrijving=d) for n, d in sorted(rm.OVERZICHTEN.items())]
    )


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
    context: Context = None,  # type: ignore[assignment]  # always injected by FastAPI; None only in direct calls
) -> Any:
    if naam not in rm.OVERZICHTEN:
        raise ProblemError(
            404, "unknown-overzicht", f"no overzicht named {naam!r}", valid_values=sorted(rm.OVERZICHTEN)
        )
    p, r, i = aggregate_filters(principal, pilot, regio, instelling)
    publiek = principal.scope.kind == "publiek"
    # a regio's own tables are small enough to hold person-sized cells: the same suppression as publiek
    beschermd = publiek or principal.scope.kind == "regio"
    if publiek:
        check_published(peildatum, context.settings.public_peildata if context is not None else "maandeinde")
    if principal.scope.kind == "regio" and i is not None:
        # a cut by instelling is one more table of the region to difference against (as publiek: pilot only)
        raise forbid(principal, "regio overzichten can be narrowed by pilot only")
    if beschermd and p is not None and naam not in PER_PILOT:
        # a pilot's cut of a national table is a new table: national minus pilot would difference out cells
        raise forbid(
            principal,
            f"{principal.scope.kind} may narrow only the per-pilot overzichten "
            f"({', '.join(sorted(PER_PILOT))}) by pilot",
        )

    def exact(naam: str, p: str | None) -> list[dict[str, Any]]:
        try:
            return answers.rows(
                ("overzicht", naam, peildatum, p, i, r),
                lambda: [
                    dict(row)
                    for row in rm.overzicht(answers.connection(), naam, peildatum, pilot=p, instelling=i, regio=r)
                ],
            )
        except KeyError:
            raise ProblemError(
                404, "unknown-overzicht", f"no overzicht named {naam!r}", valid_values=sorted(rm.OVERZICHTEN)
            ) from None

    if beschermd:
        # suppression on the COMPLETE table (a regio's: its whole region), protected together with
        # deelnemers-per-pilot; filtered afterwards
        rows = protect_overzicht(naam, exact(naam, None), lambda: exact("deelnemers-per-pilot", None))
        if p is not None:
            rows = [row for row in rows if row.get("pilot") == p]
    else:
        rows = exact(naam, p)
    if format == "csv":
        return Response(
            to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{naam}_{peildatum.isoformat()}.csv"'},
        )
    return OverzichtResponse(naam=naam, peildatum=peildatum, rijen=rows)


def check_published(peildatum: date, rule: str, today: date | None = None) -> None:
    """400 unless ``peildatum`` is a published peildatum for publiek (PRAKTIJK_PUBLIC_PEILDATA), with the
    nearest valid ones."""
    today = today or date.today()
    if not is_published(peildatum, rule, today):
        near = nearest_published(peildatum, rule, today)
        raise ProblemError(
            400,
            "invalid-parameter",
            f"publiek may ask only published peildata ({rule}: "
            f"{'the last day of a completed month' if rule == 'maandeinde' else 'the last day of a completed quarter' if rule == 'kwartaaleinde' else 'a day before today'}); "
            f"nearest: {', '.join(d.isoformat() for d in near)}",
            parameter="peildatum",
            valid_values=[d.isoformat() for d in near],
        )


def as_json(answer: Any) -> Any:
    """The model as JSON, rendered here (on the event loop or in the endpoint's worker thread): returned as a model,
    FastAPI would validate it again. The bytes are those FastAPI renders (pydantic's
    serializer of the same model); the OpenAPI document still names OverzichtResponse (response_model)."""
    if isinstance(answer, OverzichtResponse):
        return Response(answer.model_dump_json(), media_type="application/json")
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
