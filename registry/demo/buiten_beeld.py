"""What the evaluation could not see: deelnemers enrolled after the peildatum, candidates who
were aangemeld but never enrolled, revoked verklaringen and retracted sign-offs."""

from __future__ import annotations

from datetime import date, timedelta

from registry.demo import bouwer, stappen
from registry.demo.doelen import LAATSTE_DAG
from registry.demo.leerbedrijven import nieuw_leerbedrijf
from registry.demo.opzet import NIEUW_NA_PEILDATUM, NOOIT_INGESCHREVEN, PILOT_INSTELLINGEN, PILOT_START
from registry.demo.personen import referent
from registry.demo.trajecten import lopend
from registry.demo.wereld import Persoon, Wereld
from registry.domein.telregels import LEEFTIJDSGROEPEN

# advies and DUO check of candidates who never enrol (weight); ("", "") is no advies at all
_UITKOMSTEN = (
    ("praktijkverklaring", "geen_inschrijving_geen_startkwalificatie", 14),
    ("geen", "heeft_mbo_inschrijving", 10),
    ("mbo_diploma_bbl", "geen_inschrijving_geen_startkwalificatie", 10),
    ("entree", "geen_inschrijving_geen_startkwalificatie", 8),
    ("mbo_certificaat", "geen_inschrijving_geen_startkwalificatie", 6),
    ("geen", "heeft_startkwalificatie", 6),
    ("", "", 16),
)
# the first candidate of these pilots is kept for refusals() (registry.demo.weigeringen)
_GERESERVEERD = {"haaglanden": "geen_erkenning", "zwolle": "te_jong"}


def _nieuw_persoon(w: Wereld, pilot: str, soort: str, geslachten: tuple[str, ...]) -> Persoon:
    """A person outside the evaluation's tables: geslacht, an adult age group, an instelling."""
    p = w.persoon(pilot, soort)
    p.geslacht = "man" if pilot == "dji" else w.toeval.rng.choice(geslachten)
    p.groep = w.toeval.gewogen(tuple((g, float(w.doel["leeftijdsgroepen"][g])) for g in LEEFTIJDSGROEPEN[1:]))
    p.leeftijd = w.toeval.leeftijd(p.groep)
    return p


def na_peildatum(w: Wereld) -> None:
    """New deelnemers in 2021 (after the peildatum)."""
    rng = w.toeval.rng
    for pilot, n in NIEUW_NA_PEILDATUM.items():
        for _ in range(n):
            p = _nieuw_persoon(w, pilot, "nieuw", ("man", "man", "vrouw"))
            p.naam = w.toeval.naam(p.geslacht)
            p.instelling = w.toeval.gewogen(PILOT_INSTELLINGEN[pilot])
            lbs = w.pilot_lbs[pilot]
            lot = rng.random()
            if not lbs or lot < 0.2:
                p.lb = nieuw_leerbedrijf(w, pilot)
            elif lot < 0.85:
                p.lb = rng.choice(lbs)
            else:
                p.lb, p.lb_bekend = None, False
            referent(w, p)
            lopend(w, p, na_peildatum=True)


def kandidaten(w: Wereld) -> None:
    """Aangemeld, never enrolled: not deelnemers (a cause of differences the evaluation names)."""
    for pilot, n in NOOIT_INGESCHREVEN.items():
        for i in range(n):
            _kandidaat(w, pilot, _GERESERVEERD.get(pilot, "") if i == 0 else "")


def _kandidaat(w: Wereld, pilot: str, gereserveerd: str) -> None:
    t = w.toeval
    p = _nieuw_persoon(w, pilot, "kandidaat", ("man", "vrouw"))
    p.instelling = t.gewogen(PILOT_INSTELLINGEN[pilot])
    if pilot == "noordoost-brabant":
        aanmelding = t.dag(date(2019, 9, 2), date(2019, 12, 13), corona=False)
    elif gereserveerd:  # refusals() enrols them in July 2021
        aanmelding = t.dag(date(2021, 3, 1), date(2021, 5, 31), corona=False)
    else:
        aanmelding = t.dag(PILOT_START[pilot] - timedelta(days=30), LAATSTE_DAG - timedelta(days=30))
    if gereserveerd:
        p.gereserveerd = gereserveerd
        if gereserveerd == "te_jong":  # a vso pupil of 15 (the report's youngest deelnemer)
            p.leeftijd, p.groep = 15, LEEFTIJDSGROEPEN[0]
        advies, duo = "praktijkverklaring", "geen_inschrijving_geen_startkwalificatie"
    else:
        advies, duo = t.gewogen(tuple(((a, b), float(n)) for a, b, n in _UITKOMSTEN))
    p.naam = t.naam(p.geslacht)
    p.geboortedatum = t.geboortedatum(p.leeftijd, date(2021, 7, 5) if p.gereserveerd else aanmelding)
    referent(w, p)
    stappen.aanmelden(p, aanmelding)
    if advies:
        dag = aanmelding + timedelta(days=t.rng.randint(5, 30))
        verouderd = duo == "heeft_startkwalificatie" and t.rng.random() < 0.5
        p.emit(dag, p.instelling, "AdviesUitgebracht", bouwer.advies(p.instelling, advies, duo, verouderd))


def intrekkingen(w: Wereld) -> None:
    """Two verklaringen issued after the peildatum are revoked; a few sign-offs are retracted."""
    rng = w.toeval.rng
    kandidaten = [
        (p, v)
        for p in w.personen
        for v in p.verklaringen
        if v.volgnummer == 0 and v.datum <= date(2021, 5, 31) and v is p.verklaringen[-1] and p.open_einde
    ]
    kandidaten.sort(key=lambda pv: (pv[0].nr, pv[1].datum))
    for p, v in rng.sample(kandidaten, 2):
        d = w.toeval.dag(v.datum + timedelta(days=3), min(LAATSTE_DAG, v.datum + timedelta(days=30)), corona=False)
        v.ingetrokken = d
        reden = rng.choice(("verkeerde_werkprocessen", "administratieve_fout"))  # codes: registry/domein/redenen.py
        p.emit(d, p.instelling, "PraktijkverklaringIngetrokken", bouwer.verklaring_ingetrokken(v.verklaring_id, reden))
    lopend_ = [
        p
        for p in w.personen
        if p.soort == "deelnemer"
        and not p.verklaringen
        and p.open_einde
        and p.trajecten
        and len(p.trajecten[0].afgetekend) >= 2
    ]
    for p in rng.sample(lopend_, 6):
        t = p.trajecten[0]
        assert t.lb is not None
        crebo, wp = rng.choice(t.afgetekend)
        getekend = next(
            e.dag for e in p.events if e.event_type == "WerkprocesAfgetekend" and e.payload["werkproces"] == wp
        )
        d = min(getekend + timedelta(days=rng.randint(1, 20)), LAATSTE_DAG)
        partner = t.instelling if rng.random() < 0.5 else f"leerbedrijf.{t.lb.lb_id}"
        reden = rng.choice(("onterecht_afgetekend", "dubbel_geregistreerd", "nog_niet_beheerst"))
        p.emit(d, partner, "AftekeningIngetrokken", bouwer.aftekening_ingetrokken(t.traject_id, crebo, wp, reden))
        t.afgetekend.remove((crebo, wp))
        p.gereserveerd = p.gereserveerd or "ingetrokken"
