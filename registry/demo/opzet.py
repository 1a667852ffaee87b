"""The shape of the demo data set: design choices per pilot (pure data tables).

The counts the data must reproduce come from the evaluation (``doelen.py``); these tables
decide how: which instelling, which gemeenten, who refers, which kwalificaties a pilot
favours, who stacks verklaringen, and what happens outside the evaluation's view.
"""

from __future__ import annotations

from datetime import date

CORONA = (date(2020, 3, 16), date(2020, 8, 31))  # pilots largely stood still

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
    "drenthe": date(2019, 7, 1),
    "flevoland": date(2019, 11, 4),
    "foodvalley": date(2020, 9, 7),
    "friesland": date(2019, 9, 16),
    "groningen": date(2019, 1, 14),
    "groot-amsterdam": date(2020, 9, 7),
    "haaglanden": date(2019, 9, 9),
    "helmond-de-peel": date(2019, 11, 4),
    "holland-rijnland": date(2020, 1, 6),
    "doorzaam": date(2019, 3, 4),
    "dji": date(2020, 1, 6),
    "vgn-actiz": date(2020, 9, 7),
    "midden-gelderland": date(2020, 9, 14),
    "midden-holland": date(2019, 11, 11),
    "midden-limburg": date(2019, 9, 9),
    "noord-holland-noord": date(2019, 11, 4),
    "noord-limburg": date(2019, 9, 9),
    "noordoost-brabant": date(2021, 2, 1),
    "rijnmond": date(2019, 5, 6),
    "stedendriehoek-noordwest-veluwe": date(2020, 1, 6),
    "twente": date(2019, 4, 1),
    "west-brabant": date(2019, 2, 4),
    "zaanstreek-waterland": date(2020, 10, 5),
    "zuid-limburg": date(2020, 1, 6),
    "zuidoost-brabant": date(2020, 9, 7),
    "zwolle": date(2020, 9, 7),
}

# CBS gemeentecodes per pilot (centrumgemeente first)
PILOT_GEMEENTEN: dict[str, tuple[str, ...]] = {
    "drenthe": ("GM0106", "GM0114", "GM0118"),
    "flevoland": ("GM0034", "GM0995", "GM0171", "GM0303"),
    "foodvalley": ("GM0228", "GM0345", "GM0289"),
    "friesland": ("GM0080", "GM0090", "GM0074"),
    "groningen": ("GM0014", "GM1895", "GM0047", "GM0765", "GM0037"),
    "groot-amsterdam": ("GM0363", "GM0362", "GM0394"),
    "haaglanden": ("GM0518", "GM0503", "GM0637", "GM1783"),
    "helmond-de-peel": ("GM0794", "GM0762", "GM1652"),
    "holland-rijnland": ("GM0546", "GM0484", "GM0537"),
    "midden-gelderland": ("GM0202", "GM0274", "GM0299"),
    "midden-holland": ("GM0513", "GM0627"),
    "midden-limburg": ("GM0957", "GM0988"),
    "noord-holland-noord": ("GM0361", "GM0400", "GM0405"),
    "noord-limburg": ("GM0983", "GM0984", "GM1507"),
    "noordoost-brabant": ("GM0796", "GM0828"),
    "rijnmond": ("GM0599", "GM0606", "GM0622"),
    "stedendriehoek-noordwest-veluwe": ("GM0200", "GM0150", "GM0243", "GM0301"),
    "twente": ("GM0153", "GM0164", "GM0141"),
    "west-brabant": ("GM0758", "GM1674", "GM0748", "GM0826", "GM0777"),
    "zaanstreek-waterland": ("GM0479", "GM0439"),
    "zuid-limburg": ("GM0935", "GM0917", "GM1883", "GM0928"),
    "zuidoost-brabant": ("GM0772", "GM0861"),
    "zwolle": ("GM0193", "GM0166", "GM0119"),
    "vgn-actiz": ("GM0363", "GM0362", "GM0394"),
}

# (aanmelder_type, weight) per pilot; the rest use REGIONAAL
REGIONAAL = (
    ("sw_bedrijf", 45),
    ("gemeente", 20),
    ("uwv", 8),
    ("rmc", 5),
    ("werkgever", 8),
    ("reintegratie", 6),
    ("leerwerkloket", 4),
    ("overig", 4),
)
AANMELDERS: dict[str, tuple[tuple[str, int], ...]] = {
    "dji": (("dji", 1),),
    "doorzaam": (("uitzendbureau", 1),),
    "vgn-actiz": (("werkgever", 6), ("overig", 4)),
    "west-brabant": (
        ("werkgever", 35),
        ("gemeente", 20),
        ("sw_bedrijf", 15),
        ("reintegratie", 10),
        ("overig", 10),
        ("rmc", 5),
        ("uwv", 5),
    ),
    "foodvalley": (("leerwerkloket", 5), ("gemeente", 2), ("uwv", 2), ("reintegratie", 1)),
    "zwolle": (("overig", 6), ("sw_bedrijf", 4)),
}
DOELGROEPEN: dict[str, tuple[tuple[str, int], ...]] = {
    "gemeente": (("a", 6), ("f", 3), ("c", 2)),
    "sw_bedrijf": (("c", 6), ("h", 4)),
    "uwv": (("b", 6), ("c", 4)),
    "rmc": (("e", 7), ("d", 3)),
    "werkgever": (("h", 1),),
    "reintegratie": (("a", 1), ("b", 1)),
    "leerwerkloket": (("h", 2), ("b", 1), ("d", 1)),
    "uitzendbureau": (("h", 1),),
    "overig": (("g", 2), ("c", 2), ("d", 1)),
    "dji": (("i", 1),),
    "mbo": (("d", 1), ("e", 1)),
}
WERKEND = {"sw_bedrijf", "werkgever", "uitzendbureau"}

T, Z, TP, HB, HO, AF, VN, ICT, EA, MV, MO = (
    "Transport, scheepvaart en logistiek",
    "Zorg en welzijn",
    "Techniek en procesindustrie",
    "Horeca en bakkerij",
    "Handel en ondernemerschap",
    "Afbouw, hout en onderhoud",
    "Voedsel, natuur en leefomgeving",
    "Informatie en communicatietechnologie",
    "Economie en administratie",
    "Media en vormgeving",
    "Mobiliteit en voertuigen",
)

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
    "drenthe": ("25253", "25254", "25250"),
    "flevoland": ("25254", "25371", "25252", "25251", "25253"),
    "foodvalley": ("25252", "25256"),
    "friesland": ("25258",),
    "groningen": ("25253", "25254", "25250", "25034", "25251"),
    "groot-amsterdam": ("25252", "25257", "25251"),
    "haaglanden": ("25251", "25254", "25034"),
    "helmond-de-peel": ("25253", "25254", "25291"),
    "holland-rijnland": ("25254", "25257"),
    "doorzaam": ("25254", "25371"),
    "dji": ("25254", "25253"),
    "vgn-actiz": ("25251", "25498"),
    "midden-gelderland": ("25254",),
    "midden-holland": ("25251",),
    "midden-limburg": ("25258", "25254"),
    "noord-holland-noord": ("25258", "25253", "25254"),
    "noord-limburg": ("25254", "25371", "25431", "25258"),
    "noordoost-brabant": ("25254", "25253"),
    "rijnmond": ("25254", "25252"),
    "stedendriehoek-noordwest-veluwe": ("25253", "25251", "25250"),
    "twente": ("25253", "25291", "25254"),
    "west-brabant": ("25254", "25251", "25252", "25253", "25257"),
    "zaanstreek-waterland": ("25252", "25254"),
    "zuid-limburg": ("25251", "25034", "25254"),
    "zuidoost-brabant": ("25253",),
    "zwolle": ("25258", "25251"),
}

# leerbedrijven per pilot at which deelnemers with a verklaring work (sum 95, kerncijfers)
VERKLARING_LEERBEDRIJVEN: dict[str, int] = {
    "west-brabant": 46,
    "dji": 11,
    "groningen": 13,
    "haaglanden": 5,
    "holland-rijnland": 3,
    "flevoland": 2,
    "doorzaam": 3,
    "midden-limburg": 2,
    "rijnmond": 3,
    "twente": 2,
    "zuid-limburg": 1,
    "zwolle": 1,
    "midden-gelderland": 1,
    "noord-limburg": 1,
    "zaanstreek-waterland": 1,
}
# five leerbedrijven with deelnemers in two pilots (5.3 footnote 13): (pilot a, pilot b); in pilot b
# the leerbedrijf has no deelnemer with a verklaring
GEDEELDE_LEERBEDRIJVEN: tuple[tuple[str, str], ...] = (
    ("doorzaam", "west-brabant"),
    ("doorzaam", "noord-limburg"),
    ("groningen", "drenthe"),
    ("flevoland", "groot-amsterdam"),
    ("helmond-de-peel", "zuidoost-brabant"),
)
DJI_LEERBEDRIJF_GROOTTE = (143, 30, 20, 15, 10, 7, 5, 3, 2, 2, 2)  # one vestiging with 143 deelnemers (5.2)

# The 49 deelnemers who stack verklaringen: pilot, B2 keys in order (1st, 2nd[, 3rd]) and
# the traject of each verklaring (0 = first traject; equal numbers = same traject).
STAPELS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    # DJI (AndereStartMBO, up to niveau 2): 233 deelnemers hold 241 verklaringen
    ("dji", ("25371", "25254"), (0, 0)),
    ("dji", ("25371", "25254"), (0, 1)),
    ("dji", ("25371", "25254"), (0, 1)),
    ("dji", ("25254", "25371"), (0, 0)),
    ("dji", ("25254", "25371"), (0, 1)),
    ("dji", ("25253", "25290"), (0, 0)),
    ("dji", ("25231", "25255"), (0, 0)),
    ("dji", ("25252", "25180"), (0, 1)),
    # two triples outside West-Brabant
    ("groningen", ("25498", "25476", "25251"), (0, 1, 2)),
    ("haaglanden", ("25498", "25491", "25251"), (0, 1, 2)),
    # West-Brabant (Marlijn Academie): 39 of the 49 stapelaars, 150 verklaringen in all
    ("west-brabant", ("25499", "25498", "25251"), (0, 1, 2)),
    ("west-brabant", ("25251", "25499", "25498"), (0, 1, 2)),
    ("west-brabant", ("25024", "25250"), (0, 0)),
    ("west-brabant", ("25499", "25251"), (0, 0)),
    ("west-brabant", ("25499", "25251"), (0, 1)),
    ("west-brabant", ("25476", "25251"), (0, 1)),
    ("west-brabant", ("25180", "25252"), (0, 0)),
    ("west-brabant", ("25180", "25252"), (0, 1)),
    ("west-brabant", ("25168", "25252"), (0, 1)),
    ("west-brabant", ("25291", "25253"), (0, 1)),
    ("west-brabant", ("25371", "25254"), (0, 1)),
    ("west-brabant", ("25371", "25254"), (0, 1)),
    ("west-brabant", ("25371", "25254"), (0, 1)),
    ("west-brabant", ("25371", "25254,25259"), (0, 0)),
    ("west-brabant", ("25159", "25257"), (0, 0)),
    ("west-brabant", ("25159", "25257"), (0, 1)),
    ("west-brabant", ("25167,25503", "25257"), (0, 1)),
    ("west-brabant", ("25167,25503", "25257"), (0, 1)),
    ("west-brabant", ("25163", "25257"), (0, 1)),
    ("west-brabant", ("25257", "25159"), (0, 0)),
    ("west-brabant", ("25257", "25159"), (0, 1)),
    ("west-brabant", ("25257", "25159"), (0, 1)),
    ("west-brabant", ("25257", "25159"), (0, 1)),
    ("west-brabant", ("25159", "25159"), (0, 0)),
    ("west-brabant", ("25159", "25159"), (0, 0)),
    ("west-brabant", ("25252", "25180"), (0, 1)),
    ("west-brabant", ("25252", "25180"), (0, 1)),
    ("west-brabant", ("25256", "25335"), (0, 0)),
    ("west-brabant", ("25254", "25371"), (0, 1)),
    ("west-brabant", ("25258", "25452"), (0, 0)),
    ("west-brabant", ("25251", "25498"), (0, 1)),
    ("west-brabant", ("25251", "25498"), (0, 1)),
    ("west-brabant", ("25251", "25498"), (0, 1)),
    ("west-brabant", ("25251", "25498"), (0, 1)),
    ("west-brabant", ("25251", "25499"), (0, 1)),
    ("west-brabant", ("25209", "25591"), (0, 1)),
    ("west-brabant", ("25018", "25017"), (0, 1)),
    ("west-brabant", ("25150", "25191"), (0, 1)),
    ("west-brabant", ("25191", "25605"), (0, 1)),
)

# age groups: fixed for the pilots the report singles out, the rest dealt from the remainder
LEEFTIJD_VAST: dict[str, tuple[int, int, int, int, int]] = {
    "west-brabant": (17, 53, 15, 55, 10),  # 70 of 150 younger than 23 = 47% (4.1)
    "vgn-actiz": (5, 5, 1, 1, 0),
    "zwolle": (4, 3, 1, 0, 0),  # Boris-route pupils
}
JONG_ELDERS = ("groningen", "twente", "helmond-de-peel")  # one 16/17-year-old each

# after the peildatum: new deelnemers per pilot (Feb-May 2021)
NIEUW_NA_PEILDATUM: dict[str, int] = {
    "noordoost-brabant": 3,
    "dji": 10,
    "west-brabant": 8,
    "groningen": 6,
    "flevoland": 3,
    "noord-limburg": 2,
    "haaglanden": 2,
    "twente": 2,
    "foodvalley": 2,
    "groot-amsterdam": 2,
    "zuidoost-brabant": 2,
    "midden-holland": 1,
    "friesland": 1,
    "zaanstreek-waterland": 1,
    "vgn-actiz": 1,
}
# candidates aangemeld who never enrol (per pilot); Noordoost-Brabant's are from 2019 (overzicht 3.1)
NOOIT_INGESCHREVEN: dict[str, int] = {
    "noordoost-brabant": 6,
    "groningen": 10,
    "west-brabant": 10,
    "dji": 8,
    "flevoland": 5,
    "haaglanden": 4,
    "twente": 3,
    "noord-limburg": 3,
    "rijnmond": 3,
    "helmond-de-peel": 2,
    "zuid-limburg": 2,
    "groot-amsterdam": 2,
    "zwolle": 3,
    "stedendriehoek-noordwest-veluwe": 2,
    "foodvalley": 2,
    "zuidoost-brabant": 2,
    "midden-holland": 1,
    "drenthe": 2,
}

# brancheorganisatie afkorting -> domeinen it is at home in (to pair B1 with B2 plausibly)
BRANCHE_DOMEINEN: dict[str, frozenset[str]] = {
    "ActiZ": frozenset({Z}),
    "VGN": frozenset({Z}),
    "Bouwend Nederland": frozenset({AF, TP}),
    "NOA": frozenset({AF}),
    "VWN": frozenset({AF}),
    "Onderhoud NL": frozenset({AF}),
    "CBL": frozenset({HO, T}),
    "Inretail": frozenset({HO}),
    "KHN": frozenset({HB}),
    "NVG": frozenset({T}),
    "TLN": frozenset({T}),
    "CBM": frozenset({AF}),
    "FOCWA": frozenset({MO}),
    "LTO Nederland": frozenset({VN}),
    "VHG": frozenset({VN}),
    "Cumela": frozenset({VN}),
    "NBOV": frozenset({HB}),
    "Techniek Nederland": frozenset({TP}),
    "Zuivel NL": frozenset({HB, TP}),
}
