"""GET /v1/aantallen: monthly flow counts, narrowed by filters and by the key's scope."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated

from fastapi import APIRouter, Query

from registry.api.answers import Answers
from registry.api.deps import Conn, Queries
from registry.api.params import Datum, GemeenteQuery, InstellingQuery, PilotQuery, RegioQuery
from registry.api.principal import Principal
from registry.api.problems import problem_responses
from registry.api.schemas import AantallenResponse, MaandAantallen, Onthullingsbeheersing
from registry.diensten import aantallen as diensten
from registry.diensten import onthulling

router = APIRouter(tags=["aantallen"])


@router.get(
    "/v1/aantallen",
    response_model=AantallenResponse,
    response_model_exclude_unset=True,  # onthullingsbeheersing only where set (regio)
    responses=problem_responses(400, 401, 403),
    summary="Monthly counts",
    description="Per month from `van` to `tot` (at most 120 months, dates 1990-01-01..2100-12-31; more: "
    "400): aangemeld, ingeschreven, actief, verklaringen, beeindigd by "
    "reden and uitstroom by type. Filters (`regio`, `pilot`, `gemeente`, `instelling`) combine "
    "with AND; none = national. Scopes: landelijk, regio (narrowed to the region), instelling "
    "(narrowed to the instelling); publiek: 403. A regio answer is perturbed by the cell key method "
    "(`onthullingsbeheersing`, see x-disclosure-control).",
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
    # the scope is checked in the use case, not by a dependency: an invalid request is 400 whatever the scope
    antwoord = diensten.aantallen(
        rm, conn, answers, principal, van, tot, regio=regio, pilot=pilot, gemeente=gemeente, instelling=instelling
    )
    verstoord = principal.scope.kind == "regio"
    antwoord_model = AantallenResponse(
        van=antwoord.van,
        tot=antwoord.tot,
        regio=antwoord.regio,
        pilot=antwoord.pilot,
        gemeente=antwoord.gemeente,
        instelling=antwoord.instelling,
        maanden=[MaandAantallen.model_validate(x) for x in antwoord.maanden],
    )
    if verstoord:
        antwoord_model.onthullingsbeheersing = Onthullingsbeheersing(**onthulling.beschrijving())
    return antwoord_model
