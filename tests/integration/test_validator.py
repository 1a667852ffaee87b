"""The validator against the real broker and database: a mixed stream ends exactly where it should."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from kafka import KafkaProducer

from registry.infra.kafka import client_config
from tests.support import validator as h
from tests.support.builders import ANDER, LB, MBO, T1, V1, P, Q, aanmelding, afteken, ev, inschrijving, verklaring


def reference() -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "KwalificatiedossierVastgesteld",
            ev(
                "sbb",
                crebo="25250",
                naam="Assistent bouwen",
                niveau=1,
                domein="Bouw",
                kerntaken=[
                    {
                        "code": "B1-K1",
                        "naam": "k",
                        "werkprocessen": [{"code": f"B1-K1-W{i}", "naam": "w"} for i in range(1, 5)],
                    }
                ],
            ),
        ),
        ("LeerbedrijfErkend", ev("sbb", leerbedrijf_id=LB, naam="Bouw BV", crebos=["25250"])),
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=MBO, crebo="25250", vanaf=dt.date(2019, 1, 1))),
        ("LeerbedrijfErkend", ev(MBO, leerbedrijf_id="222222222", naam="x", crebos=[])),  # refused: only sbb
    ]


def test_mixed_stream(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        h.publish(kafka_bootstrap, prefix, reference())
        h.drain(v)
        dup = aanmelding()
        geen_erkenning = inschrijving(deelnemer="c" * 64, traject_id=str(uuid.uuid4()), crebo="25251")
        phase2 = [
            ("KandidaatAangemeld", dup),
            ("KandidaatAangemeld", dup),  # duplicate event_id: silent no-op
            ("DeelnemerIngeschreven", inschrijving()),
            ("DeelnemerIngeschreven", inschrijving(deelnemer=Q, traject_id=str(uuid.uuid4()), leeftijd=15)),  # te_jong
            ("DeelnemerIngeschreven", geen_erkenning),  # parked: waits for the erkenning
            ("DeelnemerIngeschreven", inschrijving(deelnemer=Q, traject_id=str(uuid.uuid4()), leeftijd=17)),
        ]  # minderjarig
        h.publish(kafka_bootstrap, prefix, phase2)
        h.drain(v)
        phase3 = [
            ("WerkprocesAfgetekend", afteken("B1-K1-W1")),
            ("WerkprocesAfgetekend", afteken("B1-K1-W2", partner=f"leerbedrijf.{LB}")),
            ("WerkprocesAfgetekend", afteken("B1-K1-W9")),  # onbekend_werkproces
            ("WerkprocesAfgetekend", ander := afteken("B1-K1-W3", partner=ANDER)),
        ]  # another instelling's traject
        h.publish(kafka_bootstrap, prefix, phase3)
        h.drain(v)
        h.publish(kafka_bootstrap, prefix, [("WerkprocesAfgetekend", afteken("B1-K1-W1"))])  # al_afgetekend
        h.drain(v)
        phase4 = [
            ("PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1", "B1-K1-W2"])),
            ("PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"], verklaring_id=str(uuid.uuid4()))),
        ]  # al_op_verklaring
        h.publish(kafka_bootstrap, prefix, phase4)
        h.drain(v)
        einde = ("TrajectBeeindigd", ev(MBO, deelnemer=P, traject_id=T1, reden="afgerond"))
        h.publish(kafka_bootstrap, prefix, [einde])
        h.drain(v)
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                ("WerkprocesAfgetekend", afteken("B1-K1-W4")),  # after the end
                ("UitstroomGeregistreerd", ev(MBO, deelnemer=P, uitstroom="betaald_werk")),
            ],
        )
        raw = KafkaProducer(**client_config(kafka_bootstrap))
        raw.send(t.ingress("gemeente.gm0599"), b"this is not avro")
        raw.send(t.ingress("gemeente.gm0599"), b"\xc3\x01" + b"\x01" * 8 + b"\x00")
        raw.flush()
        raw.close()
        h.drain(v)
    finally:
        v.close()

    accepted = h.canonical(kafka_bootstrap, t)
    kinds = sorted(et for et, _ in accepted)
    # KandidaatAangemeld x3: the gemeente's of P, and the instelling's own of Q and of the geen_erkenning deelnemer
    # (h.publish refers before it enrols: an inschrijving needs an aanmelding for its pilot)
    assert kinds == sorted(
        [
            "KwalificatiedossierVastgesteld",
            "LeerbedrijfErkend",
            "ErkenningDerdeLeerwegVerleend",
            "KandidaatAangemeld",
            "KandidaatAangemeld",
            "KandidaatAangemeld",
            "DeelnemerIngeschreven",
            "DeelnemerIngeschreven",
            "WerkprocesAfgetekend",
            "WerkprocesAfgetekend",
            "PraktijkverklaringUitgegeven",
            "TrajectBeeindigd",
            "UitstroomGeregistreerd",
        ]
    )
    assert all(r["recorded_at"] is not None for _, r in accepted)
    warnings = {r["deelnemer"]: r["warnings"] for et, r in accepted if et == "DeelnemerIngeschreven"}
    assert warnings == {h.canoniek(P): ["zonder_advies"], h.canoniek(Q): ["minderjarig", "zonder_advies"]}  # re-keyed
    issued = [r for et, r in accepted if et == "PraktijkverklaringUitgegeven"]
    assert issued[0]["verklaring_id"] == V1 and issued[0]["volgnummer"] == 1

    reasons = sorted(r["reden"] for r in h.rejections(kafka_bootstrap, t))
    assert reasons == sorted(
        ["niet_bevoegd", "te_jong", "onbekend_werkproces", "al_afgetekend", "al_op_verklaring", "traject_beeindigd"]
    )
    parked = h.parked(kafka_bootstrap, t)
    # another instelling's sign-off on P's traject: no relation with P, so judged as for an unknown traject (parks)
    assert {(g.event_id, g.reden, g.wacht_op) for g in parked.entries.values()} == {
        (geen_erkenning["event_id"], "geen_erkenning", ("erkenning:mbo.albeda/25251",)),
        (ander["event_id"], "onbekend_traject", (f"traject:{T1}",)),
    }
    dead = h.deadletters(kafka_bootstrap, t)
    assert len(dead) == 2
    assert {d["bron"]["topic"] for d in dead} == {t.ingress("gemeente.gm0599")}
    assert any("single-object" in d["fout"] for d in dead) and any("fingerprint" in d["fout"] for d in dead)
    import base64

    assert base64.b64decode(dead[0]["waarde_base64"]) in (b"this is not avro", b"\xc3\x01" + b"\x01" * 8 + b"\x00")


def test_state_survives_restart_and_resubmission_is_a_no_op(
    kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    h.publish(kafka_bootstrap, prefix, reference()[:3])
    h.drain(v)
    first = inschrijving()
    h.publish(kafka_bootstrap, prefix, [("DeelnemerIngeschreven", first)])
    h.drain(v)
    v.close()
    again = h.validator(kafka_bootstrap, database_url, prefix)  # loads state from PostgreSQL
    try:
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                ("DeelnemerIngeschreven", first),  # same event_id: no-op
                ("DeelnemerIngeschreven", inschrijving(traject_id=str(uuid.uuid4()))),
            ],
        )  # dubbel
        h.drain(again)
    finally:
        again.close()
    assert [et for et, _ in h.canonical(kafka_bootstrap, t)].count("DeelnemerIngeschreven") == 1
    assert [r["reden"] for r in h.rejections(kafka_bootstrap, t)] == ["dubbele_inschrijving"]


def test_rejections_cli_and_counters(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    from prometheus_client import REGISTRY

    from registry.cli.validator import read_rejections

    def counter(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (
        counter("praktijk_validator_submissions_total", uitkomst="geweigerd"),
        counter("praktijk_rejections_total", reden="niet_bevoegd"),
        counter("praktijk_validator_submissions_total", uitkomst="geaccepteerd"),
    )
    prefix = f"t{unique}"
    h.make_topics(kafka_bootstrap, prefix)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        h.publish(kafka_bootstrap, prefix, reference())  # 3 accepted, 1 refused (niet_bevoegd, by MBO)
        h.drain(v)
    finally:
        v.close()
    assert counter("praktijk_validator_submissions_total", uitkomst="geweigerd") - before[0] == 1
    assert counter("praktijk_rejections_total", reden="niet_bevoegd") - before[1] == 1
    assert counter("praktijk_validator_submissions_total", uitkomst="geaccepteerd") - before[2] == 3
    rows = read_rejections([kafka_bootstrap], prefix, MBO, None)
    assert [(r["event_type"], r["reden"]) for r in rows] == [("LeerbedrijfErkend", "niet_bevoegd")]
    assert read_rejections([kafka_bootstrap], prefix, "sbb", None) == []
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert read_rejections([kafka_bootstrap], prefix, MBO, future) == []
