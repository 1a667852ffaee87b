"""Park / release rules as pure functions: (state, parked set, event) -> accept, refuse or park on keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from registry.domein.parkeren import Geparkeerd, Parkeerplaats, beslis, duur, opgelost, vervult, vouw_alles
from registry.domein.staat import Staat, pas_toe
from tests.support.builders import (
    LB,
    MBO,
    T1,
    V1,
    P,
    aanmeldingen,
    afteken,
    ev,
    inschrijving,
    referentie_events,
    verklaring,
)

NOW = dt.datetime(2021, 1, 13, 12, tzinfo=dt.UTC)


def staat(*events: tuple[str, dict[str, Any]]) -> Staat:
    """P aangemeld for rijnmond, then ``events``."""
    s = Staat()
    for t, r in [*aanmeldingen(P), *events]:
        pas_toe(s, t, r)
    return s


def ref(*types: str) -> list[tuple[str, dict[str, Any]]]:
    return [(t, r) for t, r in referentie_events() if not types or t in types]


def park(
    plaats: Parkeerplaats, event_type: str, r: dict[str, Any], keys: tuple[str, ...], reden: str, at: dt.datetime = NOW
) -> Geparkeerd:
    g = Geparkeerd(
        r["event_id"], event_type, r["partner"], r.get("deelnemer"), plaats.volgende, keys, reden, "m", at, record=r
    )
    plaats.zet(g)
    return g


def test_missing_reference_data_parks_on_its_key() -> None:
    u = beslis(staat(), Parkeerplaats(), "DeelnemerIngeschreven", inschrijving(), MBO, NOW)
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "geen_erkenning", ("erkenning:mbo.albeda/25250",))
    u = beslis(
        staat(*ref("ErkenningDerdeLeerwegVerleend")), Parkeerplaats(), "DeelnemerIngeschreven", inschrijving(), MBO, NOW
    )
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "onbekend_dossier", ("dossier:25250",))
    u = beslis(
        staat(*ref("ErkenningDerdeLeerwegVerleend", "KwalificatiedossierVastgesteld")),
        Parkeerplaats(),
        "DeelnemerIngeschreven",
        inschrijving(),
        MBO,
        NOW,
    )
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "leerbedrijf_niet_erkend", (f"leerbedrijf:{LB}",))
    u = beslis(staat(*ref()), Parkeerplaats(), "DeelnemerIngeschreven", inschrijving(), MBO, NOW)
    assert u.soort == "accepteer"


def test_missing_traject_verklaring_deelnemer_and_sign_off_park() -> None:
    s = staat(*ref())
    u = beslis(s, Parkeerplaats(), "WerkprocesAfgetekend", afteken("B1-K1-W1"), MBO, NOW)
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "onbekend_traject", (f"traject:{T1}",))
    u = beslis(
        s,
        Parkeerplaats(),
        "PraktijkverklaringIngetrokken",
        ev(MBO, deelnemer=P, verklaring_id=V1, reden="administratieve_fout"),
        MBO,
        NOW,
    )
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "onbekende_verklaring", (f"verklaring:{V1}",))
    u = beslis(s, Parkeerplaats(), "UitstroomGeregistreerd", ev(MBO, deelnemer=P, uitstroom="betaald_werk"), MBO, NOW)
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "onbekende_deelnemer", (f"deelnemer:{P}",))
    pas_toe(s, "DeelnemerIngeschreven", inschrijving())
    pas_toe(s, "WerkprocesAfgetekend", afteken("B1-K1-W1"))
    u = beslis(s, Parkeerplaats(), "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1", "B1-K1-W2"]), MBO, NOW)
    assert (u.soort, u.besluit.reden, u.wacht_op) == (
        "parkeer",
        "niet_afgetekend",
        (f"afgetekend:{T1}/25250/B1-K1-W2",),
    )


def test_a_leerbedrijf_signing_off_before_the_instelling_names_it_waits() -> None:
    s = staat(*ref(), ("DeelnemerIngeschreven", inschrijving(leerbedrijf_id=None)))
    u = beslis(
        s,
        Parkeerplaats(),
        "WerkprocesAfgetekend",
        afteken("B1-K1-W1", partner=f"leerbedrijf.{LB}"),
        f"leerbedrijf.{LB}",
        NOW,
    )
    # told what a leerbedrijf is told about a traject the registry does not know: no oracle
    assert (u.soort, u.besluit.reden, u.wacht_op) == (
        "parkeer",
        "onbekend_traject",
        (f"traject:{T1}", f"leerbedrijf_van:{T1}/{LB}"),
    )
    vastgelegd = ev(MBO, deelnemer=P, traject_id=T1, leerbedrijf_id=LB)
    assert f"leerbedrijf_van:{T1}/{LB}" in vervult("LeerbedrijfVastgelegd", vastgelegd)


def test_a_refusal_that_no_event_can_cure_is_not_parked() -> None:
    s = staat(*ref(), ("DeelnemerIngeschreven", inschrijving()))
    u = beslis(s, Parkeerplaats(), "WerkprocesAfgetekend", afteken("B1-K1-W9"), MBO, NOW)
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("weiger", "onbekend_werkproces", ())
    u = beslis(
        s,
        Parkeerplaats(),
        "DeelnemerIngeschreven",
        inschrijving(traject_id=str(uuid.uuid4()), leeftijd=15, deelnemer="c" * 64),
        MBO,
        NOW,
    )
    assert u.soort == "weiger" and u.besluit.reden == "te_jong"
    # another instelling, no relation with P: judged as if the traject were unknown (parks, refused on time-out)
    u = beslis(
        s, Parkeerplaats(), "WerkprocesAfgetekend", afteken("B1-K1-W1", partner="mbo.roc-top"), "mbo.roc-top", NOW
    )
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "onbekend_traject", (f"traject:{T1}",))


def test_a_later_event_of_the_same_partner_and_deelnemer_parks_behind_an_earlier_parked_one() -> None:
    plaats = Parkeerplaats()
    s = staat(*ref())
    first = park(plaats, "DeelnemerIngeschreven", inschrijving(), (f"erkenning:{MBO}/25250",), "geen_erkenning")
    # would be accepted on its own state? no: but even an acceptable event must wait behind it
    u = beslis(
        s,
        plaats,
        "AdviesUitgebracht",
        ev(
            MBO,
            deelnemer=P,
            mbo_instelling=MBO,
            advies="praktijkverklaring",
            duo_check="geen_inschrijving_geen_startkwalificatie",
            startkwalificatie_verouderd=False,
        ),
        MBO,
        NOW,
    )
    assert (u.soort, u.wacht_op, u.besluit.reden) == ("parkeer", (f"na:{first.event_id}",), "geen_erkenning")
    # another partner's event for the same deelnemer, or the same partner for another deelnemer: not held back
    u = beslis(
        s,
        plaats,
        "KandidaatAangemeld",
        ev(
            "gemeente.gm0599",
            deelnemer=P,
            pilot="rijnmond",
            verwijzer_type="gemeente",
            gemeente=None,
            doelgroep="x",
            boris=False,
        ),
        "gemeente.gm0599",
        NOW,
    )
    assert u.soort != "parkeer"
    # the parked event itself, judged again, is not held back by itself
    u = beslis(s, plaats, "DeelnemerIngeschreven", first.record or {}, MBO, NOW, volgorde=first.volgorde)
    assert u.soort == "accepteer"


def test_accepted_events_satisfy_keys() -> None:
    d, lb, erk = (r for _, r in referentie_events())
    assert "dossier:25250" in vervult("KwalificatiedossierVastgesteld", d)
    assert f"leerbedrijf:{LB}" in vervult("LeerbedrijfErkend", lb)
    assert f"erkenning:{MBO}/25250" in vervult("ErkenningDerdeLeerwegVerleend", erk)
    assert {f"traject:{T1}", f"deelnemer:{P}", f"leerbedrijf_van:{T1}/{LB}"} <= vervult(
        "DeelnemerIngeschreven", inschrijving()
    )
    assert f"afgetekend:{T1}/25250/B1-K1-W2" in vervult("WerkprocesAfgetekend", afteken("B1-K1-W2"))
    assert f"verklaring:{V1}" in vervult("PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"]))


def test_the_parked_set_is_a_fold_of_parked_and_resolved_records() -> None:
    plaats = Parkeerplaats()
    a = park(plaats, "DeelnemerIngeschreven", inschrijving(), (f"erkenning:{MBO}/25250",), "geen_erkenning")
    b = park(plaats, "WerkprocesAfgetekend", afteken("B1-K1-W1"), (f"na:{a.event_id}",), "geen_erkenning")
    records = [a.to_json(), b.to_json()]
    folded = vouw_alles(records)
    assert set(folded.entries) == {a.event_id, b.event_id} and folded.volgende == 2
    assert [g.event_id for g in folded.wachtend_op(f"erkenning:{MBO}/25250")] == [a.event_id]
    assert folded.eerder_in_stroom(MBO, P) == folded.entries[b.event_id]
    assert folded.eerder_in_stroom(MBO, P, volgorde=b.volgorde) == folded.entries[a.event_id]
    assert folded.tellingen() == {(MBO, "geen_erkenning"): 2}
    # re-parked with other keys (latest wins), then resolved
    records.append({**a.to_json(), "wacht_op": ["dossier:25250"], "reden": "onbekend_dossier"})
    records.append(opgelost(a, "geaccepteerd", None, NOW))
    folded = vouw_alles(records)
    assert set(folded.entries) == {b.event_id} and folded.geparkeerd_ooit == 2
    assert folded.opgelost_ooit == {"geaccepteerd": 1}
    assert folded.wachtend_op("dossier:25250") == [] and folded.eerder_in_stroom(MBO, P, volgorde=b.volgorde) is None
    # the bytes survive the round trip
    assert Geparkeerd.from_json({**a.to_json(), "waarde_base64": "AAE="}).waarde == b"\x00\x01"


def test_time_out_counts_from_first_parking_and_skips_events_only_waiting_in_line() -> None:
    plaats = Parkeerplaats()
    old = park(
        plaats,
        "DeelnemerIngeschreven",
        inschrijving(),
        ("dossier:25250",),
        "onbekend_dossier",
        NOW - dt.timedelta(days=8),
    )
    park(
        plaats,
        "WerkprocesAfgetekend",
        afteken("B1-K1-W1"),
        (f"na:{old.event_id}",),
        "onbekend_dossier",
        NOW - dt.timedelta(days=8),
    )
    park(
        plaats,
        "DeelnemerIngeschreven",
        inschrijving(deelnemer="c" * 64, traject_id=str(uuid.uuid4())),
        ("dossier:25250",),
        "onbekend_dossier",
        NOW - dt.timedelta(days=6),
    )
    assert [g.event_id for g in plaats.verlopen(NOW, dt.timedelta(days=7))] == [old.event_id]
    assert plaats.verlopen(NOW, dt.timedelta(days=9)) == []


@pytest.mark.parametrize(
    "text,seconds", [("7d", 604800), ("12h", 43200), ("30m", 1800), ("45s", 45), ("90", 90), (" 2D ", 172800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert duur(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "7 days", "-1", "0", "1w", "d"])
def test_bad_durations_are_refused_with_the_cause(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        duur(text)


def test_a_new_arrival_made_the_quick_way_is_what_the_constructor_makes() -> None:
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    velden = ("e1", "WerkprocesAfgetekend", "mbo.x", "d" * 64, 7)
    rest = (b"waarde", b"sleutel", {"topic": "t", "partition": 1, "offset": 2}, {"event_id": "e1"})
    snel = Geparkeerd.aangekomen(*velden, now, *rest)
    gewoon = Geparkeerd(*velden, (), "", "", now, *rest)
    assert vars(snel) == vars(gewoon) and snel == gewoon  # every field, the record too
    with pytest.raises(dataclasses.FrozenInstanceError):
        snel.reden = "x"  # type: ignore[misc]
