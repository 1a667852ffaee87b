"""The Dutch texts of the Praktijkloket pages where the read models and the use cases speak English: the description
of each overzicht with its counting rules, and the refusal of an unpublished peildatum. The API keeps its English
descriptions and details (``GET /v1/overzichten``, problem+json, OpenAPI)."""

from __future__ import annotations

from registry.domein.telregels import NIET_GEREGISTREERD

_DEELNEMER = (
    "een deelnemer telt op peildatum D mee bij een pilot als zijn EERSTE inschrijving (vroegste startdatum) een "
    "startdatum op of voor D heeft; pilot, instelling, geslacht en leeftijd zijn die van die eerste inschrijving"
)
_VERKLARING = "een verklaring telt op D mee als ze op of voor D is afgegeven en niet op of voor D is ingetrokken"
_PILOTS = "alle 26 pilots op pilot_nr, nullen inbegrepen; geen totaalrij (tel de kolom op)"

BESCHRIJVINGEN: dict[str, str] = {
    "deelnemers-per-pilot": f"Deelnemers per pilot (3.2): pilot, pilot_naam, tranche, deelnemers. {_DEELNEMER}; {_PILOTS}.",
    "geslacht-per-pilot": f"Geslacht per pilot (4.2): pilot, pilot_naam, man, vrouw, onbekend. {_DEELNEMER}; {_PILOTS}.",
    "leeftijdsgroepen": (
        "Leeftijdsgroep bij de eerste inschrijving (4.3): leeftijdsgroep, deelnemers; de vijf groepen op leeftijd, "
        f"nullen inbegrepen, geen totaalrij. {_DEELNEMER}."
    ),
    "werkprocessen-per-verklaring": (
        "Werkprocessen per verklaring (5.1): aantal_werkprocessen, verklaringen; alleen EERSTE verklaringen "
        f"(volgnummer 1), verschillende werkprocessen; {_VERKLARING}; oplopend aantal, alleen aantallen die "
        "voorkomen, geen totaalrij."
    ),
    "domeinen": (
        "Mbo-domein van verklaringen (5.2): domein, verklaringen; alle verklaringen (elk volgnummer); het domein "
        f"van het laagste crebo van de verklaring; {_VERKLARING}; op naam van het domein, geen totaalrij."
    ),
    "leerbedrijven-per-pilot": (
        "Leerbedrijven per pilot (5.3): pilot, pilot_naam, deelnemers, leerbedrijven, leerbedrijf_onbekend; "
        "leerbedrijven = verschillende leerbedrijf_id's die op D gelden voor het eerste traject van de deelnemers "
        "(de laatste LeerbedrijfVastgelegd op of voor D, anders dat van de inschrijving); leerbedrijf_onbekend = "
        f"deelnemers van wie het eerste traject er geen heeft; {_DEELNEMER}; {_PILOTS}."
    ),
    "verklaringen-per-pilot": (
        "Deelnemers met een verklaring per pilot (6.1): pilot, pilot_naam, deelnemers_met_verklaring "
        f"(verschillende deelnemers met minstens één verklaring); {_VERKLARING}; de pilot van de eerste "
        f"inschrijving van de deelnemer; {_PILOTS}."
    ),
    "niveaus": (
        "Verklaringen per niveau (6.2): niveau, verklaringen, deelnemers_met_verklaring; niveau = het hoogste "
        f"niveau van de crebo's van de verklaring; niveaus 1-4 altijd vermeld; {_VERKLARING}; geen totaalrij."
    ),
    "instellingen": (
        "Deelnemers per mbo-instelling (7.2): mbo_instelling (naam), deelnemers; de instelling van de eerste "
        f"inschrijving; alleen instellingen met deelnemers, op naam; {_DEELNEMER}; geen totaalrij."
    ),
    "brancheorganisaties": (
        "Brancheorganisaties op verklaringen (B1): brancheorganisaties (gesorteerd, samengevoegd met ', '; geen -> "
        f"'{NIET_GEREGISTREERD}'), eerste, tweede, derde (naar volgnummer 1/2/3), totaal (alle volgnummers); "
        f"{_VERKLARING}; op sleutel, '{NIET_GEREGISTREERD}' als laatste; geen totaalrij."
    ),
    "kwalificaties": (
        "Kwalificaties van verklaringen (B2): kwalificatie (crebo, of de gesorteerde verschillende crebo's "
        "samengevoegd met ',' als de werkprocessen er meer omvatten), naam, niveau (het hoogste), eerste, tweede, "
        f"derde (naar volgnummer 1/2/3), totaal (alle volgnummers); {_VERKLARING}; op kwalificatie; geen totaalrij."
    ),
}


def beschrijving(naam: str) -> str:
    """The Dutch description of overzicht ``naam`` (an overzicht without one: its name, never the English text)."""
    return BESCHRIJVINGEN.get(naam, f"Overzicht {naam}.")


def catalogus(namen: list[str]) -> list[tuple[str, str]]:
    """(name, Dutch description) of each overzicht in ``namen``, by name."""
    return [(naam, beschrijving(naam)) for naam in sorted(namen)]


_GEPUBLICEERD = {
    "maandeinde": "de laatste dag van een afgesloten maand",
    "kwartaaleinde": "de laatste dag van een afgesloten kwartaal",
    "dag": "een dag vóór vandaag",
}


def niet_gepubliceerd(regel: str, dichtstbij: list[str]) -> str:
    """Why publiek may not see a peildatum (PRAKTIJK_PUBLIC_PEILDATA ``regel``), with the nearest that it may."""
    return (
        f"Zonder sleutel zijn alleen gepubliceerde peildata te zien ({_GEPUBLICEERD.get(regel, _GEPUBLICEERD['dag'])}); "
        f"de dichtstbijzijnde: {', '.join(dichtstbij)}."
    )
