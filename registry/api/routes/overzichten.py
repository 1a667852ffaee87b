"""GET /v1/overzichten (the list) and GET /v1/overzichten/{naam} (one table as of a peildatum, JSON or CSV)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import functools
import inspect
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from registry.api.deps import Answers, Conn, Principal, Queries
from registry.api.docs import overzicht_description
from registry.api.params import Datum, InstellingQuery, PilotQuery, RegioQuery
from registry.api.problems import ProblemError, problem_responses
from registry.api.readmodels import suppress_small_cells, to_csv
from registry.api.schemas import OverzichtenLijst, OverzichtInfo, OverzichtResponse
from registry.api.scopes import aggregate_filters

NAAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
DateParam = Annotated[Datum, Query(description="Peildatum (business date), YYYY-MM-DD, 1990-01-01..2100-12-31.",
                                   examples=["2021-01-13"])]


def overzichten(principal: Principal, rm: Queries) -> OverzichtenLijst:
    """The names of the overzichten, each with a one-line description. Any scope."""
    return OverzichtenLijst(overzichten=[OverzichtInfo(naam=n, beschrijving=d) for n, d in sorted(rm.OVERZICHTEN.items())])


def overzicht(
    naam: Annotated[str, Path(pattern=NAAM_PATTERN, description="Overzicht name, see GET /v1/overzichten.")],
    principal: Principal, rm: Queries, conn: Conn, answers: Answers, peildatum: DateParam,
    pilot: PilotQuery = None,
    regio: RegioQuery = None,
    instelling: InstellingQuery = None,
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
    # the OpenAPI schema lists the app's names as an enum; another name is still a 404 with valid_values
    naam_param = Annotated[str, Path(pattern=NAAM_PATTERN, description="Overzicht name, see GET /v1/overzichten.",
                                     json_schema_extra={"enum": sorted(catalogue)} if catalogue else None)]
    endpoint = functools.wraps(overzicht)(lambda **kwargs: overzicht(**kwargs))
    signature = inspect.signature(overzicht)
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=naam_param) if p.name == "naam" else p for p in signature.parameters.values()])
    routes.add_api_route("/v1/overzichten", overzichten, methods=["GET"], response_model=OverzichtenLijst,
                         responses=problem_responses(401), summary="List the overzichten")
    routes.add_api_route("/v1/overzichten/{naam}", endpoint, methods=["GET"], response_model=OverzichtResponse,
                         responses={**problem_responses(400, 401, 403, 404),
                                    200: {"description": "The table (JSON, or CSV with the same columns when format=csv).",
                                          "content": {"text/csv": {"schema": {"type": "string"}}}}},
                         summary="One overzicht as of a peildatum", description=overzicht_description(catalogue))
    return routes
