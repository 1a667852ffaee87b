"""Submissions the validator must refuse, published after the data set (``refusals(seed)``):
one per reason code in ``WEIGERREDENEN``, each about a person of the generated world."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from registry.demo import bouwer
from registry.demo.generator import bouw
from registry.demo.publicatie import NS
from registry.demo.toeval import leeftijd_op
from registry.demo.wereld import DemoRecord, Persoon, Traject, Wereld
from registry.domein import referentie

# the reason code (registry.domein.regels) each refusal must be refused with, in order
WEIGERREDENEN: tuple[str, ...] = (
    "onbekend_werkproces",
    "geen_erkenning",
    "te_jong",
    "niet_afgetekend",
    "niet_bevoegd",
    "traject_beeindigd",
    "al_afgetekend",
    "al_op_verklaring",
)


class _Weigeringen:
    """Collects the refusals, each at its own time after the last event of the data set."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.out: list[DemoRecord] = []

    def tijd(self, i: int) -> datetime:
        return datetime(2021, 7, 5, 9, 0, tzinfo=UTC) + timedelta(hours=3 * i)

    def id(self, naam: str) -> str:
        """A deterministic traject or verklaring id for refusal ``naam``."""
        return str(uuid.uuid5(NS, f"{self.seed}:weigering:{naam}"))

    def add(
        self,
        partner: str,
        event_type: str,
        p: Persoon,
        payload: bouwer.Payload,
        naam: str | None = None,
        geboortedatum: date | None = None,
    ) -> None:
        i = len(self.out)
        row = bouwer.inzending(
            event_type,
            payload,
            event_id=self.id(str(i)),
            occurred_at=self.tijd(i),
            bsn=p.bsn,
            naam=naam,
            geboortedatum=geboortedatum,
        )
        self.out.append(DemoRecord(partner, row))


def refusals(seed: int = 2021) -> list[DemoRecord]:
    """Submissions the validator must refuse, published after ``generate(seed)``; the reason
    code each one must get is ``WEIGERREDENEN[i]``."""
    w, _ = bouw(seed)
    r = _Weigeringen(seed)
    lopend = [
        p
        for p in w.personen
        if p.soort == "deelnemer"
        and not p.verklaringen
        and p.open_einde
        and not p.gereserveerd
        and p.trajecten
        and p.trajecten[0].lb is not None
        and len(p.trajecten[0].afgetekend) >= 1
    ]
    a, c = lopend[0], lopend[1]
    ta, tc = a.trajecten[0], c.trajecten[0]
    assert ta.lb is not None and tc.lb is not None
    vrij_a = _vrij(w, ta)
    # 0: sign-off of a werkproces the dossier does not have
    r.add(
        f"leerbedrijf.{ta.lb.lb_id}",
        "WerkprocesAfgetekend",
        a,
        bouwer.aftekening(ta.traject_id, ta.crebo, "B1-K9-W9", ta.lb.opleider),
    )
    # 1: inschrijving at an instelling without erkenning for the crebo
    k1 = next(p for p in w.personen if p.gereserveerd == "geen_erkenning")
    zonder = sorted(
        c for c in w.dossiers if (k1.instelling, c) not in w.erkenningen and c in referentie.kwalificaties()
    )
    start = date(2021, 7, 12)
    r.add(
        k1.instelling,
        "DeelnemerIngeschreven",
        k1,
        bouwer.inschrijving(
            r.id("traject:1"),
            k1.instelling,
            zonder[-1],
            k1.pilot,
            start,
            k1.geslacht,
            leeftijd_op(k1.geboortedatum, start),
        ),
        naam=k1.naam,
        geboortedatum=k1.geboortedatum,
    )
    # 2: a 15-year-old
    k2 = next(p for p in w.personen if p.gereserveerd == "te_jong")
    met = sorted(c for (i, c) in w.erkenningen if i == k2.instelling)
    r.add(
        k2.instelling,
        "DeelnemerIngeschreven",
        k2,
        bouwer.inschrijving(
            r.id("traject:2"), k2.instelling, met[0], k2.pilot, r.tijd(2).date(), k2.geslacht, 15, gemeente=k2.gemeente
        ),
        naam=k2.naam,
        geboortedatum=k2.geboortedatum,
    )
    # 3: a verklaring listing a werkproces that was not signed off
    r.add(
        ta.instelling,
        "PraktijkverklaringUitgegeven",
        a,
        bouwer.verklaring(
            ta.traject_id,
            r.id("verklaring:3"),
            ta.afgetekend[:1] + [(ta.crebo, vrij_a[0])],
            ta.lb.lb_id,
            ondertekend_door=ta.lb.opleider or "po-0000",
            ondertekend_op=ta.startdatum,
        ),
    )
    # 4: a sign-off by a partner kind that may not sign off at all (the referring gemeente); another instelling
    # without a relation would be told what it is told about an unknown traject (it parks: registry/domein/relaties.py)
    gemeente = next(p.aanmelder for p in w.personen if p.aanmelder.startswith("gemeente."))
    r.add(gemeente, "WerkprocesAfgetekend", a, bouwer.aftekening(ta.traject_id, ta.crebo, vrij_a[0], "docent-bpv"))
    # 5: an event after TrajectBeeindigd
    klaar = next(
        p
        for p in w.personen
        if p.houder and not p.open_einde and p.trajecten[-1].reden == "afgerond" and p.trajecten[-1].lb is not None
    )
    tk = klaar.trajecten[-1]
    assert tk.lb is not None
    r.add(
        f"leerbedrijf.{tk.lb.lb_id}",
        "WerkprocesAfgetekend",
        klaar,
        bouwer.aftekening(tk.traject_id, tk.crebo, _vrij(w, tk)[0], tk.lb.opleider),
    )
    # 6: the same werkproces signed off twice in one traject
    crebo_c, wp_c = tc.afgetekend[0]
    r.add(
        f"leerbedrijf.{tc.lb.lb_id}",
        "WerkprocesAfgetekend",
        c,
        bouwer.aftekening(tc.traject_id, crebo_c, wp_c, tc.lb.opleider),
    )
    # 7: a verklaring repeating a werkproces of an earlier verklaring of the deelnemer
    houder = next(
        p
        for p in w.personen
        if p.houder and p.open_einde and len(p.verklaringen) == 1 and p.trajecten[-1].lb is not None
    )
    th = houder.trajecten[-1]
    assert th.lb is not None
    r.add(
        th.instelling,
        "PraktijkverklaringUitgegeven",
        houder,
        bouwer.verklaring(
            th.traject_id,
            r.id("verklaring:7"),
            houder.verklaringen[0].werkprocessen[:2],
            th.lb.lb_id,
            ondertekend_door=th.lb.opleider or "po-0000",
            ondertekend_op=th.startdatum,
        ),
    )
    return r.out


def _vrij(w: Wereld, t: Traject) -> list[str]:
    """Werkprocessen of the traject's dossier not signed off in it."""
    return [wp for wp in w.dossiers[t.crebo].werkprocessen if (t.crebo, wp) not in t.afgetekend]
