"""Every rule of the validator: an accepting and a refusing case (pure: state + event in, decision out)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from registry.demo import bouwer
from registry.domein.regels import Besluit, beoordeel
from registry.domein.staat import Staat, entity_json, load_entity, pas_toe
from tests.support.builders import (
    ANDER,
    LB,
    MBO,
    T1,
    V1,
    P,
    Q,
    aanmelding,
    aanmeldingen,
    afteken,
    ev,
    inschrijving,
    referentie_events,
    verklaring,
)

NOW = dt.datetime(2021, 1, 13, 12, tzinfo=dt.UTC)


def referentie() -> Staat:
    """The reference data, and P and Q aangemeld for pilot rijnmond (what an inschrijving there needs)."""
    s = Staat()
    for event_type, record in [*referentie_events(), *aanmeldingen(P, Q)]:
        pas_toe(s, event_type, record)
    return s


def ingeschreven(*signed: str) -> Staat:
    s = referentie()
    pas_toe(
        s,
        "AdviesUitgebracht",
        ev(
            MBO,
            deelnemer=P,
            mbo_instelling=MBO,
            advies="praktijkverklaring",
            duo_check="geen_inschrijving_geen_startkwalificatie",
            startkwalificatie_verouderd=False,
        ),
    )
    pas_toe(s, "DeelnemerIngeschreven", inschrijving())
    for wp in signed:
        pas_toe(s, "WerkprocesAfgetekend", afteken(wp))
    return s


def judge(s: Staat, event_type: str, r: dict[str, Any], partner: str | None = None) -> Besluit:
    return beoordeel(s, event_type, r, partner or r["partner"], NOW)


def refused(b: Besluit, reden: str) -> None:
    assert b.reden == reden, (b.reden, b.melding)
    assert b.melding


# ---- general -------------------------------------------------------------------------------------
def test_partner_must_match_ingress_topic() -> None:
    assert judge(referentie(), "KandidaatAangemeld", aanmelding()).geaccepteerd
    refused(judge(referentie(), "KandidaatAangemeld", aanmelding(), partner="gemeente.gm0363"), "partner_onjuist")


@pytest.mark.parametrize(
    "when, reden",
    [
        (NOW + dt.timedelta(hours=23), None),
        (NOW + dt.timedelta(days=1), None),
        (NOW + dt.timedelta(days=1, milliseconds=1), "toekomst"),
        (NOW + dt.timedelta(days=2), "toekomst"),
        (dt.datetime(2015, 1, 1, tzinfo=dt.UTC), None),
        (dt.datetime(2014, 12, 31, tzinfo=dt.UTC), "te_oud"),
    ],
)
def test_occurred_at_window(when: dt.datetime, reden: str | None) -> None:
    assert judge(referentie(), "KandidaatAangemeld", aanmelding() | {"occurred_at": when}).reden == reden


@pytest.mark.parametrize(
    "field, value, reden",
    [
        ("startdatum", dt.date(2099, 1, 1), "datum_toekomst"),
        ("startdatum", dt.date(2022, 1, 13), None),  # within a year ahead: an enrolment may precede the start
        ("startdatum", dt.date(2022, 1, 15), "datum_toekomst"),
        ("startdatum", dt.date(1989, 12, 31), "datum_te_oud"),
        ("startdatum", dt.date(1990, 1, 1), "geen_erkenning"),  # the date passes; the erkenning rule then refuses
        ("vanaf", dt.date(2099, 1, 1), "datum_toekomst"),
        ("vanaf", dt.date(1900, 1, 1), "datum_te_oud"),
        ("peildatum", dt.date(2099, 1, 1), "datum_toekomst"),
        ("peildatum", dt.date(1970, 1, 1), "datum_te_oud"),
        ("peildatum", dt.date(2021, 1, 13), None),
    ],
)
def test_business_dates_window(field: str, value: dt.date, reden: str | None) -> None:
    s = referentie()
    if field == "startdatum":
        pas_toe(
            s,
            "AdviesUitgebracht",
            ev(
                MBO,
                deelnemer=P,
                mbo_instelling=MBO,
                advies="praktijkverklaring",
                duo_check="geen_inschrijving_geen_startkwalificatie",
                startkwalificatie_verouderd=False,
            ),
        )
        event_type, r = "DeelnemerIngeschreven", inschrijving() | {field: value}
    elif field == "vanaf":
        event_type, r = next((t, dict(r)) for t, r in referentie_events() if t == "ErkenningDerdeLeerwegVerleend")
        r = r | {field: value, "event_id": str(uuid.uuid4()), "crebo": "25251"}
    else:
        event_type, r = "TellingGemeld", ev("gemeente.gm0599", **bouwer.telling("gemeente", "rijnmond", value, 3))
    b = judge(s, event_type, r)
    assert b.reden == reden, (b.reden, b.melding)
    if reden and reden.startswith("datum_"):
        assert field in b.melding and value.isoformat() in b.melding


@pytest.mark.parametrize(
    "over, reden",
    [
        ({"deelnemer": "111222333"}, "ongeldige_identificatie"),
        ({"pilot": "atlantis"}, "onbekende_pilot"),
        ({"gemeente": "0599"}, "ongeldige_identificatie"),
    ],
)
def test_identifiers_well_formed(over: dict[str, Any], reden: str) -> None:
    refused(judge(referentie(), "KandidaatAangemeld", aanmelding() | over), reden)


# ---- authorisation matrix ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "partner, ok",
    [
        ("gemeente.gm0599", True),
        ("uwv", True),
        ("dji", True),
        ("rmc.rijnmond", True),
        ("werkgever.x", True),
        ("sw.x", True),
        ("reintegratie.x", True),
        ("mbo.albeda", True),
        ("sbb", False),
        ("duo", False),
        ("leerbedrijf.123456789", False),
        ("monitor", False),
    ],
)
def test_who_may_aanmelden(partner: str, ok: bool) -> None:
    b = judge(referentie(), "KandidaatAangemeld", aanmelding(partner))
    assert b.geaccepteerd is ok and (ok or b.reden == "niet_bevoegd")


def test_reference_data_only_by_sbb_and_duo() -> None:
    dossier = ev("sbb", crebo="25251", naam="n", niveau=1, domein="d", kerntaken=[])
    assert judge(Staat(), "KwalificatiedossierVastgesteld", dossier).geaccepteerd
    refused(judge(Staat(), "KwalificatiedossierVastgesteld", dossier | {"partner": "duo"}), "niet_bevoegd")
    refused(judge(Staat(), "KwalificatiedossierVastgesteld", dossier | {"niveau": 5}), "ongeldig_niveau")
    erkend = ev("sbb", leerbedrijf_id=LB, naam="n", crebos=[])
    assert judge(Staat(), "LeerbedrijfErkend", erkend).geaccepteerd
    refused(judge(Staat(), "LeerbedrijfErkend", erkend | {"partner": MBO}), "niet_bevoegd")
    erkenning = ev("duo", mbo_instelling=MBO, crebo="25250", vanaf=dt.date(2019, 1, 1))
    assert judge(Staat(), "ErkenningDerdeLeerwegVerleend", erkenning).geaccepteerd
    refused(judge(Staat(), "ErkenningDerdeLeerwegVerleend", erkenning | {"partner": "sbb"}), "niet_bevoegd")


def test_advies_only_by_its_own_instelling() -> None:
    advies = ev(
        MBO,
        deelnemer=P,
        mbo_instelling=MBO,
        advies="entree",
        duo_check="niet_uitgevoerd",
        startkwalificatie_verouderd=False,
    )
    assert judge(Staat(), "AdviesUitgebracht", advies).geaccepteerd
    refused(judge(Staat(), "AdviesUitgebracht", advies | {"partner": ANDER}), "niet_bevoegd")


# ---- inschrijving --------------------------------------------------------------------------------
def test_inschrijving_accepted_with_advies_and_no_warnings() -> None:
    s = referentie()
    pas_toe(
        s,
        "AdviesUitgebracht",
        ev(
            MBO,
            deelnemer=P,
            mbo_instelling=MBO,
            advies="praktijkverklaring",
            duo_check="niet_uitgevoerd",
            startkwalificatie_verouderd=False,
        ),
    )
    b = judge(s, "DeelnemerIngeschreven", inschrijving())
    assert b.geaccepteerd and b.warnings == ()


def test_inschrijving_without_advies_warns_zonder_advies() -> None:
    assert judge(referentie(), "DeelnemerIngeschreven", inschrijving()).warnings == ("zonder_advies",)


@pytest.mark.parametrize(
    "leeftijd, reden, warning",
    [(15, "te_jong", None), (16, None, "minderjarig"), (17, None, "minderjarig"), (18, None, None)],
)
def test_inschrijving_age(leeftijd: int, reden: str | None, warning: str | None) -> None:
    b = judge(referentie(), "DeelnemerIngeschreven", inschrijving(leeftijd=leeftijd))
    assert b.reden == reden
    if reden is None:
        assert (warning in b.warnings) if warning else ("minderjarig" not in b.warnings)


def test_inschrijving_needs_erkenning_on_startdatum() -> None:
    refused(
        judge(referentie(), "DeelnemerIngeschreven", inschrijving(startdatum=dt.date(2018, 12, 31))), "geen_erkenning"
    )
    refused(
        judge(referentie(), "DeelnemerIngeschreven", inschrijving(partner=ANDER, mbo_instelling=ANDER)),
        "geen_erkenning",
    )


def test_inschrijving_needs_a_known_dossier() -> None:
    s = referentie()
    pas_toe(s, "ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=MBO, crebo="25251", vanaf=dt.date(2019, 1, 1)))
    refused(judge(s, "DeelnemerIngeschreven", inschrijving(crebo="25251", leerbedrijf_id=None)), "onbekend_dossier")


def test_inschrijving_leerbedrijf_must_be_erkend() -> None:
    assert judge(referentie(), "DeelnemerIngeschreven", inschrijving(leerbedrijf_id=None)).geaccepteerd
    b = judge(referentie(), "DeelnemerIngeschreven", inschrijving(leerbedrijf_id="987654321"))
    refused(b, "leerbedrijf_niet_erkend")
    assert b.herstelbaar  # retry once SBB's erkenning has arrived


def test_inschrijving_refused_for_another_instelling_and_twice() -> None:
    refused(judge(referentie(), "DeelnemerIngeschreven", inschrijving(partner=ANDER)), "niet_bevoegd")
    s = ingeschreven()
    refused(judge(s, "DeelnemerIngeschreven", inschrijving(traject_id=str(uuid.uuid4()))), "dubbele_inschrijving")
    refused(judge(s, "DeelnemerIngeschreven", inschrijving(deelnemer=Q)), "traject_bestaat")
    pas_toe(s, "TrajectBeeindigd", ev(MBO, deelnemer=P, traject_id=T1, reden="voortijdig_gestopt"))
    assert judge(s, "DeelnemerIngeschreven", inschrijving(traject_id=str(uuid.uuid4()))).geaccepteerd


# ---- sign-offs -----------------------------------------------------------------------------------
def test_sign_off_by_instelling_or_its_leerbedrijf_only() -> None:
    s = ingeschreven()
    assert judge(s, "WerkprocesAfgetekend", afteken()).geaccepteerd
    assert judge(s, "WerkprocesAfgetekend", afteken(partner=f"leerbedrijf.{LB}")).geaccepteerd
    # no relation with the deelnemer: told what it is told about an unknown traject (no oracle); it parks on it
    refused(judge(s, "WerkprocesAfgetekend", afteken(partner=ANDER)), "onbekend_traject")
    refused(judge(s, "WerkprocesAfgetekend", afteken(partner="leerbedrijf.987654321")), "onbekend_traject")


def test_sign_off_needs_a_known_open_traject_of_this_deelnemer() -> None:
    refused(judge(referentie(), "WerkprocesAfgetekend", afteken()), "onbekend_traject")
    refused(
        judge(ingeschreven(), "WerkprocesAfgetekend", afteken(deelnemer=Q)), "onbekend_traject"
    )  # no relation with Q
    s = ingeschreven()
    pas_toe(s, "DeelnemerIngeschreven", inschrijving(deelnemer=Q, traject_id=str(uuid.uuid4())))
    refused(judge(s, "WerkprocesAfgetekend", afteken(deelnemer=Q)), "andere_deelnemer")  # its own deelnemers: told
    s = ingeschreven()
    pas_toe(s, "TrajectBeeindigd", ev(MBO, deelnemer=P, traject_id=T1, reden="afgerond"))
    refused(judge(s, "WerkprocesAfgetekend", afteken()), "traject_beeindigd")


def test_sign_off_werkproces_must_exist_in_the_dossier_of_the_crebo() -> None:
    refused(judge(ingeschreven(), "WerkprocesAfgetekend", afteken("B1-K1-W9")), "onbekend_werkproces")
    refused(judge(ingeschreven(), "WerkprocesAfgetekend", afteken(crebo="25251")), "onbekend_dossier")


def test_sign_off_of_another_kwalificatie_in_the_same_traject() -> None:
    s = ingeschreven()
    pas_toe(
        s,
        "KwalificatiedossierVastgesteld",
        ev(
            "sbb",
            crebo="25252",
            naam="n",
            niveau=1,
            domein="d",
            kerntaken=[{"code": "B1-K1", "naam": "k", "werkprocessen": [{"code": "B1-K1-W7", "naam": "w"}]}],
        ),
    )
    assert judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W7", crebo="25252")).geaccepteerd


def test_same_werkproces_twice_is_al_afgetekend() -> None:
    refused(judge(ingeschreven("B1-K1-W1"), "WerkprocesAfgetekend", afteken("B1-K1-W1")), "al_afgetekend")


def test_retraction_of_a_sign_off() -> None:
    s = ingeschreven("B1-K1-W1")
    intrekking = ev(MBO, deelnemer=P, traject_id=T1, crebo="25250", werkproces="B1-K1-W1", reden="onterecht_afgetekend")
    assert judge(s, "AftekeningIngetrokken", intrekking).geaccepteerd
    refused(judge(s, "AftekeningIngetrokken", intrekking | {"werkproces": "B1-K1-W2"}), "niet_afgetekend")
    refused(judge(s, "AftekeningIngetrokken", intrekking | {"partner": ANDER}), "onbekend_traject")
    pas_toe(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"], volgnummer=1))
    refused(judge(s, "AftekeningIngetrokken", intrekking), "op_verklaring")
    pas_toe(s, "AftekeningIngetrokken", intrekking)  # state after an accepted retraction: signable again
    assert ("25250", "B1-K1-W1") not in s.trajecten[T1].afgetekend


# ---- verklaring ----------------------------------------------------------------------------------
def test_verklaring_assigns_volgnummer_per_deelnemer() -> None:
    s = ingeschreven("B1-K1-W1", "B1-K1-W2", "B1-K1-W3")
    b1 = judge(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"]))
    assert b1.geaccepteerd and b1.volgnummer == 1
    pas_toe(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"], volgnummer=1))
    v2 = verklaring(["B1-K1-W2"], verklaring_id=str(uuid.uuid4()))
    assert judge(s, "PraktijkverklaringUitgegeven", v2).volgnummer == 2
    # a revoked verklaring no longer counts
    pas_toe(s, "PraktijkverklaringIngetrokken", ev(MBO, deelnemer=P, verklaring_id=V1, reden="administratieve_fout"))
    assert judge(s, "PraktijkverklaringUitgegeven", v2).volgnummer == 1


def test_verklaring_werkprocessen_must_be_signed_off_in_this_traject() -> None:
    refused(
        judge(ingeschreven("B1-K1-W1"), "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1", "B1-K1-W2"])),
        "niet_afgetekend",
    )
    refused(judge(ingeschreven("B1-K1-W1"), "PraktijkverklaringUitgegeven", verklaring([])), "geen_werkprocessen")


def test_verklaring_werkproces_not_on_an_earlier_verklaring() -> None:
    s = ingeschreven("B1-K1-W1", "B1-K1-W2")
    pas_toe(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"], volgnummer=1))
    refused(
        judge(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1", "B1-K1-W2"], verklaring_id=str(uuid.uuid4()))),
        "al_op_verklaring",
    )
    refused(judge(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W2"])), "verklaring_bestaat")


def test_verklaring_needs_a_leerbedrijf_on_the_traject() -> None:
    s = referentie()
    pas_toe(s, "DeelnemerIngeschreven", inschrijving(leerbedrijf_id=None))
    pas_toe(s, "WerkprocesAfgetekend", afteken())
    refused(judge(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"])), "geen_leerbedrijf")
    vastgelegd = ev(MBO, deelnemer=P, traject_id=T1, leerbedrijf_id=LB, praktijkopleider=None)
    assert judge(s, "LeerbedrijfVastgelegd", vastgelegd).geaccepteerd
    refused(judge(s, "LeerbedrijfVastgelegd", vastgelegd | {"leerbedrijf_id": "987654321"}), "leerbedrijf_niet_erkend")
    pas_toe(s, "LeerbedrijfVastgelegd", vastgelegd)
    assert judge(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"])).geaccepteerd


def test_verklaring_only_by_the_traject_instelling() -> None:
    refused(
        judge(ingeschreven("B1-K1-W1"), "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"], partner=ANDER)),
        "onbekend_traject",
    )


def test_revocation_by_issuer_or_sbb_once() -> None:
    s = ingeschreven("B1-K1-W1")
    pas_toe(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"], volgnummer=1))
    intrekking = ev(MBO, deelnemer=P, verklaring_id=V1, reden="ten_onrechte_uitgegeven")
    assert judge(s, "PraktijkverklaringIngetrokken", intrekking).geaccepteerd
    assert judge(s, "PraktijkverklaringIngetrokken", intrekking | {"partner": "sbb"}).geaccepteerd
    refused(judge(s, "PraktijkverklaringIngetrokken", intrekking | {"partner": ANDER}), "onbekende_verklaring")
    refused(
        judge(s, "PraktijkverklaringIngetrokken", intrekking | {"verklaring_id": str(uuid.uuid4())}),
        "onbekende_verklaring",
    )
    pas_toe(s, "PraktijkverklaringIngetrokken", intrekking)
    refused(judge(s, "PraktijkverklaringIngetrokken", intrekking | {"event_id": str(uuid.uuid4())}), "al_ingetrokken")


# ---- end of traject, uitstroom, tellingen, erasure -----------------------------------------------
def test_nothing_after_beeindiging_but_uitstroom_and_corrections() -> None:
    s = ingeschreven("B1-K1-W1")
    einde = ev(MBO, deelnemer=P, traject_id=T1, reden="afgerond")
    assert judge(s, "TrajectBeeindigd", einde).geaccepteerd
    refused(judge(s, "TrajectBeeindigd", einde | {"partner": ANDER}), "onbekend_traject")
    pas_toe(s, "TrajectBeeindigd", einde)
    refused(judge(s, "TrajectBeeindigd", einde | {"event_id": str(uuid.uuid4())}), "traject_beeindigd")
    refused(judge(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"])), "traject_beeindigd")
    refused(
        judge(
            s, "LeerbedrijfVastgelegd", ev(MBO, deelnemer=P, traject_id=T1, leerbedrijf_id=LB, praktijkopleider=None)
        ),
        "traject_beeindigd",
    )
    assert judge(s, "UitstroomGeregistreerd", ev(MBO, deelnemer=P, uitstroom="betaald_werk")).geaccepteerd
    assert judge(
        s,
        "AftekeningIngetrokken",
        ev(MBO, deelnemer=P, traject_id=T1, crebo="25250", werkproces="B1-K1-W1", reden="overig"),
    ).geaccepteerd


def test_uitstroom_by_own_instelling_or_the_referrer() -> None:
    s = ingeschreven()
    pas_toe(s, "KandidaatAangemeld", aanmelding("gemeente.gm0599"))
    uit = ev("gemeente.gm0599", deelnemer=P, uitstroom="betaald_werk")
    assert judge(s, "UitstroomGeregistreerd", uit).geaccepteerd
    assert judge(s, "UitstroomGeregistreerd", uit | {"partner": MBO}).geaccepteerd
    refused(judge(s, "UitstroomGeregistreerd", uit | {"partner": "gemeente.gm0363"}), "onbekende_deelnemer")
    refused(judge(s, "UitstroomGeregistreerd", uit | {"partner": ANDER}), "onbekende_deelnemer")
    refused(
        judge(s, "UitstroomGeregistreerd", uit | {"partner": "leerbedrijf.123456789"}), "niet_bevoegd"
    )  # kind first
    refused(judge(s, "UitstroomGeregistreerd", uit | {"deelnemer": "c" * 64}), "onbekende_deelnemer")


def test_telling_for_itself() -> None:
    telling = ev(
        "gemeente.gm0599",
        bron_type="gemeente",
        pilot="rijnmond",
        peildatum=dt.date(2021, 1, 13),
        aantal_deelnemers=3,
        aantal_verklaringen=None,
        deelnemers=None,
    )
    assert judge(Staat(), "TellingGemeld", telling).geaccepteerd
    refused(judge(Staat(), "TellingGemeld", telling | {"bron_type": "uwv"}), "niet_bevoegd")
    assert judge(Staat(), "TellingGemeld", telling | {"partner": "sbb", "bron_type": "monitor"}).geaccepteerd


def test_erasure_by_sbb_or_own_instelling() -> None:
    s = ingeschreven()
    wis = ev("sbb", deelnemer=P, grondslag="AVG art. 17")
    assert judge(s, "DeelnemerGegevensVerwijderd", wis).geaccepteerd
    assert judge(s, "DeelnemerGegevensVerwijderd", wis | {"partner": MBO}).geaccepteerd
    refused(judge(s, "DeelnemerGegevensVerwijderd", wis | {"partner": ANDER}), "niet_bevoegd")


# ---- state persistence round trip ----------------------------------------------------------------
def test_state_entities_survive_json_round_trip() -> None:
    s = ingeschreven("B1-K1-W1")
    pas_toe(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"], volgnummer=1))
    copy = Staat()
    for kind, key in sorted(s.dirty):
        load_entity(copy, kind, key, entity_json(s, kind, key))
    assert copy.trajecten == s.trajecten and copy.verklaringen == s.verklaringen
    assert copy.deelnemers == s.deelnemers and copy.dossiers == s.dossiers
    assert copy.erkenningen == s.erkenningen and copy.event_ids == s.event_ids


def test_applying_an_event_twice_is_harmless() -> None:
    s = ingeschreven()
    e = afteken()
    pas_toe(s, "WerkprocesAfgetekend", e)
    pas_toe(s, "WerkprocesAfgetekend", e)
    assert s.trajecten[T1].afgetekend == {("25250", "B1-K1-W1")}


def test_a_sign_off_from_before_the_ending_that_arrives_after_it_is_accepted() -> None:
    s = ingeschreven()
    pas_toe(
        s,
        "TrajectBeeindigd",
        ev(MBO, deelnemer=P, traject_id=T1, reden="afgerond", occurred_at=dt.datetime(2020, 7, 1, tzinfo=dt.UTC)),
    )
    assert judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W2", partner=f"leerbedrijf.{LB}")).geaccepteerd
    later = dict(afteken("B1-K1-W2"), occurred_at=dt.datetime(2020, 7, 2, tzinfo=dt.UTC))
    refused(judge(s, "WerkprocesAfgetekend", later), "traject_beeindigd")
    # the end moment survives the state's persistence
    t = Staat()
    load_entity(t, "traject", T1, entity_json(s, "traject", T1))
    assert t.trajecten[T1].einde == dt.datetime(2020, 7, 1, tzinfo=dt.UTC)


def test_retryable_refusals_name_the_keys_they_wait_for() -> None:
    b = judge(referentie(), "WerkprocesAfgetekend", afteken())
    assert b.herstelbaar and b.wacht_op == (f"traject:{T1}",)
    assert judge(ingeschreven(), "WerkprocesAfgetekend", afteken("B1-K1-W9")).wacht_op == ()
