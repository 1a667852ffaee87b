"""Kwalificatiedossiers for the demo: SBB's dossiers (``registry/domein/data``) plus the crebos
the evaluation names without one, each with invented, plausible kerntaken and werkprocessen
(the seeds hold no werkproces lists). The same for every seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from registry.demo.doelen import bron
from registry.demo.opzet import AF, EA, HB, HO, ICT, MO, MV, TP, VN, T, Z
from registry.domein import referentie
from registry.domein.referentie import Kwalificatie

_ALGEMEEN = (
    "Werkt veilig en volgens de voorschriften",
    "Houdt de werkplek schoon en opgeruimd",
    "Stemt werkzaamheden af met collega's",
    "Signaleert afwijkingen en meldt deze",
    "Plant de eigen werkzaamheden",
    "Rondt de werkzaamheden af en rapporteert",
    "Gaat professioneel om met klanten",
    "Controleert het eigen werk",
    "Verwerkt afval volgens de voorschriften",
    "Werkt met apparatuur en gereedschap",
    "Bereidt de eigen werkzaamheden voor",
    "Voert eenvoudige administratieve handelingen uit",
    "Werkt samen in een team",
    "Houdt zich aan werktijden en afspraken",
)
_VAK: dict[str, tuple[str, ...]] = {
    T: (
        "Neemt goederen in ontvangst",
        "Controleert ontvangen goederen",
        "Slaat goederen op",
        "Verzamelt orders",
        "Pakt goederen in",
        "Maakt zendingen verzendklaar",
        "Laadt en lost vrachtwagens",
        "Telt de voorraad",
        "Verwerkt retourgoederen",
        "Werkt met een elektrische pallettruck",
        "Registreert goederenbewegingen",
        "Etiketteert goederen",
        "Sorteert pakketten",
        "Vult locaties aan",
    ),
    Z: (
        "Ondersteunt bij de dagelijkse verzorging",
        "Helpt bij de maaltijden",
        "Verricht huishoudelijke werkzaamheden",
        "Begeleidt cliënten bij activiteiten",
        "Observeert en signaleert veranderingen bij de cliënt",
        "Communiceert met de cliënt en diens naasten",
        "Houdt de leefruimte schoon en veilig",
        "Ondersteunt bij de mobiliteit van de cliënt",
        "Bereidt eenvoudige maaltijden",
        "Verzorgt de was",
        "Werkt volgens hygiëneprotocollen",
        "Rapporteert over de cliënt",
        "Ondersteunt bij dagbesteding",
        "Verleent eerste hulp bij kleine incidenten",
    ),
    TP: (
        "Leest een werktekening",
        "Bereidt materialen en gereedschap voor",
        "Zaagt en boort materiaal op maat",
        "Monteert onderdelen",
        "Maakt schroef-, klink- en lasverbindingen",
        "Installeert leidingen en componenten",
        "Bedient machines en installaties",
        "Bewaakt het productieproces",
        "Voert eenvoudig onderhoud uit",
        "Meet en test het resultaat",
        "Demonteert onderdelen",
        "Werkt volgens VCA",
        "Bewerkt plaatmateriaal",
        "Controleert producten op kwaliteit",
    ),
    HB: (
        "Bereidt de mise-en-place voor",
        "Bereidt eenvoudige gerechten",
        "Bereidt broodjes en snacks",
        "Ontvangt en bedient gasten",
        "Schenkt dranken",
        "Ruimt af en dekt tafels",
        "Maakt de keuken schoon",
        "Werkt volgens HACCP",
        "Slaat voedingsmiddelen op",
        "Verwerkt grondstoffen tot bakkerijproducten",
        "Verpakt producten",
        "Rekent af met gasten",
        "Bedient keukenapparatuur",
        "Controleert houdbaarheid",
    ),
    HO: (
        "Ontvangt en verwerkt goederen in de winkel",
        "Vult schappen en presenteert artikelen",
        "Helpt klanten",
        "Rekent af aan de kassa",
        "Houdt de winkel schoon en presentabel",
        "Prijst artikelen",
        "Verwerkt retouren",
        "Adviseert klanten over producten",
        "Bewerkt textiel",
        "Naait kledingstukken in elkaar",
        "Past kledingstukken aan",
        "Verricht voorraadbeheer",
        "Richt de etalage in",
        "Verkoopt aanvullende artikelen",
    ),
    AF: (
        "Richt de werkplek in",
        "Meet uit en tekent af",
        "Bewerkt hout machinaal",
        "Monteert bouwelementen",
        "Voert schilder- en afwerkwerk uit",
        "Verricht klein onderhoud aan gebouwen",
        "Voert schoonmaakwerkzaamheden uit",
        "Reinigt sanitair en vloeren",
        "Bekleedt meubels",
        "Assembleert meubels",
        "Plaatst en stelt deuren en ramen af",
        "Ruimt de bouwplaats op",
        "Voert eenvoudige reparaties uit",
        "Verwerkt plaatmateriaal",
    ),
    VN: (
        "Verzorgt planten",
        "Zaait, plant en oogst",
        "Onderhoudt groenvoorzieningen",
        "Legt bestrating en beplanting aan",
        "Bestrijdt onkruid",
        "Bedient kleine tuinmachines",
        "Verzorgt dieren",
        "Sorteert en verpakt oogstproducten",
        "Snoeit bomen en struiken",
        "Bereidt de grond voor",
        "Werkt in de kas",
        "Ruimt groenafval op",
        "Onderhoudt gazons",
        "Plant bomen en hagen",
    ),
    ICT: (
        "Installeert hardware",
        "Installeert software",
        "Beheert gebruikersaccounts",
        "Lost storingen op",
        "Ondersteunt gebruikers",
        "Documenteert configuraties",
        "Beheert het netwerk",
        "Maakt back-ups",
        "Voert updates uit",
        "Test systemen",
        "Registreert incidenten",
        "Richt werkplekken in",
        "Beveiligt apparaten",
        "Vervangt defecte onderdelen",
    ),
    EA: (
        "Ontvangt bezoekers",
        "Beantwoordt de telefoon",
        "Verwerkt post",
        "Beheert agenda's",
        "Voert gegevens in",
        "Archiveert documenten",
        "Stelt eenvoudige correspondentie op",
        "Bestelt kantoorartikelen",
        "Verwerkt facturen",
        "Plant afspraken",
        "Beheert de receptie",
        "Verstrekt informatie",
        "Verwerkt mutaties",
        "Bereidt vergaderingen voor",
    ),
    MV: (
        "Bereidt drukwerk voor",
        "Bedient afwerkingsmachines",
        "Snijdt en vouwt drukwerk",
        "Bindt en niet producten",
        "Verpakt producten",
        "Maakt beeldmateriaal",
        "Bewerkt foto's en video",
        "Maakt eenvoudige opmaak",
        "Controleert de kwaliteit van drukwerk",
        "Archiveert media",
        "Onderhoudt apparatuur",
        "Levert producten op",
        "Bereidt opnames voor",
        "Zet content online",
    ),
    MO: (
        "Ontvangt voertuigen en klanten",
        "Voert onderhoud uit aan fietsen",
        "Repareert banden en remmen",
        "Stelt versnellingen af",
        "Vervangt onderdelen",
        "Reinigt voertuigen",
        "Voert een eenvoudige inspectie uit",
        "Monteert accessoires",
        "Verwerkt onderdelen in het magazijn",
        "Test voertuigen na reparatie",
        "Houdt de werkplaats op orde",
        "Verkoopt onderdelen",
        "Controleert verlichting",
        "Levert voertuigen af",
    ),
}


@dataclass(frozen=True)
class Dossier:
    """A kwalificatie (the domain's record) with its kerntaken and werkprocessen."""

    kwalificatie: Kwalificatie
    kerntaken: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]  # (code, naam, ((wp code, naam), ...))

    @property
    def werkprocessen(self) -> tuple[str, ...]:
        return tuple(code for _, _, wps in self.kerntaken for code, _ in wps)


def _dossier(k: Kwalificatie) -> Dossier:
    """A plausible dossier: 20-28 werkprocessen from the domein's and the general lists."""
    rng = random.Random(f"dossier:{k.crebo}")
    vak, algemeen = list(_VAK[k.domein]), list(_ALGEMEEN)
    rng.shuffle(vak)
    rng.shuffle(algemeen)
    # (code, naam, source of the werkprocessen, min, max)
    opzet = (
        ("B1-K1", "Bereidt werkzaamheden voor en werkt veilig", algemeen, 4, 5),
        ("B1-K2", f"Voert kernwerkzaamheden uit ({k.domein.lower()})", vak, 4, 6),
        ("B1-K3", "Werkt samen en communiceert", algemeen, 4, 5),
        ("P1-K1", f"Voert werkzaamheden uit als {k.naam.lower()}", vak, 4, 6),
        ("P1-K2", "Draagt bij aan kwaliteit en verbetering", None, 4, 6),
    )
    kerntaken = []
    for code, titel, lijst, lo, hi in opzet:
        n = rng.randint(lo, hi)
        if lijst is None:  # the last kerntaak takes what is left of both lists
            lijst = vak + algemeen
            rng.shuffle(lijst)
        kerntaken.append((code, titel, tuple((f"{code}-W{i + 1}", lijst.pop()) for i in range(n))))
    return Dossier(k, tuple(kerntaken))


@lru_cache(maxsize=1)
def dossiers() -> dict[str, Dossier]:
    """Every dossier the data set publishes: kwalificaties.csv plus the crebos B2 names without them."""
    out = {c: _dossier(k) for c, k in referentie.kwalificaties().items()}
    for c, k in bron()["aanvullende_kwalificaties"].items():
        out[c] = _dossier(Kwalificatie(c, k["naam"], int(k["niveau"]), k["domein"]))
    return out


# a B2 key ("25254" or "25254,25259") names the kwalificaties of one verklaring
def crebos_van(sleutel: str) -> list[str]:
    return sorted(sleutel.split(","))


def niveau_van(sleutel: str) -> int:
    return max(dossiers()[c].kwalificatie.niveau for c in crebos_van(sleutel))


def domein_van(sleutel: str) -> str:
    return dossiers()[crebos_van(sleutel)[0]].kwalificatie.domein
