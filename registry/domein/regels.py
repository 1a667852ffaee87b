"""The registry's rules: may this partner assert this fact, given what the registry knows?

``beoordeel`` is a pure function of (state, event, ingress partner, clock). Every
refusal has a stable reason code (partners program against it) and a human message.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from registry.domein import identifiers, redenen, verwijzingen
from registry.domein.events import REFERRERS, SPECS, UITSTROOM_REFERRERS
from registry.domein.identifiers import soort
from registry.domein.staat import Staat, Traject
from registry.domein.telregels import EARLIEST

Record = Mapping[str, Any]
# events still allowed on a traject after TrajectBeeindigd: uitstroom and corrections
NA_BEEINDIGING = frozenset({"AftekeningIngetrokken", "PraktijkverklaringIngetrokken", "UitstroomGeregistreerd", "DeelnemerGegevensVerwijderd"})
# reasons a partner can retry on once missing reference data or an earlier event has arrived
# business dates (schema logicalType date): before 1990 or more than a year ahead is a typing error, never a fact
DATUMVELDEN = ("startdatum", "peildatum", "vanaf", "pok_datum")
VROEGSTE_DATUM = dt.date(1990, 1, 1)
DATUM_VOORUIT = dt.timedelta(days=366)
HERSTELBAAR = frozenset({"onbekend_dossier", "geen_erkenning", "leerbedrijf_niet_erkend", "onbekend_traject", "onbekende_verklaring"})


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


class Weigering(Exception):
    def __init__(self, reden: str, melding: str, wacht_op: tuple[str, ...] = ()) -> None:
        super().__init__(melding)
        self.reden, self.melding, self.wacht_op = reden, melding, wacht_op


@dataclass
class _Context:
    staat: Staat
    r: Record
    partner: str
    warnings: list[str] = field(default_factory=list)
    volgnummer: int | None = None


def beoordeel(staat: Staat, event_type: str, r: Record, ingress_partner: str, now: dt.datetime) -> Besluit:
    ctx = _Context(staat, r, ingress_partner)
    try:
        _algemeen(ctx, now)
        _REGELS[event_type](ctx)
        _uitgever(ctx, event_type)
    except Weigering as w:
        return Besluit(w.reden, w.melding, wacht_op=w.wacht_op)
    except KeyError as exc:
        return Besluit("onbekend_type" if event_type not in _REGELS else "ongeldig", f"cannot judge {event_type}: missing {exc}")
    return Besluit(None, "", tuple(ctx.warnings), ctx.volgnummer)


# ---- checks every event gets -----------------------------------------------------------------
def _algemeen(ctx: _Context, now: dt.datetime) -> None:
    r = ctx.r
    if r["partner"] != ctx.partner:
        raise Weigering("partner_onjuist", f"partner {r['partner']!r} does not match the ingress topic of {ctx.partner!r}")
    if r["occurred_at"] > now + dt.timedelta(days=1):
        raise Weigering("toekomst", f"occurred_at {r['occurred_at'].isoformat()} is more than one day in the future")
    if r["occurred_at"] < EARLIEST:
        raise Weigering("te_oud", f"occurred_at {r['occurred_at'].isoformat()} is before 2015-01-01")
    _datums(r, now)
    _identifiers(r)
    # erasure (issue 12): nothing more is recorded about an erased deelnemer
    _eis(not (r.get("deelnemer") and ctx.staat.is_verwijderd(str(r["deelnemer"]))), "gegevens_verwijderd",
         "the deelnemer's gegevens were erased (DeelnemerGegevensVerwijderd): no later events are recorded for it")


def _datums(r: Record, now: dt.datetime) -> None:
    """``startdatum``, ``peildatum``, ``vanaf`` and ``pok_datum``: from 1990 up to a year after today."""
    for naam in DATUMVELDEN:
        waarde = r.get(naam)
        if not isinstance(waarde, dt.date):
            continue
        if isinstance(waarde, dt.datetime):
            waarde = waarde.date()
        if waarde > now.date() + DATUM_VOORUIT:
            raise Weigering("datum_toekomst", f"{naam} {waarde.isoformat()} is more than {DATUM_VOORUIT.days} days in the future")
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


def _uitgever(ctx: _Context, event_type: str) -> None:
    """The catalogue's who-may-publish table, checked after the finer rule (which refuses
    first with a more specific reason; for the event types here it implies this check)."""
    publishers = SPECS[event_type].publishers
    _bevoegd(soort(ctx.partner) in publishers, ctx, f"publish {event_type} (only {', '.join(sorted(publishers))})")


def _eis(ok: bool, reden: str, melding: str, *wacht_op: str) -> None:
    """Refuse unless ``ok``; ``wacht_op``: the keys of events that would make it ok (the event parks on them)."""
    if not ok:
        raise Weigering(reden, melding, tuple(wacht_op))


def _bevoegd(ok: bool, ctx: _Context, wat: str) -> None:
    _eis(ok, "niet_bevoegd", f"{ctx.partner} may not {wat}")


def _traject(ctx: _Context, open_nodig: bool = True) -> Traject:
    t = ctx.staat.trajecten.get(ctx.r["traject_id"])
    _eis(t is not None, "onbekend_traject", f"traject {ctx.r['traject_id']} is not known to the registry",
         f"traject:{ctx.r['traject_id']}")
    assert t is not None
    _eis(t.deelnemer == ctx.r["deelnemer"], "andere_deelnemer", f"traject {t.traject_id} belongs to another deelnemer")
    if open_nodig:
        # a fact from before the ending that arrives after it (another partner's topic) still belongs to the traject
        _eis(t.open or (t.einde is not None and ctx.r["occurred_at"] < t.einde), "traject_beeindigd", f"traject {t.traject_id} has ended; only uitstroom and corrections are accepted")
    return t


def afgetekend_sleutel(traject_id: str, crebo: str, werkproces: str) -> str:
    return f"afgetekend:{traject_id}/{crebo}/{werkproces}"


def _eigen_traject(ctx: _Context, wat: str, open_nodig: bool = True) -> Traject:
    t = _traject(ctx, open_nodig)
    _bevoegd(ctx.partner == t.mbo_instelling, ctx, f"{wat} on a traject of {t.mbo_instelling}")
    return t


def _erkend_leerbedrijf(ctx: _Context, leerbedrijf_id: str, crebo: str) -> None:
    crebos = ctx.staat.leerbedrijven.get(leerbedrijf_id)
    _eis(crebos is not None, "leerbedrijf_niet_erkend", f"leerbedrijf {leerbedrijf_id} is not erkend (no LeerbedrijfErkend from SBB)",
         f"leerbedrijf:{leerbedrijf_id}")
    _eis(not crebos or crebo in (crebos or ()), "leerbedrijf_niet_erkend", f"leerbedrijf {leerbedrijf_id} is not erkend for crebo {crebo}",
         f"leerbedrijf:{leerbedrijf_id}")


# ---- per event type --------------------------------------------------------------------------
def _aanmelding(ctx: _Context) -> None:
    _bevoegd(soort(ctx.partner) in REFERRERS, ctx, "aanmelden (referrers: " + ", ".join(sorted(REFERRERS)) + ")")


def _advies(ctx: _Context) -> None:
    _bevoegd(ctx.partner == ctx.r["mbo_instelling"], ctx, f"give advies on behalf of {ctx.r['mbo_instelling']}")


def _inschrijving(ctx: _Context) -> None:
    s, r = ctx.staat, ctx.r
    _bevoegd(ctx.partner == r["mbo_instelling"], ctx, f"enrol on behalf of {r['mbo_instelling']}")
    _eis(r["traject_id"] not in s.trajecten, "traject_bestaat", f"traject {r['traject_id']} already exists")
    vanaf = s.erkenningen.get((r["mbo_instelling"], r["crebo"]))
    _eis(vanaf is not None and vanaf <= r["startdatum"], "geen_erkenning",
         f"{r['mbo_instelling']} holds no erkenning derde leerweg for crebo {r['crebo']} on {r['startdatum'].isoformat()}",
         f"erkenning:{r['mbo_instelling']}/{r['crebo']}")
    _eis(r["crebo"] in s.dossiers, "onbekend_dossier", f"crebo {r['crebo']} has no known kwalificatiedossier", f"dossier:{r['crebo']}")
    if r.get("leerbedrijf_id"):
        _erkend_leerbedrijf(ctx, r["leerbedrijf_id"], r["crebo"])
    _eis(r["leeftijd"] >= 16, "te_jong", f"leeftijd {r['leeftijd']}: praktijkleren starts at 16 at the earliest")
    if r["leeftijd"] < 18:
        ctx.warnings.append("minderjarig")
    dubbel = [t for t in s.open_trajecten(r["deelnemer"]) if (t.mbo_instelling, t.crebo) == (r["mbo_instelling"], r["crebo"])]
    _eis(not dubbel, "dubbele_inschrijving", f"deelnemer already has open traject {dubbel[0].traject_id if dubbel else ''} at this instelling for crebo {r['crebo']}")
    d = s.deelnemers.get(r["deelnemer"])
    if not (d and d.advies):
        ctx.warnings.append("zonder_advies")


def _leerbedrijf_vastgelegd(ctx: _Context) -> None:
    t = _eigen_traject(ctx, "record a leerbedrijf")
    _erkend_leerbedrijf(ctx, ctx.r["leerbedrijf_id"], t.crebo)


def _aftekenaar(ctx: _Context, t: Traject) -> None:
    ok = ctx.partner == t.mbo_instelling or (t.leerbedrijf_id is not None and ctx.partner == f"leerbedrijf.{t.leerbedrijf_id}")
    # a leerbedrijf signs off before the instelling's LeerbedrijfVastgelegd naming it arrives: it waits for it
    wacht = (f"leerbedrijf_van:{t.traject_id}/{ctx.partner.split('.', 1)[1]}",) if soort(ctx.partner) == "leerbedrijf" else ()
    _eis(ok, "niet_bevoegd", f"{ctx.partner} may not sign off werkprocessen on traject {t.traject_id} "
         f"(only {t.mbo_instelling} or its leerbedrijf)", *wacht)


def _aftekening(ctx: _Context) -> None:
    s, r = ctx.staat, ctx.r
    t = _traject(ctx)
    _aftekenaar(ctx, t)
    dossier = s.dossiers.get(r["crebo"])
    _eis(dossier is not None, "onbekend_dossier", f"crebo {r['crebo']} has no known kwalificatiedossier", f"dossier:{r['crebo']}")
    _eis(r["werkproces"] in (dossier or ()), "onbekend_werkproces", f"werkproces {r['werkproces']} is not in the dossier of crebo {r['crebo']}")
    _eis((r["crebo"], r["werkproces"]) not in t.afgetekend, "al_afgetekend", f"{r['crebo']} {r['werkproces']} is already signed off in this traject")


def _reden_uit_lijst(ctx: _Context, event_type: str) -> None:
    """A revocation or retraction names its reden by a code of the list (registry/domein/redenen.py), never free text."""
    probleem = redenen.probleem(event_type, ctx.r.get("reden"))
    _eis(probleem is None, redenen.ONBEKEND, probleem or "")


def _aftekening_ingetrokken(ctx: _Context) -> None:
    r = ctx.r
    _reden_uit_lijst(ctx, "AftekeningIngetrokken")
    t = _traject(ctx, open_nodig=False)
    _aftekenaar(ctx, t)
    wp = (r["crebo"], r["werkproces"])
    _eis(wp in t.afgetekend, "niet_afgetekend", f"{r['crebo']} {r['werkproces']} is not signed off in this traject",
         afgetekend_sleutel(t.traject_id, *wp))
    op = [v.verklaring_id for v in ctx.staat.actieve_verklaringen(r["deelnemer"]) if v.traject_id == t.traject_id and wp in v.werkprocessen]
    _eis(not op, "op_verklaring", f"{r['crebo']} {r['werkproces']} is on verklaring {op[0] if op else ''}: revoke the verklaring first")


def _verklaring(ctx: _Context) -> None:
    s, r = ctx.staat, ctx.r
    t = _eigen_traject(ctx, "issue a praktijkverklaring")
    _eis(r["verklaring_id"] not in s.verklaringen, "verklaring_bestaat", f"verklaring {r['verklaring_id']} already exists")
    wps = [(w["crebo"], w["werkproces"]) for w in r["werkprocessen"]]
    _eis(bool(wps), "geen_werkprocessen", "a praktijkverklaring lists at least one werkproces")
    _eis(len(set(wps)) == len(wps), "dubbel_werkproces", "a werkproces is listed twice")
    missing = [(c, w) for c, w in wps if (c, w) not in t.afgetekend]
    _eis(not missing, "niet_afgetekend", f"not signed off in this traject: {', '.join(f'{c} {w}' for c, w in missing)}",
         *(afgetekend_sleutel(t.traject_id, c, w) for c, w in missing))
    actief = s.actieve_verklaringen(r["deelnemer"])
    earlier = sorted({f"{c} {w}" for v in actief for (c, w) in v.werkprocessen if (c, w) in set(wps)})
    _eis(not earlier, "al_op_verklaring", f"already on an earlier verklaring of this deelnemer: {', '.join(earlier)}")
    _eis(t.leerbedrijf_id is not None, "geen_leerbedrijf", f"traject {t.traject_id} has no leerbedrijf")
    ctx.volgnummer = len(actief) + 1


def _verklaring_ingetrokken(ctx: _Context) -> None:
    _reden_uit_lijst(ctx, "PraktijkverklaringIngetrokken")
    v = ctx.staat.verklaringen.get(ctx.r["verklaring_id"])
    _eis(v is not None, "onbekende_verklaring", f"verklaring {ctx.r['verklaring_id']} is not known", f"verklaring:{ctx.r['verklaring_id']}")
    assert v is not None
    _eis(v.deelnemer == ctx.r["deelnemer"], "andere_deelnemer", "the verklaring belongs to another deelnemer")
    _bevoegd(ctx.partner in (v.mbo_instelling, "sbb"), ctx, f"revoke a verklaring of {v.mbo_instelling}")
    _eis(not v.ingetrokken, "al_ingetrokken", f"verklaring {v.verklaring_id} is already revoked")


def _beeindiging(ctx: _Context) -> None:
    _eigen_traject(ctx, "end")


def _uitstroom(ctx: _Context) -> None:
    s, r = ctx.staat, ctx.r
    d = s.deelnemers.get(r["deelnemer"])
    _eis(d is not None, "onbekende_deelnemer", "deelnemer is not known to the registry", f"deelnemer:{r['deelnemer']}")
    eigen = ctx.partner in s.instellingen_van(r["deelnemer"])
    verwijzer = soort(ctx.partner) in UITSTROOM_REFERRERS and d is not None and ctx.partner in d.aangemeld_door
    _bevoegd(eigen or verwijzer, ctx, "register uitstroom (only the deelnemer's mbo-instelling or the referring gemeente/uwv/dji/rmc)")


def _alleen_het_register(ctx: _Context) -> None:
    # the registry appends its own results to the canonical log; from an ingress topic it is a forgery
    raise Weigering("niet_bevoegd", f"{ctx.partner} may not publish ReconciliatieUitgevoerd: only the registry itself does")


_TELLING_BRON = {"gemeente": "gemeente", "uwv": "uwv", "mbo": "mbo", "monitor": "monitor", "sbb": "monitor"}


def _telling(ctx: _Context) -> None:
    expected = _TELLING_BRON.get(soort(ctx.partner))
    _bevoegd(expected is None or expected == ctx.r["bron_type"], ctx, f"report a telling as bron_type {ctx.r['bron_type']}")
    # a pilot's own contact person (monitor.<pilot_id>) reports for that pilot only
    eigen_pilot = ctx.partner.split(".", 1)[1] if soort(ctx.partner) == "monitor" and "." in ctx.partner else None
    _bevoegd(eigen_pilot is None or eigen_pilot == ctx.r["pilot"], ctx, f"report a telling for pilot {ctx.r['pilot']}")


def _verwijdering(ctx: _Context) -> None:
    s, r = ctx.staat, ctx.r
    _bevoegd(ctx.partner == "sbb" or ctx.partner in s.instellingen_van(r["deelnemer"]), ctx, "request erasure of this deelnemer")
    _eis(bool(str(r.get("grondslag") or "").strip()), "geen_grondslag",
         "an erasure names its grondslag (legal ground or request reference)")


def _dossier(ctx: _Context) -> None:
    _bevoegd(ctx.partner == "sbb", ctx, "publish kwalificatiedossiers (only sbb)")
    _eis(1 <= ctx.r["niveau"] <= 4, "ongeldig_niveau", f"niveau {ctx.r['niveau']} is not 1..4")
    for k in ctx.r["kerntaken"]:
        for w in k["werkprocessen"]:
            problem = identifiers.werkproces(w["code"])
            _eis(problem is None, "ongeldige_identificatie", f"kerntaak {k['code']}: {problem}")


def _leerbedrijf_erkend(ctx: _Context) -> None:
    _bevoegd(ctx.partner == "sbb", ctx, "erkennen leerbedrijven (only sbb)")


def _erkenning(ctx: _Context) -> None:
    _bevoegd(ctx.partner == "duo", ctx, "grant erkenningen derde leerweg (only duo)")


# one rule per event type in the catalogue (tests/unit/test_catalogus.py); none is ignored:
# an event type without a rule would be refused as onbekend_type
_REGELS: dict[str, Callable[[_Context], None]] = {
    "KandidaatAangemeld": _aanmelding,
    "AdviesUitgebracht": _advies,
    "DeelnemerIngeschreven": _inschrijving,
    "LeerbedrijfVastgelegd": _leerbedrijf_vastgelegd,
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
}
HANDLED = frozenset(_REGELS)
IGNORED: frozenset[str] = frozenset()
