"""What the Praktijkloket pages show, computed through the API's own code paths.

The tables come from the endpoint functions themselves (``routes.overzichten.overzicht``,
``routes.reconciliatie.reconciliatie``), called with the visitor's key, so a page shows exactly what the API
answers for that key (scope narrowing and small-cell suppression included). The headline numbers are the
column sums of the same overzichten (same queries, same answer-cache keys); for ``publiek`` and ``regio`` a sum of 1..4 is
suppressed too (the column sums themselves are public: see the secondary suppression in
``kleine_cellen.suppress_small_cells``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from registry.api.auth import ApiKey, Scope
from registry.api.deps import CachedAnswers
from registry.api.kleine_cellen import SMALL_CELL_MAX, SMALL_CELL_MIN, is_count_column
from registry.api.ports import ReadQueries
from registry.api.routes import overzichten as overzichten_route
from registry.api.scopes import aggregate_filters
from registry.api.web.svg import Series
from registry.domein import referentie

Rows = list[dict[str, Any]]

ANONIEM = ApiKey(key_id="anoniem", scope=Scope("publiek"), naam="bezoeker", created_at=datetime(2000, 1, 1, tzinfo=UTC))

# (overzicht, column) summed for each headline number
KERNCIJFERS: tuple[tuple[str, str, str], ...] = (
    ("deelnemers", "deelnemers-per-pilot", "deelnemers"),
    ("met een verklaring", "verklaringen-per-pilot", "deelnemers_met_verklaring"),
    ("verklaringen", "niveaus", "verklaringen"),
)
_LABELS = ("pilot_naam", "naam", "leeftijdsgroep", "domein", "mbo_instelling", "brancheorganisaties")


@dataclass(frozen=True)
class Bron:
    """Everything a page needs to ask the read models as one visitor (one request)."""

    principal: ApiKey
    rm: ReadQueries
    conn: Connection
    answers: CachedAnswers
    context: Any = None  # the app's ApiContext (the publiek peildata rule); None: the default rule

    @property
    def publiek(self) -> bool:
        return self.principal.scope.kind == "publiek"

    @property
    def beschermd(self) -> bool:
        """Small cells suppressed: publiek, and regio (its own numbers are person-sized)."""
        return self.publiek or self.principal.scope.kind == "regio"

    def overzicht(self, naam: str, peildatum: date) -> Rows:
        """The rows exactly as ``GET /v1/overzichten/{naam}?peildatum=`` answers them for this key."""
        resp = overzichten_route.overzicht(
            naam=naam,
            principal=self.principal,
            rm=self.rm,
            answers=self.answers,
            peildatum=peildatum,
            pilot=None,
            regio=None,
            instelling=None,
            format="json",
            context=self.context,
        )
        rows: Rows = resp.rijen
        return rows

    def overzicht_csv(self, naam: str, peildatum: date) -> Any:
        return overzichten_route.overzicht(
            naam=naam,
            principal=self.principal,
            rm=self.rm,
            answers=self.answers,
            peildatum=peildatum,
            pilot=None,
            regio=None,
            instelling=None,
            format="csv",
            context=self.context,
        )

    def _exact(self, naam: str, peildatum: date) -> Rows:
        # the same filters and cache key as the endpoint, before suppression (only sums leave this module)
        p, r, i = aggregate_filters(self.principal, None, None, None)
        return self.answers.rows(
            ("overzicht", naam, peildatum, p, i, r),
            lambda: [dict(x) for x in self.rm.overzicht(self.conn, naam, peildatum, pilot=p, instelling=i, regio=r)],
        )

    def kerncijfers(self, peildatum: date) -> dict[str, int | None]:
        """deelnemers, met een verklaring, verklaringen at the peildatum (None: suppressed for publiek and regio)."""
        out: dict[str, int | None] = {}
        for label, naam, kolom in KERNCIJFERS:
            total = sum(int(row.get(kolom) or 0) for row in self._exact(naam, peildatum))
            out[label] = None if self.beschermd and SMALL_CELL_MIN <= total <= SMALL_CELL_MAX else total
        return out


def maandeinden(peildatum: date, maanden: int = 36) -> list[date]:
    """The last day of each of the ``maanden - 1`` months before the peildatum's month, then the peildatum."""
    out = [peildatum]
    d = peildatum.replace(day=1) - timedelta(days=1)
    while len(out) < maanden:
        out.append(d)
        d = d.replace(day=1) - timedelta(days=1)
    return sorted(out)


def verloop(bron: Bron, peildatum: date) -> tuple[list[date], list[Series]]:
    """The headline numbers at each month end up to the peildatum (leading months without anything dropped)."""
    dates = maandeinden(peildatum)
    points = [bron.kerncijfers(d) for d in dates]
    first = next((i for i, p in enumerate(points) if any(v != 0 for v in p.values())), len(points) - 1)
    dates, points = dates[first:], points[first:]
    return dates, [Series(label, [p[label] for p in points]) for label, _, _ in KERNCIJFERS]


# --- how an overzicht is drawn ------------------------------------------------------------------------------


def kolommen(rows: Rows) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for col in row:
            if col != "onderdrukt":
                seen.setdefault(col, None)
    return list(seen)


def telkolommen(rows: Rows) -> list[str]:
    """The count columns (what the chart draws); ``totaal`` only when it is the only one."""
    cols = [
        c
        for c in kolommen(rows)
        if any(is_count_column(c, r.get(c)) for r in rows)
        or (all(r.get(c) is None for r in rows) and c not in _LABELS and c != "pilot")
    ]  # all suppressed
    rest = [c for c in cols if c not in ("totaal", "total")]
    return rest or cols


def labelkolom(rows: Rows) -> str | None:
    cols = kolommen(rows)
    for c in _LABELS:
        if c in cols:
            return c
    counts = set(telkolommen(rows))
    return next((c for c in cols if c not in counts and c != "pilot"), None)


def grafiekreeksen(rows: Rows) -> tuple[list[str], list[Series]]:
    label = labelkolom(rows)
    labels = [str(r.get(label, "")) if label else str(i + 1) for i, r in enumerate(rows)]
    series = [
        Series(c.replace("_", " "), [r.get(c) if isinstance(r.get(c), int) else None for r in rows])
        for c in telkolommen(rows)
    ]
    return labels, series


# --- per arbeidsmarktregio -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegioTabel:
    regio: str
    rijen: Rows  # pilot_naam, deelnemers, deelnemers_met_verklaring (as the API shows them)
    totaal: dict[str, int | None]  # None when a cell of the column is suppressed (no sum that gives it back)


def per_regio(deelnemers: Sequence[dict[str, Any]], verklaringen: Sequence[dict[str, Any]]) -> list[RegioTabel]:
    met = {r["pilot"]: r.get("deelnemers_met_verklaring") for r in verklaringen}
    pilots = referentie.pilots()
    groups: dict[str, Rows] = {}
    for r in deelnemers:
        regio = pilots[r["pilot"]].arbeidsmarktregio if r["pilot"] in pilots else "onbekend"
        groups.setdefault(regio, []).append(
            {
                "pilot": r["pilot"],
                "pilot_naam": r.get("pilot_naam", r["pilot"]),
                "deelnemers": r.get("deelnemers"),
                "deelnemers_met_verklaring": met.get(r["pilot"]),
            }
        )
    out = []
    for regio in sorted(groups):
        rows = groups[regio]
        totaal: dict[str, int | None] = {}
        for col in ("deelnemers", "deelnemers_met_verklaring"):
            values = [r[col] for r in rows]
            totaal[col] = None if any(v is None for v in values) else sum(values)
        out.append(RegioTabel(regio, rows, totaal))
    return out
