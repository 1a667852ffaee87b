"""The steps of one deelnemer's story, each recording its event(s) with the shared builders
(registry.demo.bouwer): aanmelding and advies, inschrijving, leerbedrijf, sign-offs,
verklaring, beeindiging, uitstroom. The timelines (trajecten.py) decide when."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TypeVar

from registry.demo import bouwer
from registry.demo.dossiers import crebos_van
from registry.demo.toeval import leeftijd_op
from registry.demo.wereld import Leerbedrijf, Persoon, Traject, Verklaring, Wereld

# a verklaring signed at a leerbedrijf whose praktijkopleider the data set never drew
ONBEKENDE_OPLEIDER = "po-0000"
# why deelnemers stop early (plausible shares; the evaluation names no figures)
UITVALREDENEN: tuple[tuple[str, float], ...] = (
    ("werk_gevonden", 22),
    ("gezondheid", 14),
    ("motivatie", 18),
    ("niet_passend", 12),
    ("leerbedrijf_gestopt", 8),
    ("persoonlijke_omstandigheden", 16),
    ("detentie_einde", 3),
    ("overig", 7),
)


# the uitkering at aanmelding per doelgroep (a bijstand, b WW, c beperking, i gedetineerden; the rest mixed)
UITKERINGEN: dict[str, tuple[tuple[str, float], ...]] = {
    "a": (("participatiewet", 85), ("nug", 5), ("onbekend", 10)),
    "b": (("ww", 85), ("participatiewet", 5), ("onbekend", 10)),
    "c": (("wajong", 45), ("wia", 20), ("participatiewet", 25), ("onbekend", 10)),
    "h": (("geen", 70), ("ww", 10), ("onbekend", 20)),
    "i": (("geen", 40), ("onbekend", 60)),
}
UITKERINGEN_OVERIG = (("participatiewet", 35), ("nug", 15), ("geen", 25), ("ww", 5), ("onbekend", 20))
CONTRACTEN: tuple[tuple[str | None, float], ...] = (
    ("tijdelijk", 40),
    ("uitzend", 20),
    ("vast", 15),
    ("afspraakbaan", 10),
    ("bbl", 5),
    ("zelfstandig", 5),
    (None, 5),
)
UITKERING_NA_WERK = (("geen", 60), ("deels", 30), ("onbekend", 10))
UITKERING_NA_ANDERS = (("volledig", 50), ("deels", 10), ("geen", 20), ("onbekend", 20))
T = TypeVar("T")


def vast_gekozen(sleutel: str, opties: Sequence[tuple[T, float]]) -> T:
    """A weighted choice fixed by ``sleutel`` (a hash, not the world's random stream): fields added to the data set
    later draw nothing from that stream, so every earlier draw, and so every number the demo printed, stays."""
    totaal = sum(w for _, w in opties)
    punt = int.from_bytes(hashlib.sha256(sleutel.encode()).digest()[:8], "big") / 2**64 * totaal
    for waarde, gewicht in opties:
        punt -= gewicht
        if punt < 0:
            return waarde
    return opties[-1][0]


def aanmelden(p: Persoon, dag: date) -> None:
    uitkering = vast_gekozen(f"uitkering:{p.nr}", UITKERINGEN.get(p.doelgroep, UITKERINGEN_OVERIG))
    nieuwkomer = vast_gekozen(
        f"nieuwkomer:{p.nr}", ((True, 40), (False, 60)) if p.doelgroep == "f" else ((True, 3), (False, 97))
    )
    p.emit(
        dag,
        p.aanmelder,
        "KandidaatAangemeld",
        bouwer.aanmelding(
            p.pilot, p.aanmelder_type, p.doelgroep, p.gemeente, p.werkend, uitkering=uitkering, nieuwkomer=nieuwkomer
        ),
    )


def _voorloop(w: Wereld, p: Persoon, inschrijving: date) -> None:
    """Aanmelding and advies before the first inschrijving."""
    t = w.toeval
    advies = inschrijving - timedelta(days=t.rng.randint(2, 30))
    aanmelden(p, advies - timedelta(days=t.rng.randint(3, 60)))
    if p.leeftijd < 18:
        duo, verouderd = "geen_inschrijving_geen_startkwalificatie", False
    else:
        duo = t.gewogen(
            (("geen_inschrijving_geen_startkwalificatie", 85), ("heeft_startkwalificatie", 5), ("niet_uitgevoerd", 10))
        )
        verouderd = duo == "heeft_startkwalificatie"
    soort = t.gewogen((("praktijkverklaring", 94), ("mbo_certificaat", 3), ("entree", 3)))
    p.emit(advies, p.instelling, "AdviesUitgebracht", bouwer.advies(p.instelling, soort, duo, verouderd))


def inschrijven(
    w: Wereld,
    p: Persoon,
    crebo: str,
    start: date,
    lb: Leerbedrijf | None,
    lb_nu: bool,
    inschrijving: date | None = None,
) -> Traject:
    """A new traject; ``lb_nu``: the leerbedrijf is on the inschrijving (else vastgelegd later)."""
    if inschrijving is None:
        inschrijving = start - timedelta(days=w.toeval.rng.randint(0, 14))
    t = Traject(w.toeval.uuid(), p.instelling, crebo, start, lb, lb_nu)
    if not p.trajecten:
        p.geboortedatum = w.toeval.geboortedatum(p.leeftijd, start)
        _voorloop(w, p, inschrijving)
    payload = bouwer.inschrijving(
        t.traject_id,
        p.instelling,
        crebo,
        p.pilot,
        start,
        p.geslacht,
        leeftijd_op(p.geboortedatum, start),
        gemeente=p.gemeente,
        leerbedrijf_id=lb.lb_id if (lb and lb_nu) else None,
    )
    p.emit(inschrijving, p.instelling, "DeelnemerIngeschreven", payload, naam=p.naam, geboortedatum=p.geboortedatum)
    if lb is not None:
        lb.crebos.add(crebo)
        lb.eerste_gebruik = min(lb.eerste_gebruik, inschrijving)
    p.trajecten.append(t)
    return t


def vastleggen(p: Persoon, t: Traject, d: date) -> None:
    assert t.lb is not None
    p.emit(
        d,
        t.instelling,
        "LeerbedrijfVastgelegd",
        bouwer.leerbedrijf_vastgelegd(t.traject_id, t.lb.lb_id, t.lb.opleider or None),
    )
    t.lb.eerste_gebruik = min(t.lb.eerste_gebruik, d)


def aftekenen(w: Wereld, p: Persoon, t: Traject, wps: list[tuple[str, str]], van: date, tot: date) -> None:
    """Sign-offs on days in [van, tot], mostly by the leerbedrijf itself, else by the instelling."""
    assert t.lb is not None
    dagen = sorted(w.toeval.dag(van, max(van, tot), corona=False) for _ in wps)
    for (crebo, wp), d in zip(wps, dagen, strict=False):
        partner = f"leerbedrijf.{t.lb.lb_id}" if w.toeval.rng.random() < 0.85 else t.instelling
        p.emit(d, partner, "WerkprocesAfgetekend", bouwer.aftekening(t.traject_id, crebo, wp, t.lb.opleider))
        t.afgetekend.append((crebo, wp))
        t.lb.crebos.add(crebo)


def vrij(w: Wereld, p: Persoon, crebo: str) -> int:
    """How many werkprocessen of the dossier the person has not signed off yet."""
    gebruikt = {wp for tr in p.trajecten for wp in tr.afgetekend}
    return sum((crebo, wp) not in gebruikt for wp in w.dossiers[crebo].werkprocessen)


def kies_werkprocessen(w: Wereld, p: Persoon, crebo: str, n: int) -> list[tuple[str, str]]:
    """``n`` consecutive werkprocessen of the dossier not yet signed off or on a verklaring."""
    gebruikt = {wp for tr in p.trajecten for wp in tr.afgetekend} | {
        wp for v in p.verklaringen for wp in v.werkprocessen
    }
    vrije = [wp for wp in w.dossiers[crebo].werkprocessen if (crebo, wp) not in gebruikt]
    if len(vrije) < n:
        raise ValueError(f"dossier {crebo} has too few werkprocessen left for deelnemer {p.nr}")
    begin = w.toeval.rng.randrange(len(vrije))
    return [(crebo, vrije[(begin + i) % len(vrije)]) for i in range(n)]


def werkprocessen_voor(w: Wereld, p: Persoon, v: Verklaring) -> list[tuple[str, str]]:
    """The werkprocessen of a verklaring; with two kwalificaties a third from the second one."""
    crebos = crebos_van(v.sleutel)
    if len(crebos) == 1:
        return kies_werkprocessen(w, p, crebos[0], v.n_werkprocessen)
    tweede = max(1, v.n_werkprocessen // 3)
    return kies_werkprocessen(w, p, crebos[0], v.n_werkprocessen - tweede) + kies_werkprocessen(w, p, crebos[1], tweede)


def uitgeven(w: Wereld, p: Persoon, t: Traject, v: Verklaring, d: date) -> None:
    assert t.lb is not None
    v.verklaring_id, v.datum = w.toeval.uuid(), d
    p.emit(
        d,
        t.instelling,
        "PraktijkverklaringUitgegeven",
        bouwer.verklaring(
            t.traject_id,
            v.verklaring_id,
            v.werkprocessen,
            t.lb.lb_id,
            v.branche,
            ondertekend_door=t.lb.opleider or ONBEKENDE_OPLEIDER,
            ondertekend_op=d,
        ),
    )
    for c in crebos_van(v.sleutel):
        t.lb.crebos.add(c)


def beeindigen(p: Persoon, t: Traject, d: date, reden: str) -> None:
    t.einde, t.reden = d, reden
    uitval = vast_gekozen(f"uitval:{t.traject_id}", UITVALREDENEN) if reden == "voortijdig_gestopt" else None
    p.emit(d, t.instelling, "TrajectBeeindigd", bouwer.beeindiging(t.traject_id, reden, uitval))


def uitstroom(w: Wereld, p: Persoon, d: date, opties: Sequence[tuple[str, float]]) -> None:
    """Registered by the instelling, sometimes by the referring gemeente, UWV or DJI."""
    partner = p.instelling
    if p.aanmelder.split(".")[0] in ("gemeente", "uwv", "dji") and w.toeval.rng.random() < 0.3:
        partner = p.aanmelder
    p.emit(d, partner, "UitstroomGeregistreerd", uitstroom_meting(w.toeval.gewogen(opties), "einde", f"{p.nr}:{d}"))


def uitstroom_meting(waar: str, peilmoment: str, sleutel: str) -> bouwer.Payload:
    """An uitstroom with its contract and uitkering, chosen by ``sleutel`` (no draw from the world's stream)."""
    werk = waar == "betaald_werk"
    contract = vast_gekozen(f"contract:{peilmoment}:{sleutel}", CONTRACTEN) if werk else None
    na = vast_gekozen(f"uitkering_na:{peilmoment}:{sleutel}", UITKERING_NA_WERK if werk else UITKERING_NA_ANDERS)
    return bouwer.uitstroom(waar, peilmoment, contract, na)
