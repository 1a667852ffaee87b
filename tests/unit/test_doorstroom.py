"""The doorstroom's definitions (registry/domein/doorstroom.py) on a hand-built world with exact numbers: the
first-aanmelding cohort and its filters, a revoked-then-reissued verklaring, a deelnemer with two trajecten, an
uitstroom registered twice for one peilmoment, events after the peildatum, nearest-rank percentiles, n = 0."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.domein.doorstroom import (
    Cohort,
    Doorstroom,
    Filters,
    Spreiding,
    aandeel,
    bereken,
    rangwaarde,
    spreiding,
    standen,
)
from tests.support.doorstroom import D, G, hand_world


def _stappen(uitkomst: Doorstroom) -> dict[str, int]:
    return dict(uitkomst.stappen)


def test_the_funnel_of_cohort_2019() -> None:
    d = bereken(hand_world(), Cohort.parse("2019"), D)
    # A C E F H J; B belongs to 2018 (first aanmelding), G comes after the peildatum
    assert d.stappen == (("aangemeld", 6), ("advies", 2), ("gestart", 4), ("verklaring", 1), ("beeindigd", 2))
    assert d.conversie == (("advies", 0.333), ("gestart", 0.667), ("verklaring", 0.167), ("beeindigd", 0.333))


def test_lead_times_in_whole_days_with_nearest_rank_percentiles() -> None:
    d = dict(bereken(hand_world(), Cohort.parse("2019"), D).doorlooptijd_dagen)
    # A 28 (02-01 -> 03-01), C 31, F 41, H 61: ranks ceil(.25*4)=1, ceil(.5*4)=2, ceil(.75*4)=3
    assert d["aanmelding_tot_start"] == Spreiding(4, 28, 31, 41)
    # A only: start 2019-03-01 -> the reissued verklaring of 2019-11-01 (the revoked one of 09-01 does not count)
    assert d["start_tot_verklaring"] == Spreiding(1, 245, 245, 245)


def test_endings_by_the_last_ended_traject() -> None:
    d = bereken(hand_world(), Cohort.parse("2019"), D)
    assert d.beeindiging == (
        ("afgerond", None, 1),
        ("overstap_bbl", None, 1),  # C: its second traject, not the voortijdig_gestopt first one
        ("voortijdig_gestopt", "motivatie", 1),  # F: ended one, still running another
    )


def test_uitstroom_latest_per_peilmoment_and_work_details() -> None:
    d = bereken(hand_world(), Cohort.parse("2019"), D)
    assert d.uitstroom == (
        ("einde", "betaald_werk", 1),
        ("einde", "vervolgopleiding", 1),
        ("zes_maanden", "betaald_werk", 1),  # A's second registration replaced the first ("geen")
    )
    assert d.contract == (("einde", "vast", 1), ("zes_maanden", "tijdelijk", 1))
    assert d.uitkering_na == (("einde", "geen", 1), ("zes_maanden", "deels", 1))


@pytest.mark.parametrize(
    "cohort, aangemeld",
    [("2019-Q1", 1), ("2019-Q2", 2), ("2019-Q3", 2), ("2019-Q4", 1), ("2018", 1), ("2021", 0)],
)
def test_quarters_and_years_by_the_first_aanmelding(cohort: str, aangemeld: int) -> None:
    assert _stappen(bereken(hand_world(), Cohort.parse(cohort), D))["aangemeld"] == aangemeld


@pytest.mark.parametrize(
    "filters, aangemeld",
    [
        (Filters(doelgroep="b"), 1),  # C only: B's 2019 aanmelding says b, but B's cohort is 2018
        (Filters(doelgroep="c"), 1),  # J by its first aanmelding
        (Filters(doelgroep="d"), 0),  # not by its later one
        (Filters(uitkering="participatiewet"), 1),
        (Filters(uitkering="onbekend"), 4),
        (Filters(aanmelder_type="uwv"), 1),
        (Filters(pilots=frozenset({"doorzaam"})), 1),
        (Filters(pilots=frozenset({"rijnmond", "doorzaam"}), doelgroep="a"), 4),
    ],
)
def test_filters_apply_to_the_first_aanmelding(filters: Filters, aangemeld: int) -> None:
    assert _stappen(bereken(hand_world(), Cohort.parse("2019"), D, filters))["aangemeld"] == aangemeld


def test_a_revoked_verklaring_counts_until_its_revocation() -> None:
    q1 = Cohort.parse("2019-Q1")
    voor = bereken(hand_world(), q1, dt.date(2019, 9, 15))
    assert _stappen(voor)["verklaring"] == 1
    assert dict(voor.doorlooptijd_dagen)["start_tot_verklaring"] == Spreiding(1, 184, 184, 184)
    tussen = bereken(hand_world(), q1, dt.date(2019, 10, 15))  # revoked, not yet reissued
    assert _stappen(tussen)["verklaring"] == 0
    assert dict(tussen.doorlooptijd_dagen)["start_tot_verklaring"] == Spreiding(0, None, None, None)


def test_two_trajecten_end_only_when_both_have() -> None:
    c = Cohort.parse("2019-Q2")
    assert (
        _stappen(bereken(hand_world(), c, dt.date(2019, 9, 1)))["beeindigd"] == 1
    )  # C: tc1 ended, tc2 not enrolled yet
    assert _stappen(bereken(hand_world(), c, dt.date(2019, 12, 1)))["beeindigd"] == 0  # tc2 running
    assert _stappen(bereken(hand_world(), c, dt.date(2020, 3, 1)))["beeindigd"] == 1


def test_n_is_zero() -> None:
    d = bereken(hand_world(), Cohort.parse("2017"), D)
    assert d.stappen == tuple((s, 0) for s in ("aangemeld", "advies", "gestart", "verklaring", "beeindigd"))
    assert d.conversie == (("advies", None), ("gestart", None), ("verklaring", None), ("beeindigd", None))
    assert dict(d.doorlooptijd_dagen) == {
        "aanmelding_tot_start": Spreiding(0, None, None, None),
        "start_tot_verklaring": Spreiding(0, None, None, None),
    }
    assert d.beeindiging == d.uitstroom == d.contract == d.uitkering_na == ()


def test_positions_hold_no_one_aangemeld_after_the_peildatum() -> None:
    assert G not in {s.deelnemer for s in standen(hand_world(), D)}
    assert G in {s.deelnemer for s in standen(hand_world(), dt.date(2021, 2, 1))}


def test_nearest_rank() -> None:
    tien = list(range(10, 0, -1))  # unsorted on purpose
    assert [rangwaarde(tien, q) for q in (0.25, 0.5, 0.75)] == [3, 5, 8]
    assert rangwaarde([7], 0.25) == rangwaarde([7], 0.75) == 7
    assert rangwaarde([], 0.5) is None
    assert spreiding([4, 1, 3, 2]) == Spreiding(4, 1, 2, 3)


def test_shares_round_half_up_to_three_decimals() -> None:
    assert aandeel(1, 8) == 0.125
    assert aandeel(1, 16) == 0.063  # 0.0625: half up, not to even
    assert aandeel(2, 3) == 0.667
    assert aandeel(0, 5) == 0.0
    assert aandeel(0, 0) is None


@pytest.mark.parametrize("text", ["19", "2019-Q5", "2019-Q0", "2019Q1", "2019-q1", " 2019"])
def test_cohort_format(text: str) -> None:
    with pytest.raises(ValueError):
        Cohort.parse(text)


def test_cohort_bounds() -> None:
    assert (Cohort.parse("2019-Q1").van, Cohort.parse("2019-Q1").tot) == (dt.date(2019, 1, 1), dt.date(2019, 3, 31))
    assert (Cohort.parse("2020-Q4").van, Cohort.parse("2020-Q4").tot) == (dt.date(2020, 10, 1), dt.date(2020, 12, 31))
    assert Cohort.parse("2019").tot == dt.date(2019, 12, 31) and str(Cohort.parse("2019-Q2")) == "2019-Q2"
