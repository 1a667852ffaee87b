"""Projections are pure: events in, row changes out. No servers needed here."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.records import changes_for, decode_message
from projections import feiten, queries, referentie, tijdlijn
from projections.catalogus import ALL, select
from projections.model import Change, Message, business_date
from projections.queries import common, historie, maandcijfers, overzichten
from registry.domein import events
from registry.infra import codec
from tests.support import builders

D = "d" * 64
T = "00000000-0000-4000-8000-000000000001"
V = "11111111-0000-4000-8000-000000000001"


def msg(event: builders.Event, offset: int = 0) -> Message:
    event_type, record = codec.decode(codec.encode(*event))  # exactly what the runner sees
    return Message("events", 0, offset, event_type, record)


def rows(changes: list[Change], table: str) -> list[dict[str, Any]]:
    return [dict(c.params) for c in changes if c.sql.startswith(f"INSERT INTO {{s}}.{table} ")]


@pytest.fixture()
def b() -> builders.Bouwer:
    return builders.Bouwer("unit")


def test_inschrijving_becomes_one_dated_row_without_personal_data(b: builders.Bouwer) -> None:
    changes = feiten.apply(
        msg(
            b.inschrijving(
                D,
                T,
                "rijnmond",
                "mbo.albeda",
                "25251",
                dt.date(2020, 3, 1),
                leerbedrijf_id="100000001",
                geslacht="man",
                leeftijd=17,
                gemeente="GM0599",
                on=dt.date(2020, 3, 4),
            )
        )
    )
    [row] = rows(changes, "inschrijvingen")
    # and the deelnemer's record key, drawn by PostgreSQL only when they have none (kept over replays)
    assert changes[0] == feiten.record_sleutel(D) and len(changes) == 2
    assert "random()" in changes[0].sql and "ON CONFLICT (deelnemer) DO NOTHING" in changes[0].sql
    assert (row["deelnemer"], row["traject_id"], row["pilot"], row["mbo_instelling"], row["crebo"]) == (
        D,
        T,
        "rijnmond",
        "mbo.albeda",
        "25251",
    )
    assert (row["startdatum"], row["occurred_on"], row["leerbedrijf_id"]) == (
        dt.date(2020, 3, 1),
        dt.date(2020, 3, 4),
        "100000001",
    )
    assert (row["geslacht"], row["leeftijd"], row["gemeente"]) == ("man", 17, "GM0599")
    assert "persoonsgegevens" not in row
    assert not any(isinstance(v, (bytes, bytearray)) for v in row.values())


def test_business_date_is_the_dutch_day() -> None:
    late = dt.datetime(2020, 6, 30, 22, 30, tzinfo=dt.UTC)  # 00:30 on 1 July in Amsterdam
    assert business_date(late) == dt.date(2020, 7, 1)
    assert business_date(dt.datetime(2020, 12, 31, 22, 59, tzinfo=dt.UTC)) == dt.date(2020, 12, 31)
    assert business_date(None) is None


def test_verklaring_rows_carry_key_material(b: builders.Bouwer) -> None:
    changes = feiten.apply(
        msg(
            b.verklaring(
                D,
                T,
                V,
                [("99001", "W1"), ("25251", "W3"), ("25251", "W3")],
                dt.date(2020, 11, 1),
                volgnummer=2,
                brancheorganisaties=["SBB", "ActiZ"],
            )
        )
    )
    [v] = rows(changes, "verklaringen")
    assert v["crebos"] == ["25251", "99001"] and v["aantal_werkprocessen"] == 2
    assert v["volgnummer"] == 2 and v["brancheorganisaties"] == ["ActiZ", "SBB"]
    assert v["issued_on"] == dt.date(2020, 11, 1)
    assert sorted((r["crebo"], r["werkproces"]) for r in rows(changes, "verklaring_werkprocessen")) == [
        ("25251", "W3"),
        ("99001", "W1"),
    ]


def test_revocation_and_retraction_are_guarded_updates(b: builders.Bouwer) -> None:
    [revoke] = feiten.apply(msg(b.verklaring_ingetrokken(D, V, dt.date(2020, 10, 1))))
    assert revoke.sql.startswith("UPDATE {s}.verklaringen") and "revoked_at IS NULL OR revoked_at >" in revoke.sql
    assert revoke.params["verklaring_id"] == V and revoke.params["revoked_on"] == dt.date(2020, 10, 1)
    [retract] = feiten.apply(msg(b.aftekening_ingetrokken(D, T, "25251", "W1", dt.date(2020, 6, 20))))
    assert "retracted_at IS NULL AND occurred_at <= :retracted_at" in retract.sql
    assert (retract.params["crebo"], retract.params["werkproces"]) == ("25251", "W1")


def test_every_person_event_is_projected_into_facts_and_timeline(b: builders.Bouwer) -> None:
    log = [
        b.aanmelding(D, "rijnmond", dt.date(2020, 1, 1)),
        b.advies(D, "mbo.albeda", dt.date(2020, 1, 2)),
        b.inschrijving(D, T, "rijnmond", "mbo.albeda", "25251", dt.date(2020, 2, 1)),
        b.leerbedrijf(D, T, "100000001", dt.date(2020, 2, 2)),
        b.afspraken(D, T, [("25251", "W1")], dt.date(2020, 2, 3)),
        b.aftekening(D, T, "25251", "W1", dt.date(2020, 3, 1)),
        b.aftekening_ingetrokken(D, T, "25251", "W1", dt.date(2020, 3, 2)),
        b.verklaring(D, T, V, [("25251", "W1")], dt.date(2020, 4, 1), volgnummer=1),
        b.verklaring_ingetrokken(D, V, dt.date(2020, 5, 1)),
        b.beeindigd(D, T, "afgerond", dt.date(2020, 6, 1)),
        b.uitstroom(D, "betaald_werk", dt.date(2020, 6, 2)),
        b.verwijderd(D, dt.date(2020, 7, 1)),
        b.telling("rijnmond", dt.date(2020, 7, 1), 1, [D, D]),
    ]
    assert {t for t, _ in log} == set(events.PERSON_EVENTS) | {events.TELLING}
    for i, ev in enumerate(log):
        assert feiten.apply(msg(ev, i)), ev[0]
        [entry] = rows(tijdlijn.apply(msg(ev, i)), "event_log")
        assert entry["event_type"] == ev[0] and entry["log_offset"] == i
        assert "persoonsgegevens" not in entry["gegevens"] and "SECRET" not in entry["gegevens"]
        assert referentie.apply(msg(ev, i)) == []
    telling = feiten.apply(msg(log[-1]))
    assert len(rows(telling, "telling_deelnemers")) == 1  # the same deelnemer twice is one row
    assert [c for c in telling if c.sql == feiten.record_sleutel(D).sql] == [feiten.record_sleutel(D)]  # and one key


def test_reference_events_are_last_writer_wins(b: builders.Bouwer) -> None:
    changes = referentie.apply(msg(b.dossier("99001", "Test", 3, "Testdomein", [("W1", "een"), ("W2", "twee")])))
    [dossier] = rows(changes, "dossiers")
    assert (dossier["crebo"], dossier["niveau"], dossier["domein"]) == ("99001", 3, "Testdomein")
    assert [r["werkproces"] for r in rows(changes, "dossier_werkprocessen")] == ["W1", "W2"]
    assert all("WHERE EXCLUDED.occurred_at >= {s}." in c.sql for c in changes)
    [lb] = rows(referentie.apply(msg(b.leerbedrijf_erkend("100000001", "De Linde", ["2", "1", "2"]))), "leerbedrijven")
    assert lb["crebos"] == ["1", "2"]
    assert rows(referentie.apply(msg(b.erkenning("mbo.albeda", "25251"))), "erkenningen")[0]["crebo"] == "25251"
    assert feiten.apply(msg(b.erkenning("mbo.albeda", "25251"))) == []


def test_rejection_becomes_marked_timeline_row() -> None:
    raw = json.dumps(
        {
            "event_id": "x",
            "event_type": "WerkprocesAfgetekend",
            "partner": "leerbedrijf.1",
            "deelnemer": D,
            "traject_id": None,
            "reden": "onbekend",
            "melding": "m",
            "recorded_at": "2020-06-12T10:00:00Z",
            "bron": {"topic": "t", "partition": 1, "offset": 2},
        }
    )
    m = decode_message("rejections", 3, 9, raw.encode())
    assert m is not None and m.event_type == "Afwijzing"
    [row] = rows(tijdlijn.apply(m), "afwijzingen")
    assert (row["log_partition"], row["log_offset"], row["deelnemer"], row["reden"]) == (3, 9, D, "onbekend")
    assert row["recorded_at"] == dt.datetime(2020, 6, 12, 10, tzinfo=dt.UTC)
    assert feiten.apply(m) == []


def test_undecodable_values_are_skipped_not_fatal() -> None:
    assert decode_message("events", 0, 0, b"not avro") is None
    assert decode_message("rejections", 0, 0, b"\xff\xfe") is None
    assert decode_message("rejections", 0, 0, b"[1, 2]") is None
    assert decode_message("events", 0, 0, None) is None


def test_batch_puts_inserts_before_guarded_updates(b: builders.Bouwer) -> None:
    log = [
        b.verklaring(D, T, V, [("25251", "W1")], dt.date(2020, 4, 1), volgnummer=1),
        b.verklaring_ingetrokken(D, V, dt.date(2020, 5, 1)),
        b.aftekening(D, T, "25251", "W2", dt.date(2020, 3, 1)),
    ]
    changes = changes_for(ALL["feiten"], [msg(e, i) for i, e in enumerate(log)])
    kinds = [c.sql.split()[0] for c in changes]
    # the verklaring, its werkproces and its signing date, the sign-off; then the revocation
    assert kinds == ["INSERT", "INSERT", "INSERT", "INSERT", "UPDATE"]
    assert changes[-1].params["verklaring_id"] == V


def test_projection_registry() -> None:
    assert [p.name for p in select("all")] == ["referentie", "feiten", "tijdlijn"]
    assert len({p.consumer_group for p in ALL.values()}) == 3
    with pytest.raises(ValueError, match="unknown projection"):
        select("bestaat-niet")


@pytest.mark.parametrize(
    "leeftijd,groep",
    [
        (15, "17 jaar en jonger"),
        (17, "17 jaar en jonger"),
        (18, "18-22 jaar"),
        (22, "18-22 jaar"),
        (23, "23-27 jaar"),
        (27, "23-27 jaar"),
        (28, "28-54 jaar"),
        (54, "28-54 jaar"),
        (55, "55 jaar en ouder"),
    ],
)
def test_leeftijdsgroep(leeftijd: int, groep: str) -> None:
    assert queries.leeftijdsgroep(leeftijd) == groep


def test_keys_and_months() -> None:
    assert queries.kwalificatie_key(["25251"]) == "25251"
    assert queries.kwalificatie_key(["99001", "25251", "25251"]) == "25251,99001"
    months = maandcijfers._months(dt.date(2020, 11, 15), dt.date(2021, 2, 1))
    assert [m for m, _, _ in months] == ["2020-11", "2020-12", "2021-01", "2021-02"]
    assert months[1][1:] == (dt.date(2020, 12, 1), dt.date(2020, 12, 31))
    assert months[3][2] == dt.date(2021, 2, 28)
    assert maandcijfers._months(dt.date(2021, 1, 1), dt.date(2020, 1, 1)) == []
    assert common.allowed_pilots(None, "Rijnmond") == ["rijnmond"]
    assert common.allowed_pilots("twente", "Rijnmond") == []
    assert common.allowed_pilots(None, None) is None
    split = overzichten._volgnummer_split([("a", 1), ("a", 2), ("a", 4), ("b", 3)])
    assert split["a"] == {"eerste": 1, "tweede": 1, "derde": 0, "totaal": 3}
    assert split["b"] == {"eerste": 0, "tweede": 0, "derde": 1, "totaal": 1}


def test_overzichten_catalogue() -> None:
    assert list(queries.OVERZICHTEN) == [
        "deelnemers-per-pilot",
        "geslacht-per-pilot",
        "leeftijdsgroepen",
        "werkprocessen-per-verklaring",
        "domeinen",
        "leerbedrijven-per-pilot",
        "verklaringen-per-pilot",
        "niveaus",
        "instellingen",
        "brancheorganisaties",
        "kwalificaties",
    ]
    assert all("total" in d for d in queries.OVERZICHTEN.values())


def test_merge_places_rejections_by_recorded_at() -> None:
    t = lambda h: dt.datetime(2020, 1, 1, h, tzinfo=dt.UTC)  # noqa: E731
    evs = [{"n": 1, "recorded_at": t(1)}, {"n": 2, "recorded_at": t(3)}, {"n": 3, "recorded_at": None}]
    rej = [{"n": "late", "recorded_at": t(5)}, {"n": "r", "recorded_at": t(2)}]
    assert [e["n"] for e in historie._merge(evs, rej)] == [1, "r", 2, 3, "late"]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=10_000))
def test_scenario_events_fit_the_schemas_and_never_leak_bytes(seed: int) -> None:
    for event in builders.scenario(3, seed=seed):
        m = msg(event)
        for p in ALL.values():
            for c in p.apply(m):
                assert not any(isinstance(v, (bytes, bytearray)) for v in c.params.values())
                assert "{s}." in c.sql


def test_every_reconciliation_run_is_a_row_of_its_own() -> None:
    """Each ReconciliatieUitgevoerd is one ``reconciliaties`` row keyed on its event id (two runs for the
    same pilot and peildatum are both kept: the history; the latest is chosen when read)."""
    from registry.domein.reconciliatie import EVENT_TYPE, BronResultaat, PilotRij, event

    peildatum = dt.date(2020, 11, 30)
    bron = BronResultaat(
        "monitor",
        "monitor",
        "00000000-0000-4000-8000-0000000000aa",
        peildatum,
        3,
        2,
        {"overeenkomend": 1, "dubbel_in_bron": 1, "niet_geregistreerd": 1, "alleen_in_register": 1},
    )
    eerste = dt.datetime(2020, 12, 1, 9, tzinfo=dt.UTC)
    runs = [
        event(PilotRij("groningen", peildatum, 2, (bron,)), occurred_at=eerste),
        event(PilotRij("groningen", peildatum, 3, ()), occurred_at=eerste + dt.timedelta(hours=1)),
        event(PilotRij("drenthe", peildatum, 1, ()), occurred_at=eerste),
    ]
    changes = [c for r in runs for c in feiten.apply(msg((EVENT_TYPE, r)))]
    got = rows(changes, "reconciliaties")
    assert [
        (r["event_id"], r["pilot"], r["peildatum"], r["register"], r["gereconcilieerd"], r["occurred_at"]) for r in got
    ] == [(r["event_id"], r["pilot"], peildatum, r["register"], r["gereconcilieerd"], r["occurred_at"]) for r in runs]
    assert {c.key for c in changes} == {("event_id",)} and len({r["event_id"] for r in got}) == 3
    [b0] = json.loads(got[0]["bronnen"])
    assert (b0["partner"], b0["telling_event_id"], b0["telling_peildatum"], b0["gemeld"]) == (
        "monitor",
        bron.telling_event_id,
        "2020-11-30",
        3,
    )
    assert {
        k: b0[k] for k in ("overeenkomend", "dubbel_in_bron", "niet_geregistreerd", "alleen_in_register", "onverklaard")
    } == {"overeenkomend": 1, "dubbel_in_bron": 1, "niet_geregistreerd": 1, "alleen_in_register": 1, "onverklaard": 0}
    assert json.loads(got[1]["bronnen"]) == [] and got[1]["occurred_on"] == dt.date(2020, 12, 1)
