"""The doorstroom of a cohort as the demo prints it: the funnel with conversions and lead times, the endings and
the uitstroom per peilmoment."""

from __future__ import annotations

import datetime as dt

from rich.table import Table

from registry.domein.doorstroom import Doorstroom


def tabellen(d: Doorstroom, cohort: str, peildatum: dt.date) -> list[Table]:
    trechter = Table(title=f"doorstroom cohort {cohort} @ {peildatum} (first aanmelding in {cohort})")
    for col in ("stap", "deelnemers", "conversie"):
        trechter.add_column(col, justify="left" if col == "stap" else "right")
    conversie = dict(d.conversie)
    for stap, n in d.stappen:
        a = conversie.get(stap)
        trechter.add_row(stap, str(n), "" if a is None else f"{a:.3f}")
    tijden = Table(title="doorlooptijd (dagen; nearest rank)")
    for col in ("van - tot", "n", "p25", "mediaan", "p75"):
        tijden.add_column(col, justify="left" if col == "van - tot" else "right")
    for naam, sp in d.doorlooptijd_dagen:
        tijden.add_row(naam, *("" if v is None else str(v) for v in (sp.n, sp.p25, sp.mediaan, sp.p75)))
    einde = Table(title="beeindiging (last ended traject)")
    for col in ("reden", "uitvalreden", "deelnemers"):
        einde.add_column(col, justify="right" if col == "deelnemers" else "left")
    for reden, uitval, n in d.beeindiging:
        einde.add_row(reden, uitval or "", str(n))
    uitstroom = Table(title="uitstroom (latest per peilmoment)")
    for col in ("peilmoment", "uitstroom", "deelnemers"):
        uitstroom.add_column(col, justify="right" if col == "deelnemers" else "left")
    for peilmoment, waar, n in d.uitstroom:
        uitstroom.add_row(peilmoment, waar, str(n))
    return [trechter, tijden, einde, uitstroom]
