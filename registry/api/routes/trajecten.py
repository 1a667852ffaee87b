"""GET /v1/trajecten/{traject_id} and GET /v1/deelnemers/{pseudonym}/tijdlijn (landelijk, or the own instelling)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated

from fastapi import APIRouter, Depends

from registry.api.auth import ApiKey
from registry.api.deps import Conn, Queries, forbid, scoped
from registry.api.params import Pseudonym, TrajectId
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import TijdlijnEntry, TrajectResponse
from registry.api.scopes import same_instelling

# landelijk sees every traject; an instelling only its own (checked per traject below)
Reader = Annotated[ApiKey, Depends(scoped("landelijk", "instelling"))]

router = APIRouter(tags=["trajecten"])


@router.get("/v1/trajecten/{traject_id}", response_model=TrajectResponse,
            responses=problem_responses(400, 401, 403, 404), summary="One traject: state and events")
def traject(traject_id: TrajectId, principal: Reader, rm: Queries, conn: Conn) -> TrajectResponse:
    """The traject's current state and its full event history. Scopes: landelijk; instelling (its own
    trajecten only: another instelling's traject is 403). Unknown traject or not a UUID: 404."""
    if principal.scope.kind == "instelling":
        owner = rm.instelling_of_traject(conn, traject_id)
        if owner is None:
            raise ProblemError(404, "not-found", "unknown traject")
        if not same_instelling(owner, principal.scope.value):
            raise forbid(principal, "the traject belongs to another instelling")
    found = rm.traject(conn, traject_id)
    if found is None:
        raise ProblemError(404, "not-found", "unknown traject")
    return TrajectResponse.model_validate(found)


@router.get("/v1/deelnemers/{pseudonym}/tijdlijn", response_model=list[TijdlijnEntry],
            responses=problem_responses(400, 401, 403, 404), summary="A deelnemer's full history")
def tijdlijn(pseudonym: Pseudonym, principal: Reader, rm: Queries, conn: Conn) -> list[TijdlijnEntry]:
    """Every event of the deelnemer in order, with rejected submissions marked. Scopes: landelijk; instelling
    (only deelnemers with a traject at that instelling, else 403). Unknown deelnemer or not 64 lowercase hex: 404."""
    if principal.scope.kind == "instelling":
        owners = rm.instellingen_of_deelnemer(conn, pseudonym)
        if not owners:
            raise ProblemError(404, "not-found", "unknown deelnemer")
        if not any(same_instelling(o, principal.scope.value) for o in owners):
            raise forbid(principal, "the deelnemer has no traject at the key's instelling")
    found = rm.tijdlijn(conn, pseudonym)
    if found is None:
        raise ProblemError(404, "not-found", "unknown deelnemer")
    return [TijdlijnEntry.model_validate(e) for e in found]
