"""GET /v1/aantallen: monthly flow counts, narrowed by filters and by the key's scope."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated

from fastapi import APIRouter, Query

from registry.api.deps import Answers, Conn, Principal, Queries, require
from registry.api.params import Datum, GemeenteQuery, InstellingQuery, PilotQuery, RegioQuery
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import AantallenResponse, MaandAantallen
from registry.api.scopes import aggregate_filters

MAX_MAANDEN = 120  # the work and the answer grow with the months asked: at most ten years per request

router = APIRouter(tags=["aantallen"])


@router.get(
    "/v1/aantallen",
    response_model=AantallenResponse,
    responses=problem_responses(400, 401, 403),
    summary="Monthly counts",
    description="Per month from `van` to `tot` (at most 120 months, dates 1990-01-01..2100-12-31; more: "
    "400): aangemeld, ingeschreven, actief, verklaringen, beeindigd by "
    "reden and uitstroom by type. Filters (`regio`, `pilot`, `gemeente`, `instelling`) combine "
    "with AND; none = national. Scopes: landelijk, regio (narrowed to the region), instelling "
    "(narrowed to the instelling); publiek: 403.",
)
def aantallen(
    principal: Principal,
    rm: Queries,
    conn: Conn,
    answers: Answers,
    van: Annotated[Datum, Query(description="First day, YYYY-MM-DD.")],
    tot: Annotated[Datum, Query(description="Last day (inclusive), YYYY-MM-DD; at most 120 months from van.")],
    regio: RegioQuery = None,
    pilot: PilotQuery = None,
    gemeente: GemeenteQuery = None,
    instelling: InstellingQuery = None,
) -> AantallenResponse:
    # in the endpoint, not a dependency: an invalid request is 400 before the scope is looked at
    require(principal, "landelijk", "regio", "instelling")
    if tot < van:
        raise ProblemError(400, "invalid-parameter", "tot is before van", parameter="tot")
    maanden = (tot.year - van.year) * 12 + tot.month - van.month + 1
    if maanden > MAX_MAANDEN:
        raise ProblemError(
            400,
            "invalid-parameter",
            f"van..tot spans {maanden} months; at most {MAX_MAANDEN} per request",
            parameter="tot",
            max_months=MAX_MAANDEN,
        )
    g = gemeente.upper() if gemeente else None
    p, r, i = aggregate_filters(principal, pilot, regio, instelling)
    rows = answers.rows(
        ("aantallen", r, p, g, van, tot, i),
        lambda: [dict(x) for x in rm.aantallen(conn, regio=r, pilot=p, gemeente=g, van=van, tot=tot, instelling=i)],
    )
    return AantallenResponse(
        van=van,
        tot=tot,
        regio=r,
        pilot=p,
        gemeente=g,
        instelling=i,
        maanden=[MaandAantallen.model_validate(x) for x in rows],
    )
