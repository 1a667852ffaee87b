"""The pure reconciliation rules (registry/domein/reconciliatie): one test per category, the source
without a list, the reconciled count, the vergelijking text and the closing equation."""

from __future__ import annotations

import datetime as dt
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.domein import reconciliatie as r
from registry.domein.reconciliatie import CATEGORIEEN, BronResultaat, PilotRij, classify

D = dt.date(2020, 11, 30)


def p(name: str) -> str:
    """A distinct 64-hex pseudonym per name."""
    return hashlib.sha256(name.encode()).hexdigest()


A, B, C, E, F, G = (p(x) for x in "abcefg")
NONE: frozenset[str] = frozenset()


def counts(b: BronResultaat) -> dict[str, int]:
    return {c: n for c, n in b.categorieen.items() if n}


def test_categories_in_precedence_order() -> None:
    assert CATEGORIEEN == (
        "overeenkomend",
        "dubbel_in_bron",
        "boris_vermoeden",
        "alleen_in_register",
        "andere_pilot",
        "buiten_peildatum",
        "aangemeld_niet_gestart",
        "niet_geregistreerd",
        "onverklaard",
    )


def test_overeenkomend() -> None:
    b = classify({A: 30, B: 40}, [(A, "in_traject"), (B, "afgerond")], NONE, NONE, NONE)
    assert counts(b) == {"overeenkomend": 2}
    assert b.personen["overeenkomend"] == tuple(sorted((A, B)))
    assert (b.gemeld, b.register, b.verschil) == (2, 2, 0)


def test_dubbel_in_bron_counts_second_and_later_entries() -> None:
    b = classify(
        {A: 30},
        [(A, "in_traject"), (A, "in_traject"), (A, "gestopt"), (C, "aangemeld"), (C, "aangemeld")],
        NONE,
        NONE,
        NONE,
    )
    assert counts(b) == {"overeenkomend": 1, "dubbel_in_bron": 3, "niet_geregistreerd": 1}
    assert b.personen["dubbel_in_bron"] == tuple(sorted((A, A, C)))
    assert b.gemeld == 5


def test_boris_vermoeden_under_18_at_inschrijving_not_listed() -> None:
    b = classify({A: 16, B: 17, C: 18}, [], NONE, NONE, NONE)
    assert counts(b) == {"boris_vermoeden": 2, "alleen_in_register": 1}
    assert b.personen["boris_vermoeden"] == tuple(sorted((A, B)))


def test_listed_minor_is_overeenkomend_not_boris() -> None:
    b = classify({A: 16}, [(A, "in_traject")], NONE, NONE, NONE)
    assert counts(b) == {"overeenkomend": 1}


def test_alleen_in_register() -> None:
    b = classify({A: 30, B: 40, C: 50}, [(A, "in_traject")], NONE, NONE, NONE)
    assert counts(b) == {"overeenkomend": 1, "alleen_in_register": 2}
    assert b.verschil == -2


def test_andere_pilot_wins_over_later_and_aangemeld() -> None:
    b = classify({}, [(A, "in_traject")], frozenset({A}), frozenset({A}), frozenset({A}))
    assert counts(b) == {"andere_pilot": 1}


def test_buiten_peildatum_wins_over_aangemeld() -> None:
    b = classify({}, [(A, "in_traject"), (B, "aangemeld")], NONE, frozenset({A, B}), frozenset({B}))
    assert counts(b) == {"buiten_peildatum": 2}


def test_aangemeld_niet_gestart() -> None:
    b = classify({}, [(A, "aangemeld"), (B, "in_traject")], NONE, NONE, frozenset({A, B}))
    assert counts(b) == {"aangemeld_niet_gestart": 2}


def test_niet_geregistreerd() -> None:
    b = classify({A: 30}, [(A, "in_traject"), (E, "in_traject"), (F, "gestopt")], NONE, NONE, NONE)
    assert counts(b) == {"overeenkomend": 1, "niet_geregistreerd": 2}
    assert b.in_traject_onbekend == frozenset({E})


def test_first_entry_status_decides_in_traject() -> None:
    b = classify({}, [(E, "aangemeld"), (E, "in_traject"), (F, "in_traject"), (F, "gestopt")], NONE, NONE, NONE)
    assert b.in_traject_onbekend == frozenset({F})


def test_onverklaard_positive_without_list() -> None:
    b = classify({A: 30, B: 16}, None, NONE, NONE, NONE, aantal=5)
    assert counts(b) == {"onverklaard": 3}
    assert (b.gemeld, b.register, b.verschil) == (5, 2, 3)
    assert b.vergelijking == "5 - 2 = (0 + 0 + 0 + 0 + 0 + 3) - (0 + 0)"


def test_onverklaard_negative_without_list() -> None:
    b = r.zonder_lijst("uwv", "uwv", "e1", D, 3, 7)
    assert counts(b) == {"onverklaard": -4}
    assert b.vergelijking == "3 - 7 = (0 + 0 + 0 + 0 + 0 + -4) - (0 + 0)"
    assert r.sluit(b.gemeld, b.register, b.aantallen)


def test_empty_list_is_a_list() -> None:
    b = classify({A: 30}, [], NONE, NONE, NONE, aantal=9)
    assert counts(b) == {"alleen_in_register": 1}
    assert b.gemeld == 0


def test_vergelijking_format() -> None:
    aantallen: dict[r.Categorie, int] = {
        "dubbel_in_bron": 1,
        "buiten_peildatum": 2,
        "aangemeld_niet_gestart": 3,
        "niet_geregistreerd": 1,
        "boris_vermoeden": 2,
        "overeenkomend": 33,
    }
    assert r.vergelijking(40, 37, aantallen) == "40 - 37 = (1 + 0 + 2 + 3 + 1 + 0) - (2 + 0)"


def test_mixed_example_closes_with_all_nine_keys() -> None:
    register = {p(str(i)): (16 if i < 2 else 30) for i in range(37)}
    listed = [(p(str(i)), "in_traject") for i in range(2, 37)]  # 35 matched, the two minors missing
    later, aangemeld = {p("L1"), p("L2")}, {p("M1"), p("M2"), p("M3")}
    listed += [(x, "aangemeld") for x in sorted(later | aangemeld)] + [(p("X"), "in_traject"), (p("2"), "in_traject")]
    b = classify(register, listed, NONE, frozenset(later), frozenset(aangemeld), partner="monitor", bron_type="monitor")
    assert b.api()["categorieen"] == {
        "overeenkomend": 35,
        "dubbel_in_bron": 1,
        "boris_vermoeden": 2,
        "alleen_in_register": 0,
        "andere_pilot": 0,
        "buiten_peildatum": 2,
        "aangemeld_niet_gestart": 3,
        "niet_geregistreerd": 1,
        "onverklaard": 0,
    }
    assert b.vergelijking == "42 - 37 = (1 + 0 + 2 + 3 + 1 + 0) - (2 + 0)"


def bron(bron_type: str, onbekend: set[str], partner: str = "x") -> BronResultaat:
    return BronResultaat(partner, bron_type, "e", D, 0, 0, {}, in_traject_onbekend=frozenset(onbekend))


def test_gereconcilieerd_adds_distinct_mbo_in_traject_unknowns_only() -> None:
    bronnen = (
        bron("mbo", {E, F}, "mbo.a"),
        bron("mbo", {F, G}, "mbo.b"),
        bron("gemeente", {A, B}),
        bron("uwv", {C}),
        bron("monitor", {A}),
    )
    assert r.gereconcilieerd(37, bronnen) == 40
    assert PilotRij("groningen", D, 37, bronnen).gereconcilieerd == 40
    assert r.gereconcilieerd(37, ()) == 37


def test_gereconcilieerd_from_classify_uses_only_in_traject_niet_geregistreerd() -> None:
    mbo = classify(
        {A: 30},
        [(A, "in_traject"), (E, "in_traject"), (F, "aangemeld"), (B, "in_traject")],
        frozenset({B}),
        NONE,
        NONE,
        bron_type="mbo",
    )
    gemeente = classify({A: 30}, [(G, "in_traject")], NONE, NONE, NONE, bron_type="gemeente")
    assert r.gereconcilieerd(1, (mbo, gemeente)) == 2


def test_api_row_shape() -> None:
    b = classify(
        {A: 30},
        [(A, "in_traject"), (E, "in_traject")],
        NONE,
        NONE,
        NONE,
        partner="mbo.albeda",
        bron_type="mbo",
        event_id="e1",
        peildatum=dt.date(2020, 11, 28),
    )
    row = PilotRij("groningen", D, 1, (b,)).api()
    assert row == {
        "pilot": "groningen",
        "register": 1,
        "gereconcilieerd": 2,
        "bronnen": [
            {
                "partner": "mbo.albeda",
                "bron_type": "mbo",
                "telling_peildatum": "2020-11-28",
                "gemeld": 2,
                "verschil": 1,
                "categorieen": {c: {"overeenkomend": 1, "niet_geregistreerd": 1}.get(c, 0) for c in CATEGORIEEN},
                "vergelijking": "2 - 1 = (0 + 0 + 0 + 0 + 1 + 0) - (0 + 0)",
            }
        ],
    }


def test_window() -> None:
    assert r.telt_mee(D + dt.timedelta(days=31), D) and r.telt_mee(D - dt.timedelta(days=31), D)
    assert not r.telt_mee(D + dt.timedelta(days=32), D)
    assert r.telt_mee(D + dt.timedelta(days=5), D, venster_dagen=5)


def test_event_record() -> None:
    b = classify(
        {A: 30},
        [(A, "in_traject")],
        NONE,
        NONE,
        NONE,
        partner="monitor",
        bron_type="monitor",
        event_id="0f0e0d0c-0000-4000-8000-000000000001",
        peildatum=D,
    )
    at = dt.datetime(2020, 12, 1, 9, tzinfo=dt.UTC)
    ev = r.event(PilotRij("groningen", D, 1, (b,)), occurred_at=at, event_id="0f0e0d0c-0000-4000-8000-000000000002")
    assert ev["partner"] == "registry" and ev["pilot"] == "groningen" and ev["peildatum"] == D
    assert ev["register"] == 1 and ev["gereconcilieerd"] == 1 and ev["recorded_at"] == at
    expected: dict[str, object] = {
        "partner": "monitor",
        "bron_type": "monitor",
        "telling_peildatum": D,
        "telling_event_id": "0f0e0d0c-0000-4000-8000-000000000001",
        "gemeld": 1,
    }
    expected.update({c: int(c == "overeenkomend") for c in CATEGORIEEN})
    assert ev["bronnen"] == [expected]


# --- property: the equation closes and every person is in exactly one category --------------------------------

PEOPLE = [p(f"{i:02d}") for i in range(30)]


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[dict[str, int], list[tuple[str, str]] | None, frozenset[str], frozenset[str], frozenset[str], int]:
    people = st.sampled_from(PEOPLE)
    register = draw(st.dictionaries(people, st.integers(16, 70), max_size=15))
    others = [x for x in PEOPLE if x not in register]
    subset = st.frozensets(st.sampled_from(others)) if others else st.just(frozenset[str]())
    entries = draw(
        st.none()
        | st.lists(st.tuples(people, st.sampled_from(["aangemeld", "in_traject", "afgerond", "gestopt"])), max_size=40)
    )
    return register, entries, draw(subset), draw(subset), draw(subset), draw(st.integers(0, 60))


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_equation_closes_for_random_scenarios(
    s: tuple[dict[str, int], list[tuple[str, str]] | None, frozenset[str], frozenset[str], frozenset[str], int],
) -> None:
    register, entries, andere, later, aangemeld, aantal = s
    b = classify(register, entries, andere, later, aangemeld, aantal=aantal)
    assert r.sluit(b.gemeld, b.register, b.aantallen)
    assert b.gemeld == (aantal if entries is None else len(entries))
    assert b.register == len(register)
    if entries is not None:
        # every entry and every registered person in exactly one category
        assert sum(b.aantallen.values()) == len(entries) + len(register) - b.aantallen["overeenkomend"]
        listed = {d for d, _ in entries}
        assert set(b.personen["overeenkomend"]) == listed & set(register)
        assert set(b.personen["boris_vermoeden"]) | set(b.personen["alleen_in_register"]) == set(register) - listed
        assert all(len(v) == b.aantallen[c] for c, v in b.personen.items())
        assert b.aantallen["onverklaard"] == 0
