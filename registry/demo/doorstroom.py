"""What the demo adds for the doorstroom: praktijkafspraken for most trajecten and follow-ups of the uitstroom at 6
and 12 months for part of the deelnemers whose last traject ended.

Built after the data set itself, with days, times and choices fixed by hashes (``stappen.vast_gekozen``), never by
the world's random stream, and appended after the data set's own records: every record the data set had stays as
it was, and so does every count the demo prints of them. An agreement lists what the traject eventually signs off,
so it gives no ``buiten_afspraak``; it is dated before the traject's end, so it is never refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from registry.demo import bouwer
from registry.demo.doelen import LAATSTE_DAG
from registry.demo.stappen import uitstroom_meting, vast_gekozen
from registry.demo.wereld import Persoon, Traject, Wereld
from registry.domein.doorstroom import plus_maanden

AFSPRAAK = ((True, 85), (False, 15))  # most trajecten record their praktijkafspraken
NAMETING = {"zes_maanden": (6, ((True, 45), (False, 55))), "twaalf_maanden": (12, ((True, 35), (False, 65)))}
WAAR = (("betaald_werk", 45), ("vervolgopleiding", 15), ("geen", 30), ("onbekend", 10))
UREN = ((16, 20), (20, 25), (24, 30), (32, 20), (36, 5))
# (occurred_at, partner, event type, payload, bsn, naam, geboortedatum): publicatie's rows
Rij = tuple[datetime, str, str, bouwer.Payload, str | None, str | None, date | None]
# after the working day the data set draws its times from (08:00-17:00 UTC), so never at the same instant
AVOND = time(18, 0)


def aanvulling(w: Wereld) -> list[Rij]:
    """The rows to merge into the data set (registry/demo/publicatie.py, ``records``)."""
    rijen: list[Rij] = []
    for p in w.personen:
        if any(e.event_type == "DeelnemerGegevensVerwijderd" for e in p.events):
            continue
        rijen += [r for i, t in enumerate(p.trajecten) if (r := _afspraak(w, p, t, i)) is not None]
        rijen += _nametingen(p)
    return rijen


def _tijd(dag: date, minuut: int) -> datetime:
    return datetime.combine(dag, AVOND, UTC) + timedelta(minutes=minuut)


def _afspraak(w: Wereld, p: Persoon, t: Traject, i: int) -> Rij | None:
    if not vast_gekozen(f"afspraak:{t.traject_id}", AFSPRAAK):
        return None
    dag = t.startdatum + timedelta(days=7)
    if t.einde is not None:
        dag = min(dag, t.einde - timedelta(days=1))
    if dag < t.startdatum or dag > LAATSTE_DAG:
        return None
    werkprocessen = sorted(set(t.afgetekend)) or [(t.crebo, wp) for wp in w.dossiers[t.crebo].werkprocessen[:3]]
    uren = vast_gekozen(f"uren:{t.traject_id}", UREN)
    payload = bouwer.praktijkafspraken(t.traject_id, werkprocessen, plus_maanden(t.startdatum, 12), uren)
    return _tijd(dag, i), t.instelling, "PraktijkafsprakenVastgelegd", payload, p.bsn, None, None


def _nametingen(p: Persoon) -> list[Rij]:
    geeindigd = [t for t in p.trajecten if t.einde is not None]
    if not geeindigd or len(geeindigd) < len(p.trajecten):  # a traject still running: no follow-up yet
        return []
    laatste = max(geeindigd, key=lambda t: t.einde or date.min)
    assert laatste.einde is not None
    uit: list[Rij] = []
    for k, (peilmoment, (maanden, kans)) in enumerate(NAMETING.items()):
        dag = plus_maanden(laatste.einde, maanden)
        if dag <= LAATSTE_DAG and vast_gekozen(f"{peilmoment}:{p.nr}", kans):
            waar = vast_gekozen(f"waar:{peilmoment}:{p.nr}", WAAR)
            payload = uitstroom_meting(waar, peilmoment, str(p.nr))
            uit.append((_tijd(dag, 50 + k), laatste.instelling, "UitstroomGeregistreerd", payload, p.bsn, None, None))
    return uit
