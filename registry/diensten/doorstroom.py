"""The doorstroom of a cohort (``GET /v1/doorstroom``): the positions from the read models, the figures from the
pure domain computation (registry/domein/doorstroom.py).

Scopes: landelijk exact; publiek (month ends only) and regio (its own pilots) perturbed by the cell key method
(registry/diensten/onthulling.py ``verstoor_doorstroom``): every filter combination is another table, and the same
deelnemers give the same number in each; instelling: 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from registry.api.auth import ApiKey
from registry.api.ports import ReadQueries
from registry.api.scopes import aggregate_filters, forbid
from registry.diensten.onthulling import verstoor_doorstroom
from registry.diensten.overzichten import beschermd, check_published
from registry.diensten.poorten import Antwoorden
from registry.domein import referentie
from registry.domein.doorstroom import Cohort, Doorstroom, aggregeer, stand_uit_rij


@dataclass(frozen=True)
class DoorstroomAntwoord:
    """The figures, with the cohort, peildatum and filters as applied (canonical)."""

    cohort: Cohort
    peildatum: date
    pilot: str | None
    regio: str | None
    doelgroep: str | None
    uitkering: str | None
    aanmelder_type: str | None
    uitkomst: Doorstroom
    verstoord: bool = False  # perturbed by the cell key method (publiek, regio)


def doorstroom(
    rm: ReadQueries,
    answers: Antwoorden,
    principal: ApiKey,
    cohort: Cohort,
    peildatum: date,
    *,
    pilot: str | None = None,
    regio: str | None = None,
    doelgroep: str | None = None,
    uitkering: str | None = None,
    aanmelder_type: str | None = None,
    publieke_peildata: str = "maandeinde",
) -> DoorstroomAntwoord:
    if principal.scope.kind not in ("landelijk", "regio", "publiek"):
        raise forbid(principal, "the doorstroom is for landelijk, regio and publiek keys")
    if principal.scope.kind == "publiek":
        check_published(peildatum, publieke_peildata)
    p, r, _ = aggregate_filters(principal, pilot, regio, None)
    pilots = _pilots(p, r)
    rows = answers.rows(
        ("doorstroom", str(cohort), peildatum, p, r, doelgroep, uitkering, aanmelder_type),
        lambda: [
            dict(x)
            for x in rm.doorstroom_standen(
                answers.connection(),
                van=cohort.van,
                tot=cohort.tot,
                peildatum=peildatum,
                pilots=pilots,
                doelgroep=doelgroep,
                uitkering=uitkering,
                aanmelder_type=aanmelder_type,
            )
        ],
    )
    standen = [stand_uit_rij(x) for x in rows]
    if beschermd(principal):
        sleutels = rm.record_sleutels(answers.connection(), {s.deelnemer for s in standen})
        uitkomst = verstoor_doorstroom(standen, sleutels)
    else:
        uitkomst = aggregeer(standen)
    return DoorstroomAntwoord(
        cohort, peildatum, p, r, doelgroep, uitkering, aanmelder_type, uitkomst, verstoord=beschermd(principal)
    )


def _pilots(pilot: str | None, regio: str | None) -> list[str] | None:
    """The pilots of the pilot and regio filters (the first aanmelding's pilot, or its arbeidsmarktregio)."""
    if pilot is not None:
        return [pilot]
    if regio is not None:
        return sorted(p.pilot_id for p in referentie.pilots().values() if p.arbeidsmarktregio == regio)
    return None
