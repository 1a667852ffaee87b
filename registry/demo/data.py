"""Demo data set: the pilots *praktijkleren met praktijkverklaring* as the evaluation saw them.

``generate(seed)`` builds, deterministically from the seed, the partner submissions
(JSON-lines rows for ``praktijkregister publish --as PARTNER FILE``) of a realistic,
entirely fictitious population whose projections at the evaluation's peildatum
(13 January 2021) reproduce the published tables of the KBA Nijmegen evaluation
"Praktijkleren met praktijkverklaring. Evaluatie van de pilots" (March 2021,
source tables: SBB Praktijkloket MBO): 784 deelnemers over 26 pilots, 405 of them
with a praktijkverklaring, 458 verklaringen. The tables, transcribed as published,
and every place where the report contradicts itself (and how the data set resolves
it) are in ``registry/domein/data/evaluatie_2021.json``; ``doelen()`` returns the tables
with those resolutions applied, which is exactly what the data reproduces.

What is in it, in publication order:

* reference data first: SBB's kwalificatiedossiers (invented, plausible werkprocessen:
  the seeds hold none) and erkende leerbedrijven, DUO's erkenningen derde leerweg;
* per person, in causal order: aanmelding by the referrer (gemeente, UWV, DJI or the
  mbo-instelling on behalf of an employer, uitzendbureau, school ...), advies and
  inschrijving by the mbo-instelling, leerbedrijf vastgelegd, werkproces sign-offs by
  the leerbedrijf (or the school), praktijkverklaringen (stacked 2nd and 3rd ones,
  some in a new traject), beeindiging and uitstroom;
* what the evaluation could not see: candidates who were aangemeld but never enrolled,
  stopped trajecten, retracted sign-offs, and activity after the peildatum (new
  deelnemers, verklaringen and two revoked verklaringen in 2021), so that a later
  peildatum gives larger numbers.

Every person is fictitious: BSNs are random numbers that pass the elfproef, names are
drawn from common Dutch name lists, leerbedrijven have invented names and SBB numbers.
``refusals(seed)`` adds a handful of submissions the validator must refuse.
"""
from __future__ import annotations

import copy
import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence, TypeVar

from registry.domein import referentie

_T = TypeVar("_T")
PEILDATUM = date(2021, 1, 13)
LAATSTE_DAG = date(2021, 6, 30)  # last day of the activity after the peildatum
DATA_FILE = referentie.DATA / "evaluatie_2021.json"
_NS = uuid.UUID("0b7e6f8a-3c2d-4f5e-9a1b-7d2020130113")
_CORONA = (date(2020, 3, 16), date(2020, 8, 31))  # pilots largely stood still

# ---- the shape of the data set (design choices; the counts come from the json) -----------------

# deelnemers per (pilot, mbo-instelling of the first traject): rows sum to overzicht 3.2,
# columns to overzicht 7.2 (AndereStart and Marlijn in DJI, Marlijn in West-Brabant and
# Holland-Rijnland as the report says; the others by region).
PILOT_INSTELLINGEN: dict[str, tuple[tuple[str, int], ...]] = {
    "dji": (("mbo.anderestartmbo", 230), ("mbo.marlijn-academie", 11)),
    "west-brabant": (("mbo.marlijn-academie", 150),),
    "groningen": (("mbo.noorderpoort", 71), ("mbo.alfa-college", 9), ("mbo.terranext", 14)),
    "drenthe": (("mbo.drenthe-college", 7), ("mbo.terranext", 2)),
    "noord-limburg": (("mbo.citaverde-groep", 39), ("mbo.roc-gilde-opleidingen", 4)),
    "midden-limburg": (("mbo.citaverde-groep", 12),),
    "zuid-limburg": (("mbo.vista-college", 7), ("mbo.citaverde-groep", 13)),
    "flevoland": (("mbo.mbo-college-almere", 34), ("mbo.mbo-college-lelystad", 4), ("mbo.roc-friese-poort", 4)),
    "haaglanden": (("mbo.roc-mondriaan", 23),),
    "doorzaam": (("mbo.roc-rivor", 22),),
    "twente": (("mbo.roc-van-twente", 3), ("mbo.zone-college", 19)),
    "helmond-de-peel": (("mbo.roc-ter-aa", 20),),
    "stedendriehoek-noordwest-veluwe": (("mbo.roc-aventus", 13), ("mbo.roc-a12", 1)),
    "vgn-actiz": (("mbo.roc-van-amsterdam", 11), ("mbo.wellantcollege", 1)),
    "noord-holland-noord": (("mbo.horizon-college", 11),),
    "holland-rijnland": (("mbo.marlijn-academie", 10),),
    "zuidoost-brabant": (("mbo.summa-college", 10),),
    "groot-amsterdam": (("mbo.roc-top", 4), ("mbo.roc-van-amsterdam", 4)),
    "zwolle": (("mbo.landstede", 1), ("mbo.stichting-goc", 7)),
    "rijnmond": (("mbo.albeda", 3), ("mbo.lentiz-onderwijsgroep", 1)),
    "zaanstreek-waterland": (("mbo.regio-college", 3),),
    "foodvalley": (("mbo.roc-a12", 2),),
    "midden-holland": (("mbo.mbo-rijnland", 2),),
    "friesland": (("mbo.nordwin-college", 1),),
    "midden-gelderland": (("mbo.rijnijssel", 1),),
    "noordoost-brabant": (("mbo.roc-ter-aa", 1),),  # only after the peildatum
}

# first day a deelnemer of the pilot starts (overzicht 3.1, tranche 1 from 2018-10, tranche 2 from 2019-09)
PILOT_START: dict[str, date] = {
    "drenthe": date(2019, 7, 1), "flevoland": date(2019, 11, 4), "foodvalley": date(2020, 9, 7),
    "friesland": date(2019, 9, 16), "groningen": date(2019, 1, 14), "groot-amsterdam": date(2020, 9, 7),
    "haaglanden": date(2019, 9, 9), "helmond-de-peel": date(2019, 11, 4), "holland-rijnland": date(2020, 1, 6),
    "doorzaam": date(2019, 3, 4), "dji": date(2020, 1, 6), "vgn-actiz": date(2020, 9, 7),
    "midden-gelderland": date(2020, 9, 14), "midden-holland": date(2019, 11, 11), "midden-limburg": date(2019, 9, 9),
    "noord-holland-noord": date(2019, 11, 4), "noord-limburg": date(2019, 9, 9), "noordoost-brabant": date(2021, 2, 1),
    "rijnmond": date(2019, 5, 6), "stedendriehoek-noordwest-veluwe": date(2020, 1, 6), "twente": date(2019, 4, 1),
    "west-brabant": date(2019, 2, 4), "zaanstreek-waterland": date(2020, 10, 5), "zuid-limburg": date(2020, 1, 6),
    "zuidoost-brabant": date(2020, 9, 7), "zwolle": date(2020, 9, 7),
}

# CBS gemeentecodes per pilot (centrumgemeente first)
PILOT_GEMEENTEN: dict[str, tuple[str, ...]] = {
    "drenthe": ("GM0106", "GM0114", "GM0118"), "flevoland": ("GM0034", "GM0995", "GM0171", "GM0303"),
    "foodvalley": ("GM0228", "GM0345", "GM0289"), "friesland": ("GM0080", "GM0090", "GM0074"),
    "groningen": ("GM0014", "GM1895", "GM0047", "GM0765", "GM0037"), "groot-amsterdam": ("GM0363", "GM0362", "GM0394"),
    "haaglanden": ("GM0518", "GM0503", "GM0637", "GM1783"), "helmond-de-peel": ("GM0794", "GM0762", "GM1652"),
    "holland-rijnland": ("GM0546", "GM0484", "GM0537"), "midden-gelderland": ("GM0202", "GM0274", "GM0299"),
    "midden-holland": ("GM0513", "GM0627"), "midden-limburg": ("GM0957", "GM0988"),
    "noord-holland-noord": ("GM0361", "GM0400", "GM0405"), "noord-limburg": ("GM0983", "GM0984", "GM1507"),
    "noordoost-brabant": ("GM0796", "GM0828"), "rijnmond": ("GM0599", "GM0606", "GM0622"),
    "stedendriehoek-noordwest-veluwe": ("GM0200", "GM0150", "GM0243", "GM0301"), "twente": ("GM0153", "GM0164", "GM0141"),
    "west-brabant": ("GM0758", "GM1674", "GM0748", "GM0826", "GM0777"), "zaanstreek-waterland": ("GM0479", "GM0439"),
    "zuid-limburg": ("GM0935", "GM0917", "GM1883", "GM0928"), "zuidoost-brabant": ("GM0772", "GM0861"),
    "zwolle": ("GM0193", "GM0166", "GM0119"), "vgn-actiz": ("GM0363", "GM0362", "GM0394"),
}

# (aanmelder_type, weight) per pilot; the rest use _REGIONAAL
_REGIONAAL = (("sw_bedrijf", 45), ("gemeente", 20), ("uwv", 8), ("rmc", 5), ("werkgever", 8), ("reintegratie", 6),
              ("leerwerkloket", 4), ("overig", 4))
AANMELDERS: dict[str, tuple[tuple[str, int], ...]] = {
    "dji": (("dji", 1),),
    "doorzaam": (("uitzendbureau", 1),),
    "vgn-actiz": (("werkgever", 6), ("overig", 4)),
    "west-brabant": (("werkgever", 35), ("gemeente", 20), ("sw_bedrijf", 15), ("reintegratie", 10), ("overig", 10),
                     ("rmc", 5), ("uwv", 5)),
    "foodvalley": (("leerwerkloket", 5), ("gemeente", 2), ("uwv", 2), ("reintegratie", 1)),
    "zwolle": (("overig", 6), ("sw_bedrijf", 4)),
}
_DOELGROEPEN: dict[str, tuple[tuple[str, int], ...]] = {
    "gemeente": (("a", 6), ("f", 3), ("c", 2)), "sw_bedrijf": (("c", 6), ("h", 4)), "uwv": (("b", 6), ("c", 4)),
    "rmc": (("e", 7), ("d", 3)), "werkgever": (("h", 1),), "reintegratie": (("a", 1), ("b", 1)),
    "leerwerkloket": (("h", 2), ("b", 1), ("d", 1)), "uitzendbureau": (("h", 1),), "overig": (("g", 2), ("c", 2), ("d", 1)),
    "dji": (("i", 1),), "mbo": (("d", 1), ("e", 1)),
}
_WERKEND = {"sw_bedrijf", "werkgever", "uitzendbureau"}

T, Z, TP, HB, HO, AF, VN, ICT, EA, MV, MO = (
    "Transport, scheepvaart en logistiek", "Zorg en welzijn", "Techniek en procesindustrie", "Horeca en bakkerij",
    "Handel en ondernemerschap", "Afbouw, hout en onderhoud", "Voedsel, natuur en leefomgeving",
    "Informatie en communicatietechnologie", "Economie en administratie", "Media en vormgeving", "Mobiliteit en voertuigen")

# preference of a pilot for kwalificaties of a domein (default 1)
DOMEIN_VOORKEUR: dict[str, dict[str, float]] = {
    "dji": {T: 8, TP: 5, HB: 3, AF: 2, MO: 2, HO: 0.5, VN: 0.5, Z: 0.3, ICT: 0.1, EA: 0.1, MV: 0.1},
    "west-brabant": {Z: 2, HO: 2, HB: 1.5, AF: 1.5},
    "groningen": {TP: 3, AF: 2, T: 2, Z: 1.5, VN: 1.5},
    "haaglanden": {Z: 3, T: 2, AF: 1.5},
    "holland-rijnland": {T: 3, HO: 2},
    "doorzaam": {T: 5, TP: 1},
    "flevoland": {T: 2, HB: 2, Z: 1.5},
    "noord-limburg": {VN: 3, T: 2},
    "midden-limburg": {VN: 3},
    "zuid-limburg": {Z: 2},
    "rijnmond": {T: 2, HB: 2},
    "twente": {TP: 3},
}

# crebos for trajecten of deelnemers without a verklaring at leerbedrijven without one
PILOT_CREBOS: dict[str, tuple[str, ...]] = {
    "drenthe": ("25253", "25254", "25250"), "flevoland": ("25254", "25371", "25252", "25251", "25253"),
    "foodvalley": ("25252", "25256"), "friesland": ("25258",), "groningen": ("25253", "25254", "25250", "25034", "25251"),
    "groot-amsterdam": ("25252", "25257", "25251"), "haaglanden": ("25251", "25254", "25034"),
    "helmond-de-peel": ("25253", "25254", "25291"), "holland-rijnland": ("25254", "25257"), "doorzaam": ("25254", "25371"),
    "dji": ("25254", "25253"), "vgn-actiz": ("25251", "25498"), "midden-gelderland": ("25254",), "midden-holland": ("25251",),
    "midden-limburg": ("25258", "25254"), "noord-holland-noord": ("25258", "25253", "25254"),
    "noord-limburg": ("25254", "25371", "25431", "25258"), "noordoost-brabant": ("25254", "25253"),
    "rijnmond": ("25254", "25252"), "stedendriehoek-noordwest-veluwe": ("25253", "25251", "25250"),
    "twente": ("25253", "25291", "25254"), "west-brabant": ("25254", "25251", "25252", "25253", "25257"),
    "zaanstreek-waterland": ("25252", "25254"), "zuid-limburg": ("25251", "25034", "25254"), "zuidoost-brabant": ("25253",),
    "zwolle": ("25258", "25251"),
}

# leerbedrijven per pilot at which deelnemers with a verklaring work (sum 95, kerncijfers)
VERKLARING_LEERBEDRIJVEN: dict[str, int] = {
    "west-brabant": 46, "dji": 11, "groningen": 13, "haaglanden": 5, "holland-rijnland": 3, "flevoland": 2, "doorzaam": 3,
    "midden-limburg": 2, "rijnmond": 3, "twente": 2, "zuid-limburg": 1, "zwolle": 1, "midden-gelderland": 1,
    "noord-limburg": 1, "zaanstreek-waterland": 1,
}
# five leerbedrijven with deelnemers in two pilots (5.3 footnote 13): (pilot a, pilot b); in pilot b
# the leerbedrijf has no deelnemer with a verklaring
GEDEELDE_LEERBEDRIJVEN: tuple[tuple[str, str], ...] = (
    ("doorzaam", "west-brabant"), ("doorzaam", "noord-limburg"), ("groningen", "drenthe"),
    ("flevoland", "groot-amsterdam"), ("helmond-de-peel", "zuidoost-brabant"))
DJI_LEERBEDRIJF_GROOTTE = (143, 30, 20, 15, 10, 7, 5, 3, 2, 2, 2)  # one vestiging with 143 deelnemers (5.2)

# The 49 deelnemers who stack verklaringen: pilot, B2 keys in order (1st, 2nd[, 3rd]) and
# the traject of each verklaring (0 = first traject; equal numbers = same traject).
STAPELS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    # DJI (AndereStartMBO, up to niveau 2): 233 deelnemers hold 241 verklaringen
    ("dji", ("25371", "25254"), (0, 0)), ("dji", ("25371", "25254"), (0, 1)), ("dji", ("25371", "25254"), (0, 1)),
    ("dji", ("25254", "25371"), (0, 0)), ("dji", ("25254", "25371"), (0, 1)), ("dji", ("25253", "25290"), (0, 0)),
    ("dji", ("25231", "25255"), (0, 0)), ("dji", ("25252", "25180"), (0, 1)),
    # two triples outside West-Brabant
    ("groningen", ("25498", "25476", "25251"), (0, 1, 2)), ("haaglanden", ("25498", "25491", "25251"), (0, 1, 2)),
    # West-Brabant (Marlijn Academie): 39 of the 49 stapelaars, 150 verklaringen in all
    ("west-brabant", ("25499", "25498", "25251"), (0, 1, 2)), ("west-brabant", ("25251", "25499", "25498"), (0, 1, 2)),
    ("west-brabant", ("25024", "25250"), (0, 0)), ("west-brabant", ("25499", "25251"), (0, 0)),
    ("west-brabant", ("25499", "25251"), (0, 1)), ("west-brabant", ("25476", "25251"), (0, 1)),
    ("west-brabant", ("25180", "25252"), (0, 0)), ("west-brabant", ("25180", "25252"), (0, 1)),
    ("west-brabant", ("25168", "25252"), (0, 1)), ("west-brabant", ("25291", "25253"), (0, 1)),
    ("west-brabant", ("25371", "25254"), (0, 1)), ("west-brabant", ("25371", "25254"), (0, 1)),
    ("west-brabant", ("25371", "25254"), (0, 1)), ("west-brabant", ("25371", "25254,25259"), (0, 0)),
    ("west-brabant", ("25159", "25257"), (0, 0)), ("west-brabant", ("25159", "25257"), (0, 1)),
    ("west-brabant", ("25167,25503", "25257"), (0, 1)), ("west-brabant", ("25167,25503", "25257"), (0, 1)),
    ("west-brabant", ("25163", "25257"), (0, 1)), ("west-brabant", ("25257", "25159"), (0, 0)),
    ("west-brabant", ("25257", "25159"), (0, 1)), ("west-brabant", ("25257", "25159"), (0, 1)),
    ("west-brabant", ("25257", "25159"), (0, 1)), ("west-brabant", ("25159", "25159"), (0, 0)),
    ("west-brabant", ("25159", "25159"), (0, 0)), ("west-brabant", ("25252", "25180"), (0, 1)),
    ("west-brabant", ("25252", "25180"), (0, 1)), ("west-brabant", ("25256", "25335"), (0, 0)),
    ("west-brabant", ("25254", "25371"), (0, 1)), ("west-brabant", ("25258", "25452"), (0, 0)),
    ("west-brabant", ("25251", "25498"), (0, 1)), ("west-brabant", ("25251", "25498"), (0, 1)),
    ("west-brabant", ("25251", "25498"), (0, 1)), ("west-brabant", ("25251", "25498"), (0, 1)),
    ("west-brabant", ("25251", "25499"), (0, 1)), ("west-brabant", ("25209", "25591"), (0, 1)),
    ("west-brabant", ("25018", "25017"), (0, 1)), ("west-brabant", ("25150", "25191"), (0, 1)),
    ("west-brabant", ("25191", "25605"), (0, 1)),
)

# age groups: fixed for the pilots the report singles out, the rest dealt from the remainder
LEEFTIJDSGROEPEN = ("17 jaar en jonger", "18-22 jaar", "23-27 jaar", "28-54 jaar", "55 jaar en ouder")
_LEEFTIJD_VAST: dict[str, tuple[int, int, int, int, int]] = {
    "west-brabant": (17, 53, 15, 55, 10),  # 70 of 150 younger than 23 = 47% (4.1)
    "vgn-actiz": (5, 5, 1, 1, 0), "zwolle": (4, 3, 1, 0, 0),  # Boris-route pupils
}
_JONG_ELDERS = ("groningen", "twente", "helmond-de-peel")  # one 16/17-year-old each

# after the peildatum: new deelnemers per pilot (Feb-May 2021)
NIEUW_NA_PEILDATUM: dict[str, int] = {
    "noordoost-brabant": 3, "dji": 10, "west-brabant": 8, "groningen": 6, "flevoland": 3, "noord-limburg": 2,
    "haaglanden": 2, "twente": 2, "foodvalley": 2, "groot-amsterdam": 2, "zuidoost-brabant": 2, "midden-holland": 1,
    "friesland": 1, "zaanstreek-waterland": 1, "vgn-actiz": 1,
}
# candidates aangemeld who never enrol (per pilot); Noordoost-Brabant's are from 2019 (overzicht 3.1)
NOOIT_INGESCHREVEN: dict[str, int] = {
    "noordoost-brabant": 6, "groningen": 10, "west-brabant": 10, "dji": 8, "flevoland": 5, "haaglanden": 4, "twente": 3,
    "noord-limburg": 3, "rijnmond": 3, "helmond-de-peel": 2, "zuid-limburg": 2, "groot-amsterdam": 2, "zwolle": 3,
    "stedendriehoek-noordwest-veluwe": 2, "foodvalley": 2, "zuidoost-brabant": 2, "midden-holland": 1, "drenthe": 2,
}

# brancheorganisatie afkorting -> domeinen it is at home in (to pair B1 with B2 plausibly)
BRANCHE_DOMEINEN: dict[str, frozenset[str]] = {
    "ActiZ": frozenset({Z}), "VGN": frozenset({Z}), "Bouwend Nederland": frozenset({AF, TP}), "NOA": frozenset({AF}),
    "VWN": frozenset({AF}), "Onderhoud NL": frozenset({AF}), "CBL": frozenset({HO, T}), "Inretail": frozenset({HO}),
    "KHN": frozenset({HB}), "NVG": frozenset({T}), "TLN": frozenset({T}), "CBM": frozenset({AF}), "FOCWA": frozenset({MO}),
    "LTO Nederland": frozenset({VN}), "VHG": frozenset({VN}), "Cumela": frozenset({VN}), "NBOV": frozenset({HB}),
    "Techniek Nederland": frozenset({TP}), "Zuivel NL": frozenset({HB, TP}),
}
NIET_GEREGISTREERD = "Niet geregistreerd"

# refusals(): the reason code (registry.regels) each one must be refused with, in order
WEIGERREDENEN: tuple[str, ...] = (
    "onbekend_werkproces", "geen_erkenning", "te_jong", "niet_afgetekend", "niet_bevoegd", "traject_beeindigd",
    "al_afgetekend", "al_op_verklaring")


@dataclass(frozen=True)
class DemoRecord:
    """One JSON-lines row for ``praktijkregister publish --as <partner>``."""

    partner: str
    record: dict[str, Any]


# ---- targets --------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _bron() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def evaluatie() -> dict[str, Any]:
    """The transcription of the evaluation's tables, as published (a copy)."""
    return copy.deepcopy(_bron())


def doelen() -> dict[str, Any]:
    """The tables the data set reproduces at PEILDATUM: the transcription with every
    ``adjust`` of its ``notes`` applied (where the report contradicts itself)."""
    doc = evaluatie()
    for note in doc["notes"]:
        for adj in note.get("adjust", []):
            node = doc[adj["table"]]
            for key in adj["path"][:-1]:
                node = node[key]
            last = adj["path"][-1]
            if node[last] != adj["published"]:
                raise ValueError(f"note adjusts {adj['table']} {adj['path']}: published value is {node[last]!r}")
            node[last] = adj["reproduced"]
    return doc


# ---- dossiers -------------------------------------------------------------------------------------
_ALGEMEEN = (
    "Werkt veilig en volgens de voorschriften", "Houdt de werkplek schoon en opgeruimd", "Stemt werkzaamheden af met collega's",
    "Signaleert afwijkingen en meldt deze", "Plant de eigen werkzaamheden", "Rondt de werkzaamheden af en rapporteert",
    "Gaat professioneel om met klanten", "Controleert het eigen werk", "Verwerkt afval volgens de voorschriften",
    "Werkt met apparatuur en gereedschap", "Bereidt de eigen werkzaamheden voor", "Voert eenvoudige administratieve handelingen uit",
    "Werkt samen in een team", "Houdt zich aan werktijden en afspraken",
)
_VAK: dict[str, tuple[str, ...]] = {
    T: ("Neemt goederen in ontvangst", "Controleert ontvangen goederen", "Slaat goederen op", "Verzamelt orders",
        "Pakt goederen in", "Maakt zendingen verzendklaar", "Laadt en lost vrachtwagens", "Telt de voorraad",
        "Verwerkt retourgoederen", "Werkt met een elektrische pallettruck", "Registreert goederenbewegingen",
        "Etiketteert goederen", "Sorteert pakketten", "Vult locaties aan"),
    Z: ("Ondersteunt bij de dagelijkse verzorging", "Helpt bij de maaltijden", "Verricht huishoudelijke werkzaamheden",
        "Begeleidt cliënten bij activiteiten", "Observeert en signaleert veranderingen bij de cliënt",
        "Communiceert met de cliënt en diens naasten", "Houdt de leefruimte schoon en veilig",
        "Ondersteunt bij de mobiliteit van de cliënt", "Bereidt eenvoudige maaltijden", "Verzorgt de was",
        "Werkt volgens hygiëneprotocollen", "Rapporteert over de cliënt", "Ondersteunt bij dagbesteding",
        "Verleent eerste hulp bij kleine incidenten"),
    TP: ("Leest een werktekening", "Bereidt materialen en gereedschap voor", "Zaagt en boort materiaal op maat",
         "Monteert onderdelen", "Maakt schroef-, klink- en lasverbindingen", "Installeert leidingen en componenten",
         "Bedient machines en installaties", "Bewaakt het productieproces", "Voert eenvoudig onderhoud uit",
         "Meet en test het resultaat", "Demonteert onderdelen", "Werkt volgens VCA", "Bewerkt plaatmateriaal",
         "Controleert producten op kwaliteit"),
    HB: ("Bereidt de mise-en-place voor", "Bereidt eenvoudige gerechten", "Bereidt broodjes en snacks",
         "Ontvangt en bedient gasten", "Schenkt dranken", "Ruimt af en dekt tafels", "Maakt de keuken schoon",
         "Werkt volgens HACCP", "Slaat voedingsmiddelen op", "Verwerkt grondstoffen tot bakkerijproducten",
         "Verpakt producten", "Rekent af met gasten", "Bedient keukenapparatuur", "Controleert houdbaarheid"),
    HO: ("Ontvangt en verwerkt goederen in de winkel", "Vult schappen en presenteert artikelen", "Helpt klanten",
         "Rekent af aan de kassa", "Houdt de winkel schoon en presentabel", "Prijst artikelen", "Verwerkt retouren",
         "Adviseert klanten over producten", "Bewerkt textiel", "Naait kledingstukken in elkaar", "Past kledingstukken aan",
         "Verricht voorraadbeheer", "Richt de etalage in", "Verkoopt aanvullende artikelen"),
    AF: ("Richt de werkplek in", "Meet uit en tekent af", "Bewerkt hout machinaal", "Monteert bouwelementen",
         "Voert schilder- en afwerkwerk uit", "Verricht klein onderhoud aan gebouwen", "Voert schoonmaakwerkzaamheden uit",
         "Reinigt sanitair en vloeren", "Bekleedt meubels", "Assembleert meubels", "Plaatst en stelt deuren en ramen af",
         "Ruimt de bouwplaats op", "Voert eenvoudige reparaties uit", "Verwerkt plaatmateriaal"),
    VN: ("Verzorgt planten", "Zaait, plant en oogst", "Onderhoudt groenvoorzieningen", "Legt bestrating en beplanting aan",
         "Bestrijdt onkruid", "Bedient kleine tuinmachines", "Verzorgt dieren", "Sorteert en verpakt oogstproducten",
         "Snoeit bomen en struiken", "Bereidt de grond voor", "Werkt in de kas", "Ruimt groenafval op",
         "Onderhoudt gazons", "Plant bomen en hagen"),
    ICT: ("Installeert hardware", "Installeert software", "Beheert gebruikersaccounts", "Lost storingen op",
          "Ondersteunt gebruikers", "Documenteert configuraties", "Beheert het netwerk", "Maakt back-ups",
          "Voert updates uit", "Test systemen", "Registreert incidenten", "Richt werkplekken in", "Beveiligt apparaten",
          "Vervangt defecte onderdelen"),
    EA: ("Ontvangt bezoekers", "Beantwoordt de telefoon", "Verwerkt post", "Beheert agenda's", "Voert gegevens in",
         "Archiveert documenten", "Stelt eenvoudige correspondentie op", "Bestelt kantoorartikelen", "Verwerkt facturen",
         "Plant afspraken", "Beheert de receptie", "Verstrekt informatie", "Verwerkt mutaties", "Bereidt vergaderingen voor"),
    MV: ("Bereidt drukwerk voor", "Bedient afwerkingsmachines", "Snijdt en vouwt drukwerk", "Bindt en niet producten",
         "Verpakt producten", "Maakt beeldmateriaal", "Bewerkt foto's en video", "Maakt eenvoudige opmaak",
         "Controleert de kwaliteit van drukwerk", "Archiveert media", "Onderhoudt apparatuur", "Levert producten op",
         "Bereidt opnames voor", "Zet content online"),
    MO: ("Ontvangt voertuigen en klanten", "Voert onderhoud uit aan fietsen", "Repareert banden en remmen",
         "Stelt versnellingen af", "Vervangt onderdelen", "Reinigt voertuigen", "Voert een eenvoudige inspectie uit",
         "Monteert accessoires", "Verwerkt onderdelen in het magazijn", "Test voertuigen na reparatie",
         "Houdt de werkplaats op orde", "Verkoopt onderdelen", "Controleert verlichting", "Levert voertuigen af"),
}


@dataclass(frozen=True)
class Kwalificatie:
    crebo: str
    naam: str
    niveau: int
    domein: str
    kerntaken: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]  # (code, naam, ((wp code, naam), ...))

    @property
    def werkprocessen(self) -> tuple[str, ...]:
        return tuple(code for _, _, wps in self.kerntaken for code, _ in wps)


def _dossier(crebo: str, naam: str, niveau: int, domein: str) -> Kwalificatie:
    """A plausible kwalificatiedossier (the seeds hold no werkproces lists); the same for every seed."""
    rng = random.Random(f"dossier:{crebo}")
    vak, algemeen = list(_VAK[domein]), list(_ALGEMEEN)
    rng.shuffle(vak)
    rng.shuffle(algemeen)
    # (code, naam, source of the werkprocessen, min, max): 20-28 werkprocessen in all
    opzet = (("B1-K1", "Bereidt werkzaamheden voor en werkt veilig", algemeen, 4, 5),
             ("B1-K2", f"Voert kernwerkzaamheden uit ({domein.lower()})", vak, 4, 6),
             ("B1-K3", "Werkt samen en communiceert", algemeen, 4, 5),
             ("P1-K1", f"Voert werkzaamheden uit als {naam.lower()}", vak, 4, 6),
             ("P1-K2", "Draagt bij aan kwaliteit en verbetering", None, 4, 6))
    kerntaken = []
    for code, titel, bron, lo, hi in opzet:
        n = rng.randint(lo, hi)
        if bron is None:  # the last kerntaak takes what is left of both lists
            bron = vak + algemeen
            rng.shuffle(bron)
        kerntaken.append((code, titel, tuple((f"{code}-W{i + 1}", bron.pop()) for i in range(n))))
    return Kwalificatie(crebo, naam, niveau, domein, tuple(kerntaken))


@lru_cache(maxsize=1)
def kwalificaties() -> dict[str, Kwalificatie]:
    """Every dossier the data set publishes: kwalificaties.csv plus the crebos B2 names without them."""
    out = {c: _dossier(c, k.naam, k.niveau, k.domein) for c, k in referentie.kwalificaties().items()}
    for c, k in _bron()["aanvullende_kwalificaties"].items():
        out[c] = _dossier(c, k["naam"], int(k["niveau"]), k["domein"])
    return out


def crebos_van(sleutel: str) -> list[str]:
    return sorted(sleutel.split(","))


def niveau_van(sleutel: str) -> int:
    return max(kwalificaties()[c].niveau for c in crebos_van(sleutel))


def domein_van(sleutel: str) -> str:
    return kwalificaties()[crebos_van(sleutel)[0]].domein


# ---- names ----------------------------------------------------------------------------------------
_VOORNAMEN_M = ("Jan", "Pieter", "Kees", "Mohamed", "Ahmed", "Daan", "Sem", "Bram", "Thijs", "Ricardo", "Kevin", "Dennis",
                "Youssef", "Mustafa", "Jeroen", "Marco", "Patrick", "Tim", "Lucas", "Milan", "Omar", "Stefan", "Erik",
                "Hamza", "Jordy", "Niels", "Sven", "Gerrit", "Henk", "Rachid", "Tarik", "Joey", "Wesley", "Bilal", "Emre")
_VOORNAMEN_V = ("Anna", "Fatima", "Sanne", "Lisa", "Emma", "Sara", "Naima", "Kim", "Linda", "Monique", "Priya", "Esra",
                "Yasmina", "Lotte", "Fleur", "Ilse", "Samira", "Nicole", "Anouk", "Chantal", "Hatice", "Marieke", "Demi",
                "Romy", "Eva", "Noor", "Ingrid", "Sylvia", "Aylin", "Jamila")
_ACHTERNAMEN = ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
                "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
                "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs", "Vermeulen", "van Beek", "Hoekstra",
                "El Amrani", "Yilmaz", "Kaya", "Bouzid", "Öztürk", "Martina", "Pinas", "Nguyen", "Haddou", "Wouters",
                "Postma", "Kuipers", "Veenstra", "Willems", "Timmermans", "Koster", "Prins", "Huisman", "Gerritsen", "Verbeek")
_PLAATSEN_LB = ("Noord", "Zuid", "Oost", "West", "Centrum", "De Hoven", "Het Zand", "De Kade", "Rivierzone", "Stationsplein")
_BEDRIJF: dict[str, tuple[str, ...]] = {
    T: ("{a} Logistiek B.V.", "Distributiecentrum {p}", "{a} Transport en Opslag", "Magazijn {p} B.V."),
    Z: ("Zorggroep {a}", "Woonzorgcentrum De {b}", "Stichting {a} Zorg", "Zorgboerderij De {b}"),
    TP: ("{a} Metaaltechniek B.V.", "{a} Installatietechniek", "Constructiebedrijf {a}", "{a} Productie B.V."),
    HB: ("Restaurant De {b}", "Lunchroom {a}", "Bakkerij {a}", "Grand Café {p}"),
    HO: ("Supermarkt {a}", "{a} Retail B.V.", "Modehuis {a}", "Tweedehandswinkel De {b}"),
    AF: ("{a} Bouw en Onderhoud", "Timmerbedrijf {a}", "Schoonmaakbedrijf {a}", "Meubelmakerij {a}"),
    VN: ("Kwekerij {a}", "Hoveniersbedrijf {a}", "Tuincentrum {p}", "Groenbedrijf De {b}"),
    ICT: ("{a} ICT Services", "Computerhulp {p}"), EA: ("Administratiekantoor {a}", "{a} Kantoordiensten"),
    MV: ("Drukkerij {a}", "Mediawerkplaats {p}"), MO: ("Fietsenmaker {a}", "Autobedrijf {a}", "Fietsenwerkplaats {p}"),
}
_BOMEN = ("Linde", "Eik", "Beuk", "Hoge Weide", "Klaproos", "Zonnebloem", "Esdoorn", "Molen", "Vlinder", "Boomgaard")


@dataclass
class _Leerbedrijf:
    lb_id: str
    pilots: list[str]
    verklaring: bool  # holds deelnemers with a verklaring
    naam: str = ""
    opleider: str = ""
    crebos: set[str] = field(default_factory=set)
    eerste_gebruik: date = date(2099, 1, 1)


@dataclass
class _Verklaring:
    sleutel: str
    volgnummer: int  # 1, 2, 3 at the peildatum; 0 for verklaringen after it
    traject: int
    n_werkprocessen: int = 0
    branche: tuple[str, ...] = ()
    datum: date = PEILDATUM
    verklaring_id: str = ""
    werkprocessen: list[tuple[str, str]] = field(default_factory=list)
    ingetrokken: date | None = None


@dataclass
class _Traject:
    traject_id: str
    instelling: str
    crebo: str
    startdatum: date
    lb: _Leerbedrijf | None
    lb_op_inschrijving: bool
    einde: date | None = None
    reden: str = "afgerond"
    afgetekend: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Persoon:
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
    lb: _Leerbedrijf | None = None
    lb_bekend: bool = True
    houder: bool = False
    verklaringen: list[_Verklaring] = field(default_factory=list)
    trajecten: list[_Traject] = field(default_factory=list)
    events: list[tuple[date, int, str, dict[str, Any]]] = field(default_factory=list)
    open_einde: bool = True  # the last traject stays open at the end of the data set
    gereserveerd: str = ""  # kept for refusals()


_RANG = {"KandidaatAangemeld": 0, "AdviesUitgebracht": 1, "DeelnemerIngeschreven": 2, "LeerbedrijfVastgelegd": 3,
         "WerkprocesAfgetekend": 4, "AftekeningIngetrokken": 5, "PraktijkverklaringUitgegeven": 6,
         "PraktijkverklaringIngetrokken": 7, "TrajectBeeindigd": 8, "UitstroomGeregistreerd": 9}


def _gewogen(rng: random.Random, paren: Sequence[tuple[_T, float]]) -> _T:
    return rng.choices([p for p, _ in paren], weights=[w for _, w in paren])[0]


def elfproef(bsn: str) -> bool:
    """True for a valid BSN (9 digits, 11-test, not 000000000)."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    return (sum(int(d) * w for d, w in zip(bsn[:8], range(9, 1, -1))) - int(bsn[8])) % 11 == 0


class _Bouwer:
    """Builds the whole data set from one random.Random; every choice is drawn in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.doel = doelen()
        self.kw = kwalificaties()
        self.personen: list[_Persoon] = []
        self.bsns: set[str] = set()
        self.lb_ids: set[str] = set()
        self.leerbedrijven: list[_Leerbedrijf] = []
        self.pilot_lbs: dict[str, list[_Leerbedrijf]] = defaultdict(list)

    # ---- identifiers --------------------------------------------------------------------------
    def bsn(self) -> str:
        while True:
            digits = [self.rng.randint(1, 6)] + [self.rng.randint(0, 9) for _ in range(7)]
            last = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
            if last == 10:
                continue
            value = "".join(map(str, digits)) + str(last)
            if value not in self.bsns and elfproef(value):
                self.bsns.add(value)
                return value

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def lb_id(self) -> str:
        while True:
            value = str(self.rng.randint(100_000_000, 999_999_999))
            if value not in self.lb_ids:
                self.lb_ids.add(value)
                return value

    def naam(self, geslacht: str) -> str:
        voornamen = _VOORNAMEN_V if geslacht == "vrouw" else _VOORNAMEN_M
        return f"{self.rng.choice(voornamen)} {self.rng.choice(_ACHTERNAMEN)}"

    def dag(self, van: date, tot: date, corona: bool = True, laat: float = 1.0) -> date:
        """A day in [van, tot]; ``laat`` > 1 favours later days; corona months mostly avoided."""
        if tot < van:
            raise ValueError(f"empty window {van}..{tot}")
        span = (tot - van).days
        for _ in range(12):
            d = van + timedelta(days=int(span * self.rng.random() ** (1 / laat)))
            if not corona or not (_CORONA[0] <= d <= _CORONA[1]) or self.rng.random() < 0.12:
                return d
        return d

    # ---- the population -----------------------------------------------------------------------
    def bouw(self) -> None:
        self._deelnemers()
        self._stapels_en_sleutels()
        self._instellingen()
        self._branche()
        self._aantallen()
        self._leerbedrijven()
        self._referenten()
        for p in self.personen:
            self._tijdlijn_deelnemer(p)
        self._na_peildatum()
        self._kandidaten()
        self._intrekkingen()

    def _persoon(self, pilot: str, soort: str) -> _Persoon:
        p = _Persoon(len(self.personen), self.bsn(), pilot, soort)
        self.personen.append(p)
        return p

    def _deelnemers(self) -> None:
        doel = self.doel
        pool: list[str] = []
        vast = {p: Counter(dict(zip(LEEFTIJDSGROEPEN, v))) for p, v in _LEEFTIJD_VAST.items()}
        for jong_pilot in _JONG_ELDERS:
            vast[jong_pilot] = Counter({LEEFTIJDSGROEPEN[0]: 1})
        rest = Counter(doel["leeftijdsgroepen"])
        for c in vast.values():
            rest.subtract(c)
        if min(rest.values()) < 0:
            raise ValueError("fixed age groups exceed overzicht 4.3")
        for g in LEEFTIJDSGROEPEN:
            pool += [g] * rest[g]
        self.rng.shuffle(pool)
        oudste_gezet = False
        for pilot, n in doel["deelnemers-per-pilot"].items():
            g = doel["geslacht-per-pilot"][pilot]
            geslachten = ["man"] * g["man"] + ["vrouw"] * g["vrouw"] + ["onbekend"] * g["onbekend"]
            if len(geslachten) != n:
                raise ValueError(f"4.2 and 3.2 disagree for {pilot}")
            self.rng.shuffle(geslachten)
            groepen = list(vast.get(pilot, Counter()).elements())
            if pilot in _LEEFTIJD_VAST and len(groepen) != n:
                raise ValueError(f"fixed age groups of {pilot} do not add up")
            while len(groepen) < n:
                groepen.append(pool.pop())
            self.rng.shuffle(groepen)
            lb = doel["leerbedrijven-per-pilot"][pilot]
            onbekend = set(self.rng.sample(range(n), lb["leerbedrijf_onbekend"]))
            bekend = [i for i in range(n) if i not in onbekend]
            houders = set(self.rng.sample(bekend, doel["verklaringen-per-pilot"][pilot]))
            for i in range(n):
                p = self._persoon(pilot, "deelnemer")
                p.geslacht, p.groep = geslachten[i], groepen[i]
                p.lb_bekend, p.houder = i not in onbekend, i in houders
                p.leeftijd = self._leeftijd(p.groep)
                if p.groep == LEEFTIJDSGROEPEN[4] and pilot == "west-brabant" and not oudste_gezet:
                    p.leeftijd, oudste_gezet = 77, True
                p.naam = self.naam(p.geslacht)
        if pool:
            raise ValueError("age pool not used up")
        jong = [p for p in self.personen if p.groep == LEEFTIJDSGROEPEN[0]]
        jong[0].leeftijd = 16

    def _leeftijd(self, groep: str) -> int:
        if groep == LEEFTIJDSGROEPEN[0]:
            return self.rng.choice((16, 17, 17))
        if groep == LEEFTIJDSGROEPEN[1]:
            return self.rng.randint(18, 22)
        if groep == LEEFTIJDSGROEPEN[2]:
            return self.rng.randint(23, 27)
        if groep == LEEFTIJDSGROEPEN[3]:
            return self.rng.randint(28, 54)
        return self.rng.randint(55, 66)

    def _stapels_en_sleutels(self) -> None:
        """Give every deelnemer with a verklaring its B2 keys (chains first, then the 1st column)."""
        b2 = self.doel["kwalificaties"]
        eerste = Counter({k: v["eerste"] for k, v in b2.items()})
        tweede = Counter({k: v["tweede"] for k, v in b2.items()})
        derde = Counter({k: v["derde"] for k, v in b2.items()})
        houders: dict[str, list[_Persoon]] = defaultdict(list)
        for p in self.personen:
            if p.houder:
                houders[p.pilot].append(p)
        for lst in houders.values():
            self.rng.shuffle(lst)
        for pilot, sleutels, trajecten in STAPELS:
            p = houders[pilot].pop()
            for i, (s, t) in enumerate(zip(sleutels, trajecten)):
                p.verklaringen.append(_Verklaring(s, i + 1, t))
                (eerste, tweede, derde)[i][s] -= 1
        if any(v < 0 for c in (eerste, tweede, derde) for v in c.values()) or +tweede or +derde:
            raise ValueError("STAPELS do not match the 2nd and 3rd columns of B2")
        rest = [p for lst in houders.values() for p in lst]
        self.rng.shuffle(rest)
        rest.sort(key=lambda p: p.pilot != "dji")  # DJI first: it is restricted to niveau <= 2
        for p in rest:
            voorkeur = DOMEIN_VOORKEUR.get(p.pilot, {})
            keys = [k for k in sorted(eerste) if eerste[k] > 0 and (p.pilot != "dji" or niveau_van(k) <= 2)]
            weights = [eerste[k] * voorkeur.get(domein_van(k), 1.0) for k in keys]
            k = self.rng.choices(keys, weights=weights)[0]
            eerste[k] -= 1
            p.verklaringen.append(_Verklaring(k, 1, 0))
        if +eerste:
            raise ValueError("first column of B2 not used up")

    def _instellingen(self) -> None:
        per_pilot: dict[str, list[_Persoon]] = defaultdict(list)
        for p in self.personen:
            per_pilot[p.pilot].append(p)
        for pilot, lst in per_pilot.items():
            inst = [i for i, n in PILOT_INSTELLINGEN[pilot] for _ in range(n)]
            if len(inst) != len(lst):
                raise ValueError(f"PILOT_INSTELLINGEN[{pilot}] does not add up to overzicht 3.2")
            self.rng.shuffle(inst)
            if pilot == "dji":  # DJI's stapelaars are at AndereStartMBO (the Marlijn share is West-Brabant's 80%)
                stapel = [p for p in lst if len(p.verklaringen) > 1]
                for p in stapel:
                    j = inst.index("mbo.anderestartmbo")
                    p.instelling = inst.pop(j)
                lst = [p for p in lst if len(p.verklaringen) <= 1]
            for p, i in zip(lst, inst):
                p.instelling = i
        totaal = Counter(p.instelling for p in self.personen)
        if dict(totaal) != {k: v for k, v in self.doel["instellingen"].items() if v}:
            raise ValueError("PILOT_INSTELLINGEN does not add up to overzicht 7.2")

    def _branche(self) -> None:
        """Pair B1's brancheorganisaties with the verklaringen, per volgnummer, by domein: a greedy
        transportation (best fitting combination first); 'Niet geregistreerd' takes what is left."""
        b1 = self.doel["brancheorganisaties"]
        alle_domeinen = sorted({k.domein for k in self.kw.values()})

        def score(sleutel: str, domein: str) -> float:
            afk = sleutel.split(", ")
            return sum(domein in BRANCHE_DOMEINEN[a] for a in afk) / len(afk)

        def uitwijk(sleutel: str) -> int:  # how many domeinen the combination fits at all
            return sum(score(sleutel, d) > 0 for d in alle_domeinen)

        for v_nr, kolom in ((1, "eerste"), (2, "tweede"), (3, "derde")):
            verkl = [v for p in self.personen for v in p.verklaringen if v.volgnummer == v_nr]
            self.rng.shuffle(verkl)
            per_domein: dict[str, list[_Verklaring]] = defaultdict(list)
            for v in verkl:
                per_domein[domein_van(v.sleutel)].append(v)
            rest = {k: b1[k][kolom] for k in b1 if k != NIET_GEREGISTREERD and b1[k][kolom]}
            while rest:
                paren = [(k, d) for k in rest for d in sorted(per_domein) if per_domein[d]]
                if not paren:
                    raise ValueError(f"B1 column {kolom} has more verklaringen than B2")
                k, d = max(paren, key=lambda kd: (score(*kd), -uitwijk(kd[0]), -rest[kd[0]], kd))
                n = min(rest[k], len(per_domein[d]))
                for v in per_domein[d][:n]:
                    gemengd = k.split(", ")
                    self.rng.shuffle(gemengd)  # the report writes combinations in any order
                    v.branche = tuple(gemengd)
                per_domein[d] = per_domein[d][n:]
                rest[k] -= n
                if not rest[k]:
                    del rest[k]
            if sum(map(len, per_domein.values())) != b1[NIET_GEREGISTREERD][kolom]:
                raise ValueError(f"B1 column {kolom} does not add up")

    def _aantallen(self) -> None:
        """Werkprocessen per verklaring: overzicht 5.1 for the first ones (1 werkproces only at Marlijn)."""
        pool = Counter({int(k): v for k, v in self.doel["werkprocessen-per-verklaring"].items()})
        eerste = [(p, p.verklaringen[0]) for p in self.personen if p.houder]
        self.rng.shuffle(eerste)

        def neem(n: int) -> int:
            pool[n] -= 1
            return n

        meer = [(p, v) for p, v in eerste if "," in v.sleutel]
        for p, v in meer:
            v.n_werkprocessen = neem(self.rng.choice([n for n in sorted(pool) if n >= 2 and pool[n] > 0]))
        marlijn = [(p, v) for p, v in eerste if p.instelling == "mbo.marlijn-academie" and "," not in v.sleutel
                   and p.pilot != "dji"]
        for p, v in marlijn[: pool[1]]:
            v.n_werkprocessen = neem(1)
        voorkeur_dji = {9: 6.0, 6: 4.0, 7: 2.0, 12: 1.5}
        for p, v in sorted((x for x in eerste if not x[1].n_werkprocessen), key=lambda x: x[0].pilot != "dji"):
            ns = [n for n in sorted(pool) if pool[n] > 0 and n != 1]
            w = [pool[n] * (voorkeur_dji.get(n, 0.5) if p.pilot == "dji" else 1.0) for n in ns]
            v.n_werkprocessen = neem(self.rng.choices(ns, weights=w)[0])
        if +pool:
            raise ValueError("overzicht 5.1 not used up")
        for p in self.personen:
            for v in p.verklaringen[1:]:
                v.n_werkprocessen = self._n_volgend(p, v.sleutel)

    def _n_volgend(self, p: _Persoon, sleutel: str) -> int:
        if p.instelling == "mbo.marlijn-academie" and p.pilot != "dji":
            n = _gewogen(self.rng, (("1", 35), ("2", 30), ("3", 20), ("4", 10), ("5", 5)))
        else:
            n = _gewogen(self.rng, (("2", 4), ("3", 3.5), ("4", 2.5)))
        return max(int(n), 2 if "," in sleutel else 1)

    def _leerbedrijven(self) -> None:
        """Leerbedrijf of every first traject (overzicht 5.3), with 95 leerbedrijven holding the verklaringen."""
        per_pilot: dict[str, list[_Persoon]] = defaultdict(list)
        for p in self.personen:
            per_pilot[p.pilot].append(p)
        gedeeld_b = {b: a for a, b in GEDEELDE_LEERBEDRIJVEN}
        slots: dict[str, list[_Leerbedrijf]] = {}
        for pilot, lst in per_pilot.items():
            n_lb = self.doel["leerbedrijven-per-pilot"][pilot]["leerbedrijven"]
            m = VERKLARING_LEERBEDRIJVEN.get(pilot, 0)
            slots[pilot] = [_Leerbedrijf(self.lb_id(), [pilot], i < m) for i in range(n_lb - (pilot in gedeeld_b))]
        for a, b in GEDEELDE_LEERBEDRIJVEN:  # a leerbedrijf of pilot a, without verklaringen in pilot b
            vrij = [lb for lb in slots[a] if len(lb.pilots) == 1]
            lb = vrij[-1]
            lb.pilots.append(b)
            slots[b].append(lb)
        for pilot, lst in per_pilot.items():
            lbs = slots[pilot]
            bekend = [p for p in lst if p.lb_bekend]
            houders = [p for p in bekend if p.houder]
            anderen = [p for p in bekend if not p.houder]
            self.rng.shuffle(houders)
            self.rng.shuffle(anderen)
            met = [lb for lb in lbs if lb.verklaring and pilot in lb.pilots[:1]]
            zonder = [lb for lb in lbs if lb not in met]
            if len(met) > len(houders) or len(zonder) > len(anderen) or (houders and not met):
                raise ValueError(f"leerbedrijven of {pilot} cannot be filled")
            for lb, p in zip(met, houders):
                p.lb = lb
            for lb, p in zip(zonder, anderen):
                p.lb = lb
            if pilot == "dji":
                ruimte = {lb.lb_id: g - 1 for lb, g in zip(met, DJI_LEERBEDRIJF_GROOTTE)}
                rest = houders[len(met):] + anderen[len(zonder):]
                self.rng.shuffle(rest)
                vol = [lb for lb in met for _ in range(ruimte[lb.lb_id])]
                for lb, p in zip(vol, rest):
                    p.lb = lb
                continue
            gewicht_met = [1 / (1 + i) ** 0.9 for i in range(len(met))]
            for p in houders[len(met):]:
                p.lb = self.rng.choices(met, weights=gewicht_met)[0]
            gewicht_alle = [1 / (1 + i) ** 0.9 for i in range(len(lbs))]
            for p in anderen[len(zonder):]:
                p.lb = self.rng.choices(lbs, weights=gewicht_alle)[0]
        for pilot in self.doel["deelnemers-per-pilot"]:
            self.pilot_lbs[pilot] = list(slots.get(pilot, []))
        seen: set[str] = set()
        for pilot in self.doel["deelnemers-per-pilot"]:
            for lb in slots.get(pilot, []):
                if lb.lb_id not in seen:
                    seen.add(lb.lb_id)
                    self.leerbedrijven.append(lb)

    def _nieuw_lb(self, pilot: str) -> _Leerbedrijf:
        lb = _Leerbedrijf(self.lb_id(), [pilot], False)
        self.leerbedrijven.append(lb)
        self.pilot_lbs[pilot].append(lb)
        return lb

    def _referenten(self) -> None:
        for p in self.personen:
            self._referent(p)

    def _referent(self, p: _Persoon) -> None:
        p.aanmelder_type = _gewogen(self.rng, AANMELDERS.get(p.pilot, _REGIONAAL))
        gemeenten = PILOT_GEMEENTEN.get(p.pilot)
        if p.pilot == "doorzaam":
            gemeenten = tuple(g[0] for k, g in sorted(PILOT_GEMEENTEN.items()) if k != "vgn-actiz")
        if p.pilot != "dji" and gemeenten:
            p.gemeente = gemeenten[0] if self.rng.random() < 0.5 else self.rng.choice(gemeenten)
        if p.aanmelder_type in ("gemeente", "rmc", "sw_bedrijf") and p.gemeente:
            p.aanmelder = f"gemeente.{p.gemeente.lower()}"
        elif p.aanmelder_type in ("uwv", "dji"):
            p.aanmelder = p.aanmelder_type
        else:
            p.aanmelder = p.instelling
        if p.leeftijd < 18:
            p.doelgroep = self.rng.choice(("c", "e", "g"))
        else:
            p.doelgroep = _gewogen(self.rng, _DOELGROEPEN[p.aanmelder_type])
        p.werkend = p.aanmelder_type in _WERKEND or p.doelgroep == "h"

    # ---- one deelnemer's story ----------------------------------------------------------------
    def emit(self, p: _Persoon, d: date, partner: str, event_type: str, **fields: Any) -> None:
        record = {"type": event_type}
        record["bsn"] = p.bsn
        record.update({k: v for k, v in fields.items() if v is not None})
        p.events.append((d, _RANG[event_type], partner, record))

    def _geboortedatum(self, leeftijd: int, op: date) -> date:
        jaren = op.replace(year=op.year - leeftijd) if not (op.month == 2 and op.day == 29) else date(op.year - leeftijd, 2, 28)
        return jaren - timedelta(days=self.rng.randint(30, 330))

    @staticmethod
    def _leeftijd_op(geboren: date, op: date) -> int:
        return op.year - geboren.year - ((op.month, op.day) < (geboren.month, geboren.day))

    def _voorloop(self, p: _Persoon, inschrijving: date) -> None:
        advies = inschrijving - timedelta(days=self.rng.randint(2, 30))
        aanmelding = advies - timedelta(days=self.rng.randint(3, 60))
        self.emit(p, aanmelding, p.aanmelder, "KandidaatAangemeld", pilot=p.pilot, aanmelder_type=p.aanmelder_type,
                  doelgroep=p.doelgroep, gemeente=p.gemeente, werkend=p.werkend)
        if p.leeftijd < 18:
            duo, verouderd = "geen_inschrijving_geen_startkwalificatie", False
        else:
            duo = _gewogen(self.rng, (("geen_inschrijving_geen_startkwalificatie", 85), ("heeft_startkwalificatie", 5),
                                      ("niet_uitgevoerd", 10)))
            verouderd = duo == "heeft_startkwalificatie"
        advies_soort = _gewogen(self.rng, (("praktijkverklaring", 94), ("mbo_certificaat", 3), ("entree", 3)))
        self.emit(p, advies, p.instelling, "AdviesUitgebracht", mbo_instelling=p.instelling, advies=advies_soort,
                  duo_check=duo, startkwalificatie_verouderd=verouderd)

    def _inschrijven(self, p: _Persoon, crebo: str, start: date, lb: _Leerbedrijf | None, lb_nu: bool,
                     inschrijving: date | None = None) -> _Traject:
        if inschrijving is None:
            inschrijving = start - timedelta(days=self.rng.randint(0, 14))
        t = _Traject(self.uuid(), p.instelling, crebo, start, lb, lb_nu)
        if not p.trajecten:
            p.geboortedatum = self._geboortedatum(p.leeftijd, start)
            self._voorloop(p, inschrijving)
        leeftijd = self._leeftijd_op(p.geboortedatum, start)
        self.emit(p, inschrijving, p.instelling, "DeelnemerIngeschreven", traject_id=t.traject_id,
                  mbo_instelling=p.instelling, crebo=crebo, leertraject="OVO", pilot=p.pilot,
                  startdatum=start.isoformat(), leerbedrijf_id=lb.lb_id if (lb and lb_nu) else None,
                  geslacht=p.geslacht, leeftijd=leeftijd, gemeente=p.gemeente, naam=p.naam,
                  geboortedatum=p.geboortedatum.isoformat())
        if lb is not None:
            lb.crebos.add(crebo)
            lb.eerste_gebruik = min(lb.eerste_gebruik, inschrijving)
        p.trajecten.append(t)
        return t

    def _vastleggen(self, p: _Persoon, t: _Traject, d: date) -> None:
        assert t.lb is not None
        self.emit(p, d, t.instelling, "LeerbedrijfVastgelegd", traject_id=t.traject_id, leerbedrijf_id=t.lb.lb_id,
                  praktijkopleider=t.lb.opleider or None)
        t.lb.eerste_gebruik = min(t.lb.eerste_gebruik, d)

    def _aftekenen(self, p: _Persoon, t: _Traject, wps: list[tuple[str, str]], van: date, tot: date) -> None:
        assert t.lb is not None
        dagen = sorted(self.dag(van, max(van, tot), corona=False) for _ in wps)
        for (crebo, wp), d in zip(wps, dagen):
            partner = f"leerbedrijf.{t.lb.lb_id}" if self.rng.random() < 0.85 else t.instelling
            self.emit(p, d, partner, "WerkprocesAfgetekend", traject_id=t.traject_id, crebo=crebo, werkproces=wp,
                      afgetekend_door=t.lb.opleider)
            t.afgetekend.append((crebo, wp))
            t.lb.crebos.add(crebo)

    def _kies_werkprocessen(self, p: _Persoon, t: _Traject, crebo: str, n: int) -> list[tuple[str, str]]:
        gebruikt = {wp for tr in p.trajecten for wp in tr.afgetekend} | {wp for v in p.verklaringen for wp in v.werkprocessen}
        alle = self.kw[crebo].werkprocessen
        vrij = [w for w in alle if (crebo, w) not in gebruikt]
        if len(vrij) < n:
            raise ValueError(f"dossier {crebo} has too few werkprocessen left for deelnemer {p.nr}")
        begin = self.rng.randrange(len(vrij))
        return [(crebo, vrij[(begin + i) % len(vrij)]) for i in range(n)]

    def _werkprocessen_voor(self, p: _Persoon, t: _Traject, v: _Verklaring) -> list[tuple[str, str]]:
        crebos = crebos_van(v.sleutel)
        if len(crebos) == 1:
            return self._kies_werkprocessen(p, t, crebos[0], v.n_werkprocessen)
        tweede = max(1, v.n_werkprocessen // 3)
        return (self._kies_werkprocessen(p, t, crebos[0], v.n_werkprocessen - tweede)
                + self._kies_werkprocessen(p, t, crebos[1], tweede))

    def _uitgeven(self, p: _Persoon, t: _Traject, v: _Verklaring, d: date) -> None:
        assert t.lb is not None
        v.verklaring_id, v.datum = self.uuid(), d
        self.emit(p, d, t.instelling, "PraktijkverklaringUitgegeven", traject_id=t.traject_id,
                  verklaring_id=v.verklaring_id,
                  werkprocessen=[{"crebo": c, "werkproces": w} for c, w in v.werkprocessen],
                  leerbedrijf_id=t.lb.lb_id, brancheorganisaties=list(v.branche))
        for c in crebos_van(v.sleutel):
            t.lb.crebos.add(c)

    def _beeindigen(self, p: _Persoon, t: _Traject, d: date, reden: str) -> None:
        t.einde, t.reden = d, reden
        self.emit(p, d, t.instelling, "TrajectBeeindigd", traject_id=t.traject_id, reden=reden)

    def _uitstroom(self, p: _Persoon, d: date, opties: Sequence[tuple[str, float]]) -> None:
        partner = p.instelling
        if p.aanmelder.split(".")[0] in ("gemeente", "uwv", "dji") and self.rng.random() < 0.3:
            partner = p.aanmelder
        self.emit(p, d, partner, "UitstroomGeregistreerd", uitstroom=_gewogen(self.rng, opties))

    def _tijdlijn_deelnemer(self, p: _Persoon) -> None:
        if p.houder:
            self._tijdlijn_houder(p)
        else:
            self._tijdlijn_lopend(p)

    def _eerste_crebo(self, p: _Persoon) -> str:
        if p.verklaringen:
            return crebos_van(p.verklaringen[0].sleutel)[0]
        lb = p.lb
        uit_lb = sorted(lb.crebos) if lb is not None else []
        if uit_lb and self.rng.random() < 0.7:
            return self.rng.choice(uit_lb)
        return self.rng.choice(PILOT_CREBOS[p.pilot])

    def _tijdlijn_houder(self, p: _Persoon) -> None:
        vs = p.verklaringen
        # segments: (minimum days, extra days) between the events that decide the timeline
        segmenten: list[tuple[int, float]] = [(21, self.rng.uniform(0, 150 if p.pilot == "dji" else 220))]
        for i in range(1, len(vs)):
            if vs[i].traject == vs[i - 1].traject:
                segmenten.append((14, self.rng.uniform(0, 100)))
            else:
                segmenten += [(1, self.rng.uniform(0, 10)), (3, self.rng.uniform(0, 25)), (0, self.rng.uniform(0, 10)),
                              (14, self.rng.uniform(0, 100))]
        minimum = sum(m for m, _ in segmenten)
        start = self.dag(PILOT_START[p.pilot], PEILDATUM - timedelta(days=minimum), laat=1.1)
        extra = sum(e for _, e in segmenten)
        ruimte = (PEILDATUM - start).days - minimum  # the last verklaring lands anywhere up to the peildatum
        factor = min(extra, ruimte * self.rng.uniform(0.25, 1.0)) / extra if extra else 0.0
        stappen = [m + int(e * factor) for m, e in segmenten]
        vastgelegd_later = self.rng.random() < 0.12
        assert p.lb is not None
        p.lb.opleider = p.lb.opleider or self.naam(self.rng.choice(("man", "vrouw")))
        t = self._inschrijven(p, crebos_van(vs[0].sleutel)[0], start, p.lb, not vastgelegd_later)
        begin = start + timedelta(days=1)
        if vastgelegd_later:
            vd = start + timedelta(days=self.rng.randint(0, min(10, stappen[0] - 5)))
            self._vastleggen(p, t, vd)
            begin = vd + timedelta(days=1)
        d = start + timedelta(days=stappen[0])
        k = 1
        for i, v in enumerate(vs):
            if i > 0:
                if v.traject == vs[i - 1].traject:
                    d = d + timedelta(days=stappen[k])
                    k += 1
                else:
                    einde = d + timedelta(days=stappen[k])
                    self._beeindigen(p, t, einde, "afgerond")
                    inschrijving = einde + timedelta(days=stappen[k + 1])
                    nieuw_start = inschrijving + timedelta(days=stappen[k + 2])
                    t = self._inschrijven(p, crebos_van(v.sleutel)[0], nieuw_start, p.lb, True, inschrijving)
                    begin = nieuw_start + timedelta(days=1)
                    d = nieuw_start + timedelta(days=stappen[k + 3])
                    k += 4
            v.werkprocessen = self._werkprocessen_voor(p, t, v)
            self._aftekenen(p, t, v.werkprocessen, begin, d - timedelta(days=1))
            self._uitgeven(p, t, v, d)
            begin = d + timedelta(days=1)
        if d > PEILDATUM:
            raise AssertionError("verklaring after the peildatum")
        # after the last verklaring: another one in 2021, or the end of the traject
        if len(vs) == 1 and self.rng.random() < 0.05:
            n = self._n_volgend(p, vs[0].sleutel)
            extra_v = _Verklaring(t.crebo, 0, vs[0].traject, n, self._branche_voor(t.crebo))
            vd = self.dag(PEILDATUM + timedelta(days=20), LAATSTE_DAG - timedelta(days=20), corona=False)
            extra_v.werkprocessen = self._kies_werkprocessen(p, t, t.crebo, min(n, self._vrij(p, t.crebo)))
            if extra_v.werkprocessen:
                self._aftekenen(p, t, extra_v.werkprocessen, max(begin, PEILDATUM + timedelta(days=1)), vd - timedelta(days=1))
                self._uitgeven(p, t, extra_v, vd)
                vs.append(extra_v)
                d = vd
        if self.rng.random() < 0.7:
            einde = min(d + timedelta(days=self.rng.randint(1, 60)), LAATSTE_DAG)
            self._beeindigen(p, t, einde, "afgerond")
            p.open_einde = False
            if self.rng.random() < 0.6 and einde < LAATSTE_DAG:
                opties = ((("onbekend", 5), ("betaald_werk", 2.5), ("vervolgopleiding", 1.5), ("geen", 1)) if p.pilot == "dji"
                          else (("betaald_werk", 3.5), ("vervolgopleiding", 2), ("geen", 1.5), ("onbekend", 3)))
                self._uitstroom(p, self.dag(einde + timedelta(days=1), min(LAATSTE_DAG, einde + timedelta(days=90))), opties)

    def _vrij(self, p: _Persoon, crebo: str) -> int:
        gebruikt = {wp for tr in p.trajecten for wp in tr.afgetekend}
        return sum((crebo, w) not in gebruikt for w in self.kw[crebo].werkprocessen)

    def _branche_voor(self, crebo: str) -> tuple[str, ...]:
        if self.rng.random() < 0.3:
            return ()
        d = self.kw[crebo].domein
        opties = sorted(k for k in self.doel["brancheorganisaties"] if k != NIET_GEREGISTREERD
                        and all(d in BRANCHE_DOMEINEN[a] for a in k.split(", ")))
        return tuple(self.rng.choice(opties).split(", ")) if opties else ()

    def _tijdlijn_lopend(self, p: _Persoon, na_peildatum: bool = False) -> None:
        """A deelnemer without a verklaring at the peildatum (or enrolled after it)."""
        if na_peildatum:
            start = self.dag(PEILDATUM + timedelta(days=1), date(2021, 5, 14), corona=False)
        else:
            start = self.dag(PILOT_START[p.pilot], PEILDATUM, laat=1.3)
        grens = LAATSTE_DAG if na_peildatum else PEILDATUM
        crebo = self._eerste_crebo(p)
        if p.lb is not None:
            p.lb.opleider = p.lb.opleider or self.naam(self.rng.choice(("man", "vrouw")))
        vastgelegd_later = p.lb is not None and self.rng.random() < 0.12
        inschrijving = start - timedelta(days=self.rng.randint(0, 14))
        if na_peildatum:
            inschrijving = max(inschrijving, PEILDATUM + timedelta(days=1))
        t = self._inschrijven(p, crebo, start, p.lb, not vastgelegd_later, inschrijving)
        begin = start + timedelta(days=1)
        if vastgelegd_later:
            vd = min(start + timedelta(days=self.rng.randint(0, 14)), grens)
            self._vastleggen(p, t, vd)
            begin = vd + timedelta(days=1)
        lot = self.rng.random()
        if p.lb is None:  # leerbedrijf unknown at the peildatum
            if lot < 0.3 and max(start, PEILDATUM + timedelta(days=1)) <= LAATSTE_DAG - timedelta(days=30):
                lb = self.rng.choice(self.pilot_lbs[p.pilot])
                t.lb, p.lb = lb, lb
                lb.crebos.add(t.crebo)
                lb.opleider = lb.opleider or self.naam(self.rng.choice(("man", "vrouw")))
                vd = self.dag(max(start, PEILDATUM + timedelta(days=1)), LAATSTE_DAG - timedelta(days=30), corona=False)
                self._vastleggen(p, t, vd)
                n = self.rng.randint(0, 4)
                if n:
                    self._aftekenen(p, t, self._kies_werkprocessen(p, t, t.crebo, n), vd + timedelta(days=1), LAATSTE_DAG)
            elif lot < 0.42:
                self._beeindigen(p, t, self.dag(start + timedelta(days=20), LAATSTE_DAG, corona=False), "voortijdig_gestopt")
                p.open_einde = False
            return
        # leerbedrijf known: sign-offs so far
        dagen = (grens - begin).days
        n_voor = self.rng.randint(0, max(0, min(8, dagen // 14)))
        if n_voor:
            self._aftekenen(p, t, self._kies_werkprocessen(p, t, t.crebo, n_voor), begin, grens)
        laatste = max([e[0] for e in p.events]) if p.events else start
        if lot < 0.12:
            einde = self.dag(max(laatste + timedelta(days=1), start + timedelta(days=14)), LAATSTE_DAG, corona=False)
            self._beeindigen(p, t, einde, "voortijdig_gestopt")
            p.open_einde = False
            if self.rng.random() < 0.5 and einde < LAATSTE_DAG:
                self._uitstroom(p, self.dag(einde + timedelta(days=1), LAATSTE_DAG),
                                (("geen", 4), ("onbekend", 4), ("betaald_werk", 2)))
        elif lot < 0.14:
            reden = self.rng.choice(("overstap_bbl", "overstap_entree"))
            einde = self.dag(max(laatste + timedelta(days=1), start + timedelta(days=30)), LAATSTE_DAG, corona=False)
            self._beeindigen(p, t, einde, reden)
            p.open_einde = False
            if einde < LAATSTE_DAG:
                self._uitstroom(p, self.dag(einde + timedelta(days=1), LAATSTE_DAG), (("vervolgopleiding", 1),))
        elif lot < 0.27 and laatste <= LAATSTE_DAG - timedelta(days=40):
            # earns a first verklaring after the peildatum
            van = max(laatste + timedelta(days=1), PEILDATUM + timedelta(days=1), begin)
            vd = self.dag(van + timedelta(days=14), LAATSTE_DAG - timedelta(days=10), corona=False)
            n_totaal = self.rng.choice((3, 4, 5, 6, 6, 7, 9, 9))
            if p.instelling == "mbo.marlijn-academie" and p.pilot != "dji" and self.rng.random() < 0.2:
                n_totaal = 1
            n_extra = max(0, n_totaal - len(t.afgetekend))
            if n_extra:
                self._aftekenen(p, t, self._kies_werkprocessen(p, t, t.crebo, n_extra), van, vd - timedelta(days=1))
            v = _Verklaring(t.crebo, 0, 0, len(t.afgetekend), self._branche_voor(t.crebo))
            v.werkprocessen = list(t.afgetekend)
            self._uitgeven(p, t, v, vd)
            p.verklaringen.append(v)
            if self.rng.random() < 0.5 and vd < LAATSTE_DAG:
                self._beeindigen(p, t, self.dag(vd + timedelta(days=1), LAATSTE_DAG, corona=False), "afgerond")
                p.open_einde = False
        elif lot < 0.5 and not na_peildatum:
            # keeps going after the peildatum
            n = self.rng.randint(1, 3)
            if self._vrij(p, t.crebo) >= n:
                van = max(laatste + timedelta(days=1), PEILDATUM + timedelta(days=1))
                self._aftekenen(p, t, self._kies_werkprocessen(p, t, t.crebo, n), van, LAATSTE_DAG)

    def _na_peildatum(self) -> None:
        """New deelnemers in 2021 (after the peildatum)."""
        for pilot, n in NIEUW_NA_PEILDATUM.items():
            for _ in range(n):
                p = self._persoon(pilot, "nieuw")
                p.geslacht = "man" if pilot == "dji" else self.rng.choice(("man", "man", "vrouw"))
                p.groep = _gewogen(self.rng, tuple((g, float(self.doel["leeftijdsgroepen"][g])) for g in LEEFTIJDSGROEPEN[1:]))
                p.leeftijd = self._leeftijd(p.groep)
                p.naam = self.naam(p.geslacht)
                p.instelling = _gewogen(self.rng, PILOT_INSTELLINGEN[pilot])
                lbs = self.pilot_lbs[pilot]
                lot = self.rng.random()
                if not lbs or lot < 0.2:
                    p.lb = self._nieuw_lb(pilot)
                elif lot < 0.85:
                    p.lb = self.rng.choice(lbs)
                else:
                    p.lb, p.lb_bekend = None, False
                self._referent(p)
                self._tijdlijn_lopend(p, na_peildatum=True)

    def _kandidaten(self) -> None:
        """Aangemeld, never enrolled: not deelnemers (a cause of differences the evaluation names)."""
        uitkomsten = (("praktijkverklaring", "geen_inschrijving_geen_startkwalificatie", 14), ("geen", "heeft_mbo_inschrijving", 10),
                      ("mbo_diploma_bbl", "geen_inschrijving_geen_startkwalificatie", 10),
                      ("entree", "geen_inschrijving_geen_startkwalificatie", 8),
                      ("mbo_certificaat", "geen_inschrijving_geen_startkwalificatie", 6), ("geen", "heeft_startkwalificatie", 6),
                      ("", "", 16))
        gereserveerd = {"haaglanden": "geen_erkenning", "zwolle": "te_jong"}
        for pilot, n in NOOIT_INGESCHREVEN.items():
            for i in range(n):
                p = self._persoon(pilot, "kandidaat")
                p.geslacht = "man" if pilot == "dji" else self.rng.choice(("man", "vrouw"))
                p.groep = _gewogen(self.rng, tuple((g, float(self.doel["leeftijdsgroepen"][g])) for g in LEEFTIJDSGROEPEN[1:]))
                p.leeftijd = self._leeftijd(p.groep)
                p.instelling = _gewogen(self.rng, PILOT_INSTELLINGEN[pilot])
                if pilot == "noordoost-brabant":
                    aanmelding = self.dag(date(2019, 9, 2), date(2019, 12, 13), corona=False)
                elif i == 0 and pilot in gereserveerd:  # refusals() enrols them in July 2021
                    aanmelding = self.dag(date(2021, 3, 1), date(2021, 5, 31), corona=False)
                else:
                    aanmelding = self.dag(PILOT_START[pilot] - timedelta(days=30), LAATSTE_DAG - timedelta(days=30))
                if i == 0 and pilot in gereserveerd:
                    p.gereserveerd = gereserveerd[pilot]
                    if p.gereserveerd == "te_jong":  # a vso pupil of 15 (the report's youngest deelnemer)
                        p.leeftijd, p.groep = 15, LEEFTIJDSGROEPEN[0]
                    advies, duo = "praktijkverklaring", "geen_inschrijving_geen_startkwalificatie"
                else:
                    advies, duo = _gewogen(self.rng, tuple(((a, b), float(w)) for a, b, w in uitkomsten))
                p.naam = self.naam(p.geslacht)
                p.geboortedatum = self._geboortedatum(p.leeftijd, date(2021, 7, 5) if p.gereserveerd else aanmelding)
                self._referent(p)
                self.emit(p, aanmelding, p.aanmelder, "KandidaatAangemeld", pilot=pilot, aanmelder_type=p.aanmelder_type,
                          doelgroep=p.doelgroep, gemeente=p.gemeente, werkend=p.werkend)
                if advies:
                    self.emit(p, aanmelding + timedelta(days=self.rng.randint(5, 30)), p.instelling, "AdviesUitgebracht",
                              mbo_instelling=p.instelling, advies=advies, duo_check=duo,
                              startkwalificatie_verouderd=duo == "heeft_startkwalificatie" and self.rng.random() < 0.5)

    def _intrekkingen(self) -> None:
        """Two verklaringen issued after the peildatum are revoked; a few sign-offs are retracted."""
        kandidaten = [(p, v) for p in self.personen for v in p.verklaringen
                      if v.volgnummer == 0 and v.datum <= date(2021, 5, 31) and v is p.verklaringen[-1] and p.open_einde]
        kandidaten.sort(key=lambda pv: (pv[0].nr, pv[1].datum))
        for p, v in self.rng.sample(kandidaten, 2):
            d = self.dag(v.datum + timedelta(days=3), min(LAATSTE_DAG, v.datum + timedelta(days=30)), corona=False)
            v.ingetrokken = d
            self.emit(p, d, p.instelling, "PraktijkverklaringIngetrokken", verklaring_id=v.verklaring_id,
                      reden=self.rng.choice(("Uitgegeven op de verkeerde werkprocessen", "Administratieve fout bij de uitgifte")))
        lopend = [p for p in self.personen if p.soort == "deelnemer" and not p.verklaringen and p.open_einde
                  and p.trajecten and len(p.trajecten[0].afgetekend) >= 2]
        for p in self.rng.sample(lopend, 6):
            t = p.trajecten[0]
            crebo, wp = self.rng.choice(t.afgetekend)
            getekend = next(e[0] for e in p.events if e[3].get("werkproces") == wp and e[3]["type"] == "WerkprocesAfgetekend")
            d = min(getekend + timedelta(days=self.rng.randint(1, 20)), LAATSTE_DAG)
            partner = t.instelling if self.rng.random() < 0.5 else f"leerbedrijf.{t.lb.lb_id}"  # type: ignore[union-attr]
            self.emit(p, d, partner, "AftekeningIngetrokken", traject_id=t.traject_id, crebo=crebo, werkproces=wp,
                      reden=self.rng.choice(("Onterecht afgetekend", "Dubbel geregistreerd door de praktijkopleider",
                                             "Werkproces nog niet beheerst")))
            t.afgetekend.remove((crebo, wp))
            p.gereserveerd = p.gereserveerd or "ingetrokken"

    # ---- reference data and the final list ---------------------------------------------------
    def _referentie(self) -> list[tuple[datetime, str, dict[str, Any]]]:
        out: list[tuple[datetime, str, dict[str, Any]]] = []
        gebruikt = {c for p in self.personen for t in p.trajecten for c, _ in t.afgetekend} | {
            t.crebo for p in self.personen for t in p.trajecten} | {
            c for p in self.personen for v in p.verklaringen for c in crebos_van(v.sleutel)}
        for i, (crebo, k) in enumerate(sorted(self.kw.items())):
            out.append((datetime(2016, 8, 1, 9, 0, tzinfo=timezone.utc) + timedelta(minutes=i), "sbb", {
                "type": "KwalificatiedossierVastgesteld", "crebo": crebo, "naam": k.naam, "niveau": k.niveau, "domein": k.domein,
                "kerntaken": [{"code": code, "naam": naam, "werkprocessen": [{"code": c, "naam": n} for c, n in wps]}
                              for code, naam, wps in k.kerntaken]}))
        missing = gebruikt - set(self.kw)
        if missing:
            raise ValueError(f"crebos without dossier: {sorted(missing)}")
        for lb in self.leerbedrijven:
            if not lb.crebos:
                continue
            lb.naam = self._lb_naam(lb)
            d = max(date(2016, 1, 4), lb.eerste_gebruik - timedelta(days=self.rng.randint(30, 400)))
            out.append((self._tijd(d), "sbb", {"type": "LeerbedrijfErkend", "leerbedrijf_id": lb.lb_id, "naam": lb.naam,
                                               "crebos": sorted(lb.crebos)}))
        eerste: dict[tuple[str, str], date] = {}
        for p in self.personen:
            for t in p.trajecten:
                inschrijving = next(e[0] for e in p.events if e[3].get("traject_id") == t.traject_id)
                key = (t.instelling, t.crebo)
                eerste[key] = min(eerste.get(key, date(2099, 1, 1)), inschrijving, t.startdatum)
        self.erkenningen = {}
        for (inst, crebo), d in sorted(eerste.items()):
            vanaf = max(date(2018, 8, 1), d - timedelta(days=self.rng.randint(20, 120)))
            if vanaf > d:
                vanaf = d
            self.erkenningen[(inst, crebo)] = vanaf
            out.append((self._tijd(vanaf - timedelta(days=self.rng.randint(5, 20))), "duo", {
                "type": "ErkenningDerdeLeerwegVerleend", "mbo_instelling": inst, "crebo": crebo, "vanaf": vanaf.isoformat()}))
        out.sort(key=lambda x: (x[0], x[1]))
        return out

    def _lb_naam(self, lb: _Leerbedrijf) -> str:
        if lb.pilots[0] == "dji":
            return f"In-Made praktijkwerkplaats DJI-locatie {sorted(x.lb_id for x in self.pilot_lbs['dji']).index(lb.lb_id) + 1:02d}"
        domeinen = Counter(self.kw[c].domein for c in lb.crebos)
        domein = sorted(domeinen, key=lambda d: (-domeinen[d], d))[0]
        if self.pilot_lbs[lb.pilots[0]] and self.pilot_lbs[lb.pilots[0]][0] is lb and lb.pilots[0] not in ("doorzaam", "vgn-actiz"):
            return f"Leerwerkbedrijf {referentie.pilots()[lb.pilots[0]].naam}"
        sjabloon = self.rng.choice(_BEDRIJF[domein])
        return sjabloon.format(a=self.rng.choice(_ACHTERNAMEN).replace("de ", "De ").replace("van ", "Van "),
                               b=self.rng.choice(_BOMEN), p=self.rng.choice(_PLAATSEN_LB))

    def _tijd(self, d: date) -> datetime:
        return datetime.combine(d, time(8, 0), timezone.utc) + timedelta(minutes=self.rng.randint(0, 540))

    def records(self) -> list[DemoRecord]:
        referentie_events = self._referentie()
        persoonlijk: list[tuple[datetime, int, int, str, dict[str, Any]]] = []
        for p in self.personen:
            p.events.sort(key=lambda e: (e[0], e[1]))  # stable: equal rank keeps causal emission order
            per_dag: dict[date, list[int]] = defaultdict(list)
            for i, e in enumerate(p.events):
                per_dag[e[0]].append(i)
            for d, idx in per_dag.items():
                minuten = sorted(self.rng.sample(range(0, 540), len(idx)))
                for i, m in zip(idx, minuten):
                    e = p.events[i]
                    ts = datetime.combine(d, time(8, 0), timezone.utc) + timedelta(minutes=m)
                    persoonlijk.append((ts, p.nr, i, e[2], e[3]))
        persoonlijk.sort(key=lambda x: (x[0], x[1], x[2]))
        out: list[DemoRecord] = []
        alles = [(ts, partner, r) for ts, partner, r in referentie_events] + [(ts, partner, r) for ts, _, _, partner, r in persoonlijk]
        for n, (ts, partner, r) in enumerate(alles):
            record = {"type": r["type"], "event_id": str(uuid.uuid5(_NS, f"{self.seed}:{n}")), "occurred_at": ts.isoformat()}
            record.update({k: v for k, v in r.items() if k != "type"})
            out.append(DemoRecord(partner, record))
        return out


# ---- public API -----------------------------------------------------------------------------------
def _bouw(seed: int) -> tuple[_Bouwer, list[DemoRecord]]:
    b = _Bouwer(seed)
    b.bouw()
    return b, b.records()


def generate(seed: int = 2021) -> list[DemoRecord]:
    """The demo data set for ``seed``, in the order it must be published (reference data first,
    then every event in occurred_at order; one deelnemer's events are in causal order)."""
    return _bouw(seed)[1]


def refusals(seed: int = 2021) -> list[DemoRecord]:
    """Submissions the validator must refuse, published after ``generate(seed)``; the reason
    code each one must get is ``WEIGERREDENEN[i]``."""
    b, records = _bouw(seed)
    ts = [datetime(2021, 7, 5, 9, 0, tzinfo=timezone.utc) + timedelta(hours=3 * i) for i in range(len(WEIGERREDENEN))]
    out: list[DemoRecord] = []

    def add(i: int, partner: str, event_type: str, p: _Persoon, **fields: Any) -> None:
        record = {"type": event_type, "event_id": str(uuid.uuid5(_NS, f"{seed}:weigering:{i}")),
                  "occurred_at": ts[i].isoformat(), "bsn": p.bsn}
        record.update(fields)
        out.append(DemoRecord(partner, record))

    lopend = [p for p in b.personen if p.soort == "deelnemer" and not p.verklaringen and p.open_einde and not p.gereserveerd
              and p.trajecten and p.trajecten[0].lb is not None and len(p.trajecten[0].afgetekend) >= 1]
    a, c = lopend[0], lopend[1]
    ta, tc = a.trajecten[0], c.trajecten[0]
    assert ta.lb is not None and tc.lb is not None
    vrij_a = [w for w in b.kw[ta.crebo].werkprocessen if (ta.crebo, w) not in ta.afgetekend]
    # 0: sign-off of a werkproces the dossier does not have
    add(0, f"leerbedrijf.{ta.lb.lb_id}", "WerkprocesAfgetekend", a, traject_id=ta.traject_id, crebo=ta.crebo,
        werkproces="B1-K9-W9", afgetekend_door=ta.lb.opleider)
    # 1: inschrijving at an instelling without erkenning for the crebo
    k1 = next(p for p in b.personen if p.gereserveerd == "geen_erkenning")
    zonder = sorted(c for c in b.kw if (k1.instelling, c) not in b.erkenningen and c in referentie.kwalificaties())
    start = date(2021, 7, 12)
    add(1, k1.instelling, "DeelnemerIngeschreven", k1, traject_id=str(uuid.uuid5(_NS, f"{seed}:weigering:traject:1")),
        mbo_instelling=k1.instelling, crebo=zonder[-1], leertraject="OVO", pilot=k1.pilot, startdatum=start.isoformat(),
        geslacht=k1.geslacht, leeftijd=_Bouwer._leeftijd_op(k1.geboortedatum, start), naam=k1.naam,
        geboortedatum=k1.geboortedatum.isoformat())
    # 2: a 15-year-old
    k2 = next(p for p in b.personen if p.gereserveerd == "te_jong")
    met = sorted(c for (i, c) in b.erkenningen if i == k2.instelling)
    add(2, k2.instelling, "DeelnemerIngeschreven", k2, traject_id=str(uuid.uuid5(_NS, f"{seed}:weigering:traject:2")),
        mbo_instelling=k2.instelling, crebo=met[0], leertraject="OVO", pilot=k2.pilot, startdatum=ts[2].date().isoformat(),
        geslacht=k2.geslacht, leeftijd=15, gemeente=k2.gemeente, naam=k2.naam, geboortedatum=k2.geboortedatum.isoformat())
    # 3: a verklaring listing a werkproces that was not signed off
    add(3, ta.instelling, "PraktijkverklaringUitgegeven", a, traject_id=ta.traject_id,
        verklaring_id=str(uuid.uuid5(_NS, f"{seed}:weigering:verklaring:3")),
        werkprocessen=[{"crebo": c_, "werkproces": w} for c_, w in ta.afgetekend[:1]] + [{"crebo": ta.crebo, "werkproces": vrij_a[0]}],
        leerbedrijf_id=ta.lb.lb_id, brancheorganisaties=[])
    # 4: a sign-off on another instelling's traject, by the wrong mbo partner
    ander = sorted(i for i in referentie.mbo_instellingen() if i != ta.instelling)[0]
    add(4, ander, "WerkprocesAfgetekend", a, traject_id=ta.traject_id, crebo=ta.crebo, werkproces=vrij_a[0],
        afgetekend_door="Docent bpv")
    # 5: an event after TrajectBeeindigd
    klaar = next(p for p in b.personen if p.houder and not p.open_einde and p.trajecten[-1].reden == "afgerond"
                 and p.trajecten[-1].lb is not None)
    tk = klaar.trajecten[-1]
    assert tk.lb is not None
    vrij_k = [w for w in b.kw[tk.crebo].werkprocessen if (tk.crebo, w) not in tk.afgetekend]
    add(5, f"leerbedrijf.{tk.lb.lb_id}", "WerkprocesAfgetekend", klaar, traject_id=tk.traject_id, crebo=tk.crebo,
        werkproces=vrij_k[0], afgetekend_door=tk.lb.opleider)
    # 6: the same werkproces signed off twice in one traject
    crebo_c, wp_c = tc.afgetekend[0]
    add(6, f"leerbedrijf.{tc.lb.lb_id}", "WerkprocesAfgetekend", c, traject_id=tc.traject_id, crebo=crebo_c,
        werkproces=wp_c, afgetekend_door=tc.lb.opleider)
    # 7: a verklaring repeating a werkproces of an earlier verklaring of the deelnemer
    houder = next(p for p in b.personen if p.houder and p.open_einde and len(p.verklaringen) == 1
                  and p.trajecten[-1].lb is not None)
    th = houder.trajecten[-1]
    assert th.lb is not None
    add(7, th.instelling, "PraktijkverklaringUitgegeven", houder, traject_id=th.traject_id,
        verklaring_id=str(uuid.uuid5(_NS, f"{seed}:weigering:verklaring:7")),
        werkprocessen=[{"crebo": c_, "werkproces": w} for c_, w in houder.verklaringen[0].werkprocessen[:2]],
        leerbedrijf_id=th.lb.lb_id, brancheorganisaties=[])
    return out


def write_jsonl(records: Iterable[DemoRecord], directory: Path | str) -> list[Path]:
    """Write one ``<partner>.jsonl`` per partner (rows in the given order); returns the files in
    order of first appearance. Publish them in that order, or better in the order of ``records``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    per_partner: dict[str, list[str]] = {}
    for r in records:
        per_partner.setdefault(r.partner, []).append(json.dumps(r.record, ensure_ascii=False, sort_keys=False))
    paths: list[Path] = []
    for partner, lines in per_partner.items():
        path = folder / f"{partner}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
