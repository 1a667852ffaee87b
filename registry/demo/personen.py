"""The deelnemers of the evaluation: who they are (geslacht, age, name), which instelling
enrolled them and who referred them. Counts from overzicht 3.2, 4.2, 4.3, 5.3 and 7.2."""

from __future__ import annotations

from collections import Counter

from registry.demo.opzet import (
    AANMELDERS,
    DOELGROEPEN,
    JONG_ELDERS,
    LEEFTIJD_VAST,
    PILOT_GEMEENTEN,
    PILOT_INSTELLINGEN,
    REGIONAAL,
    WERKEND,
)
from registry.demo.wereld import Persoon, Wereld
from registry.domein.telregels import LEEFTIJDSGROEPEN


def deelnemers(w: Wereld) -> None:
    """Every deelnemer at the peildatum, pilot by pilot, with geslacht, age group and name."""
    vast, pool = _leeftijdsgroepen(w)
    for pilot, n in w.doel["deelnemers-per-pilot"].items():
        _pilot_deelnemers(w, pilot, n, vast.get(pilot, Counter()), pool)
    if pool:
        raise ValueError("age pool not used up")
    jong = [p for p in w.personen if p.groep == LEEFTIJDSGROEPEN[0]]
    jong[0].leeftijd = 16  # the report's youngest deelnemer


def _leeftijdsgroepen(w: Wereld) -> tuple[dict[str, Counter[str]], list[str]]:
    """The fixed age groups per pilot, and a shuffled pool of the rest of overzicht 4.3."""
    vast = {p: Counter(dict(zip(LEEFTIJDSGROEPEN, v, strict=False))) for p, v in LEEFTIJD_VAST.items()}
    for jong_pilot in JONG_ELDERS:
        vast[jong_pilot] = Counter({LEEFTIJDSGROEPEN[0]: 1})
    rest = Counter(w.doel["leeftijdsgroepen"])
    for c in vast.values():
        rest.subtract(c)
    if min(rest.values()) < 0:
        raise ValueError("fixed age groups exceed overzicht 4.3")
    pool: list[str] = []
    for g in LEEFTIJDSGROEPEN:
        pool += [g] * rest[g]
    w.toeval.rng.shuffle(pool)
    return vast, pool


def _pilot_deelnemers(w: Wereld, pilot: str, n: int, vast: Counter[str], pool: list[str]) -> None:
    rng = w.toeval.rng
    g = w.doel["geslacht-per-pilot"][pilot]
    geslachten = ["man"] * g["man"] + ["vrouw"] * g["vrouw"] + ["onbekend"] * g["onbekend"]
    if len(geslachten) != n:
        raise ValueError(f"4.2 and 3.2 disagree for {pilot}")
    rng.shuffle(geslachten)
    groepen = list(vast.elements())
    if pilot in LEEFTIJD_VAST and len(groepen) != n:
        raise ValueError(f"fixed age groups of {pilot} do not add up")
    while len(groepen) < n:
        groepen.append(pool.pop())
    rng.shuffle(groepen)
    onbekend = set(rng.sample(range(n), w.doel["leerbedrijven-per-pilot"][pilot]["leerbedrijf_onbekend"]))
    bekend = [i for i in range(n) if i not in onbekend]
    houders = set(rng.sample(bekend, w.doel["verklaringen-per-pilot"][pilot]))
    oudste_gezet = False
    for i in range(n):
        p = w.persoon(pilot, "deelnemer")
        p.geslacht, p.groep = geslachten[i], groepen[i]
        p.lb_bekend, p.houder = i not in onbekend, i in houders
        p.leeftijd = w.toeval.leeftijd(p.groep)
        if p.groep == LEEFTIJDSGROEPEN[4] and pilot == "west-brabant" and not oudste_gezet:
            p.leeftijd, oudste_gezet = 77, True  # the report's oldest deelnemer
        p.naam = w.toeval.naam(p.geslacht)


def instellingen(w: Wereld) -> None:
    """The mbo-instelling of every deelnemer's first traject (overzicht 7.2)."""
    for pilot, lst in w.per_pilot().items():
        inst = [i for i, n in PILOT_INSTELLINGEN[pilot] for _ in range(n)]
        if len(inst) != len(lst):
            raise ValueError(f"PILOT_INSTELLINGEN[{pilot}] does not add up to overzicht 3.2")
        w.toeval.rng.shuffle(inst)
        if pilot == "dji":  # DJI's stapelaars are at AndereStartMBO (the Marlijn share is West-Brabant's 80%)
            for p in [p for p in lst if len(p.verklaringen) > 1]:
                p.instelling = inst.pop(inst.index("mbo.anderestartmbo"))
            lst = [p for p in lst if len(p.verklaringen) <= 1]
        for p, i in zip(lst, inst, strict=False):
            p.instelling = i
    totaal = Counter(p.instelling for p in w.personen)
    if dict(totaal) != {k: v for k, v in w.doel["instellingen"].items() if v}:
        raise ValueError("PILOT_INSTELLINGEN does not add up to overzicht 7.2")


def referenten(w: Wereld) -> None:
    for p in w.personen:
        referent(w, p)


def referent(w: Wereld, p: Persoon) -> None:
    """Who referred the person (aanmelder), from which gemeente, and in which doelgroep."""
    t = w.toeval
    p.aanmelder_type = t.gewogen(AANMELDERS.get(p.pilot, REGIONAAL))
    gemeenten = PILOT_GEMEENTEN.get(p.pilot)
    if p.pilot == "doorzaam":  # a national pilot: the centrumgemeenten of all regions
        gemeenten = tuple(g[0] for k, g in sorted(PILOT_GEMEENTEN.items()) if k != "vgn-actiz")
    if p.pilot != "dji" and gemeenten:
        p.gemeente = gemeenten[0] if t.rng.random() < 0.5 else t.rng.choice(gemeenten)
    if p.aanmelder_type in ("gemeente", "rmc", "sw_bedrijf") and p.gemeente:
        p.aanmelder = f"gemeente.{p.gemeente.lower()}"
    elif p.aanmelder_type in ("uwv", "dji"):
        p.aanmelder = p.aanmelder_type
    else:
        p.aanmelder = p.instelling
    if p.leeftijd < 18:
        p.doelgroep = t.rng.choice(("c", "e", "g"))
    else:
        p.doelgroep = t.gewogen(DOELGROEPEN[p.aanmelder_type])
    p.werkend = p.aanmelder_type in WERKEND or p.doelgroep == "h"
