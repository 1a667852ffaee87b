"""How the Praktijkloket pages draw what the application layer (``registry.diensten``) answers: the chart
series of an overzicht and of the verloop, and the tables per arbeidsmarktregio. The numbers themselves come from
the same use cases as the API's, called with the visitor's key, so a page shows exactly what the API answers for that
key (scope narrowing and the cell key perturbation included)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from registry.api.auth import ApiKey, Scope
from registry.api.web.svg import Series
from registry.diensten.onthulling import is_count_column
from registry.diensten.overzichten import Verloop
from registry.domein import referentie

Rows = list[dict[str, Any]]

ANONIEM = ApiKey(key_id="anoniem", scope=Scope("publiek"), naam="bezoeker", created_at=datetime(2000, 1, 1, tzinfo=UTC))
_LABELS = ("pilot_naam", "naam", "leeftijdsgroep", "domein", "mbo_instelling", "brancheorganisaties")


def reeksen(verloop: Verloop) -> list[Series]:
    """The verloop's headline numbers as chart lines, one per number."""
    return [Series(label, waarden) for label, waarden in verloop.reeksen.items()]


# --- how an overzicht is drawn ------------------------------------------------------------------------------


def kolommen(rows: Rows) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for col in row:
            seen.setdefault(col, None)
    return list(seen)


def telkolommen(rows: Rows) -> list[str]:
    """The count columns (what the chart draws); ``totaal`` only when it is the only one."""
    cols = [c for c in kolommen(rows) if any(is_count_column(c, r.get(c)) for r in rows)]
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
    totaal: dict[str, int | None]  # the sum of the cells shown (None: a cell shows no number)


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
