"""Person-level reads and their audit trail: every such read is recorded (``registry.api.audit``) with its outcome
before the answer (or the refusal) leaves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from registry.api.audit import AuditEntry
from registry.api.auth import ApiKey
from registry.api.context import ApiContext
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.verklaringen import check_not_erased, check_scope


def audit(
    context: ApiContext, principal: ApiKey, endpoint: str, pseudonym: str | None, object_id: str, status: int
) -> None:
    """Append one person-level read to the audit trail (a failure to write it fails the request)."""
    context.audit.record(AuditEntry(principal.key_id, str(principal.scope), endpoint, pseudonym, object_id, status))


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
