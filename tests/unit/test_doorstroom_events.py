"""The doorstroom's event versions: v1 data read as v2 with the named defaults (upcasting through the codec), the
refusals of the new fields, the praktijkafspraken and the ``buiten_afspraak`` warning, who may report uitstroom."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import Any

import fastavro
import pytest

from registry.demo import bouwer
from registry.domein.regels import Besluit, beoordeel
from registry.domein.staat import Staat, entity_json, load_entity, pas_toe
from registry.infra import codec
from tests.support.builders import MBO, T1, P, aanmelding, afteken, ev, inschrijving, referentie_events

NOW = dt.datetime(2021, 1, 13, 12, tzinfo=dt.UTC)
T0 = dt.datetime(2020, 6, 1, tzinfo=dt.UTC)


def _v1_bytes(event_type: str, record: dict[str, Any]) -> bytes:
    """What a partner still writing version 1 sends: the v1 fingerprint and a v1 body."""
    sv = codec.catalogue().versions[event_type][1]
    buf = io.BytesIO()
    buf.write(codec.MAGIC + sv.fingerprint)
    fastavro.schemaless_writer(buf, sv.parsed, record)
    return buf.getvalue()


def _kop(partner: str) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": T0, "partner": partner, "recorded_at": None, "warnings": []}


# ---- upcasting: v1 read as v2 with the defaults of the contract -----------------------------------
def test_v1_aanmelding_reads_with_uitkering_onbekend_and_no_nieuwkomer() -> None:
    v1 = _kop("gemeente.gm0599") | {
        "deelnemer": P,
        "pilot": "rijnmond",
        "aanmelder_type": "gemeente",
        "doelgroep": "a",
        "gemeente": None,
        "werkend": False,
        "persoonsgegevens": None,
    }
    event_type, record = codec.decode(_v1_bytes("KandidaatAangemeld", v1))
    assert event_type == "KandidaatAangemeld"
    assert (record["uitkering"], record["nieuwkomer"]) == ("onbekend", False)
    assert record["doelgroep"] == "a" and record["deelnemer"] == P


def test_v1_beeindiging_reads_without_uitvalreden() -> None:
    v1 = _kop(MBO) | {"deelnemer": P, "traject_id": T1, "reden": "voortijdig_gestopt"}
    _, record = codec.decode(_v1_bytes("TrajectBeeindigd", v1))
    assert record["reden"] == "voortijdig_gestopt" and record["uitvalreden"] is None


def test_v1_uitstroom_reads_as_peilmoment_einde() -> None:
    v1 = _kop("uwv") | {"deelnemer": P, "uitstroom": "betaald_werk"}
    _, record = codec.decode(_v1_bytes("UitstroomGeregistreerd", v1))
    assert (record["peilmoment"], record["contract"], record["uitkering_na"]) == ("einde", None, "onbekend")


def test_v1_verklaring_reads_without_signer() -> None:
    v1 = _kop(MBO) | {
        "deelnemer": P,
        "traject_id": T1,
        "verklaring_id": str(uuid.uuid4()),
        "werkprocessen": [{"crebo": "25250", "werkproces": "B1-K1-W1"}],
        "leerbedrijf_id": "123456789",
        "brancheorganisaties": [],
        "volgnummer": None,
    }
    _, record = codec.decode(_v1_bytes("PraktijkverklaringUitgegeven", v1))
    assert record["ondertekend_door"] is None and record["ondertekend_op"] is None


def test_v2_round_trips_the_new_fields() -> None:
    payload = bouwer.uitstroom("betaald_werk", "twaalf_maanden", "afspraakbaan", "deels")
    event_type, record = bouwer.canoniek(
        "UitstroomGeregistreerd", payload, event_id=str(uuid.uuid4()), occurred_at=T0, partner="uwv", deelnemer=P
    )
    _, back = codec.decode(codec.encode(event_type, record))
    assert (back["peilmoment"], back["contract"], back["uitkering_na"]) == ("twaalf_maanden", "afspraakbaan", "deels")


# ---- the rules ------------------------------------------------------------------------------------
def _staat(*signed: str) -> Staat:
    s = Staat()
    for event_type, record in [*referentie_events(), ("KandidaatAangemeld", aanmelding())]:
        pas_toe(s, event_type, record)
    pas_toe(s, "DeelnemerIngeschreven", inschrijving())
    for wp in signed:
        pas_toe(s, "WerkprocesAfgetekend", afteken(wp))
    return s


def _judge(s: Staat, event_type: str, r: dict[str, Any]) -> Besluit:
    return beoordeel(s, event_type, r, r["partner"], NOW)


def _einde(reden: str, uitvalreden: str | None) -> dict[str, Any]:
    return ev(MBO, deelnemer=P, traject_id=T1, reden=reden, uitvalreden=uitvalreden)


@pytest.mark.parametrize(
    "reden, uitvalreden, verwacht",
    [
        ("voortijdig_gestopt", None, "uitvalreden_ontbreekt"),
        ("voortijdig_gestopt", "gezondheid", None),
        ("afgerond", None, None),
        ("overstap_certificaat", None, None),
        ("afgerond", "motivatie", "uitvalreden_niet_toegestaan"),
        ("overstap_bbl", "werk_gevonden", "uitvalreden_niet_toegestaan"),
    ],
)
def test_uitvalreden_exactly_with_voortijdig_gestopt(reden: str, uitvalreden: str | None, verwacht: str | None) -> None:
    assert _judge(_staat(), "TrajectBeeindigd", _einde(reden, uitvalreden)).reden == verwacht


def test_a_v1_voortijdig_gestopt_is_refused_for_want_of_an_uitvalreden() -> None:
    v1 = _kop(MBO) | {"deelnemer": P, "traject_id": T1, "reden": "voortijdig_gestopt"}
    event_type, record = codec.decode(_v1_bytes("TrajectBeeindigd", v1))
    assert _judge(_staat(), event_type, record).reden == "uitvalreden_ontbreekt"


def test_a_record_without_uitvalreden_is_refused_before_any_look_up() -> None:
    # about a traject the registry does not know: the record's own fault first (no parking, no oracle)
    einde = _einde("voortijdig_gestopt", None) | {"traject_id": str(uuid.uuid4())}
    assert _judge(Staat(), "TrajectBeeindigd", einde).reden == "uitvalreden_ontbreekt"


def _verklaring(door: str | None, op: dt.date | None, occurred_at: dt.datetime = T0) -> dict[str, Any]:
    payload = bouwer.verklaring(
        T1, str(uuid.uuid4()), [("25250", "B1-K1-W1")], "123456789", ondertekend_door=door, ondertekend_op=op
    )
    return bouwer.canoniek(
        "PraktijkverklaringUitgegeven",
        payload,
        event_id=str(uuid.uuid4()),
        occurred_at=occurred_at,
        partner=MBO,
        deelnemer=P,
    )[1]


@pytest.mark.parametrize(
    "door, op, verwacht",
    [
        ("po-0042", dt.date(2020, 6, 1), None),
        ("po-0042", dt.date(2020, 5, 20), None),
        (None, dt.date(2020, 6, 1), "ondertekening_ontbreekt"),
        ("po-0042", None, "ondertekening_ontbreekt"),
        ("po-0042", dt.date(2020, 6, 2), "ondertekend_na_uitgifte"),
        ("Jan de Vries", dt.date(2020, 6, 1), "ongeldige_referentie"),
        ("j.devries@example.nl", dt.date(2020, 6, 1), "ongeldige_referentie"),
    ],
)
def test_a_verklaring_names_its_signer_and_date(door: str | None, op: dt.date | None, verwacht: str | None) -> None:
    besluit = _judge(_staat("B1-K1-W1"), "PraktijkverklaringUitgegeven", _verklaring(door, op))
    assert besluit.reden == verwacht, besluit.melding
    if door and verwacht == "ongeldige_referentie":
        assert door not in besluit.melding


def test_ondertekend_op_is_compared_with_the_dutch_day_of_issue() -> None:
    # 2020-06-01 23:30 UTC is 2020-06-02 in the Netherlands: signed on the 2nd is not after the issue
    laat = dt.datetime(2020, 6, 1, 23, 30, tzinfo=dt.UTC)
    besluit = _judge(_staat("B1-K1-W1"), "PraktijkverklaringUitgegeven", _verklaring("po-1", dt.date(2020, 6, 2), laat))
    assert besluit.geaccepteerd, besluit.melding


def _afspraken(werkprocessen: list[tuple[str, str]], uren: int = 24, partner: str = MBO, **over: Any) -> dict[str, Any]:
    payload = bouwer.praktijkafspraken(T1, werkprocessen, dt.date(2021, 6, 1), uren)
    return (
        bouwer.canoniek(
            "PraktijkafsprakenVastgelegd",
            payload,
            event_id=str(uuid.uuid4()),
            occurred_at=T0,
            partner=partner,
            deelnemer=P,
        )[1]
        | over
    )


@pytest.mark.parametrize(
    "werkprocessen, uren, verwacht",
    [
        ([("25250", "B1-K1-W1"), ("25250", "B1-K1-W2")], 24, None),
        ([("25250", "B1-K1-W1")], 1, None),
        ([("25250", "B1-K1-W1")], 40, None),
        ([("25250", "B1-K1-W1")], 0, "ongeldige_uren"),
        ([("25250", "B1-K1-W1")], 41, "ongeldige_uren"),
        ([], 24, "geen_werkprocessen"),
        ([("25250", "B1-K1-W1"), ("25250", "B1-K1-W1")], 24, "dubbel_werkproces"),
        ([("25250", "B9-K9-W9")], 24, "onbekend_werkproces"),
        ([("99999", "B1-K1-W1")], 24, "onbekend_dossier"),
    ],
)
def test_praktijkafspraken(werkprocessen: list[tuple[str, str]], uren: int, verwacht: str | None) -> None:
    assert _judge(_staat(), "PraktijkafsprakenVastgelegd", _afspraken(werkprocessen, uren)).reden == verwacht


def test_praktijkafspraken_only_by_the_trajects_instelling() -> None:
    assert _judge(
        _staat(), "PraktijkafsprakenVastgelegd", _afspraken([("25250", "B1-K1-W1")], partner="gemeente.gm0599")
    ).reden == ("niet_bevoegd")
    # another instelling has no relation with the deelnemer: told what it is told about an unknown traject
    ander = _afspraken([("25250", "B1-K1-W1")], partner="mbo.roc-top")
    assert _judge(_staat(), "PraktijkafsprakenVastgelegd", ander).reden == "onbekend_traject"


def test_a_sign_off_outside_the_latest_agreement_is_accepted_with_buiten_afspraak() -> None:
    s = _staat()
    assert _judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W3")).warnings == ()  # no agreement yet: no warning
    pas_toe(s, "PraktijkafsprakenVastgelegd", _afspraken([("25250", "B1-K1-W1"), ("25250", "B1-K1-W2")]))
    binnen = _judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W2"))
    buiten = _judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W3"))
    assert binnen.geaccepteerd and binnen.warnings == ()
    assert buiten.geaccepteerd and buiten.warnings == ("buiten_afspraak",)
    # a later agreement replaces it; an older one arriving late does not
    later = _afspraken([("25250", "B1-K1-W3")]) | {"occurred_at": T0 + dt.timedelta(days=30)}
    pas_toe(s, "PraktijkafsprakenVastgelegd", later)
    ouder = _afspraken([("25250", "B1-K1-W2")]) | {"occurred_at": T0 - dt.timedelta(days=30)}
    pas_toe(s, "PraktijkafsprakenVastgelegd", ouder)
    assert _judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W3")).warnings == ()
    assert _judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W2")).warnings == ("buiten_afspraak",)


def test_the_agreement_survives_the_state_store() -> None:
    s = _staat()
    pas_toe(s, "PraktijkafsprakenVastgelegd", _afspraken([("25250", "B1-K1-W1")]))
    data = json.loads(json.dumps(entity_json(s, "traject", T1)))
    terug = Staat()
    load_entity(terug, "traject", T1, data)
    assert terug.trajecten[T1].afspraak == {("25250", "B1-K1-W1")}
    assert terug.trajecten[T1].afspraak_op == T0
    # a snapshot from before agreements were kept
    oud = {k: v for k, v in data.items() if k not in ("afspraak", "afspraak_op")}
    load_entity(terug, "traject", T1, oud)
    assert terug.trajecten[T1].afspraak is None


@pytest.mark.parametrize("soort", ["reintegratie", "sw"])
def test_a_reintegratie_or_sw_referrer_reports_uitstroom_of_whom_it_referred(soort: str) -> None:
    verwijzer = f"{soort}.werkkracht"
    s = _staat()
    pas_toe(s, "KandidaatAangemeld", aanmelding(partner=verwijzer))
    uitstroom = ev(verwijzer, deelnemer=P, **bouwer.uitstroom("betaald_werk", "zes_maanden", "tijdelijk", "geen"))
    assert _judge(s, "UitstroomGeregistreerd", uitstroom).geaccepteerd
    # one it did not refer: as if unknown (no oracle)
    ander = f"{soort}.elders"
    vreemd = ev(ander, deelnemer=P, **bouwer.uitstroom("betaald_werk"))
    assert _judge(s, "UitstroomGeregistreerd", vreemd).reden == "onbekende_deelnemer"
