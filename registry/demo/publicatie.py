"""The data set as partners publish it: reference data first (SBB's dossiers and erkende
leerbedrijven, DUO's erkenningen), then every person's events in occurred_at order, each
a JSON-lines row built by registry.demo.bouwer with a deterministic event_id."""

from __future__ import annotations

import heapq
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta

from registry.demo import bouwer
from registry.demo.dossiers import crebos_van
from registry.demo.namen import ACHTERNAMEN, BEDRIJF, BOMEN, PLAATSEN_LB
from registry.demo.wereld import DemoRecord, Leerbedrijf, Wereld
from registry.domein import referentie

NS = uuid.UUID("0b7e6f8a-3c2d-4f5e-9a1b-7d2020130113")  # event ids: uuid5(NS, "<seed>:<n>")
_WERKDAG = 540  # minutes from 08:00 in which events happen

# (occurred_at, partner, event type, payload, bsn, naam, geboortedatum)
_Rij = tuple[datetime, str, str, bouwer.Payload, str | None, str | None, date | None]


def records(w: Wereld, aanvulling: list[_Rij] | None = None) -> list[DemoRecord]:
    """``aanvulling``: person events built without the world's random stream, merged in by occurred_at (after the
    data set's own events of the same instant), so drawing the times of day stays what it was."""
    referentie = _referentie(w)  # first: the order of the draws is part of the data set
    persoonlijk = _persoonlijk(w)
    if aanvulling:
        persoonlijk = list(heapq.merge(persoonlijk, sorted(aanvulling, key=lambda r: r[0]), key=lambda r: r[0]))
    rijen = referentie + persoonlijk
    out: list[DemoRecord] = []
    for n, (ts, partner, event_type, payload, bsn, naam, geboren) in enumerate(rijen):
        row = bouwer.inzending(
            event_type,
            payload,
            event_id=str(uuid.uuid5(NS, f"{w.seed}:{n}")),
            occurred_at=ts,
            bsn=bsn,
            naam=naam,
            geboortedatum=geboren,
        )
        out.append(DemoRecord(partner, row))
    return out


def _persoonlijk(w: Wereld) -> list[_Rij]:
    """Every person's events with a time of day; one person's events on a day keep causal order."""
    persoonlijk: list[tuple[datetime, int, int, _Rij]] = []
    for p in w.personen:
        p.events.sort(key=lambda e: (e.dag, e.rang))  # stable: equal rank keeps causal emission order
        per_dag: dict[date, list[int]] = defaultdict(list)
        for i, e in enumerate(p.events):
            per_dag[e.dag].append(i)
        for d, idx in per_dag.items():
            minuten = sorted(w.toeval.rng.sample(range(0, _WERKDAG), len(idx)))
            for i, m in zip(idx, minuten, strict=False):
                e = p.events[i]
                ts = datetime.combine(d, time(8, 0), UTC) + timedelta(minutes=m)
                persoonlijk.append(
                    (ts, p.nr, i, (ts, e.partner, e.event_type, e.payload, p.bsn, e.naam, e.geboortedatum))
                )
    persoonlijk.sort(key=lambda x: (x[0], x[1], x[2]))
    return [rij for *_, rij in persoonlijk]


def _referentie(w: Wereld) -> list[_Rij]:
    """SBB's dossiers and leerbedrijven, DUO's erkenningen; fills ``w.erkenningen``."""
    out = _dossiers(w) + _leerbedrijven(w) + _erkenningen(w)
    out.sort(key=lambda x: (x[0], x[1]))
    return out


def _dossiers(w: Wereld) -> list[_Rij]:
    gebruikt = (
        {c for p in w.personen for t in p.trajecten for c, _ in t.afgetekend}
        | {t.crebo for p in w.personen for t in p.trajecten}
        | {c for p in w.personen for v in p.verklaringen for c in crebos_van(v.sleutel)}
    )
    missing = gebruikt - set(w.dossiers)
    if missing:
        raise ValueError(f"crebos without dossier: {sorted(missing)}")
    out: list[_Rij] = []
    for i, (crebo, d) in enumerate(sorted(w.dossiers.items())):
        k = d.kwalificatie
        payload = bouwer.dossier(crebo, k.naam, k.niveau, k.domein, d.kerntaken)
        ts = datetime(2016, 8, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=i)
        out.append((ts, "sbb", "KwalificatiedossierVastgesteld", payload, None, None, None))
    return out


def _leerbedrijven(w: Wereld) -> list[_Rij]:
    """Every leerbedrijf that is used, erkend well before its first deelnemer."""
    out: list[_Rij] = []
    for lb in w.leerbedrijven:
        if not lb.crebos:
            continue
        lb.naam = _lb_naam(w, lb)
        d = max(date(2016, 1, 4), lb.eerste_gebruik - timedelta(days=w.toeval.rng.randint(30, 400)))
        payload = bouwer.leerbedrijf_erkend(lb.lb_id, lb.naam, sorted(lb.crebos))
        out.append((_tijd(w, d), "sbb", "LeerbedrijfErkend", payload, None, None, None))
    return out


def _erkenningen(w: Wereld) -> list[_Rij]:
    """An erkenning derde leerweg for every (instelling, crebo) before its first inschrijving."""
    eerste: dict[tuple[str, str], date] = {}
    for p in w.personen:
        for t in p.trajecten:
            inschrijving = next(e.dag for e in p.events if e.payload.get("traject_id") == t.traject_id)
            key = (t.instelling, t.crebo)
            eerste[key] = min(eerste.get(key, date(2099, 1, 1)), inschrijving, t.startdatum)
    out: list[_Rij] = []
    for (inst, crebo), d in sorted(eerste.items()):
        vanaf = max(date(2018, 8, 1), d - timedelta(days=w.toeval.rng.randint(20, 120)))
        vanaf = min(vanaf, d)
        w.erkenningen[(inst, crebo)] = vanaf
        ts = _tijd(w, vanaf - timedelta(days=w.toeval.rng.randint(5, 20)))
        out.append((ts, "duo", "ErkenningDerdeLeerwegVerleend", bouwer.erkenning(inst, crebo, vanaf), None, None, None))
    return out


def _lb_naam(w: Wereld, lb: Leerbedrijf) -> str:
    rng, pilot = w.toeval.rng, lb.pilots[0]
    if pilot == "dji":
        nr = sorted(x.lb_id for x in w.pilot_lbs["dji"]).index(lb.lb_id) + 1
        return f"In-Made praktijkwerkplaats DJI-locatie {nr:02d}"
    domeinen = Counter(w.dossiers[c].kwalificatie.domein for c in lb.crebos)
    domein = sorted(domeinen, key=lambda d: (-domeinen[d], d))[0]
    if w.pilot_lbs[pilot] and w.pilot_lbs[pilot][0] is lb and pilot not in ("doorzaam", "vgn-actiz"):
        return f"Leerwerkbedrijf {referentie.pilots()[pilot].naam}"
    sjabloon = rng.choice(BEDRIJF[domein])
    return sjabloon.format(
        a=rng.choice(ACHTERNAMEN).replace("de ", "De ").replace("van ", "Van "),
        b=rng.choice(BOMEN),
        p=rng.choice(PLAATSEN_LB),
    )


def _tijd(w: Wereld, d: date) -> datetime:
    return datetime.combine(d, time(8, 0), UTC) + timedelta(minutes=w.toeval.rng.randint(0, _WERKDAG))
