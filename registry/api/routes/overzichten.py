"""GET /v1/overzichten (the list) and GET /v1/overzichten/{naam} (one table as of a peildatum, JSON or CSV)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from registry.api.deps import Answers, Conn, Principal, Queries
from registry.api.docs import overzicht_description
from registry.api.problems import ProblemError, problem_responses
from registry.api.readmodels import suppress_small_cells, to_csv
from registry.api.schemas import OverzichtenLijst, OverzichtInfo, OverzichtResponse
from registry.api.scopes import aggregate_filters

DateParam = Annotated[date, Query(description="Peildatum (business date), YYYY-MM-DD.", examples=["2021-01-13"])]


def overzichten(principal: Principal, rm: Queries) -> OverzichtenLijst:
    """The names of the overzichten, each with a one-line description. Any scope."""
    return OverzichtenLijst(overzichten=[OverzichtInfo(naam=n, beschrijving=d) for n, d in sorted(rm.OVERZICHTEN.items())])


def overzicht(
    naam: Annotated[str, Path(description="Overzicht name, see GET /v1/overzichten.")],
    principal: Principal, rm: Queries, conn: Conn, answers: Answers, peildatum: DateParam,
    pilot: Annotated[str | None, Query(description="pilot_id, e.g. rijnmond")] = None,
    regio: Annotated[str | None, Query(description="arbeidsmarktregio, e.g. Rijnmond")] = None,
    instelling: Annotated[str | None, Query(description="mbo partner id, e.g. mbo.albeda")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Any:
    if naam not in rm.OVERZICHTEN:
        raise ProblemError(404, "unknown-overzicht", f"no overzicht named {naam!r}", valid_values=sorted(rm.OVERZICHTEN))
    p, r, i = aggregate_filters(principal, pilot, regio, instelling)
    try:
        rows = answers.rows(("overzicht", naam, peildatum, p, i, r),
                            lambda: [dict(row) for row in rm.overzicht(conn, naam, peildatum, pilot=p, instelling=i, regio=r)])
    except KeyError:
        raise ProblemError(404, "unknown-overzicht", f"no overzicht named {naam!r}", valid_values=sorted(rm.OVERZICHTEN))
    if principal.scope.kind == "publiek":
        rows = suppress_small_cells(rows)
    if format == "csv":
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{naam}_{peildatum.isoformat()}.csv"'})
    return OverzichtResponse(naam=naam, peildatum=peildatum, rijen=rows)


def router(catalogue: dict[str, str]) -> APIRouter:
    """The routes; built per app because the description of /v1/overzichten/{naam} lists the app's overzichten."""
    routes = APIRouter(tags=["overzichten"])
    routes.add_api_route("/v1/overzichten", overzichten, methods=["GET"], response_model=OverzichtenLijst,
                         responses=problem_responses(401), summary="List the overzichten")
    routes.add_api_route("/v1/overzichten/{naam}", overzicht, methods=["GET"], response_model=OverzichtResponse,
                         responses={**problem_responses(400, 401, 403, 404),
                                    200: {"description": "The table (JSON, or CSV with the same columns when format=csv).",
                                          "content": {"text/csv": {"schema": {"type": "string"}}}}},
                         summary="One overzicht as of a peildatum", description=overzicht_description(catalogue))
    return routes
