"""Reconciled deelnemersaantallen: the registry's count of a pilot next to the partners' own counts.

Pure: no I/O. ``projections/reconciliatie`` computes the same categories set-based in SQL;
``classify`` here is the reference the tests hold that SQL to.

Per source (the latest TellingGemeld of each partner for the pilot with a peildatum within the
window around D) every list entry and every registered person of the pilot falls in exactly one
category, checked in the order of CATEGORIEEN:

* overeenkomend: a registered person of the pilot at D, listed (their first entry);
* dubbel_in_bron: the second and later entries of one person in one list;
* boris_vermoeden / alleen_in_register: a registered person not listed, under 18 at inschrijving / otherwise;
* andere_pilot: listed, registered under another pilot at D;
* buiten_peildatum: listed, with an inschrijving for this pilot that starts after D;
* aangemeld_niet_gestart: listed, with an aanmelding or advies but no inschrijving at all;
* niet_geregistreerd: listed, unknown to the registry otherwise;
* onverklaard: a source without a list: its whole difference with the register.

So the sums close by construction:
``gemeld - register = (dubbel + andere + buiten + aangemeld + niet_geregistreerd + onverklaard) - (boris + alleen)``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Literal

Categorie = Literal[
    "overeenkomend",
    "dubbel_in_bron",
    "boris_vermoeden",
    "alleen_in_register",
    "andere_pilot",
    "buiten_peildatum",
    "aangemeld_niet_gestart",
    "niet_geregistreerd",
    "onverklaard",
]
CATEGORIEEN: tuple[Categorie, ...] = (
    "overeenkomend",
    "dubbel_in_bron",
    "boris_vermoeden",
    "alleen_in_register",
    "andere_pilot",
    "buiten_peildatum",
    "aangemeld_niet_gestart",
    "niet_geregistreerd",
    "onverklaard",
)
# the two sides of the equation (overeenkomend is in both gemeld and register, so in neither side)
MEER_GEMELD: tuple[Categorie, ...] = (
    "dubbel_in_bron",
    "andere_pilot",
    "buiten_peildatum",
    "aangemeld_niet_gestart",
    "niet_geregistreerd",
    "onverklaard",
)
MINDER_GEMELD: tuple[Categorie, ...] = ("boris_vermoeden", "alleen_in_register")

BronType = Literal["gemeente", "uwv", "mbo", "monitor"]
TellingStatus = Literal["aangemeld", "in_traject", "afgerond", "gestopt"]
Entry = tuple[str, str]  # (pseudonym, status) as listed by the source, duplicates kept
Register = Mapping[str, int]  # registered persons of the pilot at D: pseudonym -> leeftijd at inschrijving

EVENT_TYPE = "ReconciliatieUitgevoerd"
PARTNER = "registry"
VENSTER_DAGEN = 31  # default of PRAKTIJK_RECONCILE_WINDOW_DAYS
BORIS_LEEFTIJD = 18  # under this age at inschrijving: a Boris pupil (school-age, counted by the school)
# only an mbo-instelling's in_traject entries may add people the registry does not know
TOEVOEGENDE_BRON: BronType = "mbo"
TOEVOEGENDE_STATUS: TellingStatus = "in_traject"


@dataclass(frozen=True)
class BronResultaat:
    """One source's telling compared with the register of its pilot at D."""

    partner: str
    bron_type: str
    telling_event_id: str
    telling_peildatum: dt.date
    gemeld: int
    register: int
    aantallen: Mapping[Categorie, int]
    # pseudonyms per category (dubbel_in_bron once per extra entry; onverklaard never has any);
    # empty when the caller did not ask for them
    personen: Mapping[Categorie, tuple[str, ...]] = field(default_factory=dict)
    # niet_geregistreerd persons this source lists as in_traject (they count only for an mbo source)
    in_traject_onbekend: frozenset[str] = frozenset()

    @property
    def verschil(self) -> int:
        return self.gemeld - self.register

    @property
    def categorieen(self) -> dict[str, int]:
        return {c: self.aantallen.get(c, 0) for c in CATEGORIEEN}

    @property
    def vergelijking(self) -> str:
        return vergelijking(self.gemeld, self.register, self.aantallen)

    def api(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "bron_type": self.bron_type,
            "telling_peildatum": self.telling_peildatum.isoformat(),
            "gemeld": self.gemeld,
            "verschil": self.verschil,
            "categorieen": self.categorieen,
            "vergelijking": self.vergelijking,
        }


# for an instelling key: the list entries about persons it has no relation with, in one category (counts of its
# own list must not tell whether someone it listed without a relation is in the register)
ZONDER_RELATIE = "zonder_relatie"
LIJST_CATEGORIEEN: tuple[Categorie, ...] = (
    "overeenkomend",
    "dubbel_in_bron",
    "andere_pilot",
    "buiten_peildatum",
    "aangemeld_niet_gestart",
    "niet_geregistreerd",
)


def met_relatie(bron: BronResultaat, relatie: AbstractSet[str]) -> dict[str, Any]:
    """``bron.api()`` as a partner with relations ``relatie`` may read it: list entries about anyone else are
    counted in ``zonder_relatie`` only (``bron`` must carry its persons); the equation is not shown then, since
    ``zonder_relatie`` mixes entries on both of its sides."""
    aantallen: dict[str, int] = dict(bron.categorieen)
    zonder = 0
    for c in LIJST_CATEGORIEEN:
        buiten = sum(1 for d in bron.personen.get(c, ()) if d not in relatie)
        aantallen[c] -= buiten
        zonder += buiten
    aantallen[ZONDER_RELATIE] = zonder
    return {
        **bron.api(),
        "categorieen": aantallen,
        "vergelijking": f"{bron.gemeld} - {bron.register} = {bron.verschil}; {zonder} list entries about persons "
        "without a relation to this key are not broken down",
    }


@dataclass(frozen=True)
class PilotRij:
    """The reconciliation of one pilot at peildatum D: register count, every source, reconciled count."""

    pilot: str
    peildatum: dt.date
    register: int
    bronnen: tuple[BronResultaat, ...]  # sorted by partner

    @property
    def gereconcilieerd(self) -> int:
        return gereconcilieerd(self.register, self.bronnen)

    def api(self) -> dict[str, Any]:
        return {
            "pilot": self.pilot,
            "register": self.register,
            "gereconcilieerd": self.gereconcilieerd,
            "bronnen": [b.api() for b in self.bronnen],
        }


def _leeg() -> dict[Categorie, int]:
    return dict.fromkeys(CATEGORIEEN, 0)


def zonder_lijst(
    partner: str, bron_type: str, event_id: str, peildatum: dt.date, aantal: int, register: int
) -> BronResultaat:
    """A source that reports only a total: the whole difference is onverklaard (negative when it counts fewer)."""
    aantallen = _leeg()
    aantallen["onverklaard"] = aantal - register
    return BronResultaat(partner, bron_type, event_id, peildatum, aantal, register, aantallen)


def classify(
    register: Register,
    entries: Sequence[Entry] | None,
    andere_pilot: AbstractSet[str],
    later: AbstractSet[str],
    aangemeld: AbstractSet[str],
    *,
    aantal: int = 0,
    partner: str = "",
    bron_type: str = "",
    event_id: str = "",
    peildatum: dt.date = dt.date.min,
) -> BronResultaat:
    """Reference classification of one source's list against the register of its pilot at D.

    ``andere_pilot``: persons registered under another pilot at D; ``later``: persons with an inschrijving
    for this pilot starting after D; ``aangemeld``: persons with an aanmelding or advies and no inschrijving.
    ``entries`` None means the source gave no list (then ``aantal`` is its count)."""
    if entries is None:
        return zonder_lijst(partner, bron_type, event_id, peildatum, aantal, len(register))
    personen: dict[Categorie, list[str]] = {c: [] for c in CATEGORIEEN}
    status: dict[str, str] = {}
    for deelnemer, st in entries:
        if deelnemer in status:
            personen["dubbel_in_bron"].append(deelnemer)
            continue
        status[deelnemer] = st  # the first entry's status counts
        personen[_lijst_categorie(deelnemer, register, andere_pilot, later, aangemeld)].append(deelnemer)
    for deelnemer, leeftijd in register.items():
        if deelnemer not in status:
            personen["boris_vermoeden" if leeftijd < BORIS_LEEFTIJD else "alleen_in_register"].append(deelnemer)
    onbekend = frozenset(d for d in personen["niet_geregistreerd"] if status[d] == TOEVOEGENDE_STATUS)
    return BronResultaat(
        partner,
        bron_type,
        event_id,
        peildatum,
        len(entries),
        len(register),
        {c: len(p) for c, p in personen.items()},
        {c: tuple(sorted(p)) for c, p in personen.items()},
        onbekend,
    )


def _lijst_categorie(
    deelnemer: str,
    register: Register,
    andere_pilot: AbstractSet[str],
    later: AbstractSet[str],
    aangemeld: AbstractSet[str],
) -> Categorie:
    if deelnemer in register:
        return "overeenkomend"
    if deelnemer in andere_pilot:
        return "andere_pilot"
    if deelnemer in later:
        return "buiten_peildatum"
    if deelnemer in aangemeld:
        return "aangemeld_niet_gestart"
    return "niet_geregistreerd"


def sluit(gemeld: int, register: int, aantallen: Mapping[Categorie, int]) -> bool:
    """Does gemeld - register equal the explained difference?"""
    meer = sum(aantallen.get(c, 0) for c in MEER_GEMELD)
    minder = sum(aantallen.get(c, 0) for c in MINDER_GEMELD)
    return gemeld - register == meer - minder


def vergelijking(gemeld: int, register: int, aantallen: Mapping[Categorie, int]) -> str:
    """``"40 - 37 = (1 + 0 + 2 + 3 + 1 + 0) - (2 + 0)"``: the equation with the numbers filled in."""
    meer = " + ".join(str(aantallen.get(c, 0)) for c in MEER_GEMELD)
    minder = " + ".join(str(aantallen.get(c, 0)) for c in MINDER_GEMELD)
    return f"{gemeld} - {register} = ({meer}) - ({minder})"


def gereconcilieerd(register: int, bronnen: Iterable[BronResultaat]) -> int:
    """Register count + the distinct unknown persons an mbo-instelling lists as in_traject.
    Gemeente, UWV and monitor lists never add people: they refer, they do not enrol."""
    extra: set[str] = set()
    for b in bronnen:
        if b.bron_type == TOEVOEGENDE_BRON:
            extra |= b.in_traject_onbekend
    return register + len(extra)


def telt_mee(bron_peildatum: dt.date, peildatum: dt.date, venster_dagen: int = VENSTER_DAGEN) -> bool:
    """Is a telling's peildatum close enough to D to be compared with the register at D?"""
    return abs((bron_peildatum - peildatum).days) <= venster_dagen


def event(rij: PilotRij, *, occurred_at: dt.datetime, event_id: str | None = None) -> dict[str, Any]:
    """The ReconciliatieUitgevoerd record of one pilot row (the registry is the partner; key = pilot)."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "occurred_at": occurred_at,
        "partner": PARTNER,
        "peildatum": rij.peildatum,
        "pilot": rij.pilot,
        "register": rij.register,
        "bronnen": [
            {
                "partner": b.partner,
                "bron_type": b.bron_type,
                "telling_event_id": b.telling_event_id,
                "telling_peildatum": b.telling_peildatum,
                "gemeld": b.gemeld,
                **b.categorieen,
            }
            for b in rij.bronnen
        ],
        "gereconcilieerd": rij.gereconcilieerd,
        "recorded_at": occurred_at,  # the registry writes this event itself: accepted when it happens
        "warnings": [],
    }


TABEL_KOPPEN = ("pilot", "register", "bronnen: gemeld, verschil, categorieën ≠ 0", "gereconcilieerd")


def tabel_cellen(rijen: Iterable[PilotRij]) -> list[tuple[str, str, str, str]]:
    """The CLI's and the demo's table: pilot | register | per source: gemeld, verschil, non-zero
    categories | gereconcilieerd. One source per line inside the third cell."""
    out = []
    for rij in rijen:
        bronnen = (
            "\n".join(
                f"{b.partner}: {b.gemeld} ({b.verschil:+d}) "
                + ", ".join(f"{c} {n}" for c, n in b.categorieen.items() if n)
                for b in rij.bronnen
            )
            or "-"
        )
        out.append((rij.pilot, str(rij.register), bronnen, str(rij.gereconcilieerd)))
    return out
