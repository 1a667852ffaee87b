"""GET /v1/verklaringen/{verklaring_id}/verificatie: public, no API key."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from fastapi import APIRouter, Request, Response

from registry.api.deps import Conn, Queries
from registry.api.params import VerklaringId
from registry.api.problems import ProblemError, problem_responses
from registry.api.ratelimit import check
from registry.api.readmodels import strip_personal
from registry.api.schemas import VerificatieResponse

router = APIRouter(tags=["verificatie"])


@router.get(
    "/v1/verklaringen/{verklaring_id}/verificatie",
    response_model=VerificatieResponse,
    responses=problem_responses(400, 404, 429),
    summary="Verify a praktijkverklaring (public, rate-limited)",
)
def verificatie(
    verklaring_id: VerklaringId, rm: Queries, conn: Conn, request: Request, response: Response
) -> VerificatieResponse:
    """Public, no API key needed: whether the verklaring exists and is valid (not revoked), with the
    werkprocessen, leerbedrijf, instelling and issue date - never personal data of the deelnemer.
    Unknown id or not a UUID: 404. Rate-limited per client IP together with the page /verificatie/{id}
    (30 at once, then one per 2 s): 429 with Retry-After."""
    check(request)
    found = rm.verificatie(conn, verklaring_id)
    if found is None:
        raise ProblemError(404, "not-found", "unknown verklaring")
    response.headers["Cache-Control"] = "no-store"
    return VerificatieResponse.model_validate(strip_personal(found))
