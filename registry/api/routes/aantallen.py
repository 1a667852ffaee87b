"""GET /v1/aantallen: monthly flow counts, narrowed by filters and by the key's scope."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from registry.api.deps import Answers, Conn, Principal, Queries, require
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import AantallenResponse, MaandAantallen
from registry.api.scopes import aggregate_filters

_GEMEENTE = re.compile(r"^GM\d{4}$")

router = APIRouter(tags=["aantallen"])


@router.get("/v1/aantallen", response_model=AantallenResponse,
            responses=problem_responses(400, 401, 403), summary="Monthly counts",
            description="Per month from `van` to `tot`: aangemeld, ingeschreven, actief, verklaringen, beeindigd by "
                        "reden and uitstroom by type. Filters (`regio`, `pilot`, `gemeente`, `instelling`) combine "
                        "with AND; none = national. Scopes: landelijk, regio (narrowed to the region), instelling "
                        "(narrowed to the instelling); publiek: 403.")
def aantallen(
    principal: Principal, rm: Queries, conn: Conn, answers: Answers,
    van: Annotated[date, Query(description="First day, YYYY-MM-DD.")],
    tot: Annotated[date, Query(description="Last day (inclusive), YYYY-MM-DD.")],
    regio: Annotated[str | None, Query(description="arbeidsmarktregio")] = None,
    pilot: Annotated[str | None, Query(description="pilot_id")] = None,
    gemeente: Annotated[str | None, Query(description="CBS gemeentecode, GM0363")] = None,
    instelling: Annotated[str | None, Query(description="mbo partner id")] = None,
) -> AantallenResponse:
    # in the endpoint, not a dependency: an invalid request is 400 before the scope is looked at
    require(principal, "landelijk", "regio", "instelling")
    if tot < van:
        raise ProblemError(400, "invalid-parameter", "tot is before van", parameter="tot")
    if gemeente is not None and not _GEMEENTE.match(gemeente.upper()):
        raise ProblemError(400, "invalid-parameter", f"gemeente {gemeente!r} is not a CBS code",
                           parameter="gemeente", valid_values=["GM followed by 4 digits, e.g. GM0363"])
    g = gemeente.upper() if gemeente else None
    p, r, i = aggregate_filters(principal, pilot, regio, instelling)
    rows = answers.rows(("aantallen", r, p, g, van, tot, i),
                        lambda: [dict(x) for x in rm.aantallen(conn, regio=r, pilot=p, gemeente=g, van=van, tot=tot, instelling=i)])
    return AantallenResponse(van=van, tot=tot, regio=r, pilot=p, gemeente=g, instelling=i,
                             maanden=[MaandAantallen.model_validate(x) for x in rows])
