"""Doorstroom per cohort: from aanmelding to advies, start, verklaring and end, how long each step takes, why
trajecten end, and where deelnemers are after the traject (at its end, 6 and 12 months later).

Two halves, both pure:

* ``standen``: each deelnemer's position at a peildatum, folded from canonical events (the definition; the read
  model's SQL in projections/queries/doorstroom.py gives the same rows, which a property test holds equal);
* ``aggregeer``: the funnel, conversions, lead times (nearest-rank percentiles), endings and uitstroom of a list
  of positions, the same for both sources.

Dates are Dutch calendar days of ``occurred_at`` (``startdatum`` as given); only events on or before the
peildatum count. A deelnemer belongs to the cohort (year or quarter) of its FIRST aanmelding, and the filters
apply to the attributes of that first aanmelding.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from registry.domein.telregels import AMSTERDAM

STAPPEN = ("aangemeld", "advies", "gestart", "verklaring", "beeindigd")
PEILMOMENTEN = ("einde", "zes_maanden", "twaalf_maanden")
VOORTIJDIG = "voortijdig_gestopt"
BETAALD_WERK = "betaald_werk"
KWANTIELEN = (("p25", 0.25), ("mediaan", 0.5), ("p75", 0.75))
_COHORT = re.compile(r"^(?P<jaar>[0-9]{4})(?:-Q(?P<kwartaal>[1-4]))?$")


@dataclass(frozen=True)
class Cohort:
    """A calendar year, or one quarter of it."""

    jaar: int
    kwartaal: int | None = None

    @classmethod
    def parse(cls, text: str) -> Cohort:
        m = _COHORT.match(text)
        if m is None:
            raise ValueError(f"cohort {text!r}: YYYY or YYYY-Qn (n 1..4)")
        return cls(int(m["jaar"]), int(m["kwartaal"]) if m["kwartaal"] else None)

    @property
    def van(self) -> dt.date:
        return dt.date(self.jaar, 1 if self.kwartaal is None else 3 * self.kwartaal - 2, 1)

    @property
    def tot(self) -> dt.date:
        """The last day of the cohort."""
        if self.kwartaal is None or self.kwartaal == 4:
            return dt.date(self.jaar, 12, 31)
        return dt.date(self.jaar, 3 * self.kwartaal + 1, 1) - dt.timedelta(days=1)

    def bevat(self, dag: dt.date) -> bool:
        return self.van <= dag <= self.tot

    def __str__(self) -> str:
        return f"{self.jaar}" if self.kwartaal is None else f"{self.jaar}-Q{self.kwartaal}"


@dataclass(frozen=True)
class Filters:
    """On the first aanmelding: its pilot (one of ``pilots``; None: any), doelgroep, uitkering, aanmelder_type."""

    pilots: frozenset[str] | None = None
    doelgroep: str | None = None
    uitkering: str | None = None
    aanmelder_type: str | None = None


@dataclass(frozen=True)
class Uitstroom:
    uitstroom: str
    contract: str | None
    uitkering_na: str


@dataclass(frozen=True)
class Stand:
    """One deelnemer's position at the peildatum."""

    deelnemer: str
    aangemeld_op: dt.date  # day of the first aanmelding
    pilot: str
    doelgroep: str
    uitkering: str
    aanmelder_type: str
    advies: bool
    eerste_start: dt.date | None  # earliest startdatum <= peildatum
    eerste_verklaring: dt.date | None  # issue day of the first verklaring still valid at the peildatum
    beeindigd: bool  # started, and every traject ended
    laatste_einde: tuple[str, str | None] | None  # (reden, uitvalreden) of the last ended traject
    uitstroom: Mapping[str, Uitstroom] = field(default_factory=dict)  # peilmoment -> the latest registration


def dag(ts: dt.datetime) -> dt.date:
    """The Dutch calendar day of a business timestamp."""
    return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).astimezone(AMSTERDAM).date()


def past(stand: Stand, cohort: Cohort, filters: Filters) -> bool:
    return (
        cohort.bevat(stand.aangemeld_op)
        and (filters.pilots is None or stand.pilot in filters.pilots)
        and filters.doelgroep in (None, stand.doelgroep)
        and filters.uitkering in (None, stand.uitkering)
        and filters.aanmelder_type in (None, stand.aanmelder_type)
    )


# ---- the positions, from canonical events ---------------------------------------------------------------------
@dataclass
class _Persoon:
    aanmeldingen: list[Mapping[str, Any]] = field(default_factory=list)
    advies: bool = False
    trajecten: dict[str, dt.date] = field(default_factory=dict)  # traject_id -> startdatum
    verklaringen: dict[str, tuple[dt.datetime, str]] = field(default_factory=dict)  # id -> (issued_at, event_id)
    eindes: list[Mapping[str, Any]] = field(default_factory=list)
    uitstroom: list[Mapping[str, Any]] = field(default_factory=list)


def standen(events: Iterable[tuple[str, Mapping[str, Any]]], peildatum: dt.date) -> list[Stand]:
    """Every deelnemer with an aanmelding on or before ``peildatum``, in pseudonym order."""
    personen: dict[str, _Persoon] = {}
    ingetrokken: set[str] = set()
    for event_type, r in events:
        if "deelnemer" not in r or dag(r["occurred_at"]) > peildatum:
            continue
        p = personen.setdefault(str(r["deelnemer"]), _Persoon())
        _neem_op(p, event_type, r, ingetrokken)
    uit = [_stand(d, p, peildatum, ingetrokken) for d, p in sorted(personen.items())]
    return [s for s in uit if s is not None]


def _neem_op(p: _Persoon, event_type: str, r: Mapping[str, Any], ingetrokken: set[str]) -> None:
    if event_type == "KandidaatAangemeld":
        p.aanmeldingen.append(r)
    elif event_type == "AdviesUitgebracht":
        p.advies = True
    elif event_type == "DeelnemerIngeschreven":
        p.trajecten[str(r["traject_id"])] = r["startdatum"]
    elif event_type == "PraktijkverklaringUitgegeven":
        p.verklaringen[str(r["verklaring_id"])] = (r["occurred_at"], str(r["event_id"]))
    elif event_type == "PraktijkverklaringIngetrokken":
        ingetrokken.add(str(r["verklaring_id"]))
    elif event_type == "TrajectBeeindigd":
        p.eindes.append(r)
    elif event_type == "UitstroomGeregistreerd":
        p.uitstroom.append(r)


def _volgorde(r: Mapping[str, Any]) -> tuple[dt.datetime, str]:
    return (r["occurred_at"], str(r["event_id"]))


def _stand(deelnemer: str, p: _Persoon, peildatum: dt.date, ingetrokken: set[str]) -> Stand | None:
    if not p.aanmeldingen:
        return None
    eerste = min(p.aanmeldingen, key=_volgorde)
    starts = [s for s in p.trajecten.values() if s <= peildatum]
    geldig = sorted(v for i, v in p.verklaringen.items() if i not in ingetrokken)
    geeindigd = {str(e["traject_id"]) for e in p.eindes}
    laatste = max(p.eindes, key=_volgorde) if p.eindes else None
    return Stand(
        deelnemer=deelnemer,
        aangemeld_op=dag(eerste["occurred_at"]),
        pilot=str(eerste["pilot"]),
        doelgroep=str(eerste["doelgroep"]),
        uitkering=str(eerste.get("uitkering") or "onbekend"),
        aanmelder_type=str(eerste["aanmelder_type"]),
        advies=p.advies,
        eerste_start=min(starts) if starts else None,
        eerste_verklaring=dag(geldig[0][0]) if geldig else None,
        beeindigd=bool(starts) and set(p.trajecten) <= geeindigd,
        laatste_einde=_einde(laatste) if laatste is not None else None,
        uitstroom=_laatste_uitstroom(p.uitstroom),
    )


def _einde(r: Mapping[str, Any]) -> tuple[str, str | None]:
    reden = str(r["reden"])
    return reden, (r.get("uitvalreden") if reden == VOORTIJDIG else None)


def _laatste_uitstroom(registraties: Sequence[Mapping[str, Any]]) -> dict[str, Uitstroom]:
    uit: dict[str, Uitstroom] = {}
    for r in sorted(registraties, key=_volgorde):  # the latest per peilmoment wins
        peilmoment = str(r.get("peilmoment") or "einde")
        uit[peilmoment] = Uitstroom(str(r["uitstroom"]), r.get("contract"), str(r.get("uitkering_na") or "onbekend"))
    return uit


# ---- the figures, from positions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spreiding:
    n: int
    p25: int | None
    mediaan: int | None
    p75: int | None


@dataclass(frozen=True)
class Doorstroom:
    stappen: tuple[tuple[str, int], ...]
    conversie: tuple[tuple[str, float | None], ...]
    doorlooptijd_dagen: tuple[tuple[str, Spreiding], ...]
    beeindiging: tuple[tuple[str, str | None, int], ...]  # (reden, uitvalreden, deelnemers)
    uitstroom: tuple[tuple[str, str, int], ...]  # (peilmoment, uitstroom, deelnemers)
    contract: tuple[tuple[str, str | None, int], ...]  # among betaald_werk: (peilmoment, contract, deelnemers)
    uitkering_na: tuple[tuple[str, str, int], ...]  # among betaald_werk: (peilmoment, uitkering_na, deelnemers)


def rangwaarde(waarden: Sequence[int], q: float) -> int | None:
    """Nearest rank: the value at rank ceil(q * n) (1-based) of the sorted values; None for no values."""
    if not waarden:
        return None
    gesorteerd = sorted(waarden)
    rang = max(1, math.ceil(q * len(gesorteerd)))
    return gesorteerd[rang - 1]


def spreiding(waarden: Sequence[int]) -> Spreiding:
    return Spreiding(len(waarden), *(rangwaarde(waarden, q) for _, q in KWANTIELEN))


def aandeel(teller: int, noemer: int) -> float | None:
    """teller / noemer rounded half up to 3 decimals (exact decimal arithmetic); None when noemer is 0."""
    if noemer == 0:
        return None
    return float((Decimal(teller) / Decimal(noemer)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def aggregeer(cohort_standen: Iterable[Stand]) -> Doorstroom:
    ss = list(cohort_standen)
    aantallen = {
        "aangemeld": len(ss),
        "advies": sum(s.advies for s in ss),
        "gestart": sum(s.eerste_start is not None for s in ss),
        "verklaring": sum(s.eerste_verklaring is not None for s in ss),
        "beeindigd": sum(s.beeindigd for s in ss),
    }
    tot_start = [(s.eerste_start - s.aangemeld_op).days for s in ss if s.eerste_start is not None]
    tot_verklaring = [
        (s.eerste_verklaring - s.eerste_start).days
        for s in ss
        if s.eerste_start is not None and s.eerste_verklaring is not None
    ]
    return Doorstroom(
        stappen=tuple((stap, aantallen[stap]) for stap in STAPPEN),
        conversie=tuple((stap, aandeel(aantallen[stap], aantallen["aangemeld"])) for stap in STAPPEN[1:]),
        doorlooptijd_dagen=(
            ("aanmelding_tot_start", spreiding(tot_start)),
            ("start_tot_verklaring", spreiding(tot_verklaring)),
        ),
        beeindiging=_geteld(Counter(s.laatste_einde for s in ss if s.laatste_einde is not None)),
        uitstroom=_geteld(Counter((pm, u.uitstroom) for s in ss for pm, u in s.uitstroom.items())),
        contract=_geteld(
            Counter((pm, u.contract) for s in ss for pm, u in s.uitstroom.items() if u.uitstroom == BETAALD_WERK)
        ),
        uitkering_na=_geteld(
            Counter((pm, u.uitkering_na) for s in ss for pm, u in s.uitstroom.items() if u.uitstroom == BETAALD_WERK)
        ),
    )


def _geteld(counter: Counter[Any]) -> tuple[Any, ...]:
    """(key..., count) rows in a fixed order: a leading peilmoment in its own order, then each key (null first)."""
    return tuple((*k, n) for k, n in sorted(counter.items(), key=lambda kv: tuple(map(_orde, enumerate(kv[0])))))


def _orde(plaats_waarde: tuple[int, Any]) -> tuple[int, str]:
    plaats, waarde = plaats_waarde
    if plaats == 0 and waarde in PEILMOMENTEN:
        return PEILMOMENTEN.index(waarde), ""
    return (-1, "") if waarde is None else (0, str(waarde))


def bereken(
    events: Iterable[tuple[str, Mapping[str, Any]]], cohort: Cohort, peildatum: dt.date, filters: Filters = Filters()
) -> Doorstroom:
    """The doorstroom of ``cohort`` at ``peildatum`` straight from canonical events (the definition)."""
    return aggregeer(s for s in standen(events, peildatum) if past(s, cohort, filters))


def stand_uit_rij(rij: Mapping[str, Any]) -> Stand:
    """A position as the read model gives it (``laatste_einde`` and ``uitstroom`` as JSON objects)."""
    einde = rij.get("laatste_einde")
    uitstroom = rij.get("uitstroom") or {}
    return Stand(
        deelnemer=str(rij["deelnemer"]),
        aangemeld_op=rij["aangemeld_op"],
        pilot=str(rij["pilot"]),
        doelgroep=str(rij["doelgroep"]),
        uitkering=str(rij["uitkering"]),
        aanmelder_type=str(rij["aanmelder_type"]),
        advies=bool(rij["advies"]),
        eerste_start=rij.get("eerste_start"),
        eerste_verklaring=rij.get("eerste_verklaring"),
        beeindigd=bool(rij["beeindigd"]),
        laatste_einde=_einde(einde) if einde else None,
        uitstroom={
            str(pm): Uitstroom(str(u["uitstroom"]), u.get("contract"), str(u["uitkering_na"]))
            for pm, u in uitstroom.items()
        },
    )


def csv_rijen(d: Doorstroom) -> list[dict[str, Any]]:
    """One row per (sectie, sleutel) with its number: the same numbers as the JSON answer."""
    uit: list[dict[str, Any]] = [{"sectie": "stappen", "sleutel": s, "waarde": n} for s, n in d.stappen]
    uit += [{"sectie": "conversie", "sleutel": s, "waarde": a} for s, a in d.conversie]
    for naam, sp in d.doorlooptijd_dagen:
        uit += [
            {"sectie": "doorlooptijd_dagen", "sleutel": f"{naam}.{k}", "waarde": v}
            for k, v in (("n", sp.n), ("p25", sp.p25), ("mediaan", sp.mediaan), ("p75", sp.p75))
        ]
    uit += [{"sectie": "beeindiging", "sleutel": f"{r}/{u or ''}", "waarde": n} for r, u, n in d.beeindiging]
    uit += [{"sectie": "uitstroom", "sleutel": f"{pm}/{u}", "waarde": n} for pm, u, n in d.uitstroom]
    uit += [{"sectie": "contract", "sleutel": f"{pm}/{c or ''}", "waarde": n} for pm, c, n in d.contract]
    uit += [{"sectie": "uitkering_na", "sleutel": f"{pm}/{u}", "waarde": n} for pm, u, n in d.uitkering_na]
    return uit


# ---- follow-up measurements due (praktijkregister nametingen) ------------------------------------------------------
NAMETINGEN = (("zes_maanden", 6), ("twaalf_maanden", 12))


def plus_maanden(dag_: dt.date, maanden: int) -> dt.date:
    """The same day ``maanden`` calendar months later (the month's last day when it is shorter)."""
    jaar, maand = divmod(dag_.month - 1 + maanden, 12)
    eerste = dt.date(dag_.year + jaar, maand + 1, 1)
    volgende = dt.date(eerste.year + (eerste.month == 12), eerste.month % 12 + 1, 1)
    return eerste.replace(day=min(dag_.day, (volgende - eerste).days))


def nametingen_open(einde: dt.date, geregistreerd: Iterable[str], peildatum: dt.date) -> list[tuple[str, dt.date]]:
    """The follow-ups due at ``peildatum`` for a deelnemer whose last traject ended on ``einde``: (peilmoment, due
    date) for 6 and 12 months after it, when that date has come and no uitstroom for that peilmoment is registered."""
    al = set(geregistreerd)
    uit = []
    for peilmoment, maanden in NAMETINGEN:
        vervalt = plus_maanden(einde, maanden)
        if vervalt <= peildatum and peilmoment not in al:
            uit.append((peilmoment, vervalt))
    return uit
