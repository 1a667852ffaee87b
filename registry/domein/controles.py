"""The checks the rules share: what every event gets (partner, occurred_at, business dates, identifiers, the
catalogue's who-may-publish table), and the helpers a rule refuses with (``Weigering``). None of them looks a
deelnemer up: relations and erasure are registry/domein/relaties.py.

The rules per event type and ``beoordeel`` are in registry/domein/regels.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.domein import identifiers, verwijzingen
from registry.domein.events import SPECS
from registry.domein.identifiers import soort
from registry.domein.staat import Staat, Traject
from registry.domein.telregels import EARLIEST

Record = Mapping[str, Any]
# business dates (schema logicalType date): before 1990 or more than a year ahead is a typing error, never a fact
DATUMVELDEN = ("startdatum", "peildatum", "vanaf", "pok_datum")
VROEGSTE_DATUM = dt.date(1990, 1, 1)
DATUM_VOORUIT = dt.timedelta(days=366)
# how far ahead of the validator's clock an occurred_at may lie (a constant: building the timedelta per record cost
# more than the comparison)
TOEKOMST_MARGE = dt.timedelta(days=1)


class Weigering(Exception):
    def __init__(self, reden: str, melding: str, wacht_op: tuple[str, ...] = ()) -> None:
        super().__init__(melding)
        self.reden, self.melding, self.wacht_op = reden, melding, wacht_op


@dataclass
class Context:
    staat: Staat
    r: Record
    partner: str
    warnings: list[str] = field(default_factory=list)
    volgnummer: int | None = None


# ---- checks every event gets -----------------------------------------------------------------
def algemeen(ctx: Context, now: dt.datetime) -> None:
    r = ctx.r
    if r["partner"] != ctx.partner:
        raise Weigering(
            "partner_onjuist", f"partner {r['partner']!r} does not match the ingress topic of {ctx.partner!r}"
        )
    if r["occurred_at"] > now + TOEKOMST_MARGE:
        raise Weigering("toekomst", f"occurred_at {r['occurred_at'].isoformat()} is more than one day in the future")
    if r["occurred_at"] < EARLIEST:
        raise Weigering("te_oud", f"occurred_at {r['occurred_at'].isoformat()} is before 2015-01-01")
    _datums(r, now)
    _identifiers(r)


def _datums(r: Record, now: dt.datetime) -> None:
    """``startdatum``, ``peildatum``, ``vanaf`` and ``pok_datum``: from 1990 up to a year after today."""
    for naam in DATUMVELDEN:
        waarde = r.get(naam)
        if not isinstance(waarde, dt.date):
            continue
        if isinstance(waarde, dt.datetime):
            waarde = waarde.date()
        if waarde > now.date() + DATUM_VOORUIT:
            raise Weigering(
                "datum_toekomst", f"{naam} {waarde.isoformat()} is more than {DATUM_VOORUIT.days} days in the future"
            )
        if waarde < VROEGSTE_DATUM:
            raise Weigering("datum_te_oud", f"{naam} {waarde.isoformat()} is before {VROEGSTE_DATUM.isoformat()}")


def _identifiers(r: Record) -> None:
    fout = identifiers.eerste_fout(r)
    if fout is None:
        return
    if fout.soort == "instelling":
        raise Weigering("onbekende_instelling", f"{fout.path}: unknown mbo-instelling {fout.waarde!r}")
    if fout.soort == "pilot":
        raise Weigering("onbekende_pilot", f"{fout.path}: unknown pilot {fout.waarde!r}")
    if fout.veld in verwijzingen.VELDEN:  # the value is not repeated: it may be a name
        raise Weigering(verwijzingen.ONGELDIG, f"{fout.path}: {fout.probleem}")
    raise Weigering("ongeldige_identificatie", f"{fout.path}: {fout.probleem}")


def uitgever(ctx: Context, event_type: str) -> None:
    """The catalogue's who-may-publish table: checked before any look-up, so a partner kind that may not publish
    an event type learns nothing about the deelnemer it names."""
    if soort(ctx.partner) not in SPECS[event_type].publishers:  # the message only for a refusal
        publishers = SPECS[event_type].publishers
        wie = ", ".join(sorted(publishers)) if publishers else "the registry itself"
        bevoegd(False, ctx, f"publish {event_type} (only {wie})")


def eis(ok: bool, reden: str, melding: str, *wacht_op: str) -> None:
    """Refuse unless ``ok``; ``wacht_op``: the keys of events that would make it ok (the event parks on them)."""
    if not ok:
        raise Weigering(reden, melding, tuple(wacht_op))


def bevoegd(ok: bool, ctx: Context, wat: str) -> None:
    eis(ok, "niet_bevoegd", f"{ctx.partner} may not {wat}")


def traject(ctx: Context, open_nodig: bool = True) -> Traject:
    t = ctx.staat.trajecten.get(ctx.r["traject_id"])
    eis(
        t is not None,
        "onbekend_traject",
        f"traject {ctx.r['traject_id']} is not known to the registry",
        f"traject:{ctx.r['traject_id']}",
    )
    assert t is not None
    eis(t.deelnemer == ctx.r["deelnemer"], "andere_deelnemer", f"traject {t.traject_id} belongs to another deelnemer")
    if open_nodig:
        # a fact from before the ending that arrives after it (another partner's topic) still belongs to the traject
        eis(
            t.open or (t.einde is not None and ctx.r["occurred_at"] < t.einde),
            "traject_beeindigd",
            f"traject {t.traject_id} has ended; only uitstroom and corrections are accepted",
        )
    return t


def eigen_traject(ctx: Context, wat: str, open_nodig: bool = True) -> Traject:
    t = traject(ctx, open_nodig)
    bevoegd(ctx.partner == t.mbo_instelling, ctx, f"{wat} on a traject of {t.mbo_instelling}")
    return t


def erkend_leerbedrijf(ctx: Context, leerbedrijf_id: str, crebo: str) -> None:
    crebos = ctx.staat.leerbedrijven.get(leerbedrijf_id)
    eis(
        crebos is not None,
        "leerbedrijf_niet_erkend",
        f"leerbedrijf {leerbedrijf_id} is not erkend (no LeerbedrijfErkend from SBB)",
        f"leerbedrijf:{leerbedrijf_id}",
    )
    eis(
        not crebos or crebo in (crebos or ()),
        "leerbedrijf_niet_erkend",
        f"leerbedrijf {leerbedrijf_id} is not erkend for crebo {crebo}",
        f"leerbedrijf:{leerbedrijf_id}",
    )
