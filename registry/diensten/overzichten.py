"""The overzichten: the catalogue, one table as of a peildatum for a key (scope narrowing, the cell key method for
publiek and regio, published peildata for publiek), the headline numbers (kerncijfers) and their course over the months (verloop).

An unknown overzicht NAME, checked against the catalogue, is the 404 ``unknown-overzicht``; anything the read
models raise after that check (a ``KeyError`` from a rule with a typo included) is an internal error, never a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from registry.api.auth import ApiKey
from registry.api.params import EERSTE_DATUM
from registry.api.peildata import is_published, nearest_published
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.scopes import aggregate_filters, forbid
from registry.diensten.onthulling import check_brancheorganisaties, verstoor_rijen
from registry.diensten.poorten import Antwoorden, Rows
from registry.domein import onthulling

# (label, overzicht, column) summed for each headline number
KERNCIJFERS: tuple[tuple[str, str, str], ...] = (
    ("deelnemers", "deelnemers-per-pilot", "deelnemers"),
    ("met een verklaring", "verklaringen-per-pilot", "deelnemers_met_verklaring"),
    ("verklaringen", "niveaus", "verklaringen"),
)
MAX_VERLOOP_MAANDEN = 120  # the verloop's work grows with its months: at most the last ten years


@dataclass(frozen=True)
class Filters:
    """The optional narrowing of an overzicht as asked (before the key's scope narrows it)."""

    pilot: str | None = None
    regio: str | None = None
    instelling: str | None = None


@dataclass(frozen=True)
class Verloop:
    """The headline numbers at each month end up to the peildatum."""

    peildata: list[date]
    reeksen: dict[str, list[int | None]]  # label -> one value per peildatum


def catalogus(rm: ReadQueries) -> list[tuple[str, str]]:
    """(name, description) of every overzicht, by name."""
    return sorted(rm.OVERZICHTEN.items())


def check_naam(rm: ReadQueries, naam: str, detail: str | None = None) -> None:
    """404 ``unknown-overzicht`` (with the valid names) unless ``naam`` is in the catalogue."""
    if naam not in rm.OVERZICHTEN:
        raise ProblemError(
            404,
            "unknown-overzicht",
            detail or f"no overzicht named {naam!r}",
            valid_values=sorted(rm.OVERZICHTEN),
        )


def beschermd(principal: ApiKey) -> bool:
    """Counts perturbed by the cell key method: publiek, and regio (a regio's own tables are small enough to hold
    person-sized cells, and a regio key may ask any day)."""
    return principal.scope.kind in ("publiek", "regio")


def overzicht(
    rm: ReadQueries,
    answers: Antwoorden,
    principal: ApiKey,
    naam: str,
    peildatum: date,
    filters: Filters = Filters(),
    publieke_peildata: str = "maandeinde",
) -> Rows:
    """The rows of overzicht ``naam`` at ``peildatum`` exactly as the key may see them."""
    check_naam(rm, naam)
    p, r, i = aggregate_filters(principal, filters.pilot, filters.regio, filters.instelling)
    if principal.scope.kind == "publiek":
        check_published(peildatum, publieke_peildata)
    if principal.scope.kind == "regio" and i is not None:
        # the regio scope is about pilots and regions; an instelling's own numbers are the instelling's key's
        raise forbid(principal, "regio overzichten can be narrowed by pilot only")
    if not beschermd(principal):
        return _exact(rm, answers, naam, peildatum, p, i, r)
    return verstoord(rm, answers, naam, peildatum, p, i, r)


def verstoord(
    rm: ReadQueries,
    answers: Antwoorden,
    naam: str,
    peildatum: date,
    p: str | None = None,
    i: str | None = None,
    r: str | None = None,
) -> Rows:
    """The rows of overzicht ``naam`` as publiek and regio see them: every count perturbed by its cell key (any cut
    is safe: the same records give the same published value in every table); brancheorganisaties checked against
    the reference list first."""
    exact = _exact(rm, answers, naam, peildatum, p, i, r)
    sleutels = sleutelsommen(rm, answers, naam, peildatum, p, i, r)
    if naam == "brancheorganisaties":
        exact, sleutels = check_brancheorganisaties(exact), check_brancheorganisaties(sleutels)
    return verstoor_rijen(exact, sleutels)


def _exact(
    rm: ReadQueries,
    answers: Antwoorden,
    naam: str,
    peildatum: date,
    p: str | None,
    i: str | None,
    r: str | None,
) -> Rows:
    return _rijen(rm, answers, naam, peildatum, p, i, r, sleutels=False)


def sleutelsommen(
    rm: ReadQueries,
    answers: Antwoorden,
    naam: str,
    peildatum: date,
    p: str | None,
    i: str | None,
    r: str | None,
) -> Rows:
    """The overzicht with the record-key sum of each count cell (cached like the counts)."""
    return _rijen(rm, answers, naam, peildatum, p, i, r, sleutels=True)


def _rijen(
    rm: ReadQueries,
    answers: Antwoorden,
    naam: str,
    peildatum: date,
    p: str | None,
    i: str | None,
    r: str | None,
    *,
    sleutels: bool,
) -> Rows:
    # the name was checked against the catalogue: a KeyError from here on is a bug, answered as an internal error
    return answers.rows(
        ("overzicht-sleutels" if sleutels else "overzicht", naam, peildatum, p, i, r),
        lambda: [
            dict(row)
            for row in rm.overzicht(
                answers.connection(), naam, peildatum, pilot=p, instelling=i, regio=r, sleutels=sleutels
            )
        ],
    )


def check_published(peildatum: date, rule: str, today: date | None = None) -> None:
    """400 unless ``peildatum`` is a published peildatum for publiek (PRAKTIJK_PUBLIC_PEILDATA), with the
    nearest valid ones."""
    today = today or date.today()
    if not is_published(peildatum, rule, today):
        near = nearest_published(peildatum, rule, today)
        raise ProblemError(
            400,
            "invalid-parameter",
            f"publiek may ask only published peildata ({rule}: {_PUBLISHED.get(rule, _PUBLISHED['dag'])}); "
            f"nearest: {', '.join(d.isoformat() for d in near)}",
            parameter="peildatum",
            valid_values=[d.isoformat() for d in near],
        )


_PUBLISHED = {
    "maandeinde": "the last day of a completed month",
    "kwartaaleinde": "the last day of a completed quarter",
    "dag": "a day before today",
}


# --- the headline numbers -----------------------------------------------------------------------------------


def kerncijfers(rm: ReadQueries, answers: Antwoorden, principal: ApiKey, peildatum: date) -> dict[str, int | None]:
    """deelnemers, met een verklaring, verklaringen at the peildatum: the column sums of the same overzichten (same
    queries, same answer-cache keys). For publiek and regio each is a cell of its own, perturbed by the cell key
    of all its records (the column's key sums add up to it: the rows of these overzichten partition the records)."""
    p, r, i = aggregate_filters(principal, None, None, None)
    out: dict[str, int | None] = {}
    for label, naam, kolom in KERNCIJFERS:
        total = sum(int(row.get(kolom) or 0) for row in _exact(rm, answers, naam, peildatum, p, i, r))
        if beschermd(principal):
            sleutels = sleutelsommen(rm, answers, naam, peildatum, p, i, r)
            total = onthulling.verstoor(total, sum(int(row.get(kolom) or 0) for row in sleutels))
        out[label] = total
    return out


def maandeinde(d: date) -> date:
    """The last day of ``d``'s month."""
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def maandeinden(peildatum: date, maanden: int) -> list[date]:
    """The last day of each of the ``maanden - 1`` months before the peildatum's month, then the peildatum."""
    out = [peildatum]
    d = peildatum.replace(day=1) - timedelta(days=1)
    while len(out) < maanden:
        out.append(d)
        d = d.replace(day=1) - timedelta(days=1)
    return sorted(out)


def maanden_tussen(eerste: date, peildatum: date) -> int:
    """How many month ends ``maandeinden`` needs to start in ``eerste``'s month (1: the peildatum's month)."""
    return (peildatum.year - eerste.year) * 12 + peildatum.month - eerste.month + 1


def verloop(rm: ReadQueries, answers: Antwoorden, principal: ApiKey, peildatum: date) -> Verloop:
    """The headline numbers at each month end from the first month that holds data up to the peildatum (at most
    ``MAX_VERLOOP_MAANDEN``; no data at all: the peildatum alone)."""
    eerste = eerste_maand_met_gegevens(
        lambda d: any(v != 0 for v in kerncijfers(rm, answers, principal, d).values()), peildatum
    )
    dates = maandeinden(peildatum, min(maanden_tussen(eerste, peildatum), MAX_VERLOOP_MAANDEN))
    points = [kerncijfers(rm, answers, principal, d) for d in dates]
    return Verloop(dates, {label: [p[label] for p in points] for label, _, _ in KERNCIJFERS})


def eerste_maand_met_gegevens(heeft_gegevens: Callable[[date], bool], peildatum: date) -> date:
    """The end of the first month whose month end holds data (the peildatum when none before it does).

    A bisection over the months since ``EERSTE_DATUM``: the headline numbers count what started on or before a
    date, so once a month end holds data every later one does (about 11 probes instead of one per month)."""
    laag, hoog = 0, maanden_tussen(EERSTE_DATUM, peildatum) - 1  # month indices; hoog: the peildatum's month
    while laag < hoog:
        midden = (laag + hoog) // 2
        if heeft_gegevens(_maand(midden)):
            hoog = midden
        else:
            laag = midden + 1
    return peildatum if laag == maanden_tussen(EERSTE_DATUM, peildatum) - 1 else _maand(laag)


def _maand(index: int) -> date:
    """The end of the ``index``-th month after ``EERSTE_DATUM``'s month."""
    jaar, maand = divmod(EERSTE_DATUM.month - 1 + index, 12)
    return maandeinde(date(EERSTE_DATUM.year + jaar, maand + 1, 1))
