"""What the API does with read-model rows: the privacy rules on top (small-cell suppression, no personal data
in verification), CSV, and the answer cache keyed by the read models' data version.

The rows themselves come through the ``ReadQueries`` port (``ports.py``).
"""
from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections import OrderedDict
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import Connection, text

SMALL_CELL_MIN = 1
SMALL_CELL_MAX = 4  # counts 1..4 are suppressed in publiek output (0 and >= 5 are shown)


# --- small-cell suppression --------------------------------------------------------------------------------

# Integer columns that are dimensions (keys), never counts, so never suppressed.
DIMENSION_COLUMNS = frozenset({
    "niveau", "pilot_nr", "nr", "tranche", "volgnummer", "jaar", "maand", "rang", "crebo", "aantal_werkprocessen",
    "werkprocessen", "leeftijd", "kwartaal", "week",
})
_DIMENSION_SUFFIX = re.compile(r"(_nr|_id|_code|_jaar|_niveau)$")


def is_count_column(column: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return column not in DIMENSION_COLUMNS and not _DIMENSION_SUFFIX.search(column)


TOTAL_COLUMNS = frozenset({"totaal", "total"})
_SHARE = ("percentage", "aandeel", "procent", "pct")


def suppress_small_cells(rows: Iterable[Mapping[str, Any]],
                         force: Iterable[tuple[int, str]] = ()) -> list[dict[str, Any]]:
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
    hidden: list[set[str]] = [{c for c in cs if SMALL_CELL_MIN <= r[c] <= SMALL_CELL_MAX} for r, cs in zip(out, counts)]
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

    for row, cells in zip(out, hidden):
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
            key = ", ".join(sorted({n if n in known else NIET_IN_REFERENTIE for n in (p.strip() for p in raw.split(","))
                                    if n}))
        into = merged.setdefault(key, {**dict(row), "brancheorganisaties": key,
                                       **{c: 0 for c, v in row.items() if is_count_column(c, v)}})
        for c, v in row.items():
            if is_count_column(c, v):
                into[c] = into.get(c, 0) + v
    return sorted(merged.values(), key=lambda r: (r["brancheorganisaties"] in (NIET_IN_REFERENTIE, NIET_GEREGISTREERD),
                                                  r["brancheorganisaties"] == NIET_GEREGISTREERD,
                                                  r["brancheorganisaties"]))


# overzichten of the same population, protected together: a pilot hidden in deelnemers-per-pilot is hidden in
# these columns of the other per-pilot overzichten too (their rows sum to, or repeat, the pilot's deelnemers)
LINKED_TO_DEELNEMERS: dict[str, tuple[str, ...]] = {
    "geslacht-per-pilot": ("man", "vrouw", "onbekend"),
    "leerbedrijven-per-pilot": ("deelnemers",),
}
PER_PILOT = frozenset({"deelnemers-per-pilot", "geslacht-per-pilot", "leerbedrijven-per-pilot",
                       "verklaringen-per-pilot"})


def protect_overzicht(naam: str, full: list[dict[str, Any]],
                      deelnemers_per_pilot: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The publiek version of one COMPLETE overzicht (no filter): ``suppress_small_cells`` with the pilots that
    deelnemers-per-pilot hides forced hidden in the linked columns (``LINKED_TO_DEELNEMERS``)."""
    force: list[tuple[int, str]] = []
    if naam == "brancheorganisaties":
        full = check_brancheorganisaties(full)
    if naam in LINKED_TO_DEELNEMERS:
        verborgen = {r["pilot"] for r in suppress_small_cells(deelnemers_per_pilot()) if r["deelnemers"] is None}
        force = [(i, c) for i, r in enumerate(full) if r.get("pilot") in verborgen for c in LINKED_TO_DEELNEMERS[naam]]
    return suppress_small_cells(full, force)


# --- which peildata publiek may ask ---------------------------------------------------------------------------

PEILDATA_RULES = ("maandeinde", "kwartaaleinde", "dag")


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def latest_published(rule: str, today: date) -> date:
    """The newest published peildatum: the end of the last completed month (quarter); ``dag``: yesterday."""
    if rule == "dag":
        return today - timedelta(days=1)
    d = today.replace(day=1) - timedelta(days=1)
    while rule == "kwartaaleinde" and d.month % 3:
        d = d.replace(day=1) - timedelta(days=1)
    return d


def is_published(d: date, rule: str, today: date) -> bool:
    """Whether publiek may ask peildatum ``d``: a month (quarter) end no later than ``latest_published``.
    No day inside a month and no date in the current month: bisecting days would date a single person's start."""
    if d > latest_published(rule, today):
        return False
    if rule == "dag":
        return True
    return d == _month_end(d) and (rule == "maandeinde" or d.month % 3 == 0)


def nearest_published(d: date, rule: str, today: date) -> list[date]:
    """The published peildata around ``d`` (at most two: the one before and the one after)."""
    last = latest_published(rule, today)
    if d >= last:
        return [last]
    before = d.replace(day=1) - timedelta(days=1)
    while not is_published(before, rule, today):
        before = before.replace(day=1) - timedelta(days=1)
    after = _month_end(d)
    while not is_published(after, rule, today):
        after = _month_end(after + timedelta(days=1))
    return [before, after] if before.year >= 1990 else [after]


# --- personal data never leaves the verification endpoint ---------------------------------------------------

_PERSONAL = re.compile(r"(deelnemer|pseudonym|bsn|geboorte|voornaam|achternaam|voorletters|tussenvoegsel|"
                       r"persoon|adres|email|telefoon|versleuteld|encrypted|traject_id|correlation)", re.I)


def strip_personal(value: Any) -> Any:
    """Drop members whose names denote personal data (defence in depth on top of the read model)."""
    if isinstance(value, Mapping):
        return {k: strip_personal(v) for k, v in value.items() if not _PERSONAL.search(str(k))}
    if isinstance(value, list):
        return [strip_personal(v) for v in value]
    return value


# --- CSV ------------------------------------------------------------------------------------------------------

def columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for col in row:
            seen.setdefault(col, None)
    return list(seen)


_FORMULA = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet will not run: one starting with = + - @ or a control character (tab, CR, ...) gets
    a leading apostrophe (OWASP "CSV injection"); other control characters become spaces. Numbers are never
    text cells here, so a negative count keeps its sign."""
    if cell and (cell[0] in _FORMULA or _CONTROL.match(cell)):
        cell = "'" + cell
    return _CONTROL.sub(" ", cell)


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return neutralise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple, set)):
        return json.dumps(sorted(value) if isinstance(value, set) else value, ensure_ascii=False, default=str)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(rows: list[dict[str, Any]], header: Sequence[str] | None = None) -> str:
    """The rows as CSV with a header: ``header``, else the JSON members in first-seen order."""
    buf = io.StringIO()
    cols = list(header) if header is not None else columns(rows)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in cols])
    return buf.getvalue()


# --- answer cache -----------------------------------------------------------------------------------------------

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def data_version(conn: Connection, schema: str) -> str:
    """A fingerprint of everything the read models hold: the projections write their stored offsets in the same
    transaction as their rows, so the read models changed iff some (projection, topic, partition) row of
    ``projection_offsets`` changed."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return str(conn.execute(text(
        f'SELECT md5(coalesce(string_agg(projection || \'/\' || topic || \'/\' || partition || \'=\' || next_offset '
        f"|| '@' || updated_at, ',' ORDER BY projection, topic, partition), '')) FROM \"{schema}\".projection_offsets"
    )).scalar_one())


DEFAULT_CACHE_BYTES = 32 * 1024 * 1024


def answer_bytes(rows: list[dict[str, Any]]) -> int:
    """What an answer costs in the cache, estimated from its JSON size (Python objects take a few times more; the
    bound is on this estimate, so it is the same on every platform)."""
    return len(json.dumps(rows, default=str, ensure_ascii=False, separators=(",", ":")).encode()) + 64


class AnswerCache:
    """Answers of the aggregate endpoints, keyed by their arguments and valid for one data version.

    An entry is used only while ``data_version`` is unchanged, so a cached answer is never staler than the
    read models themselves. The cache is bounded by bytes (``answer_bytes`` of every entry), not by entries:
    least recently used entries are dropped until the total is at most ``max_bytes``; an answer bigger than
    ``max_entry_bytes`` (default an eighth of ``max_bytes``) is not kept at all, so one huge answer cannot empty
    the cache (``max_bytes`` 0: no cache)."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes // 8 if max_entry_bytes is None else max_entry_bytes
        self._entries: OrderedDict[tuple[Any, ...], tuple[str, list[dict[str, Any]], int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        """The byte bound (kept under this name: ``size <= 0`` means the cache is off)."""
        return self.max_bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...], version: str) -> list[dict[str, Any]] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple[Any, ...], version: str, rows: list[dict[str, Any]]) -> None:
        if self.max_bytes <= 0:
            return
        cost = answer_bytes(rows)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[2]
            if cost > self.max_entry_bytes:
                return
            self._entries[key] = (version, rows, cost)
            self.bytes += cost
            while self.bytes > self.max_bytes:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
