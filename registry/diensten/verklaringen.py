"""A verklaring for its document or credential: the facts after the scope and erasure checks, each outcome in the
audit trail, and the printable document (PDF)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from registry.api import pdf
from registry.api.auth import ApiKey
from registry.api.context import ApiContext
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.verklaringen import Bronnen, check_not_erased, check_scope, document_van
from registry.diensten.inzage import audit
from registry.domein.verklaring_document import VerklaringDocument

DOCUMENT = "/v1/verklaringen/{verklaring_id}/document"


def verklaring_feiten(
    context: ApiContext, principal: ApiKey, rm: ReadQueries, conn: Connection, verklaring_id: str, endpoint: str
) -> dict[str, Any]:
    """The facts of a verklaring for its document or credential, after the scope and erasure checks (404, 403,
    410), each outcome recorded in the audit trail."""
    feiten = rm.verklaring_document(conn, verklaring_id)
    pseudonym = feiten.get("deelnemer") if feiten else None
    try:
        if feiten is None:
            raise ProblemError(404, "not-found", "unknown verklaring")
        check_scope(principal, feiten)
        check_not_erased(feiten)
    except ProblemError as exc:
        audit(context, principal, endpoint, pseudonym, verklaring_id, exc.status)
        raise
    audit(context, principal, endpoint, pseudonym, verklaring_id, 200)
    return feiten


def document(
    context: ApiContext,
    principal: ApiKey,
    rm: ReadQueries,
    conn: Connection,
    verklaring_id: str,
    bronnen: Bronnen,
    base_url: str,
) -> tuple[VerklaringDocument, bytes]:
    """The verklaring's document content and its A4 PDF (checks and audit trail as ``verklaring_feiten``)."""
    feiten = verklaring_feiten(context, principal, rm, conn, verklaring_id, DOCUMENT)
    doc = document_van(feiten, bronnen, base_url)
    return doc, pdf.render(doc)
