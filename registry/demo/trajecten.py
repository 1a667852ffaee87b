"""The timeline of every deelnemer: when each step of stappen.py happens.

* a *houder* (holds a verklaring at the peildatum) earns the verklaringen chosen for them
  (verklaringen.py) before the peildatum, in one traject or a new one per verklaring;
* a *lopend* deelnemer (none at the peildatum, or enrolled after it) signs off some
  werkprocessen and then stops, switches, earns a first verklaring in 2021 or goes on.
"""

from __future__ import annotations

from datetime import date, timedelta

from registry.demo import stappen
from registry.demo.doelen import LAATSTE_DAG, PEILDATUM
from registry.demo.dossiers import crebos_van
from registry.demo.opzet import PILOT_CREBOS, PILOT_START
from registry.demo.verklaringen import branche_voor, n_volgend
from registry.demo.wereld import Persoon, Traject, Verklaring, Wereld

_DAG = timedelta(days=1)


def tijdlijn(w: Wereld, p: Persoon) -> None:
    if p.houder:
        _houder(w, p)
    else:
        lopend(w, p)


# ---- deelnemers with a verklaring at the peildatum ---------------------------------------------
def _houder(w: Wereld, p: Persoon) -> None:
    start, stap = _plan(w, p)
    vastgelegd_later = w.toeval.rng.random() < 0.12
    assert p.lb is not None
    p.lb.opleider = p.lb.opleider or w.toeval.opleider()
    t = stappen.inschrijven(w, p, crebos_van(p.verklaringen[0].sleutel)[0], start, p.lb, not vastgelegd_later)
    begin = start + _DAG
    if vastgelegd_later:
        vd = start + timedelta(days=w.toeval.rng.randint(0, min(10, stap[0] - 5)))
        stappen.vastleggen(p, t, vd)
        begin = vd + _DAG
    t, d, begin = _verklaringen(w, p, t, start, stap, begin)
    if d > PEILDATUM:
        raise AssertionError("verklaring after the peildatum")
    d = _nog_een_in_2021(w, p, t, begin, d)
    _afronden(w, p, t, d)


def _plan(w: Wereld, p: Persoon) -> tuple[date, list[int]]:
    """The start and the days between the events that decide the timeline, so that the
    last verklaring lands anywhere up to the peildatum."""
    rng, vs = w.toeval.rng, p.verklaringen
    # segments: (minimum days, extra days); a new traject takes four: end, inschrijving, start, verklaring
    segmenten: list[tuple[int, float]] = [(21, rng.uniform(0, 150 if p.pilot == "dji" else 220))]
    for i in range(1, len(vs)):
        if vs[i].traject == vs[i - 1].traject:
            segmenten.append((14, rng.uniform(0, 100)))
        else:
            segmenten += [
                (1, rng.uniform(0, 10)),
                (3, rng.uniform(0, 25)),
                (0, rng.uniform(0, 10)),
                (14, rng.uniform(0, 100)),
            ]
    minimum = sum(m for m, _ in segmenten)
    start = w.toeval.dag(PILOT_START[p.pilot], PEILDATUM - timedelta(days=minimum), laat=1.1)
    extra = sum(e for _, e in segmenten)
    ruimte = (PEILDATUM - start).days - minimum
    factor = min(extra, ruimte * rng.uniform(0.25, 1.0)) / extra if extra else 0.0
    return start, [m + int(e * factor) for m, e in segmenten]


def _verklaringen(
    w: Wereld, p: Persoon, t: Traject, start: date, stap: list[int], begin: date
) -> tuple[Traject, date, date]:
    """Sign-offs and verklaring after verklaring; returns the last traject, verklaring day and next free day."""
    vs = p.verklaringen
    d = start + timedelta(days=stap[0])
    k = 1
    for i, v in enumerate(vs):
        if i > 0 and v.traject == vs[i - 1].traject:
            d = d + timedelta(days=stap[k])
            k += 1
        elif i > 0:  # the next verklaring in a new traject
            einde = d + timedelta(days=stap[k])
            stappen.beeindigen(p, t, einde, "afgerond")
            inschrijving = einde + timedelta(days=stap[k + 1])
            nieuw_start = inschrijving + timedelta(days=stap[k + 2])
            t = stappen.inschrijven(w, p, crebos_van(v.sleutel)[0], nieuw_start, p.lb, True, inschrijving)
            begin = nieuw_start + _DAG
            d = nieuw_start + timedelta(days=stap[k + 3])
            k += 4
        v.werkprocessen = stappen.werkprocessen_voor(w, p, v)
        stappen.aftekenen(w, p, t, v.werkprocessen, begin, d - _DAG)
        stappen.uitgeven(w, p, t, v, d)
        begin = d + _DAG
    return t, d, begin


def _nog_een_in_2021(w: Wereld, p: Persoon, t: Traject, begin: date, d: date) -> date:
    """A few single-verklaring houders earn another one after the peildatum; returns the last day."""
    vs = p.verklaringen
    if not (len(vs) == 1 and w.toeval.rng.random() < 0.05):
        return d
    n = n_volgend(w, p, vs[0].sleutel)
    extra = Verklaring(t.crebo, 0, vs[0].traject, n, branche_voor(w, t.crebo))
    vd = w.toeval.dag(PEILDATUM + timedelta(days=20), LAATSTE_DAG - timedelta(days=20), corona=False)
    extra.werkprocessen = stappen.kies_werkprocessen(w, p, t.crebo, min(n, stappen.vrij(w, p, t.crebo)))
    if not extra.werkprocessen:
        return d
    stappen.aftekenen(w, p, t, extra.werkprocessen, max(begin, PEILDATUM + _DAG), vd - _DAG)
    stappen.uitgeven(w, p, t, extra, vd)
    vs.append(extra)
    return vd


def _afronden(w: Wereld, p: Persoon, t: Traject, d: date) -> None:
    """Most houders finish the traject after their last verklaring; some register uitstroom."""
    rng = w.toeval.rng
    if rng.random() >= 0.7:
        return
    einde = min(d + timedelta(days=rng.randint(1, 60)), LAATSTE_DAG)
    stappen.beeindigen(p, t, einde, "afgerond")
    p.open_einde = False
    if rng.random() < 0.6 and einde < LAATSTE_DAG:
        opties = (
            (("onbekend", 5), ("betaald_werk", 2.5), ("vervolgopleiding", 1.5), ("geen", 1))
            if p.pilot == "dji"
            else (("betaald_werk", 3.5), ("vervolgopleiding", 2), ("geen", 1.5), ("onbekend", 3))
        )
        stappen.uitstroom(w, p, w.toeval.dag(einde + _DAG, min(LAATSTE_DAG, einde + timedelta(days=90))), opties)


# ---- deelnemers without a verklaring at the peildatum --------------------------------------------
def lopend(w: Wereld, p: Persoon, na_peildatum: bool = False) -> None:
    """A deelnemer without a verklaring at the peildatum (or enrolled after it)."""
    toeval = w.toeval
    if na_peildatum:
        start = toeval.dag(PEILDATUM + _DAG, date(2021, 5, 14), corona=False)
    else:
        start = toeval.dag(PILOT_START[p.pilot], PEILDATUM, laat=1.3)
    grens = LAATSTE_DAG if na_peildatum else PEILDATUM
    crebo = _eerste_crebo(w, p)
    if p.lb is not None:
        p.lb.opleider = p.lb.opleider or toeval.opleider()
    vastgelegd_later = p.lb is not None and toeval.rng.random() < 0.12
    inschrijving = start - timedelta(days=toeval.rng.randint(0, 14))
    if na_peildatum:
        inschrijving = max(inschrijving, PEILDATUM + _DAG)
    t = stappen.inschrijven(w, p, crebo, start, p.lb, not vastgelegd_later, inschrijving)
    begin = start + _DAG
    if vastgelegd_later:
        vd = min(start + timedelta(days=toeval.rng.randint(0, 14)), grens)
        stappen.vastleggen(p, t, vd)
        begin = vd + _DAG
    lot = toeval.rng.random()
    if p.lb is None:
        _zonder_leerbedrijf(w, p, t, start, lot)
        return
    # leerbedrijf known: sign-offs so far
    n_voor = toeval.rng.randint(0, max(0, min(8, (grens - begin).days // 14)))
    if n_voor:
        stappen.aftekenen(w, p, t, stappen.kies_werkprocessen(w, p, t.crebo, n_voor), begin, grens)
    laatste = max(e.dag for e in p.events) if p.events else start
    if lot < 0.12:
        _gestopt(w, p, t, max(laatste + _DAG, start + timedelta(days=14)))
    elif lot < 0.14:
        _overgestapt(w, p, t, max(laatste + _DAG, start + timedelta(days=30)))
    elif lot < 0.27 and laatste <= LAATSTE_DAG - timedelta(days=40):
        _eerste_verklaring_in_2021(w, p, t, max(laatste + _DAG, PEILDATUM + _DAG, begin))
    elif lot < 0.5 and not na_peildatum:  # keeps going after the peildatum
        n = toeval.rng.randint(1, 3)
        if stappen.vrij(w, p, t.crebo) >= n:
            van = max(laatste + _DAG, PEILDATUM + _DAG)
            stappen.aftekenen(w, p, t, stappen.kies_werkprocessen(w, p, t.crebo, n), van, LAATSTE_DAG)


def _eerste_crebo(w: Wereld, p: Persoon) -> str:
    if p.verklaringen:
        return crebos_van(p.verklaringen[0].sleutel)[0]
    rng = w.toeval.rng
    uit_lb = sorted(p.lb.crebos) if p.lb is not None else []
    if uit_lb and rng.random() < 0.7:
        return rng.choice(uit_lb)
    return rng.choice(PILOT_CREBOS[p.pilot])


def _zonder_leerbedrijf(w: Wereld, p: Persoon, t: Traject, start: date, lot: float) -> None:
    """Leerbedrijf unknown at the peildatum: some find one in 2021, some stop."""
    toeval = w.toeval
    van = max(start, PEILDATUM + _DAG)
    if lot < 0.3 and van <= LAATSTE_DAG - timedelta(days=30):
        lb = toeval.rng.choice(w.pilot_lbs[p.pilot])
        t.lb, p.lb = lb, lb
        lb.crebos.add(t.crebo)
        lb.opleider = lb.opleider or toeval.opleider()
        vd = toeval.dag(van, LAATSTE_DAG - timedelta(days=30), corona=False)
        stappen.vastleggen(p, t, vd)
        n = toeval.rng.randint(0, 4)
        if n:
            stappen.aftekenen(w, p, t, stappen.kies_werkprocessen(w, p, t.crebo, n), vd + _DAG, LAATSTE_DAG)
    elif lot < 0.42:
        stappen.beeindigen(
            p, t, toeval.dag(start + timedelta(days=20), LAATSTE_DAG, corona=False), "voortijdig_gestopt"
        )
        p.open_einde = False


def _gestopt(w: Wereld, p: Persoon, t: Traject, vanaf: date) -> None:
    einde = w.toeval.dag(vanaf, LAATSTE_DAG, corona=False)
    stappen.beeindigen(p, t, einde, "voortijdig_gestopt")
    p.open_einde = False
    if w.toeval.rng.random() < 0.5 and einde < LAATSTE_DAG:
        stappen.uitstroom(
            w, p, w.toeval.dag(einde + _DAG, LAATSTE_DAG), (("geen", 4), ("onbekend", 4), ("betaald_werk", 2))
        )


def _overgestapt(w: Wereld, p: Persoon, t: Traject, vanaf: date) -> None:
    reden = w.toeval.rng.choice(("overstap_bbl", "overstap_entree"))
    einde = w.toeval.dag(vanaf, LAATSTE_DAG, corona=False)
    stappen.beeindigen(p, t, einde, reden)
    p.open_einde = False
    if einde < LAATSTE_DAG:
        stappen.uitstroom(w, p, w.toeval.dag(einde + _DAG, LAATSTE_DAG), (("vervolgopleiding", 1),))


def _eerste_verklaring_in_2021(w: Wereld, p: Persoon, t: Traject, van: date) -> None:
    """Earns a first verklaring after the peildatum, on everything signed off in the traject."""
    rng = w.toeval.rng
    vd = w.toeval.dag(van + timedelta(days=14), LAATSTE_DAG - timedelta(days=10), corona=False)
    n_totaal = rng.choice((3, 4, 5, 6, 6, 7, 9, 9))
    if p.instelling == "mbo.marlijn-academie" and p.pilot != "dji" and rng.random() < 0.2:
        n_totaal = 1
    n_extra = max(0, n_totaal - len(t.afgetekend))
    if n_extra:
        stappen.aftekenen(w, p, t, stappen.kies_werkprocessen(w, p, t.crebo, n_extra), van, vd - _DAG)
    v = Verklaring(t.crebo, 0, 0, len(t.afgetekend), branche_voor(w, t.crebo))
    v.werkprocessen = list(t.afgetekend)
    stappen.uitgeven(w, p, t, v, vd)
    p.verklaringen.append(v)
    if rng.random() < 0.5 and vd < LAATSTE_DAG:
        stappen.beeindigen(p, t, w.toeval.dag(vd + _DAG, LAATSTE_DAG, corona=False), "afgerond")
        p.open_einde = False
