"""The demo's world while it is generated: people, trajecten, verklaringen, leerbedrijven and
the events of each person, in the order they were decided (published later, see publicatie.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from registry.demo import bouwer
from registry.demo.doelen import PEILDATUM, doelen
from registry.demo.dossiers import Dossier, dossiers
from registry.demo.toeval import Toeval


@dataclass(frozen=True)
class DemoRecord:
    """One JSON-lines row for ``praktijkregister publish --as <partner>``."""

    partner: str
    record: dict[str, Any]


@dataclass
class Leerbedrijf:
    lb_id: str
    pilots: list[str]
    verklaring: bool  # holds deelnemers with a verklaring
    naam: str = ""
    opleider: str = ""
    crebos: set[str] = field(default_factory=set)
    eerste_gebruik: date = date(2099, 1, 1)


@dataclass
class Verklaring:
    sleutel: str  # the B2 key: crebo or crebos joined by ','
    volgnummer: int  # 1, 2, 3 at the peildatum; 0 for verklaringen after it
    traject: int
    n_werkprocessen: int = 0
    branche: tuple[str, ...] = ()
    datum: date = PEILDATUM
    verklaring_id: str = ""
    werkprocessen: list[tuple[str, str]] = field(default_factory=list)
    ingetrokken: date | None = None


@dataclass
class Traject:
    traject_id: str
    instelling: str
    crebo: str
    startdatum: date
    lb: Leerbedrijf | None
    lb_op_inschrijving: bool
    einde: date | None = None
    reden: str = "afgerond"
    afgetekend: list[tuple[str, str]] = field(default_factory=list)


# publication order of a person's events on one day (causal: aanmelding before advies ...)
RANG = {
    "KandidaatAangemeld": 0,
    "AdviesUitgebracht": 1,
    "DeelnemerIngeschreven": 2,
    "LeerbedrijfVastgelegd": 3,
    "WerkprocesAfgetekend": 4,
    "AftekeningIngetrokken": 5,
    "PraktijkverklaringUitgegeven": 6,
    "PraktijkverklaringIngetrokken": 7,
    "TrajectBeeindigd": 8,
    "UitstroomGeregistreerd": 9,
}


@dataclass(frozen=True)
class Gebeurtenis:
    """One event of a person, dated to the day; the time of day is drawn at publication."""

    dag: date
    partner: str
    event_type: str
    payload: bouwer.Payload
    naam: str | None = None  # persoonsgegevens, sent in clear (the client seals them)
    geboortedatum: date | None = None

    @property
    def rang(self) -> int:
        return RANG[self.event_type]


@dataclass
class Persoon:
    nr: int
    bsn: str
    pilot: str
    soort: str  # deelnemer | nieuw (enrolled after the peildatum) | kandidaat (never enrolled)
    geslacht: str = "man"
    groep: str = "28-54 jaar"
    leeftijd: int = 30
    geboortedatum: date = date(1990, 1, 1)
    naam: str = ""
    instelling: str = ""
    gemeente: str | None = None
    aanmelder_type: str = "gemeente"
    aanmelder: str = ""
    doelgroep: str = "a"
    werkend: bool = False
    lb: Leerbedrijf | None = None
    lb_bekend: bool = True
    houder: bool = False  # holds a verklaring at the peildatum
    verklaringen: list[Verklaring] = field(default_factory=list)
    trajecten: list[Traject] = field(default_factory=list)
    events: list[Gebeurtenis] = field(default_factory=list)  # in causal order until publication
    open_einde: bool = True  # the last traject stays open at the end of the data set
    gereserveerd: str = ""  # kept for refusals()

    def emit(
        self,
        dag: date,
        partner: str,
        event_type: str,
        payload: bouwer.Payload,
        *,
        naam: str | None = None,
        geboortedatum: date | None = None,
    ) -> None:
        self.events.append(Gebeurtenis(dag, partner, event_type, payload, naam, geboortedatum))


@dataclass
class Wereld:
    """Everything one seed generates; every choice is drawn from ``toeval`` in a fixed order."""

    seed: int
    toeval: Toeval
    doel: dict[str, Any]
    dossiers: dict[str, Dossier]
    personen: list[Persoon] = field(default_factory=list)
    leerbedrijven: list[Leerbedrijf] = field(default_factory=list)
    pilot_lbs: dict[str, list[Leerbedrijf]] = field(default_factory=lambda: defaultdict(list))
    erkenningen: dict[tuple[str, str], date] = field(default_factory=dict)  # (instelling, crebo) -> vanaf

    @classmethod
    def nieuw(cls, seed: int) -> Wereld:
        return cls(seed, Toeval(seed), doelen(), dossiers())

    def persoon(self, pilot: str, soort: str) -> Persoon:
        p = Persoon(len(self.personen), self.toeval.bsn(), pilot, soort)
        self.personen.append(p)
        return p

    def per_pilot(self) -> dict[str, list[Persoon]]:
        out: dict[str, list[Persoon]] = defaultdict(list)
        for p in self.personen:
            out[p.pilot].append(p)
        return out
