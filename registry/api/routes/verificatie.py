"""GET /v1/verklaringen/{verklaring_id}/verificatie: public, no API key."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from fastapi import APIRouter, Response

from registry.api.deps import Conn, Queries
from registry.api.problems import ProblemError, problem_responses
from registry.api.readmodels import strip_personal
from registry.api.schemas import VerificatieResponse

router = APIRouter(tags=["verificatie"])


@router.get("/v1/verklaringen/{verklaring_id}/verificatie", response_model=VerificatieResponse,
            responses=problem_responses(404), summary="Verify a praktijkverklaring (public)")
def verificatie(verklaring_id: str, rm: Queries, conn: Conn, response: Response) -> VerificatieResponse:
    """Public, no API key needed: whether the verklaring exists and is valid (not revoked), with the
    werkprocessen, leerbedrijf, instelling and issue date - never personal data of the deelnemer.
    Unknown id: 404."""
    found = rm.verificatie(conn, verklaring_id)
    if found is None:
        raise ProblemError(404, "not-found", "unknown verklaring")
    response.headers["Cache-Control"] = "no-store"
    return VerificatieResponse.model_validate(strip_personal(found))
