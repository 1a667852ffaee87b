"""The operations metrics move with real work: a validator run over a mixed stream (accepted, refused, poison) and a
projector run over its canonical log, against the real broker and database."""

from __future__ import annotations

from kafka import KafkaProducer
from prometheus_client import REGISTRY

from registry.infra.kafka import client_config
from tests.integration.test_validator import reference
from tests.support import validator as h
from tests.support.builders import MBO
from tests.support.projecteren import project_once


def value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_validator_and_projector_metrics(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix, ["sbb", "duo", MBO])
    before = {
        "ingress_sbb": value("praktijk_ingress_records_total", {"partner": "sbb", "type": "LeerbedrijfErkend"}),
        "ingress_poison": value("praktijk_ingress_records_total", {"partner": MBO, "type": "onleesbaar"}),
        "refused": value("praktijk_rejections_total", {"reden": "niet_bevoegd"}),
        "dead": value("praktijk_deadletters_total"),
        "canonical": value("praktijk_canonical_events_total", {"type": "ErkenningDerdeLeerwegVerleend"}),
        "validator_batches": value("praktijk_batch_seconds_count", {"component": "validator"}),
        "projector_batches": value("praktijk_batch_seconds_count", {"component": "projector"}),
    }
    h.publish(kafka_bootstrap, prefix, reference())  # 3 accepted, 1 refused (a LeerbedrijfErkend not from sbb)
    raw = KafkaProducer(**client_config(kafka_bootstrap), acks="all")
    raw.send(t.ingress(MBO), b"no avro at all").get(timeout=60)
    raw.close()
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        assert h.drain(v) == 5
    finally:
        v.close()

    assert (
        value("praktijk_ingress_records_total", {"partner": "sbb", "type": "LeerbedrijfErkend"})
        == before["ingress_sbb"] + 1
    )
    assert (
        value("praktijk_ingress_records_total", {"partner": MBO, "type": "onleesbaar"}) == before["ingress_poison"] + 1
    )
    refusals = [r["reden"] for r in h.rejections(kafka_bootstrap, t)]
    assert len(refusals) == 1
    assert value("praktijk_rejections_total", {"reden": refusals[0]}) >= 1
    assert value("praktijk_deadletters_total") == before["dead"] + 1
    assert (
        value("praktijk_canonical_events_total", {"type": "ErkenningDerdeLeerwegVerleend"}) == before["canonical"] + 1
    )
    assert value("praktijk_batch_seconds_count", {"component": "validator"}) > before["validator_batches"]
    lags = [
        s.value
        for family in REGISTRY.collect()
        if family.name == "praktijk_consumer_lag_records"
        for s in family.samples
        if s.labels["group"] == f"{prefix}-validator"
    ]
    assert lags and set(lags) == {0.0}  # drained: nothing between position and end on any partition it fetched

    project_once(kafka_bootstrap, database_url, prefix, f"{prefix}_rm")
    assert value("praktijk_batch_seconds_count", {"component": "projector"}) > before["projector_batches"]
    assert (
        REGISTRY.get_sample_value("praktijk_projection_freshness_seconds", {"projection": "feiten"}) == 0.0
    )  # caught up
