"""The cell key method (registry/domein/onthulling.py, registry/diensten/onthulling.py): the shipped p-table's
promises, the published value as a function of (value, cell key) only, what one published cell tells someone who
knows the p-table but not the record keys, and the tables, nested rows and reconciliations it perturbs."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.diensten.onthulling import verstoor_genest, verstoor_reconciliatie, verstoor_rijen
from registry.domein import onthulling
from registry.domein.reconciliatie import BronResultaat, PilotRij

T = onthulling.ptabel()


def test_the_p_table_publishes_no_small_value_and_is_unbiased() -> None:
    assert (T.versie, T.drempel, T.max_pcv, T.max_verstoring) == ("1", 5, 7, 5)
    for pcv in range(T.max_pcv + 1):
        published = [pcv + T.verstoring[(pcv, k)] for k in range(onthulling.SLEUTELBEREIK)]
        assert not any(1 <= v <= 4 for v in published), pcv
        assert abs(sum(published) / len(published) - pcv) <= 1 / 64, pcv  # unbiased to within 1/64
        if pcv >= 1:
            assert len(set(published)) >= 2, pcv  # every non-zero value is really perturbed sometimes
    assert all(T.verstoring[(0, k)] == 0 for k in range(256))  # nobody in a cell: 0
    assert all(abs(T.verstoring[(7, k)]) <= 2 for k in range(256))


def test_a_p_table_must_have_every_cell_key() -> None:
    with pytest.raises(ValueError, match="no row for"):
        onthulling.lees_ptabel([{"pcv": "0", "ckey": "0", "pvalue": "0"}], "x")


@given(st.integers(0, 100_000), st.integers(0, 10**9))
def test_the_published_value_depends_on_value_and_cell_key_only(waarde: int, som: int) -> None:
    out = onthulling.verstoor(waarde, som)
    assert out == onthulling.verstoor(waarde, som + 256 * 7)  # modulo 256
    assert out == 0 or out >= T.drempel
    assert abs(out - waarde) <= (2 if waarde >= 7 else 5)
    assert waarde in onthulling.mogelijke_waarden(out)  # the attacker's candidates always hold the truth


@pytest.mark.parametrize("waarde", [1, 2, 3, 4])
def test_one_published_cell_never_pins_a_small_count(waarde: int) -> None:
    for k in range(onthulling.SLEUTELBEREIK):
        assert len(onthulling.mogelijke_waarden(onthulling.verstoor(waarde, k))) >= 5


def test_a_table_is_perturbed_in_its_count_columns_only() -> None:
    exact = [{"pilot": "x", "tranche": 2, "deelnemers": 3, "actief": True, "niveau": 4, "naam": "n"}]
    sommen = [{"pilot": "x", "tranche": 9, "deelnemers": 300, "actief": True, "niveau": 1, "naam": "n"}]
    (rij,) = verstoor_rijen(exact, sommen)
    assert rij == {**exact[0], "deelnemers": onthulling.verstoor(3, 300)}
    with pytest.raises(ValueError, match="rows"):
        verstoor_rijen(exact, [])


def test_nested_counts_are_perturbed_where_they_sit() -> None:
    exact = [{"maand": "2020-01", "aangemeld": 9, "beeindigd": {"afgerond": 2, "voortijdig_gestopt": 0}}]
    sommen = [{"maand": "2020-01", "aangemeld": 1000, "beeindigd": {"afgerond": 77, "voortijdig_gestopt": 0}}]
    (rij,) = verstoor_genest(exact, sommen)
    assert rij == {
        "maand": "2020-01",
        "aangemeld": onthulling.verstoor(9, 1000),
        "beeindigd": {"afgerond": onthulling.verstoor(2, 77), "voortijdig_gestopt": 0},
    }


def test_a_reconciliation_is_perturbed_per_category_and_its_register_as_the_pilots_cell() -> None:
    bron = BronResultaat(
        partner="gemeente.gm0014",
        bron_type="gemeente",
        telling_event_id="e",
        telling_peildatum=dt.date(2021, 1, 1),
        gemeld=3,
        register=2,
        aantallen={"overeenkomend": 2, "niet_geregistreerd": 1},
        personen={"overeenkomend": ("a", "b"), "niet_geregistreerd": ("z",)},
    )
    rij = verstoor_reconciliatie(PilotRij("groningen", dt.date(2021, 1, 1), 2, (bron,)), 130, {"a": 100, "b": 30})
    assert rij["register"] == onthulling.verstoor(2, 130)
    (b,) = rij["bronnen"]
    assert b["categorieen"]["overeenkomend"] == onthulling.verstoor(2, 130)  # the same two persons
    assert b["categorieen"]["niet_geregistreerd"] == onthulling.verstoor(1, 0)  # unknown to the registry: no key
    assert b["gemeld"] == onthulling.verstoor(3, 130) and b["verschil"] == b["gemeld"] - rij["register"]
    assert "afgerond/verstoord" in b["vergelijking"]


def test_the_utility_figure() -> None:
    from registry.diensten.bruikbaarheid import meet

    b = meet([(0, 0), (3, 5), (10, 9), (40, 40)], dt.date(2020, 1, 31), dt.date(2020, 2, 29), 2)
    assert (b.cellen, b.veranderd, b.max_afwijking, b.klein) == (4, 2, 2, 1)
    assert b.gemiddelde_afwijking == 0.75 and b.aandeel_veranderd == 0.5
    assert "mean |perturbation| 0.75, max 2, 50.0% of the cells changed" in b.regel()


def test_the_utility_figure_covers_every_count_and_the_headline() -> None:
    from registry.diensten.bruikbaarheid import cellen_op, kerncijfers_op

    class Stand:
        OVERZICHTEN = {"deelnemers-per-pilot": "", "verklaringen-per-pilot": "", "niveaus": ""}

        def overzicht(self, conn: object, naam: str, d: dt.date, *, sleutels: bool = False) -> list[dict[str, int]]:
            k = 100 if sleutels else 1  # key sums: a hundred times the counts
            return {
                "deelnemers-per-pilot": [{"tranche": 1, "deelnemers": 3 * k}, {"tranche": 2, "deelnemers": 9 * k}],
                "verklaringen-per-pilot": [{"deelnemers_met_verklaring": 2 * k}],
                "niveaus": [{"niveau": 2, "verklaringen": 4 * k, "deelnemers_met_verklaring": 2 * k}],
            }[naam]

    d = dt.date(2020, 1, 31)
    kop = kerncijfers_op(Stand(), None, d)  # type: ignore[arg-type]
    assert kop == [
        ("deelnemers", 12, onthulling.verstoor(12, 1200)),
        ("met een verklaring", 2, onthulling.verstoor(2, 200)),
        ("verklaringen", 4, onthulling.verstoor(4, 400)),
    ]
    # 2 + 1 + 2 counts (tranche and niveau are dimensions) and the three headline numbers
    assert len(cellen_op(Stand(), None, d)) == 8  # type: ignore[arg-type]


def test_the_doorstroom_is_perturbed_from_the_keys_of_its_deelnemers() -> None:
    from dataclasses import replace

    from registry.diensten.onthulling import MIN_SPREIDING, verstoor_doorstroom
    from registry.domein import doorstroom
    from tests.support.doorstroom import hand_world

    standen = list(doorstroom.standen(hand_world(), dt.date(2021, 1, 13)))
    sleutels = {s.deelnemer: 17 * i for i, s in enumerate(standen)}
    exact, uit = doorstroom.aggregeer(standen), verstoor_doorstroom(standen, sleutels)
    alle = sum(sleutels.values())
    assert uit.stappen[0] == ("aangemeld", onthulling.verstoor(len(standen), alle))
    gestart = sum(sleutels[s.deelnemer] for s in standen if s.eerste_start is not None)
    assert dict(uit.stappen)["gestart"] == onthulling.verstoor(dict(exact.stappen)["gestart"], gestart)
    assert dict(uit.conversie)["gestart"] == doorstroom.aandeel(dict(uit.stappen)["gestart"], uit.stappen[0][1])
    assert [r[:-1] for r in uit.beeindiging] == [r[:-1] for r in exact.beeindiging]  # the same rows, perturbed
    assert all(not 1 <= r[-1] <= 4 for r in uit.beeindiging + uit.uitstroom)
    assert all(sp.p25 is None for _, sp in uit.doorlooptijd_dagen)  # a handful: no percentiles
    # many deelnemers: the percentiles are shown (beside a perturbed n)
    veel = [replace(s, deelnemer=f"{s.deelnemer}-{i}") for i in range(2 * MIN_SPREIDING) for s in standen]
    (_, sp), _ = verstoor_doorstroom(veel, {s.deelnemer: 1 for s in veel}).doorlooptijd_dagen
    (_, echt), _ = doorstroom.aggregeer(veel).doorlooptijd_dagen
    assert (sp.p25, sp.mediaan, sp.p75) == (echt.p25, echt.mediaan, echt.p75) and abs(sp.n - echt.n) <= 2


@given(
    st.lists(
        st.tuples(st.integers(0, 500), st.lists(st.integers(0, 255), max_size=30), st.integers(1, 4)),
        min_size=1,
        max_size=8,
    )
)
def test_any_table_keeps_its_dimensions_and_shows_no_small_count(cellen: list[tuple[int, list[int], int]]) -> None:
    # a count's key sum is the sum of its records' keys (here: any list of keys, of the count's length or not)
    exact = [{"niveau": niv, "verklaringen": len(keys), "totaal": n + len(keys)} for n, keys, niv in cellen]
    sommen = [{"niveau": 0, "verklaringen": sum(keys), "totaal": n + sum(keys)} for n, keys, _ in cellen]
    uit = verstoor_rijen(exact, sommen)
    assert [r["niveau"] for r in uit] == [r["niveau"] for r in exact]
    assert all(not 1 <= r[c] <= 4 for r in uit for c in ("verklaringen", "totaal"))
    assert all(r["verklaringen"] == 0 for r, e in zip(uit, exact, strict=True) if e["verklaringen"] == 0)
    assert verstoor_rijen(exact, sommen) == uit  # the same cells: the same numbers, every time
