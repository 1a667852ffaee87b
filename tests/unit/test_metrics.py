"""The operations metrics (registry/infra/metrics.py): freshness semantics, reconciliation gauges, the API's request
histogram by route template, lag from a consumer's last fetch, and the metrics-port settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kafka import TopicPartition
from prometheus_client import REGISTRY

from consumers.reconciler import record_gauges
from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.domein.reconciliatie import PilotRij, classify, zonder_lijst
from registry.infra import metrics
from registry.infra import settings as settings_mod

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def versheid_at(now: dt.datetime) -> metrics.Versheid:
    return metrics.Versheid(clock=lambda: now)


def test_freshness_is_zero_while_caught_up() -> None:
    v = versheid_at(T0)
    assert v.seconds() == 0.0
    v.applied(T0 - dt.timedelta(hours=3))  # an old event, applied; then polls find nothing new
    v.polled(None)
    assert v.seconds() == 0.0


def test_freshness_is_age_of_last_applied_event_while_behind() -> None:
    v = versheid_at(T0)
    v.polled(T0 - dt.timedelta(seconds=600))  # a backlog starting 10 minutes ago
    assert v.seconds() == 600.0  # nothing applied yet: as old as the oldest waiting record
    v.applied(T0 - dt.timedelta(seconds=400))
    v.polled(T0 - dt.timedelta(seconds=399))  # still more to do
    assert v.seconds() == 400.0
    v.polled(None)
    assert v.seconds() == 0.0


def test_freshness_after_idle_counts_from_the_new_record_not_the_old_one() -> None:
    v = versheid_at(T0)
    v.applied(T0 - dt.timedelta(days=2))  # idle for two days
    v.polled(None)
    v.polled(T0 - dt.timedelta(seconds=3))  # a new event arrives
    assert v.seconds() == 3.0


def test_freshness_gauge_reads_the_tracker_at_scrape_time() -> None:
    now = [T0]
    v = metrics.Versheid(clock=lambda: now[0])
    v.gauge("unit-test-projectie")
    v.polled(T0)
    now[0] = T0 + dt.timedelta(seconds=42)
    assert (
        REGISTRY.get_sample_value("praktijk_projection_freshness_seconds", {"projection": "unit-test-projectie"})
        == 42.0
    )


def test_reconciliation_gauges_sum_per_bron_type() -> None:
    d = dt.date(2021, 1, 13)
    register = {f"p{i}": 30 for i in range(10)}
    bronnen = (
        zonder_lijst("gemeente.a", "gemeente", "e1", d, 14, 10),
        zonder_lijst("gemeente.b", "gemeente", "e2", d, 7, 10),
        classify(
            register, [("p1", "in_traject"), ("x", "in_traject")], set(), set(), set(), partner="mbo.a", bron_type="mbo"
        ),
    )
    record_gauges([PilotRij("unit-pilot", d, 10, bronnen)])

    def value(bron_type: str, categorie: str) -> float | None:
        return REGISTRY.get_sample_value(
            "praktijk_reconciliation_difference",
            {"pilot": "unit-pilot", "bron_type": bron_type, "categorie": categorie},
        )

    assert value("gemeente", "onverklaard") == 4 - 3  # +4 and -3
    assert value("mbo", "niet_geregistreerd") == 1 and value("mbo", "alleen_in_register") == 9
    assert REGISTRY.get_sample_value("praktijk_reconciliation_register", {"pilot": "unit-pilot"}) == 10


def test_api_request_seconds_by_route_template_and_status() -> None:
    store = MemoryKeyStore()
    _, key = store.create("landelijk")
    client = TestClient(create_app(settings_mod.load(), connect_database=False, keys=store, queries=None))
    pseudonym = "ab" * 32
    labels = {"route": "/v1/deelnemers/{pseudonym}/tijdlijn", "status": "401"}
    before = REGISTRY.get_sample_value("praktijk_api_request_seconds_count", labels) or 0.0
    assert client.get(f"/v1/deelnemers/{pseudonym}/tijdlijn").status_code == 401
    assert REGISTRY.get_sample_value("praktijk_api_request_seconds_count", labels) == before + 1
    text = client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).text
    assert (
        'praktijk_api_request_seconds_bucket{le="0.1",route="/v1/deelnemers/{pseudonym}/tijdlijn",status="401"}' in text
    )
    assert pseudonym not in text
    assert 'praktijk_up{component="api"} 1.0' in text and "process_start_time_seconds" in text
    assert "praktijkregister_http_requests_total" in text  # the partners' existing family stays


class FakeConsumer:
    """What record_lag reads of a KafkaConsumer: the high watermark of the last fetch and the position."""

    def __init__(self, ends: dict[TopicPartition, int | None], positions: dict[TopicPartition, int]) -> None:
        self.ends, self.positions = ends, positions

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends[tp]

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]


def test_lag_per_group_topic_partition() -> None:
    a, b = TopicPartition("unit.events", 0), TopicPartition("unit.events", 1)
    consumer: Any = FakeConsumer({a: 120, b: None}, {a: 100, b: 0})
    metrics.record_lag("unit-group", consumer, [a, b])
    assert (
        REGISTRY.get_sample_value(
            "praktijk_consumer_lag_records", {"group": "unit-group", "topic": "unit.events", "partition": "0"}
        )
        == 20
    )
    assert (
        REGISTRY.get_sample_value(
            "praktijk_consumer_lag_records", {"group": "unit-group", "topic": "unit.events", "partition": "1"}
        )
        is None
    )


def test_metrics_port_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAKTIJK_PROJECTOR_METRICS_PORT", "9101")
    s = settings_mod.load()
    assert (s.validator_metrics_port, s.projector_metrics_port, s.reconciler_metrics_port) == (0, 9101, 0)
    monkeypatch.setenv("PRAKTIJK_RECONCILER_METRICS_PORT", "70000")
    with pytest.raises(ValueError, match="RECONCILER_METRICS_PORT"):
        settings_mod.load()


def test_a_telbuffer_adds_a_batch_of_counts_once_at_its_end() -> None:
    from prometheus_client import CollectorRegistry, Counter

    from registry.infra.metrics import Telbuffer

    reg = CollectorRegistry()
    c = Counter("t_batch", "test", ["soort"], registry=reg)
    buf = Telbuffer()
    for soort in ["a", "b", "a", "a"]:
        buf.tel(c, soort)
    assert reg.get_sample_value("t_batch_total", {"soort": "a"}) is None  # nothing until the batch ends
    buf.leeg()
    assert reg.get_sample_value("t_batch_total", {"soort": "a"}) == 3
    assert reg.get_sample_value("t_batch_total", {"soort": "b"}) == 1
    buf.leeg()  # emptied: a second end adds nothing
    assert reg.get_sample_value("t_batch_total", {"soort": "a"}) == 3


def test_the_middleware_keeps_a_bounded_set_of_labelled_series(monkeypatch: pytest.MonkeyPatch) -> None:
    """The labelled series are looked up once per (route, method, status) and kept, at most MAX_SERIES of them;
    every request is still counted, also past the bound."""
    from registry.api import metrics as api_metrics

    monkeypatch.setattr(api_metrics, "MAX_SERIES", 2)
    app = create_app(settings_mod.load(), connect_database=False, keys=MemoryKeyStore(), queries=None)
    client = TestClient(app)
    for method in ("GET", "GET", "PUT", "DELETE", "PATCH", "PATCH"):
        client.request(method, "/static/praktijkloket.css")
    middleware = next(m for m in _stack(app) if isinstance(m, api_metrics.MetricsMiddleware))
    assert len(middleware._series) == 2
    counted = {
        s.labels["method"]: s.value
        for family in middleware.metrics.registry.collect()
        for s in family.samples
        if s.name == "praktijkregister_http_requests_total"
    }
    assert counted == {"GET": 2.0, "PUT": 1.0, "DELETE": 1.0, "PATCH": 2.0}


def _stack(app: Any) -> list[Any]:
    out, layer = [], app.middleware_stack
    while layer is not None:
        out.append(layer)
        layer = getattr(layer, "app", None)
    return out
