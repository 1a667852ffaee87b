"""GET /v1/audit: the audit trail of person-level reads (landelijk only)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated

from fastapi import APIRouter, Query

from registry.api.deps import Context
from registry.api.params import PSEUDONYM_PATTERN
from registry.api.principal import Principal
from registry.api.problems import problem_responses
from registry.api.schemas import AuditRecord
from registry.api.scopes import require

router = APIRouter(tags=["operations"])


@router.get(
    "/v1/audit",
    response_model=list[AuditRecord],
    responses=problem_responses(400, 401, 403),
    summary="Who read which person-level data",
)
def audit(
    principal: Principal,
    context: Context,
    pseudonym: Annotated[
        str | None,
        Query(pattern=PSEUDONYM_PATTERN, min_length=64, max_length=64, description="Only reads about this deelnemer."),
    ] = None,
    key_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{12}$", description="Only reads with this key.")] = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="At most this many, newest first.")] = 1000,
) -> list[AuditRecord]:
    """Every person-level read (traject, tijdlijn, verklaring document and credential), newest first: key id,
    scope, time, endpoint, the deelnemer's pseudonym, the object asked for and the HTTP status it got (also
    refusals: 403, 404, 410). Append-only. Scope: landelijk."""
    require(principal, "landelijk")
    return [
        AuditRecord(
            key_id=e.key_id,
            scope=e.scope,
            at=e.at,
            endpoint=e.endpoint,
            pseudonym=e.pseudonym,
            object_id=e.object_id,
            status=e.status,
        )
        for e in context.audit.entries(pseudonym=pseudonym, key_id=key_id, limit=limit)
    ]
