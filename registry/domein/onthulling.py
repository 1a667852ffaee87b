"""Disclosure control of publiek and regio outputs: the cell key method (pure; the p-table is a file in ``data/``).

The method of the UK's Office for National Statistics (its 2021 Census; PyPI ``cell-key-perturbation``),
implemented here without pandas:

* every deelnemer has a **record key**, an integer 0..255 drawn once at random when the registry first sees them
  (the read-model table ``record_sleutels``; never derived from the pseudonym, so knowing who is in a cell does not
  give its key);
* a cell's **cell key** is the sum of the record keys of the records it counts, modulo 256. A count of deelnemers
  sums each deelnemer once; a count of verklaringen sums, per verklaring, its deelnemer's key;
* the published value is the true value plus the **perturbation** the p-table holds for (pcv, cell key), pcv being
  the true value capped at the table's last row. The same records give the same cell key and so the same published
  value in every overzicht, filter, scope and peildatum: differencing one table against another finds only noise.

The p-table (``data/ptable_v<versie>.csv``, columns ``pcv, ckey, pvalue`` as in the ONS package) publishes no value
1..DREMPEL-1: a true 1..4 becomes 0 or 5; 0 stays 0; from 7 on the perturbation is -2..+2. Each row is unbiased to
within 1/64 (the expected published value of true v is v).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

METHODE = "celsleutel"
PTABLE_VERSIE = "1"
SLEUTELBEREIK = 256  # record keys and cell keys are 0..255
DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, eq=False)  # compared (and hashed, for the caches) by identity: one object per version
class PTabel:
    """A p-table: perturbation per (pcv, ckey); ``max_pcv`` is the row every larger value uses."""

    versie: str
    verstoring: Mapping[tuple[int, int], int]
    max_pcv: int

    def pcv(self, waarde: int) -> int:
        return min(waarde, self.max_pcv)

    def gepubliceerd(self, waarde: int, celsleutel: int) -> int:
        """The published value of a cell with true ``waarde`` and cell key ``celsleutel`` (0..255)."""
        return waarde + self.verstoring[(self.pcv(waarde), celsleutel)]

    @property
    def drempel(self) -> int:
        """The smallest non-zero value the table publishes."""
        return min(pcv + p for (pcv, _), p in self.verstoring.items() if pcv + p > 0)

    @property
    def max_verstoring(self) -> int:
        return max(abs(p) for p in self.verstoring.values())


def lees_ptabel(regels: Iterable[Mapping[str, str]], versie: str) -> PTabel:
    """A p-table from its CSV rows; ValueError unless every pcv 0..max has all 256 cell keys."""
    verstoring = {(int(r["pcv"]), int(r["ckey"])): int(r["pvalue"]) for r in regels}
    max_pcv = max(pcv for pcv, _ in verstoring)
    ontbreekt = [(p, k) for p in range(max_pcv + 1) for k in range(SLEUTELBEREIK) if (p, k) not in verstoring]
    if ontbreekt:
        raise ValueError(f"p-table {versie}: no row for (pcv, ckey) {ontbreekt[0]} and {len(ontbreekt) - 1} more")
    return PTabel(versie, verstoring, max_pcv)


@lru_cache(maxsize=4)
def ptabel(versie: str = PTABLE_VERSIE) -> PTabel:
    """The shipped p-table of ``versie``."""
    with (DATA / f"ptable_v{versie}.csv").open(encoding="utf-8", newline="") as fh:
        return lees_ptabel(csv.DictReader(fh), versie)


def celsleutel(sleutelsom: int) -> int:
    """The cell key of a cell whose records' keys add up to ``sleutelsom``."""
    return sleutelsom % SLEUTELBEREIK


def verstoor(waarde: int, sleutelsom: int, tabel: PTabel | None = None) -> int:
    """The published value of a count ``waarde`` whose records' keys add up to ``sleutelsom``."""
    return (tabel or ptabel()).gepubliceerd(waarde, celsleutel(sleutelsom))


def mogelijke_waarden(gepubliceerd: int, tabel: PTabel | None = None) -> frozenset[int]:
    """Every true value that can be published as ``gepubliceerd`` under some cell key: what someone who knows the
    method and the p-table, but not the record keys, learns from one published cell."""
    return _mogelijk(gepubliceerd, tabel or ptabel())


@lru_cache(maxsize=4096)
def _mogelijk(gepubliceerd: int, t: PTabel) -> frozenset[int]:
    laag = max(0, gepubliceerd - t.max_verstoring)
    return frozenset(
        v
        for v in range(laag, gepubliceerd + t.max_verstoring + 1)
        if any(t.gepubliceerd(v, k) == gepubliceerd for k in range(SLEUTELBEREIK))
    )


def beschrijving(tabel: PTabel | None = None) -> dict[str, str]:
    """What every publiek/regio answer says about its disclosure control (``onthullingsbeheersing``)."""
    t = tabel or ptabel()
    return {"methode": METHODE, "ptable_versie": t.versie}
