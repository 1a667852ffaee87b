"""Who may say what about whom: a partner speaks only about deelnemers it has a relation with, through the log.

Relations (docs/usage.md, "Who may say what about whom"):

* a referrer (gemeente, uwv, dji, ...; an mbo-instelling too) through its own ``KandidaatAangemeld``;
* an mbo-instelling through its own ``AdviesUitgebracht`` or ``DeelnemerIngeschreven``;
* a leerbedrijf through a traject that names it (``DeelnemerIngeschreven``/``LeerbedrijfVastgelegd``);
* ``sbb`` (the registry's controller) always.

No oracle: what a partner reads back never tells whether someone is in the registry. So the partner *kind* is
checked before any look-up (``controles.uitgever``), and an event about a deelnemer the partner has no relation
with is judged exactly as one about an unknown deelnemer (``als_onbekend``): the same reason code, message and
wait keys, so it parks and is refused after the time-out like any event about someone the registry does not know.
``gegevens_verwijderd`` is told only to partners that had a relation when the deelnemer was erased.

Pure: no I/O; the rules in registry/domein/regels.py call these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from registry.domein.controles import Context, Weigering
from registry.domein.identifiers import soort
from registry.domein.staat import Staat, heeft_relatie_met, verwijderd_sleutel

SBB = "sbb"
# events that create a relation: they need none beforehand (an inschrijving needs an aanmelding for its pilot)
SCHEPPEND = frozenset({"KandidaatAangemeld", "AdviesUitgebracht", "DeelnemerIngeschreven"})
# reason codes of this module
WACHT_OP_SBB = "wacht_op_sbb"  # an instelling's erasure of a deelnemer another partner also holds: sbb confirms
GEEN_AANMELDING = "geen_aanmelding"  # an inschrijving without an aanmelding of that deelnemer for that pilot
TWEEDE_INSTELLING = "tweede_instelling"  # warning: the deelnemer has a running traject at another instelling


def heeft_relatie(staat: Staat, partner: str, deelnemer: str) -> bool:
    """Whether ``partner`` has a relation with ``deelnemer`` (for an erased one: had, when it was erased)."""
    if partner == SBB:
        return True
    if staat.is_verwijderd(deelnemer) and deelnemer not in staat.deelnemers:
        return partner in staat.verwijderd_relaties.get(verwijderd_sleutel(deelnemer), ())
    return heeft_relatie_met(staat, partner, deelnemer)


def is_verwijderd_voor(staat: Staat, partner: str, deelnemer: str) -> bool:
    """Erased, and this partner had a relation with it: it is told so (anyone else: as if unknown). sbb is told
    unless a new referral has registered the pseudonym again since."""
    if not staat.is_verwijderd(deelnemer):
        return False
    if partner == SBB:
        return deelnemer not in staat.deelnemers
    return partner in staat.verwijderd_relaties.get(verwijderd_sleutel(deelnemer), ())


def poort(ctx: Context, event_type: str) -> None:
    """Before the event's own rule: erased (for a partner with a relation), or no relation (as if unknown)."""
    deelnemer = ctx.r.get("deelnemer")
    if not deelnemer:
        return
    deelnemer = str(deelnemer)
    if is_verwijderd_voor(ctx.staat, ctx.partner, deelnemer):
        raise Weigering(
            "gegevens_verwijderd",
            "the deelnemer's gegevens were erased (DeelnemerGegevensVerwijderd): no later events are recorded for it",
        )
    if event_type in SCHEPPEND or heeft_relatie(ctx.staat, ctx.partner, deelnemer):
        return
    raise als_onbekend(ctx, event_type)


def als_onbekend(ctx: Context, event_type: str) -> Weigering:
    """The refusal the event's own rule gives when the registry knows nothing of what it refers to."""
    r = ctx.r
    if event_type == "PraktijkverklaringIngetrokken":
        return Weigering(
            "onbekende_verklaring",
            f"verklaring {r['verklaring_id']} is not known to the registry",
            (f"verklaring:{r['verklaring_id']}",),
        )
    if event_type == "UitstroomGeregistreerd":
        return Weigering(
            "onbekende_deelnemer", "deelnemer is not known to the registry", (f"deelnemer:{r['deelnemer']}",)
        )
    if event_type == "DeelnemerGegevensVerwijderd":
        return Weigering("niet_bevoegd", f"{ctx.partner} may not request erasure of this deelnemer")
    return onbekend_traject(ctx)


def onbekend_traject(ctx: Context) -> Weigering:
    """``onbekend_traject``: it waits for the traject; a leerbedrijf also for being named on it."""
    tid = ctx.r["traject_id"]
    wacht: tuple[str, ...] = (f"traject:{tid}",)
    if soort(ctx.partner) == "leerbedrijf":
        wacht += (f"leerbedrijf_van:{tid}/{ctx.partner.split('.', 1)[1]}",)
    return Weigering("onbekend_traject", f"traject {tid} is not known to the registry", wacht)


def aanmelding_nodig(ctx: Context) -> None:
    """An inschrijving needs an aanmelding of that deelnemer for that pilot (by any referrer); it waits for one."""
    d = ctx.staat.deelnemers.get(str(ctx.r["deelnemer"]))
    pilot = ctx.r["pilot"]
    if d is None or pilot not in d.aangemeld_voor:
        raise Weigering(
            GEEN_AANMELDING,
            f"no aanmelding of this deelnemer for pilot {pilot}",
            (aanmelding_sleutel(str(ctx.r["deelnemer"]), pilot),),
        )


def aanmelding_sleutel(deelnemer: str, pilot: str) -> str:
    return f"aanmelding:{deelnemer}/{pilot}"


def verwijdering_sleutel(deelnemer: str) -> str:
    """What an instelling's erasure waits for: sbb's erasure of the same deelnemer."""
    return f"verwijdering:{deelnemer}"


def tweede_instelling(ctx: Context) -> bool:
    """The deelnemer has a running traject at another instelling than this inschrijving's."""
    return any(t.mbo_instelling != ctx.r["mbo_instelling"] for t in ctx.staat.open_trajecten(str(ctx.r["deelnemer"])))


def wist_zelf(staat: Staat, partner: str, deelnemer: str) -> bool:
    """An instelling's erasure takes effect at once only when every traject and advies of the deelnemer is its own."""
    d = staat.deelnemers.get(deelnemer)
    if d is None:
        return False
    return staat.instellingen_van(deelnemer) <= {partner} and d.advies_door <= {partner}


def telling_bevoegd(staat: Staat, partner: str, pilot: str) -> bool:
    """Who may send a person list for a pilot: the pilot's own partners, from the log (a referrer that referred
    someone to it, an instelling with an inschrijving in it), ``uwv`` (national) and ``monitor.<pilot>``."""
    return partner == "uwv" or partner == f"monitor.{pilot}" or partner in staat.pilot_partners.get(pilot, ())


def zonder_verwijderden(staat: Staat, record: Mapping[str, Any]) -> dict[str, Any]:
    """A telling's list with every erased deelnemer replaced by an opaque value (unlinkable, distinct per entry,
    the same for the same event): the list's counts stay, the erased pseudonym never enters a read model."""
    lijst = record.get("deelnemers")
    if not lijst:
        return dict(record)
    out = []
    for i, entry in enumerate(lijst):
        d = str(entry.get("deelnemer") or "")
        if d and staat.is_verwijderd(d) and d not in staat.deelnemers:
            opaak = hashlib.sha256(f"verwijderd|{record['event_id']}|{i}".encode()).hexdigest()
            entry = dict(entry, deelnemer=opaak)
        out.append(entry)
    return dict(record, deelnemers=out)
