"""GET /v1/trajecten/{traject_id} and GET /v1/deelnemers/{pseudonym}/tijdlijn (landelijk, or the own instelling).

Person-level reads: every request is written to the audit trail before it is answered, whatever the outcome; what
an instelling may see is decided in ``registry.diensten.inzage``.
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated

from fastapi import APIRouter, Depends

from registry.api.auth import ApiKey
from registry.api.deps import Conn, Context, Queries
from registry.api.params import Pseudonym, TrajectId
from registry.api.principal import scoped
from registry.api.problems import problem_responses
from registry.api.schemas import TijdlijnEntry, TrajectResponse
from registry.diensten import inzage
from registry.diensten.inzage import TIJDLIJN, TRAJECT

# landelijk sees every traject; an instelling only its own (checked per traject below)
Reader = Annotated[ApiKey, Depends(scoped("landelijk", "instelling"))]

router = APIRouter(tags=["trajecten"])


@router.get(
    TRAJECT,
    response_model=TrajectResponse,
    responses=problem_responses(400, 401, 403, 404),
    summary="One traject: state and events",
)
def traject(traject_id: TrajectId, principal: Reader, rm: Queries, conn: Conn, context: Context) -> TrajectResponse:
    """The traject's current state and its full event history. Scopes: landelijk; instelling (its own
    trajecten only: another instelling's traject is 403; it sees its own refused submissions only and no
    `doelgroep`). Unknown traject or not a UUID: 404. Every request is recorded in the audit trail (GET /v1/audit)."""
    return TrajectResponse.model_validate(inzage.traject(context, principal, rm, conn, traject_id))


@router.get(
    TIJDLIJN,
    response_model=list[TijdlijnEntry],
    responses=problem_responses(400, 401, 403, 404),
    summary="A deelnemer's full history",
)
def tijdlijn(pseudonym: Pseudonym, principal: Reader, rm: Queries, conn: Conn, context: Context) -> list[TijdlijnEntry]:
    """Every event of the deelnemer in order, with rejected submissions marked. Scopes: landelijk; instelling
    (only deelnemers it enrolled, an inschrijving: an advies is not enough, else 403; it sees its own events, those
    of its own trajecten and its own refused submissions, no `doelgroep`). Unknown deelnemer or not 64 lowercase
    hex: 404. Every request is recorded in the audit trail (GET /v1/audit).
    ``pseudonym``: the partner-side pseudonym (mapped with the registry key) or the registry pseudonym."""
    return [TijdlijnEntry.model_validate(e) for e in inzage.tijdlijn(context, principal, rm, conn, pseudonym)]
