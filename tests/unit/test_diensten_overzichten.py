"""The overzichten use case: the verloop spans the months that hold data up to the peildatum, and only an unknown
name is ``unknown-overzicht``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Connection

from registry.api.auth import ApiKey, parse_scope
from registry.api.params import EERSTE_DATUM
from registry.api.problems import ProblemError
from registry.diensten import overzichten
from registry.diensten.overzichten import MAX_VERLOOP_MAANDEN, eerste_maand_met_gegevens, maandeinde

Rows = list[dict[str, Any]]
LANDELIJK = ApiKey(key_id="k", scope=parse_scope("landelijk"), naam="test", created_at=None)  # type: ignore[arg-type]


class Gestart:
    """Read models whose deelnemers start on ``start`` (nothing before it) and stay."""

    OVERZICHTEN = {"deelnemers-per-pilot": "", "verklaringen-per-pilot": "", "niveaus": ""}

    def __init__(self, start: date) -> None:
        self.start = start

    def overzicht(self, conn: Connection, naam: str, peildatum: date, **filters: Any) -> Rows:
        n = 7 if peildatum >= self.start else 0
        kolom = {"deelnemers-per-pilot": "deelnemers", "verklaringen-per-pilot": "deelnemers_met_verklaring"}
        return [{"pilot": "twente", kolom.get(naam, "verklaringen"): n}]


class Zonder:
    """An answer cache that remembers nothing."""

    def rows(self, key: tuple[Any, ...], compute: Callable[[], Rows]) -> Rows:
        return compute()

    def connection(self) -> Connection:
        return None  # type: ignore[return-value]  # the stand-in read models take no connection


def _verloop(start: date, peildatum: date) -> overzichten.Verloop:
    return overzichten.verloop(Gestart(start), Zonder(), LANDELIJK, peildatum)  # type: ignore[arg-type]


def test_verloop_starts_in_the_first_month_with_data_years_before_the_peildatum() -> None:
    v = _verloop(date(2018, 5, 14), date(2026, 6, 30))
    assert v.peildata[0] == date(2018, 5, 31) and v.peildata[-1] == date(2026, 6, 30)
    assert len(v.peildata) == 98  # May 2018 .. June 2026: every month, not the last 36
    assert v.reeksen["deelnemers"][0] == 7 and set(v.reeksen) == {"deelnemers", "met een verklaring", "verklaringen"}


def test_verloop_of_recent_data_and_of_none() -> None:
    recent = _verloop(date(2021, 1, 2), date(2021, 3, 13))
    assert recent.peildata == [date(2021, 1, 31), date(2021, 2, 28), date(2021, 3, 13)]
    assert _verloop(date(2030, 1, 1), date(2021, 3, 13)).peildata == [date(2021, 3, 13)]


def test_verloop_is_bounded() -> None:
    v = _verloop(EERSTE_DATUM, date(2026, 6, 30))
    assert len(v.peildata) == MAX_VERLOOP_MAANDEN and v.peildata[-1] == date(2026, 6, 30)


@pytest.mark.parametrize("start", [date(1990, 1, 1), date(1999, 12, 31), date(2020, 2, 29), date(2021, 3, 1)])
def test_first_month_with_data_is_found_by_bisection(start: date) -> None:
    probes: list[date] = []

    def heeft(d: date) -> bool:
        probes.append(d)
        return d >= start

    assert eerste_maand_met_gegevens(heeft, date(2021, 3, 13)) == min(maandeinde(start), date(2021, 3, 13))
    assert len(probes) <= 12


def test_only_an_unknown_name_is_unknown_overzicht() -> None:
    with pytest.raises(ProblemError) as exc:
        overzichten.check_naam(Gestart(date(2020, 1, 1)), "bestaatniet")  # type: ignore[arg-type]
    assert exc.value.status == 404 and exc.value.slug == "unknown-overzicht"
    assert exc.value.extra["valid_values"] == ["deelnemers-per-pilot", "niveaus", "verklaringen-per-pilot"]
    overzichten.check_naam(Gestart(date(2020, 1, 1)), "niveaus")  # type: ignore[arg-type]
