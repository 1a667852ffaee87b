"""Name lists for the fictitious people and leerbedrijven of the demo (pure data tables)."""
from __future__ import annotations

from registry.demo.opzet import AF, EA, HB, HO, ICT, MO, MV, TP, VN, T, Z

VOORNAMEN_M = ("Jan", "Pieter", "Kees", "Mohamed", "Ahmed", "Daan", "Sem", "Bram", "Thijs", "Ricardo", "Kevin", "Dennis",
               "Youssef", "Mustafa", "Jeroen", "Marco", "Patrick", "Tim", "Lucas", "Milan", "Omar", "Stefan", "Erik",
               "Hamza", "Jordy", "Niels", "Sven", "Gerrit", "Henk", "Rachid", "Tarik", "Joey", "Wesley", "Bilal", "Emre")
VOORNAMEN_V = ("Anna", "Fatima", "Sanne", "Lisa", "Emma", "Sara", "Naima", "Kim", "Linda", "Monique", "Priya", "Esra",
               "Yasmina", "Lotte", "Fleur", "Ilse", "Samira", "Nicole", "Anouk", "Chantal", "Hatice", "Marieke", "Demi",
               "Romy", "Eva", "Noor", "Ingrid", "Sylvia", "Aylin", "Jamila")
ACHTERNAMEN = ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
               "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
               "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs", "Vermeulen", "van Beek", "Hoekstra",
               "El Amrani", "Yilmaz", "Kaya", "Bouzid", "Öztürk", "Martina", "Pinas", "Nguyen", "Haddou", "Wouters",
               "Postma", "Kuipers", "Veenstra", "Willems", "Timmermans", "Koster", "Prins", "Huisman", "Gerritsen", "Verbeek")
PLAATSEN_LB = ("Noord", "Zuid", "Oost", "West", "Centrum", "De Hoven", "Het Zand", "De Kade", "Rivierzone", "Stationsplein")
BEDRIJF: dict[str, tuple[str, ...]] = {
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
BOMEN = ("Linde", "Eik", "Beuk", "Hoge Weide", "Klaproos", "Zonnebloem", "Esdoorn", "Molen", "Vlinder", "Boomgaard")
