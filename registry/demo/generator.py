"""One seed's world, built step by step in a fixed order (each step draws from the same
random source, so the order is part of the data set's definition)."""

from __future__ import annotations

from registry.demo import buiten_beeld, doorstroom, leerbedrijven, personen, publicatie, trajecten, verklaringen
from registry.demo.wereld import DemoRecord, Wereld


def bouw(seed: int) -> tuple[Wereld, list[DemoRecord]]:
    w = Wereld.nieuw(seed)
    # the deelnemers at the peildatum, shaped by the evaluation's tables
    personen.deelnemers(w)
    verklaringen.sleutels(w)
    personen.instellingen(w)
    verklaringen.branche(w)
    verklaringen.aantallen(w)
    leerbedrijven.leerbedrijven(w)
    personen.referenten(w)
    # their stories, then what the evaluation could not see
    for p in list(w.personen):
        trajecten.tijdlijn(w, p)
    buiten_beeld.na_peildatum(w)
    buiten_beeld.kandidaten(w)
    buiten_beeld.intrekkingen(w)
    # the doorstroom's agreements and follow-ups: merged in, drawing nothing from the world's stream
    return w, publicatie.records(w, doorstroom.aanvulling(w))
