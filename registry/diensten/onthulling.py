"""The disclosure control of publiek and regio answers applied to tables (pure): every count cell perturbed by the
cell key method (registry/domein/onthulling.py), the brancheorganisaties checked against the reference list, and
what an answer says about it (``onthullingsbeheersing``, the CSV header line).

Totals are cells of their own: a ``totaal`` column, a headline number or a region's total is perturbed from its own
records (their keys add up to its cell key), never summed from perturbed cells; so a total and the sum of its
perturbed parts may differ by a few.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from registry.domein import onthulling
from registry.domein.doorstroom import BETAALD_WERK, STAPPEN, Doorstroom, Spreiding, Stand, aandeel, aggregeer
from registry.domein.reconciliatie import CATEGORIEEN, LIJST_CATEGORIEEN, PilotRij

Rows = list[dict[str, Any]]

# Integer columns that are dimensions (keys), never counts, so never perturbed.
DIMENSION_COLUMNS = frozenset(
    {
        "niveau",
        "pilot_nr",
        "nr",
        "tranche",
        "volgnummer",
        "jaar",
        "maand",
        "rang",
        "crebo",
        "aantal_werkprocessen",
        "werkprocessen",
        "leeftijd",
        "kwartaal",
        "week",
    }
)
_DIMENSION_SUFFIX = re.compile(r"(_nr|_id|_code|_jaar|_niveau)$")


def is_count_column(column: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return column not in DIMENSION_COLUMNS and not _DIMENSION_SUFFIX.search(column)


def verstoor_rijen(exact: Iterable[Mapping[str, Any]], sleutelsommen: Iterable[Mapping[str, Any]]) -> Rows:
    """``exact`` with every count cell replaced by its published value; ``sleutelsommen`` is the same table with,
    in each count cell, the sum of the record keys of the records it counts (ValueError when the shapes differ)."""
    exact, sleutelsommen = list(exact), list(sleutelsommen)
    if len(exact) != len(sleutelsommen):
        raise ValueError(f"{len(exact)} rows of counts but {len(sleutelsommen)} of cell keys")
    return [
        {c: onthulling.verstoor(v, int(s.get(c) or 0)) if is_count_column(c, v) else v for c, v in e.items()}
        for e, s in zip(exact, sleutelsommen, strict=True)
    ]


def verstoor_genest(exact: Any, sleutelsommen: Any, kolom: str = "") -> Any:
    """``verstoor_rijen`` for rows whose counts may sit in nested objects (a month's ``beeindigd`` per reden): every
    integer under a count column, at any depth, is perturbed by the key sum at the same place."""
    if isinstance(exact, Mapping):
        return {
            k: verstoor_genest(v, sleutelsommen.get(k, 0) if isinstance(sleutelsommen, Mapping) else 0, kolom or k)
            for k, v in exact.items()
        }
    if isinstance(exact, list):
        return [verstoor_genest(e, s, kolom) for e, s in zip(exact, sleutelsommen, strict=True)]
    if is_count_column(kolom, exact):
        return onthulling.verstoor(exact, int(sleutelsommen or 0))
    return exact


def verstoor_reconciliatie(rij: PilotRij, register_som: int, sleutels: Mapping[str, int]) -> dict[str, Any]:
    """A pilot's reconciliation as a regio key reads it (``rij`` with its persons): the register perturbed as the
    pilot's deelnemers-per-pilot cell (``register_som``: that cell's key sum, so both publish the same value); per
    source each category and the list (``gemeld``) perturbed by the record keys (``sleutels``) of their persons
    (someone the registry does not know adds 0); ``verschil`` from the perturbed numbers. The categories are cells
    of their own, so the equation need not close any more: it says so."""
    register = onthulling.verstoor(rij.register, register_som)
    bronnen = []
    for b in rij.bronnen:
        som: dict[str, int] = {c: sum(sleutels.get(d, 0) for d in b.personen.get(c, ())) for c in CATEGORIEEN}
        categorieen = {c: onthulling.verstoor(n, som[c]) for c, n in b.categorieen.items()}
        gemeld = onthulling.verstoor(b.gemeld, sum(som[c] for c in LIJST_CATEGORIEEN))
        bronnen.append(
            {
                **b.api(),
                "gemeld": gemeld,
                "verschil": gemeld - register,
                "categorieen": categorieen,
                "vergelijking": f"{gemeld} - {register} = {gemeld - register}; afgerond/verstoord: every count is "
                "perturbed on its own (cell key method), so the categories need not add up",
            }
        )
    onbekend = sum(sleutels.get(d, 0) for b in rij.bronnen for d in b.in_traject_onbekend)
    return {
        "pilot": rij.pilot,
        "register": register,
        "gereconcilieerd": onthulling.verstoor(rij.gereconcilieerd, register_som + onbekend),
        "bronnen": bronnen,
    }


# lead-time percentiles of fewer deelnemers than this (by the published n) are not shown to publiek and regio: a
# percentile is one person's value, which no perturbation of counts protects
MIN_SPREIDING = 10


def verstoor_doorstroom(standen: Iterable[Stand], sleutels: Mapping[str, int]) -> Doorstroom:
    """The doorstroom of ``standen`` as publiek and regio read it: every count perturbed by the record keys
    (``sleutels``, per deelnemer) of the deelnemers it counts; the conversions from the perturbed steps; each lead
    time's n perturbed, its percentiles shown only when that n is at least MIN_SPREIDING."""
    ss = list(standen)
    exact = aggregeer(ss)

    def k(s: Stand) -> int:
        return sleutels.get(s.deelnemer, 0)

    stap_sleutel = {
        "aangemeld": sum(k(s) for s in ss),
        "advies": sum(k(s) for s in ss if s.advies),
        "gestart": sum(k(s) for s in ss if s.eerste_start is not None),
        "verklaring": sum(k(s) for s in ss if s.eerste_verklaring is not None),
        "beeindigd": sum(k(s) for s in ss if s.beeindigd),
    }
    stappen = tuple((stap, onthulling.verstoor(n, stap_sleutel[stap])) for stap, n in exact.stappen)
    aantal = dict(stappen)
    spreiding_sleutel = {
        "aanmelding_tot_start": stap_sleutel["gestart"],
        "start_tot_verklaring": sum(k(s) for s in ss if s.eerste_start is not None and s.eerste_verklaring is not None),
    }
    doorlooptijd = []
    for naam, sp in exact.doorlooptijd_dagen:
        n = onthulling.verstoor(sp.n, spreiding_sleutel[naam])
        doorlooptijd.append((naam, replace(sp, n=n) if n >= MIN_SPREIDING else Spreiding(n, None, None, None)))
    einde: Counter[Any] = Counter()
    uitstroom: Counter[Any] = Counter()
    contract: Counter[Any] = Counter()
    uitkering_na: Counter[Any] = Counter()
    for s in ss:
        if s.laatste_einde is not None:
            einde[s.laatste_einde] += k(s)
        for pm, u in s.uitstroom.items():
            uitstroom[(pm, u.uitstroom)] += k(s)
            if u.uitstroom == BETAALD_WERK:
                contract[(pm, u.contract)] += k(s)
                uitkering_na[(pm, u.uitkering_na)] += k(s)

    def rijen(exacte: tuple[tuple[Any, ...], ...], sommen: Counter[Any]) -> tuple[Any, ...]:
        return tuple((*r[:-1], onthulling.verstoor(r[-1], sommen[tuple(r[:-1])])) for r in exacte)

    return Doorstroom(
        stappen=stappen,
        conversie=tuple((stap, aandeel(aantal[stap], aantal["aangemeld"])) for stap in STAPPEN[1:]),
        doorlooptijd_dagen=tuple(doorlooptijd),
        beeindiging=rijen(exact.beeindiging, einde),
        uitstroom=rijen(exact.uitstroom, uitstroom),
        contract=rijen(exact.contract, contract),
        uitkering_na=rijen(exact.uitkering_na, uitkering_na),
    )


def beschrijving() -> dict[str, str]:
    """``onthullingsbeheersing`` of a publiek/regio answer: the method and the p-table version."""
    return onthulling.beschrijving()


def csv_kop() -> str:
    """The first line of a publiek/regio CSV (a comment line, as the CSV readers of R and pandas skip with
    ``comment='#'``)."""
    b = beschrijving()
    return f"# onthullingsbeheersing: methode={b['methode']}; ptable_versie={b['ptable_versie']}\r\n"


# --- brancheorganisaties: only names from the reference list reach publiek ---------------------------------------

NIET_IN_REFERENTIE = "overig (niet in de referentielijst)"
NIET_GEREGISTREERD = "Niet geregistreerd"


def check_brancheorganisaties(rows: Iterable[Mapping[str, Any]]) -> Rows:
    """The brancheorganisaties overzicht with every name checked against the reference list
    (``brancheorganisaties.csv``): a name not on it (a typo, free text, a formula, a person's name) becomes
    NIET_IN_REFERENTIE and rows that then share a key are added up, so only listed names are shown. Counts and
    record-key sums add up alike, so it runs on both before the perturbation."""
    from registry.domein import referentie

    known = referentie.brancheorganisaties()
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        raw = str(row.get("brancheorganisaties") or NIET_GEREGISTREERD)
        if raw == NIET_GEREGISTREERD:
            key = raw
        else:
            key = ", ".join(
                sorted({n if n in known else NIET_IN_REFERENTIE for n in (p.strip() for p in raw.split(",")) if n})
            )
        into = merged.setdefault(
            key, {**dict(row), "brancheorganisaties": key, **{c: 0 for c, v in row.items() if is_count_column(c, v)}}
        )
        for c, v in row.items():
            if is_count_column(c, v):
                into[c] = into.get(c, 0) + v
    return sorted(
        merged.values(),
        key=lambda r: (
            r["brancheorganisaties"] in (NIET_IN_REFERENTIE, NIET_GEREGISTREERD),
            r["brancheorganisaties"] == NIET_GEREGISTREERD,
            r["brancheorganisaties"],
        ),
    )
