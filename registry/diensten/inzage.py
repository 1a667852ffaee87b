"""Person-level reads (one traject, one deelnemer's history) and their audit trail: every such read is recorded
(``registry.api.audit``) with its outcome before the answer (or the refusal) leaves.

An instelling sees a deelnemer only when it ENROLLED them (an inschrijving; an advies does not count), and then only
its own part: events it submitted and events of its own trajecten (and their verklaringen), its own refused
submissions, never another partner's, and never ``doelgroep`` (nor ``uitvalreden``, ``uitkering``, ``nieuwkomer``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from registry.api import pseudoniemen
from registry.api.audit import AuditEntry
from registry.api.auth import ApiKey
from registry.api.context import ApiContext
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.scopes import forbid, same_instelling

TRAJECT = "/v1/trajecten/{traject_id}"
TIJDLIJN = "/v1/deelnemers/{pseudonym}/tijdlijn"
# special-category / criminal-law data: landelijk only (doelgroep i, an uitvalreden gezondheid or detentie_einde,
# a wajong/wia uitkering, nieuwkomer)
HIDDEN_FIELDS = frozenset({"doelgroep", "uitvalreden", "uitkering", "nieuwkomer"})


def audit(
    context: ApiContext, principal: ApiKey, endpoint: str, pseudonym: str | None, object_id: str, status: int
) -> None:
    """Append one person-level read to the audit trail (a failure to write it fails the request)."""
    context.audit.record(AuditEntry(principal.key_id, str(principal.scope), endpoint, pseudonym, object_id, status))


def _without(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_without(v, names) for v in value]
    return value


def own_part(entries: list[dict[str, Any]], instelling: str | None) -> list[dict[str, Any]]:
    """What an instelling sees of a history: events it submitted, events of the trajecten it enrolled and of their
    verklaringen, its own refused submissions; no ``doelgroep``."""
    mine = [e for e in entries if e.get("partner") is not None and same_instelling(e["partner"], instelling)]
    trajecten = {
        e["traject_id"] for e in mine if e.get("event_type") == "DeelnemerIngeschreven" and e.get("traject_id")
    }
    verklaringen = {e["verklaring_id"] for e in entries if e.get("traject_id") in trajecten and e.get("verklaring_id")}
    out = []
    for e in entries:
        eigen = e.get("partner") is not None and same_instelling(e["partner"], instelling)
        if e.get("afgewezen"):
            keep = eigen
        else:
            keep = eigen or e.get("traject_id") in trajecten or e.get("verklaring_id") in verklaringen
        if keep:
            out.append(_without(e, HIDDEN_FIELDS))
    return out


def traject(
    context: ApiContext, principal: ApiKey, rm: ReadQueries, conn: Connection, traject_id: str
) -> dict[str, Any]:
    """The traject's state and events as the key may see them (an instelling: its own trajecten only, its own
    refused submissions, no ``doelgroep``); 404 unknown, 403 another instelling's; every outcome audited."""
    if principal.scope.kind == "instelling":
        owner = rm.instelling_of_traject(conn, traject_id)
        if owner is None:
            audit(context, principal, TRAJECT, None, traject_id, 404)
            raise ProblemError(404, "not-found", "unknown traject")
        if not same_instelling(owner, principal.scope.value):
            found = rm.traject(conn, traject_id)
            audit(context, principal, TRAJECT, (found or {}).get("deelnemer"), traject_id, 403)
            raise forbid(principal, "the traject belongs to another instelling")
    found = rm.traject(conn, traject_id)
    if found is None:
        audit(context, principal, TRAJECT, None, traject_id, 404)
        raise ProblemError(404, "not-found", "unknown traject")
    audit(context, principal, TRAJECT, found.get("deelnemer"), traject_id, 200)
    if principal.scope.kind != "instelling":
        return found
    return {
        **_without(found, HIDDEN_FIELDS),
        "events": [
            _without(e, HIDDEN_FIELDS)
            for e in found.get("events", [])
            if not e.get("afgewezen") or same_instelling(e.get("partner") or "", principal.scope.value)
        ],
    }


def tijdlijn(
    context: ApiContext, principal: ApiKey, rm: ReadQueries, conn: Connection, pseudonym: str
) -> list[dict[str, Any]]:
    """Every event of the deelnemer in order as the key may see them (an instelling: only deelnemers it enrolled,
    its own part); 404 unknown, 403 not enrolled by the instelling; every outcome audited. ``pseudonym``: the
    partner-side pseudonym (mapped with the registry key) or the registry pseudonym."""
    # identifiers: the read models hold registry pseudonyms only; map a partner-side one first. KEEP THIS.
    vormen = pseudoniemen.vormen(context.settings.registry_pseudonym_key_file, pseudonym)
    if len(vormen) > 1:  # the first form with a history; none: the mapped form (never a partner pseudonym in the audit)
        pseudonym = next((p for p in vormen if rm.tijdlijn(conn, p)), vormen[0])
    if principal.scope.kind == "instelling":
        owners = rm.instellingen_of_deelnemer(conn, pseudonym)
        if not any(same_instelling(o, principal.scope.value) for o in owners):
            # the same answer whether the pseudonym is unknown or another instelling's: no probing for who exists
            audit(context, principal, TIJDLIJN, pseudonym, pseudonym, 403)
            raise forbid(principal, "the deelnemer was not enrolled by the key's instelling")
    found = rm.tijdlijn(conn, pseudonym)
    if found is None:
        audit(context, principal, TIJDLIJN, pseudonym, pseudonym, 404)
        raise ProblemError(404, "not-found", "unknown deelnemer")
    audit(context, principal, TIJDLIJN, pseudonym, pseudonym, 200)
    return own_part(found, principal.scope.value) if principal.scope.kind == "instelling" else found
