"""The reconciliation per pilot (register, each partner's telling, the categories that explain the difference) and
the pseudonyms behind one source's categories, as a key may see them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from registry.api.auth import ApiKey
from registry.api.context import ApiContext
from registry.api.params import canonical_pilot
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.scopes import forbid, require
from registry.diensten.inzage import audit
from registry.diensten.onthulling import verstoor_reconciliatie
from registry.diensten.overzichten import sleutelsommen
from registry.diensten.poorten import Antwoorden, Rows
from registry.domein import referentie
from registry.domein.reconciliatie import CATEGORIEEN, BronResultaat, PilotRij, met_relatie

PERSONEN = "reconciliatie_personen"  # the audit trail's endpoint name of GET /v1/reconciliatie/{pilot}/personen


def visible_pilots(principal: ApiKey, rm: ReadQueries, conn: Connection) -> set[str] | None:
    """The pilots the key may see (None: all): its region's, or those its instelling enrols in."""
    scope = principal.scope
    if scope.kind == "regio":
        return {p.pilot_id for p in referentie.pilots().values() if p.arbeidsmarktregio == scope.value}
    if scope.kind == "instelling" and scope.value is not None:
        return rm.pilots_of_instelling(conn, scope.value)
    return None


def relaties_van(principal: ApiKey, rm: ReadQueries, conn: Connection) -> set[str] | None:
    """The pseudonyms an instelling key has a relation with (the deelnemers it enrolled); None: every scope that may
    see every person (landelijk)."""
    scope = principal.scope
    if scope.kind == "instelling" and scope.value is not None:
        return rm.deelnemers_of_instelling(conn, scope.value)
    return None


def api_rij(rij: PilotRij, relatie: set[str] | None) -> dict[str, Any]:
    """A pilot's row as the key may read it: an instelling sees list entries about persons it has no relation with
    only as one count (``zonder_relatie``), never in which category they fall."""
    if relatie is None:
        return rij.api()
    return {**rij.api(), "bronnen": [met_relatie(b, relatie) for b in rij.bronnen]}


def reconciliatie(
    rm: ReadQueries,
    conn: Connection,
    answers: Antwoorden,
    principal: ApiKey,
    peildatum: date,
    pilot: str | None,
    venster_dagen: int,
) -> tuple[Rows, bool]:
    """The rows the key may see (in the API's JSON form) and whether they are narrowed to the key's relations (an
    instelling: one more count, ``zonder_relatie``). 403 for publiek or a pilot outside the scope, 404 for an
    unknown pilot."""
    require(principal, "landelijk", "regio", "instelling")
    p = canonical_pilot(pilot, 404) if pilot else None
    visible = visible_pilots(principal, rm, conn)
    if p is not None and visible is not None and p not in visible:
        raise forbid(principal, f"pilot {p!r} is outside the key's pilots")
    relatie = relaties_van(principal, rm, conn)
    if principal.scope.kind == "regio":
        rows = answers.rows(
            ("reconciliatie-verstoord", peildatum, p, venster_dagen),
            lambda: _verstoorde_rijen(rm, conn, answers, peildatum, p, venster_dagen),
        )
    elif relatie is None:
        rows = answers.rows(
            ("reconciliatie", peildatum, p, venster_dagen),
            lambda: [r.api() for r in rm.reconciliatie_rijen(conn, peildatum, p, venster_dagen=venster_dagen)],
        )
    else:  # per key: computed with the persons, never cached
        rows = [
            api_rij(r, relatie)
            for r in rm.reconciliatie_rijen(conn, peildatum, p, venster_dagen=venster_dagen, personen=True)
            if visible is None or r.pilot in visible
        ]
    return [r for r in rows if visible is None or r["pilot"] in visible], relatie is not None


def _verstoorde_rijen(
    rm: ReadQueries, conn: Connection, answers: Antwoorden, peildatum: date, p: str | None, venster_dagen: int
) -> Rows:
    """Every pilot's row with its counts perturbed by the cell key method (a regio key's answer): the register as
    the deelnemers-per-pilot cell of the pilot (the same records: the same published value), each category and
    list from the record keys of its persons."""
    rijen = rm.reconciliatie_rijen(conn, peildatum, p, venster_dagen=venster_dagen, personen=True)
    sleutels = rm.record_sleutels(conn, {d for r in rijen for b in r.bronnen for ds in b.personen.values() for d in ds})
    # the overzicht's key sums, cached under the same key as the overzicht's own
    register = {
        str(row["pilot"]): int(row["deelnemers"])
        for row in sleutelsommen(rm, answers, "deelnemers-per-pilot", peildatum, None, None, None)
    }
    return [verstoor_reconciliatie(r, register.get(r.pilot, 0), sleutels) for r in rijen]


def personen(
    rm: ReadQueries,
    conn: Connection,
    principal: ApiKey,
    pilot: str,
    partner: str,
    peildatum: date,
    venster_dagen: int,
) -> dict[str, Any]:
    """The telling of ``partner`` chosen for ``pilot`` at ``peildatum``: per category (all of them) the sorted
    pseudonyms the key may see. 403 outside landelijk and the instelling's own pilots; 404 for an unknown pilot or a
    partner without a telling near the peildatum."""
    require(principal, "landelijk", "instelling")
    p = canonical_pilot(pilot, 404)
    visible = visible_pilots(principal, rm, conn)
    if visible is not None and p not in visible:
        raise forbid(principal, f"the key's instelling has no inschrijving in pilot {p!r}")
    relatie = relaties_van(principal, rm, conn)
    # pseudonyms: computed per request, never kept in the answer cache
    rijen = rm.reconciliatie_rijen(conn, peildatum, p, venster_dagen=venster_dagen, personen=True)
    bron = _bron(rijen, p, partner, peildatum)
    return {
        "peildatum": peildatum,
        "pilot": p,
        "partner": bron.partner,
        "bron_type": bron.bron_type,
        "telling_peildatum": bron.telling_peildatum,
        "personen": {
            c: sorted(d for d in bron.personen.get(c, ()) if relatie is None or d in relatie) for c in CATEGORIEEN
        },
    }


def _bron(rijen: list[PilotRij], pilot: str, partner: str, peildatum: date) -> BronResultaat:
    bronnen = [b for rij in rijen if rij.pilot == pilot for b in rij.bronnen]
    bron = next((b for b in bronnen if b.partner.casefold() == partner.strip().casefold()), None)
    if bron is None:
        raise ProblemError(
            404,
            "not-found",
            f"the partner has no telling for pilot {pilot!r} near {peildatum.isoformat()}",
            parameter="partner",
            valid_values=sorted(b.partner for b in bronnen),
        )
    return bron


def personen_geaudit(
    context: ApiContext,
    rm: ReadQueries,
    conn: Connection,
    principal: ApiKey,
    pilot: str,
    partner: str,
    peildatum: date,
    venster_dagen: int,
) -> dict[str, Any]:
    """``personen``, a person-level read: every request is in the audit trail, refusals too."""
    object_id = f"{pilot}/{partner}@{peildatum.isoformat()}"
    try:
        antwoord = personen(rm, conn, principal, pilot, partner, peildatum, venster_dagen)
    except ProblemError as exc:
        audit(context, principal, PERSONEN, None, object_id, exc.status)
        raise
    audit(context, principal, PERSONEN, None, object_id, 200)
    return antwoord
