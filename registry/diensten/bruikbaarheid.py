"""What the cell key method costs in accuracy (``praktijkregister onthulling rapport``, the demo): over every publiek
cell (every count of every overzicht, and the headline numbers) at every month end, the mean and the largest
absolute perturbation and the share of cells the perturbation changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from registry.api.ports import ReadQueries
from registry.diensten.onthulling import check_brancheorganisaties, is_count_column
from registry.diensten.overzichten import KERNCIJFERS, maandeinden, maanden_tussen
from registry.diensten.poorten import Rows
from registry.domein import onthulling


@dataclass(frozen=True)
class Bruikbaarheid:
    """The perturbation over ``cellen`` publiek cells at ``maandeinden`` month ends."""

    van: date
    tot: date
    maandeinden: int
    cellen: int
    veranderd: int
    som_afwijking: int
    max_afwijking: int
    klein: int  # cells whose true value is 1..4

    @property
    def aandeel_veranderd(self) -> float:
        return self.veranderd / self.cellen if self.cellen else 0.0

    @property
    def gemiddelde_afwijking(self) -> float:
        return self.som_afwijking / self.cellen if self.cellen else 0.0

    def regel(self) -> str:
        """One line for a console."""
        return (
            f"{self.cellen} publiek cells at {self.maandeinden} month ends ({self.van} .. {self.tot}): mean |perturbation| "
            f"{self.gemiddelde_afwijking:.2f}, max {self.max_afwijking}, {self.aandeel_veranderd:.1%} of the cells "
            f"changed ({self.klein} true counts of 1-4, none published as 1-4)"
        )


def paren(exact: Rows, sleutels: Rows) -> Iterable[tuple[int, int]]:
    """(true value, published value) of every count cell of a table."""
    for e, s in zip(exact, sleutels, strict=True):
        for c, v in e.items():
            if is_count_column(c, v):
                yield v, onthulling.verstoor(v, int(s.get(c) or 0))


def meet(waarden: Iterable[tuple[int, int]], van: date, tot: date, maanden: int) -> Bruikbaarheid:
    """The figure over (true, published) pairs."""
    paar = list(waarden)
    afwijking = [abs(p - t) for t, p in paar]
    return Bruikbaarheid(
        van,
        tot,
        maanden,
        len(paar),
        sum(1 for a in afwijking if a),
        sum(afwijking),
        max(afwijking, default=0),
        sum(1 for t, _ in paar if 1 <= t <= 4),
    )


def _tabel(rm: ReadQueries, conn: Connection, naam: str, d: date) -> tuple[Rows, Rows]:
    """The counts and the record-key sums of overzicht ``naam`` as publiek's answer starts from them."""
    exact = [dict(r) for r in rm.overzicht(conn, naam, d)]
    sleutels = [dict(r) for r in rm.overzicht(conn, naam, d, sleutels=True)]
    if naam == "brancheorganisaties":
        return check_brancheorganisaties(exact), check_brancheorganisaties(sleutels)
    return exact, sleutels


def kerncijfers_op(rm: ReadQueries, conn: Connection, d: date) -> list[tuple[str, int, int]]:
    """(label, true, published) of each headline number at ``d``: cells of their own (their key sums add up)."""
    out = []
    for label, naam, kolom in KERNCIJFERS:
        exact, sleutels = _tabel(rm, conn, naam, d)
        totaal = sum(int(r.get(kolom) or 0) for r in exact)
        out.append((label, totaal, onthulling.verstoor(totaal, sum(int(r.get(kolom) or 0) for r in sleutels))))
    return out


def cellen_op(rm: ReadQueries, conn: Connection, d: date) -> list[tuple[int, int]]:
    """(true, published) of every publiek cell at month end ``d``: every overzicht, then the headline numbers."""
    out: list[tuple[int, int]] = []
    for naam in sorted(rm.OVERZICHTEN):
        out += paren(*_tabel(rm, conn, naam, d))
    return out + [(t, p) for _, t, p in kerncijfers_op(rm, conn, d)]


def rapport(
    rm: ReadQueries, conn: Connection, van: date, tot: date, voortgang: Callable[[date], Any] = lambda d: None
) -> Bruikbaarheid:
    """The figure over every month end from ``van``'s month to ``tot``'s (``tot`` itself when it is no month end)."""
    data = maandeinden(tot, maanden_tussen(van, tot))
    paar: list[tuple[int, int]] = []
    for d in data:
        voortgang(d)
        paar += cellen_op(rm, conn, d)
    return meet(paar, data[0], data[-1], len(data))
