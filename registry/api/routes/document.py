"""GET /v1/verklaringen/{verklaring_id}/document: the printable praktijkverklaring (PDF; landelijk and the
deelnemer's own instelling)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from registry.api.auth import ApiKey
from registry.api.deps import Conn, Context, Queries
from registry.api.params import VerklaringId
from registry.api.principal import scoped
from registry.api.problems import problem_responses
from registry.api.verklaringen import Sources, base_url
from registry.diensten import verklaringen

Reader = Annotated[ApiKey, Depends(scoped("landelijk", "instelling"))]

router = APIRouter(tags=["verificatie"])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The praktijkverklaring as an A4 PDF."},
    410: {"description": "The deelnemer's persoonsgegevens were erased (problem+json)"},
}


@router.get(
    "/v1/verklaringen/{verklaring_id}/document",
    response_class=Response,
    responses={**problem_responses(400, 401, 403, 404, 503), **PDF_RESPONSE},
    summary="The praktijkverklaring as a printable PDF",
)
def document(
    verklaring_id: VerklaringId,
    principal: Reader,
    rm: Queries,
    conn: Conn,
    src: Sources,
    context: Context,
) -> Response:
    """An A4 PDF with the deelnemer's name and birth date (opened from the sealed persoonsgegevens in the
    canonical log), mbo-instelling, leerbedrijf, the werkprocessen grouped by kwalificatie and kerntaak, crebo
    and niveau, brancheorganisaties, issue date and volgnummer, a signature block for the praktijkopleider and a
    QR code with a short code to the public verification page. Scopes: landelijk; instelling (its own
    verklaringen, else 403). Unknown: 404. Persoonsgegevens erased (DeelnemerGegevensVerwijderd): 410."""
    doc, body = verklaringen.document(context, principal, rm, conn, verklaring_id, src, base_url(context))
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="praktijkverklaring-{doc.korte_code}.pdf"',
            "Cache-Control": "no-store",
        },
    )
