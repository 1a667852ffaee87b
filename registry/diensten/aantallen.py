"""Monthly flow counts (aangemeld, ingeschreven, actief, verklaringen, beeindigd, uitstroom), narrowed by filters
and by the key's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from registry.api.auth import ApiKey
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.scopes import aggregate_filters, require
from registry.diensten.onthulling import verstoor_genest
from registry.diensten.poorten import Antwoorden, Rows

MAX_MAANDEN = 120  # the work and the answer grow with the months asked: at most ten years per request


@dataclass(frozen=True)
class Aantallen:
    """The months asked and the filters as applied (canonical, narrowed to the key's scope)."""

    van: date
    tot: date
    regio: str | None
    pilot: str | None
    gemeente: str | None
    instelling: str | None
    maanden: Rows


def aantallen(
    rm: ReadQueries,
    conn: Connection,
    answers: Antwoorden,
    principal: ApiKey,
    van: date,
    tot: date,
    *,
    regio: str | None = None,
    pilot: str | None = None,
    gemeente: str | None = None,
    instelling: str | None = None,
) -> Aantallen:
    """One row per month from ``van`` to ``tot``: 403 for publiek, 400 for a span the wrong way round or too long;
    perturbed by the cell key method for regio."""
    require(principal, "landelijk", "regio", "instelling")
    if tot < van:
        raise ProblemError(400, "invalid-parameter", "tot is before van", parameter="tot")
    maanden = (tot.year - van.year) * 12 + tot.month - van.month + 1
    if maanden > MAX_MAANDEN:
        raise ProblemError(
            400,
            "invalid-parameter",
            f"van..tot spans {maanden} months; at most {MAX_MAANDEN} per request",
            parameter="tot",
            max_months=MAX_MAANDEN,
        )
    g = gemeente.upper() if gemeente else None
    p, r, i = aggregate_filters(principal, pilot, regio, instelling)
    rows = answers.rows(
        ("aantallen", r, p, g, van, tot, i),
        lambda: [dict(x) for x in rm.aantallen(conn, regio=r, pilot=p, gemeente=g, van=van, tot=tot, instelling=i)],
    )
    if principal.scope.kind == "regio":
        # any day, gemeente and month: every count perturbed by its cell key (differencing finds only noise)
        sleutels = answers.rows(
            ("aantallen-sleutels", r, p, g, van, tot, i),
            lambda: [
                dict(x)
                for x in rm.aantallen(conn, regio=r, pilot=p, gemeente=g, van=van, tot=tot, instelling=i, sleutels=True)
            ],
        )
        rows = verstoor_genest(rows, sleutels)
    return Aantallen(van, tot, r, p, g, i, rows)
