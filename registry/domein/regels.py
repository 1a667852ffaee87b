"""The registry's rules: may this partner assert this fact, given what the registry knows?

``beoordeel`` is a pure function of (state, event, ingress partner, clock). Every
refusal has a stable reason code (partners program against it) and a human message.
The checks every event gets and the helpers the rules refuse with are in registry/domein/controles.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from registry.domein import identifiers, redenen, relaties, vorm
from registry.domein.controles import (
    Context,
    Record,
    Weigering,
    algemeen,
    bevoegd,
    eigen_traject,
    eis,
    erkend_leerbedrijf,
    traject,
    uitgever,
)
from registry.domein.events import REFERRERS, UITSTROOM_REFERRERS
from registry.domein.handlers import EventHandlers
from registry.domein.identifiers import soort
from registry.domein.staat import Staat, Traject

# events still allowed on a traject after TrajectBeeindigd: uitstroom and corrections
NA_BEEINDIGING = frozenset(
    {"AftekeningIngetrokken", "PraktijkverklaringIngetrokken", "UitstroomGeregistreerd", "DeelnemerGegevensVerwijderd"}
)
# warning: a sign-off of a werkproces outside the traject's latest praktijkafspraken
BUITEN_AFSPRAAK = "buiten_afspraak"
# reasons a partner can retry on once missing reference data or an earlier event has arrived
HERSTELBAAR = frozenset(
    {
        "onbekend_dossier",
        "geen_erkenning",
        "leerbedrijf_niet_erkend",
        "onbekend_traject",
        "onbekende_verklaring",
        relaties.GEEN_AANMELDING,
        relaties.WACHT_OP_SBB,
    }
)


@dataclass(frozen=True)
class Besluit:
    reden: str | None = None  # None: accepted
    melding: str = ""
    warnings: tuple[str, ...] = ()
    volgnummer: int | None = None
    # refused only for want of an event that may still come: the keys it waits for (registry.domein.parkeren)
    wacht_op: tuple[str, ...] = ()

    @property
    def geaccepteerd(self) -> bool:
        return self.reden is None

    @property
    def herstelbaar(self) -> bool:
        return self.reden in HERSTELBAAR


# an acceptance without warnings or volgnummer, as most are: one shared (immutable) value, not a frozen dataclass
# made per event
AANVAARD = Besluit()


def beoordeel(staat: Staat, event_type: str, r: Record, ingress_partner: str, now: dt.datetime) -> Besluit:
    """Checks in this order, so what a partner reads back never depends on whom the registry knows: the record
    itself (no look-up), whether this partner KIND may publish the type, then erasure and the relation with the
    deelnemer (registry/domein/relaties.py), then the event type's own rule."""
    regel = _REGELS.get(event_type)
    if regel is None:
        return Besluit("onbekend_type", f"cannot judge {event_type}: not in the event catalogue")
    ctx = Context(staat, r, ingress_partner)
    try:
        algemeen(ctx, now)
        vorm.controleer(ctx, event_type)
        uitgever(ctx, event_type)
        relaties.poort(ctx, event_type)
        regel(ctx)
    except Weigering as w:
        return Besluit(w.reden, w.melding, wacht_op=w.wacht_op)
    except Exception as exc:
        # a bug in a rule (a KeyError from a typo, ...) is the registry's error, never a refusal the partner
        # would act on: the validator dead-letters the record as an internal error. No record text in the message.
        raise RegelFout(f"the rules for {event_type} failed ({type(exc).__name__})") from exc
    if not ctx.warnings and ctx.volgnummer is None:
        return AANVAARD
    return Besluit(None, "", tuple(ctx.warnings), ctx.volgnummer)


class RegelFout(RuntimeError):
    """A rule raised something other than ``Weigering``: an internal error (its cause is chained)."""


def afgetekend_sleutel(traject_id: str, crebo: str, werkproces: str) -> str:
    return f"afgetekend:{traject_id}/{crebo}/{werkproces}"


# ---- per event type --------------------------------------------------------------------------
_AANMELDEN = "aanmelden (referrers: " + ", ".join(sorted(REFERRERS)) + ")"


def _aanmelding(ctx: Context) -> None:
    bevoegd(soort(ctx.partner) in REFERRERS, ctx, _AANMELDEN)


def _advies(ctx: Context) -> None:
    bevoegd(ctx.partner == ctx.r["mbo_instelling"], ctx, f"give advies on behalf of {ctx.r['mbo_instelling']}")


def _inschrijving(ctx: Context) -> None:
    s, r = ctx.staat, ctx.r
    bevoegd(ctx.partner == r["mbo_instelling"], ctx, f"enrol on behalf of {r['mbo_instelling']}")
    eis(r["traject_id"] not in s.trajecten, "traject_bestaat", f"traject {r['traject_id']} already exists")
    vanaf = s.erkenningen.get((r["mbo_instelling"], r["crebo"]))
    eis(
        vanaf is not None and vanaf <= r["startdatum"],
        "geen_erkenning",
        f"{r['mbo_instelling']} holds no erkenning derde leerweg for crebo {r['crebo']} on {r['startdatum'].isoformat()}",
        f"erkenning:{r['mbo_instelling']}/{r['crebo']}",
    )
    eis(
        r["crebo"] in s.dossiers,
        "onbekend_dossier",
        f"crebo {r['crebo']} has no known kwalificatiedossier",
        f"dossier:{r['crebo']}",
    )
    if r.get("leerbedrijf_id"):
        erkend_leerbedrijf(ctx, r["leerbedrijf_id"], r["crebo"])
    eis(r["leeftijd"] >= 16, "te_jong", f"leeftijd {r['leeftijd']}: praktijkleren starts at 16 at the earliest")
    if r["leeftijd"] < 18:
        ctx.warnings.append("minderjarig")
    dubbel = [
        t for t in s.open_trajecten(r["deelnemer"]) if (t.mbo_instelling, t.crebo) == (r["mbo_instelling"], r["crebo"])
    ]
    eis(
        not dubbel,
        "dubbele_inschrijving",
        f"deelnemer already has open traject {dubbel[0].traject_id if dubbel else ''} at this instelling for crebo {r['crebo']}",
    )
    relaties.aanmelding_nodig(ctx)
    if relaties.tweede_instelling(ctx):
        ctx.warnings.append(relaties.TWEEDE_INSTELLING)
    d = s.deelnemers.get(r["deelnemer"])
    if not (d and d.advies):
        ctx.warnings.append("zonder_advies")


def _leerbedrijf_vastgelegd(ctx: Context) -> None:
    t = eigen_traject(ctx, "record a leerbedrijf")
    erkend_leerbedrijf(ctx, ctx.r["leerbedrijf_id"], t.crebo)


def _aftekenaar(ctx: Context, t: Traject) -> None:
    ok = ctx.partner == t.mbo_instelling or (
        t.leerbedrijf_id is not None and ctx.partner == f"leerbedrijf.{t.leerbedrijf_id}"
    )
    if not ok and soort(ctx.partner) == "leerbedrijf":
        # a leerbedrijf signs off before the instelling's LeerbedrijfVastgelegd naming it arrives: it waits for it,
        # told exactly what a leerbedrijf is told about a traject the registry does not know (no oracle)
        raise relaties.onbekend_traject(ctx)
    eis(
        ok,
        "niet_bevoegd",
        f"{ctx.partner} may not sign off werkprocessen on traject {t.traject_id} "
        f"(only {t.mbo_instelling} or its leerbedrijf)",
    )


def _aftekening(ctx: Context) -> None:
    s, r = ctx.staat, ctx.r
    t = traject(ctx)
    _aftekenaar(ctx, t)
    dossier = s.dossiers.get(r["crebo"])
    eis(
        dossier is not None,
        "onbekend_dossier",
        f"crebo {r['crebo']} has no known kwalificatiedossier",
        f"dossier:{r['crebo']}",
    )
    eis(
        r["werkproces"] in (dossier or ()),
        "onbekend_werkproces",
        f"werkproces {r['werkproces']} is not in the dossier of crebo {r['crebo']}",
    )
    eis(
        (r["crebo"], r["werkproces"]) not in t.afgetekend,
        "al_afgetekend",
        f"{r['crebo']} {r['werkproces']} is already signed off in this traject",
    )
    if t.afspraak is not None and (r["crebo"], r["werkproces"]) not in t.afspraak:
        ctx.warnings.append(BUITEN_AFSPRAAK)


def _afspraken(ctx: Context) -> None:
    """Praktijkafspraken: by the traject's instelling, on werkprocessen of known dossiers, each once."""
    s, r = ctx.staat, ctx.r
    eigen_traject(ctx, "record praktijkafspraken")
    wps = [(w["crebo"], w["werkproces"]) for w in r["werkprocessen"]]
    eis(bool(wps), "geen_werkprocessen", "praktijkafspraken list at least one werkproces")
    eis(len(set(wps)) == len(wps), "dubbel_werkproces", "a werkproces is listed twice")
    for crebo, werkproces in wps:
        dossier = s.dossiers.get(crebo)
        eis(
            dossier is not None,
            "onbekend_dossier",
            f"crebo {crebo} has no known kwalificatiedossier",
            f"dossier:{crebo}",
        )
        eis(
            werkproces in (dossier or ()),
            "onbekend_werkproces",
            f"werkproces {werkproces} is not in the dossier of crebo {crebo}",
        )


def _reden_uit_lijst(ctx: Context, event_type: str) -> None:
    """A revocation or retraction names its reden by a code of the list (registry/domein/redenen.py), never free text."""
    probleem = redenen.probleem(event_type, ctx.r.get("reden"))
    eis(probleem is None, redenen.ONBEKEND, probleem or "")


def _aftekening_ingetrokken(ctx: Context) -> None:
    r = ctx.r
    _reden_uit_lijst(ctx, "AftekeningIngetrokken")
    t = traject(ctx, open_nodig=False)
    _aftekenaar(ctx, t)
    wp = (r["crebo"], r["werkproces"])
    eis(
        wp in t.afgetekend,
        "niet_afgetekend",
        f"{r['crebo']} {r['werkproces']} is not signed off in this traject",
        afgetekend_sleutel(t.traject_id, *wp),
    )
    op = [
        v.verklaring_id
        for v in ctx.staat.actieve_verklaringen(r["deelnemer"])
        if v.traject_id == t.traject_id and wp in v.werkprocessen
    ]
    eis(
        not op,
        "op_verklaring",
        f"{r['crebo']} {r['werkproces']} is on verklaring {op[0] if op else ''}: revoke the verklaring first",
    )


def _verklaring(ctx: Context) -> None:
    s, r = ctx.staat, ctx.r
    t = eigen_traject(ctx, "issue a praktijkverklaring")
    eis(
        r["verklaring_id"] not in s.verklaringen,
        "verklaring_bestaat",
        f"verklaring {r['verklaring_id']} already exists",
    )
    wps = [(w["crebo"], w["werkproces"]) for w in r["werkprocessen"]]
    eis(bool(wps), "geen_werkprocessen", "a praktijkverklaring lists at least one werkproces")
    eis(len(set(wps)) == len(wps), "dubbel_werkproces", "a werkproces is listed twice")
    missing = [(c, w) for c, w in wps if (c, w) not in t.afgetekend]
    eis(
        not missing,
        "niet_afgetekend",
        f"not signed off in this traject: {', '.join(f'{c} {w}' for c, w in missing)}",
        *(afgetekend_sleutel(t.traject_id, c, w) for c, w in missing),
    )
    actief = s.actieve_verklaringen(r["deelnemer"])
    earlier = sorted({f"{c} {w}" for v in actief for (c, w) in v.werkprocessen if (c, w) in set(wps)})
    eis(not earlier, "al_op_verklaring", f"already on an earlier verklaring of this deelnemer: {', '.join(earlier)}")
    eis(t.leerbedrijf_id is not None, "geen_leerbedrijf", f"traject {t.traject_id} has no leerbedrijf")
    ctx.volgnummer = len(actief) + 1


def _verklaring_ingetrokken(ctx: Context) -> None:
    _reden_uit_lijst(ctx, "PraktijkverklaringIngetrokken")
    v = ctx.staat.verklaringen.get(ctx.r["verklaring_id"])
    eis(
        v is not None,
        "onbekende_verklaring",
        f"verklaring {ctx.r['verklaring_id']} is not known",
        f"verklaring:{ctx.r['verklaring_id']}",
    )
    assert v is not None
    eis(v.deelnemer == ctx.r["deelnemer"], "andere_deelnemer", "the verklaring belongs to another deelnemer")
    bevoegd(ctx.partner in (v.mbo_instelling, "sbb"), ctx, f"revoke a verklaring of {v.mbo_instelling}")
    eis(not v.ingetrokken, "al_ingetrokken", f"verklaring {v.verklaring_id} is already revoked")


def _beeindiging(ctx: Context) -> None:
    eigen_traject(ctx, "end")


def _uitstroom(ctx: Context) -> None:
    s, r = ctx.staat, ctx.r
    d = s.deelnemers.get(r["deelnemer"])
    eigen = ctx.partner in s.instellingen_van(r["deelnemer"])
    verwijzer = soort(ctx.partner) in UITSTROOM_REFERRERS and d is not None and ctx.partner in d.aangemeld_door
    if d is None or not (eigen or verwijzer):  # a relation of another kind (an advies only): as if unknown
        raise relaties.als_onbekend(ctx, "UitstroomGeregistreerd")


def _alleen_het_register(ctx: Context) -> None:
    # the registry appends its own results to the canonical log; from an ingress topic it is a forgery
    raise Weigering(
        "niet_bevoegd", f"{ctx.partner} may not publish ReconciliatieUitgevoerd: only the registry itself does"
    )


_TELLING_BRON = {"gemeente": "gemeente", "uwv": "uwv", "mbo": "mbo", "monitor": "monitor", "sbb": "monitor"}


def _telling(ctx: Context) -> None:
    expected = _TELLING_BRON.get(soort(ctx.partner))
    bevoegd(
        expected is None or expected == ctx.r["bron_type"], ctx, f"report a telling as bron_type {ctx.r['bron_type']}"
    )
    # a pilot's own contact person (monitor.<pilot_id>) reports for that pilot only
    eigen_pilot = ctx.partner.split(".", 1)[1] if soort(ctx.partner) == "monitor" and "." in ctx.partner else None
    bevoegd(eigen_pilot is None or eigen_pilot == ctx.r["pilot"], ctx, f"report a telling for pilot {ctx.r['pilot']}")
    # a person list: only from the pilot's own partners (registry/domein/relaties.py)
    bevoegd(
        not ctx.r.get("deelnemers") or relaties.telling_bevoegd(ctx.staat, ctx.partner, ctx.r["pilot"]),
        ctx,
        f"send a person list for pilot {ctx.r['pilot']} (only its referrers, its instellingen, uwv and "
        f"monitor.{ctx.r['pilot']})",
    )


def _verwijdering(ctx: Context) -> None:
    """From sbb (the registry's controller) at once; from an instelling at once only when every traject and advies
    of the deelnemer is its own, otherwise it waits for sbb's erasure of the same deelnemer."""
    s, r = ctx.staat, ctx.r
    deelnemer = str(r["deelnemer"])
    if ctx.partner != relaties.SBB:
        eigen = deelnemer in s.deelnemers and (
            ctx.partner in s.instellingen_van(deelnemer) or ctx.partner in s.deelnemers[deelnemer].advies_door
        )
        if not eigen:  # a referral alone gives no say over erasure; no relation: as if unknown
            raise relaties.als_onbekend(ctx, "DeelnemerGegevensVerwijderd")
    eis(
        bool(str(r.get("grondslag") or "").strip()),
        "geen_grondslag",
        "an erasure names its grondslag (legal ground or request reference)",
    )
    if ctx.partner != relaties.SBB:
        eis(
            relaties.wist_zelf(s, ctx.partner, deelnemer),
            relaties.WACHT_OP_SBB,
            "another partner also holds this deelnemer: the erasure waits for sbb's confirmation (a "
            "DeelnemerGegevensVerwijderd from sbb for the same deelnemer)",
            relaties.verwijdering_sleutel(deelnemer),
        )


def _dossier(ctx: Context) -> None:
    bevoegd(ctx.partner == "sbb", ctx, "publish kwalificatiedossiers (only sbb)")
    eis(1 <= ctx.r["niveau"] <= 4, "ongeldig_niveau", f"niveau {ctx.r['niveau']} is not 1..4")
    for k in ctx.r["kerntaken"]:
        for w in k["werkprocessen"]:
            problem = identifiers.werkproces(w["code"])
            eis(problem is None, "ongeldige_identificatie", f"kerntaak {k['code']}: {problem}")


def _leerbedrijf_erkend(ctx: Context) -> None:
    bevoegd(ctx.partner == "sbb", ctx, "erkennen leerbedrijven (only sbb)")


def _erkenning(ctx: Context) -> None:
    bevoegd(ctx.partner == "duo", ctx, "grant erkenningen derde leerweg (only duo)")


# one rule per event type in the catalogue, none ignored (checked when this module is imported)
_REGELS: EventHandlers[Callable[[Context], None]] = EventHandlers(
    "regels",
    {
        "KandidaatAangemeld": _aanmelding,
        "AdviesUitgebracht": _advies,
        "DeelnemerIngeschreven": _inschrijving,
        "LeerbedrijfVastgelegd": _leerbedrijf_vastgelegd,
        "PraktijkafsprakenVastgelegd": _afspraken,
        "WerkprocesAfgetekend": _aftekening,
        "AftekeningIngetrokken": _aftekening_ingetrokken,
        "PraktijkverklaringUitgegeven": _verklaring,
        "PraktijkverklaringIngetrokken": _verklaring_ingetrokken,
        "TrajectBeeindigd": _beeindiging,
        "UitstroomGeregistreerd": _uitstroom,
        "TellingGemeld": _telling,
        "ReconciliatieUitgevoerd": _alleen_het_register,
        "DeelnemerGegevensVerwijderd": _verwijdering,
        "KwalificatiedossierVastgesteld": _dossier,
        "LeerbedrijfErkend": _leerbedrijf_erkend,
        "ErkenningDerdeLeerwegVerleend": _erkenning,
    },
)
HANDLED = _REGELS.handled
IGNORED = _REGELS.ignored
