"""Small-cell suppression: what publiek output hides (counts 1..4 and the cells that would give them away), the
brancheorganisaties checked against the reference list, and overzichten of the same population protected together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

SMALL_CELL_MIN = 1
SMALL_CELL_MAX = 4  # counts 1..4 are suppressed in publiek output (0 and >= 5 are shown)


# --- small-cell suppression --------------------------------------------------------------------------------

# Integer columns that are dimensions (keys), never counts, so never suppressed.
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


TOTAL_COLUMNS = frozenset({"totaal", "total"})
_SHARE = ("percentage", "aandeel", "procent", "pct")


def suppress_small_cells(
    rows: Iterable[Mapping[str, Any]], force: Iterable[tuple[int, str]] = ()
) -> list[dict[str, Any]]:
    """Publiek output: counts 1..4 become null, plus the cells that would give them away.

    Applied to the COMPLETE table (the caller filters afterwards), so a filtered answer never shows a cell the
    full table hides. ``force``: (row index, column) cells hidden because another overzicht of the same population
    hides them (``protect_overzicht``).

    1. Primary: every count of 1..4 -> null (and the ``force`` cells).
    2. Secondary, repeated until stable, treating every row and every count column as a line whose sum is known
       (a ``totaal`` column, or the same population counted in another overzicht: deelnemers-per-pilot,
       leeftijdsgroepen and instellingen all sum to the national total):
       * a line with a hidden non-zero cell shows no zeros: its zeros are hidden too (else "0 beside a hidden
         cell" tells that the hidden cell is the whole rest of the line);
       * a row with a hidden non-zero count loses its ``totaal``;
       * a line left with exactly one hidden non-zero cell also loses its smallest other non-zero count, so the
         known sum minus the visible cells always spreads over at least two unknowns (hidden zeros are not
         counted: another line may give them back as 0).
    3. Shares (percentage/aandeel columns) of a row with a hidden count -> null.
    Every row gets ``onderdrukt`` (true when anything in it was hidden) so CSV columns stay fixed."""
    out = [dict(r) for r in rows]
    counts = [{c for c, v in r.items() if is_count_column(c, v)} for r in out]
    hidden: list[set[str]] = [
        {c for c in cs if SMALL_CELL_MIN <= r[c] <= SMALL_CELL_MAX} for r, cs in zip(out, counts, strict=False)
    ]
    for i, col in force:
        if 0 <= i < len(out) and col in counts[i]:
            hidden[i].add(col)

    def smallest(candidates: Iterable[tuple[int, str]]) -> tuple[int, str] | None:
        live = [(out[i][c], i, c) for i, c in candidates if c not in hidden[i] and out[i][c] > 0]
        return (min(live)[1], min(live)[2]) if live else None

    def hide_zeros(cells: Iterable[tuple[int, str]]) -> bool:
        zeros = [(i, c) for i, c in cells if c not in hidden[i] and out[i][c] == 0]
        for i, c in zeros:
            hidden[i].add(c)
        return bool(zeros)

    def secret(cells: Iterable[tuple[int, str]]) -> int:
        """Hidden non-zero cells of a line (a hidden zero is no protection: the rest of a line may give it)."""
        return sum(1 for i, c in cells if c in hidden[i] and out[i][c] != 0)

    changed = True
    while changed:
        changed = False
        for i, cs in enumerate(counts):
            if not secret((i, c) for c in cs):
                continue
            for total in (cs & TOTAL_COLUMNS) - hidden[i]:
                hidden[i].add(total)
                changed = True
            changed |= hide_zeros((i, c) for c in cs)
            if secret((i, c) for c in cs) == 1:
                pick = smallest((i, c) for c in cs)
                if pick is not None:
                    hidden[i].add(pick[1])
                    changed = True
        for col in sorted({c for cs in counts for c in cs}):
            holders = [i for i, cs in enumerate(counts) if col in cs]
            if not secret((i, col) for i in holders):
                continue
            changed |= hide_zeros((i, col) for i in holders)
            if col not in TOTAL_COLUMNS and secret((i, col) for i in holders) == 1:
                pick = smallest((i, col) for i in holders)
                if pick is not None:
                    hidden[pick[0]].add(col)
                    changed = True

    for row, cells in zip(out, hidden, strict=False):
        for col in cells:
            row[col] = None
        if cells:
            for col in row:
                if any(w in col for w in _SHARE):
                    row[col] = None
        row["onderdrukt"] = bool(cells)
    return out


# --- brancheorganisaties: only names from the reference list reach publiek ---------------------------------------

NIET_IN_REFERENTIE = "overig (niet in de referentielijst)"
NIET_GEREGISTREERD = "Niet geregistreerd"


def check_brancheorganisaties(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The brancheorganisaties overzicht with every name checked against the reference list
    (``brancheorganisaties.csv``): a name not on it (a typo, free text, a formula, a person's name) becomes
    NIET_IN_REFERENTIE and rows that then share a key are added up, so only listed names are shown. Runs on
    the complete table, before suppression."""
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


# overzichten of the same population, protected together: a pilot hidden in deelnemers-per-pilot is hidden in
# these columns of the other per-pilot overzichten too (their rows sum to, or repeat, the pilot's deelnemers)
LINKED_TO_DEELNEMERS: dict[str, tuple[str, ...]] = {
    "geslacht-per-pilot": ("man", "vrouw", "onbekend"),
    "leerbedrijven-per-pilot": ("deelnemers",),
}
PER_PILOT = frozenset(
    {"deelnemers-per-pilot", "geslacht-per-pilot", "leerbedrijven-per-pilot", "verklaringen-per-pilot"}
)


def protect_overzicht(
    naam: str, full: list[dict[str, Any]], deelnemers_per_pilot: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The publiek version of one COMPLETE overzicht (no filter): ``suppress_small_cells`` with the pilots that
    deelnemers-per-pilot hides forced hidden in the linked columns (``LINKED_TO_DEELNEMERS``)."""
    force: list[tuple[int, str]] = []
    if naam == "brancheorganisaties":
        full = check_brancheorganisaties(full)
    if naam in LINKED_TO_DEELNEMERS:
        verborgen = {r["pilot"] for r in suppress_small_cells(deelnemers_per_pilot()) if r["deelnemers"] is None}
        force = [(i, c) for i, r in enumerate(full) if r.get("pilot") in verborgen for c in LINKED_TO_DEELNEMERS[naam]]
    return suppress_small_cells(full, force)
