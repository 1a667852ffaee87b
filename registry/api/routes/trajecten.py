"""GET /v1/trajecten/{traject_id} and GET /v1/deelnemers/{pseudonym}/tijdlijn (landelijk, or the own instelling).

Person-level reads: every request is written to the audit trail (``registry.api.audit``) before it is answered,
whatever the outcome. An instelling sees a deelnemer only when it ENROLLED them (an inschrijving; an advies does not
count), and then only its own part: events it submitted and events of its own trajecten (and their verklaringen),
its own refused submissions, never another partner's, and never ``doelgroep`` (nor ``uitvalreden``, ``uitkering``, ``nieuwkomer``).
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from registry.api import pseudoniemen
from registry.api.auth import ApiKey
from registry.api.deps import Conn, Context, Queries, forbid, scoped
from registry.api.inzage import audit
from registry.api.params import Pseudonym, TrajectId
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import TijdlijnEntry, TrajectResponse
from registry.api.scopes import same_instelling

# landelijk sees every traject; an instelling only its own (checked per traject below)
Reader = Annotated[ApiKey, Depends(scoped("landelijk", "instelling"))]

router = APIRouter(tags=["trajecten"])

TRAJECT = "/v1/trajecten/{traject_id}"
TIJDLIJN = "/v1/deelnemers/{pseudonym}/tijdlijn"
# special-category / criminal-law data: landelijk only (doelgroep i, an uitvalreden gezondheid or detentie_einde,
# a wajong/wia uitkering, nieuwkomer)
HIDDEN_FIELDS = frozenset({"doelgroep", "uitvalreden", "uitkering", "nieuwkomer"})


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
    if principal.scope.kind == "instelling":
        found = {
            **_without(found, HIDDEN_FIELDS),
            "events": [
                _without(e, HIDDEN_FIELDS)
                for e in found.get("events", [])
                if not e.get("afgewezen") or same_instelling(e.get("partner") or "", principal.scope.value)
            ],
        }
    return TrajectResponse.model_validate(found)


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
    if principal.scope.kind == "instelling":
        found = own_part(found, principal.scope.value)
    return [TijdlijnEntry.model_validate(e) for e in found]
