"""Every ``praktijk_*`` operations metric, defined once, and the ``/metrics`` server of a process.

The consumers (validator, projector, reconciler) and the API record into these objects; Prometheus scrapes each
long-running process (``--metrics-port`` / ``PRAKTIJK_<COMPONENT>_METRICS_PORT``; the API on its own ``/metrics``).
``ops/prometheus/alerts.yml`` and ``ops/grafana/dashboards/praktijkregister.json`` query exactly these names
(``tests/unit/test_dashboard.py`` holds them to ``METRIC_NAMES``).

Labels hold only organisation ids, event types, reason codes, route templates and component names: never a BSN,
name, birth date or pseudonym (the route label is the template ``/v1/deelnemers/{pseudonym}/tijdlijn``).

Gauges carry a ``multiprocess_mode`` because the API with ``serve --workers N`` records into prometheus-client's
multiprocess files (``PROMETHEUS_MULTIPROC_DIR``), which the scrape then sums over the workers.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from registry.infra.kafka import posities

Component = Literal["validator", "projector", "reconciler", "api"]
ONLEESBAAR = "onleesbaar"  # the type label of an ingress record whose bytes are no registry event (or too large)

# batches take milliseconds to seconds; an API request typically well under a second
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

INGRESS_RECORDS = Counter(
    "praktijk_ingress_records",
    "Ingress records the validator consumed, by partner and event type (onleesbaar: bytes that do not decode).",
    ["partner", "type"],
)
REJECTIONS = Counter("praktijk_rejections", "Submissions refused by the validator, by reason code.", ["reden"])
DEADLETTERS = Counter("praktijk_deadletters", "Ingress records dead-lettered by the validator.")
# the validator's detail: outcomes, warnings, dead letters by reason code (the alert counts them all above), parking
SUBMISSIONS = Counter(
    "praktijk_validator_submissions", "Ingress submissions by outcome", ["uitkomst"]
)  # geaccepteerd | geweigerd | deadletter | duplicaat | geparkeerd
WARNINGS = Counter("praktijk_validator_warnings", "Accepted events with a warning", ["warning"])
DEADLETTERS_BY_REASON = Counter("praktijk_validator_deadletters", "Dead letters by reason code", ["reden"])
PARKED = Gauge(
    "praktijk_parked_events",
    "Submissions parked waiting for a dependency, by reason code",
    ["reden"],
    multiprocess_mode="livesum",
)
PARKING_ACTIONS = Counter(
    "praktijk_validator_parking", "Parkings, re-parkings and releases", ["actie"]
)  # geparkeerd | vrijgegeven | verlopen
CANONICAL_EVENTS = Counter(
    "praktijk_canonical_events", "Events appended to the canonical log, by event type.", ["type"]
)
CONSUMER_LAG = Gauge(
    "praktijk_consumer_lag_records",
    "Records between a consumer's position and the end of a partition, as of its last batch.",
    ["group", "topic", "partition"],
    multiprocess_mode="livemax",
)
BATCH_SECONDS = Histogram(
    "praktijk_batch_seconds",
    "Duration of one batch (poll, judge or apply, commit).",
    ["component"],
    buckets=BATCH_BUCKETS,
)
PROJECTION_FRESHNESS = Gauge(
    "praktijk_projection_freshness_seconds",
    "Now minus recorded_at of the last event a projection applied "
    "(0 while its last poll found nothing new: the read model holds the whole log).",
    ["projection"],
    multiprocess_mode="livemax",
)
API_REQUEST_SECONDS = Histogram(
    "praktijk_api_request_seconds",
    "API request duration by route template and status.",
    ["route", "status"],
    buckets=REQUEST_BUCKETS,
)
RECONCILIATION_DIFFERENCE = Gauge(
    "praktijk_reconciliation_difference",
    "Persons per reconciliation category of a pilot's latest run, summed over "
    "the sources of one bron_type (onverklaard may be negative).",
    ["pilot", "bron_type", "categorie"],
    multiprocess_mode="livemostrecent",
)
RECONCILIATION_REGISTER = Gauge(
    "praktijk_reconciliation_register",
    "The register count of a pilot in its latest reconciliation run.",
    ["pilot"],
    multiprocess_mode="livemostrecent",
)
OPEN_TRANSACTION_SECONDS = Gauge(
    "praktijk_canonical_open_transaction_seconds",
    "Seconds since the last write of the oldest transaction open on a "
    "canonical log partition (0: none open). Read_committed readers cannot pass it: a value growing past the "
    "transaction time-out is a stalled last stable offset.",
    ["partition"],
    multiprocess_mode="livemax",
)
HANGING_TRANSACTIONS_ABORTED = Counter(
    "praktijk_hanging_transactions_aborted",
    "Hanging transactions (open on a partition, ended at their coordinator) the validator aborted, by topic.",
    ["topic"],
)
UP = Gauge(
    "praktijk_up",
    "1 while the component's process runs (absent or 0: down).",
    ["component"],
    multiprocess_mode="livemax",
)
STARTED = Gauge(
    "praktijk_start_time_seconds",
    "Unix time the component's process started.",
    ["component"],
    multiprocess_mode="livemin",
)


class ApiMetrics:
    """The API's own families, per app instance (its own registry, so every app in a test process counts alone):
    ``praktijkregister_http_*`` and ``praktijkregister_api_cache_total`` keep the prefix partners already scrape."""

    def __init__(self, registry: CollectorRegistry | None = None, multiproc_dir: str | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        # with several workers: the folder of prometheus-client's multiprocess files (``Settings``), else None
        self.multiproc_dir = multiproc_dir
        self.requests = Counter(
            "praktijkregister_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "praktijkregister_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.in_flight = Gauge(
            "praktijkregister_http_requests_in_flight",
            "HTTP requests being served.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.cache = Counter(
            "praktijkregister_api_cache_total",
            "Aggregate answers served from the cache (hit) or computed (miss).",
            ["result"],
            registry=self.registry,
        )
        self._cache_results: dict[bool, Any] = {}  # hit -> its labelled child, looked up once
        self.consumer_lag = Gauge(
            "praktijkregister_consumer_lag",
            "Consumer lag (offsets) as of the last /v1/status call.",
            ["consumer"],
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )

    def cache_result(self, hit: bool) -> None:
        """Count an aggregate answer served from the cache (hit) or computed (miss): ``labels`` per request was a
        share of a cached answer's time."""
        child = self._cache_results.get(hit)
        if child is None:
            child = self._cache_results[hit] = self.cache.labels("hit" if hit else "miss")
        child.inc()


class Telbuffer:
    """Counter increments gathered per batch and added once at its end: ``labels()`` takes a lock and a dict
    lookup, and three of them per record were a few percent of the validator's time. A scrape sees
    the counts of whole batches, as it saw them before (a batch lasts well under a scrape interval)."""

    def __init__(self) -> None:
        self.tellingen: dict[tuple[Counter, tuple[str, ...]], int] = {}

    def tel(self, counter: Counter, *labels: str) -> None:
        k = (counter, labels)
        self.tellingen[k] = self.tellingen.get(k, 0) + 1

    def leeg(self) -> None:
        for (counter, labels), n in self.tellingen.items():
            (counter.labels(*labels) if labels else counter).inc(n)
        self.tellingen.clear()


# every metric family the code exports (the dashboard test checks each panel's PromQL against these)
METRIC_NAMES: frozenset[str] = frozenset(
    {
        "praktijk_ingress_records_total",
        "praktijk_rejections_total",
        "praktijk_deadletters_total",
        "praktijk_canonical_events_total",
        "praktijk_consumer_lag_records",
        "praktijk_batch_seconds",
        "praktijk_projection_freshness_seconds",
        "praktijk_api_request_seconds",
        "praktijk_reconciliation_difference",
        "praktijk_reconciliation_register",
        "praktijk_up",
        "praktijk_start_time_seconds",
        "praktijk_canonical_open_transaction_seconds",
        "praktijk_hanging_transactions_aborted_total",
        "praktijk_validator_submissions_total",
        "praktijk_validator_warnings_total",
        "praktijk_validator_deadletters_total",
        "praktijk_validator_parking_total",
        "praktijk_parked_events",
    }
)


def mark_up(component: Component) -> None:
    """This process runs ``component``: ``praktijk_up`` = 1 and its start time."""
    UP.labels(component).set(1)
    STARTED.labels(component).set(time.time())


def serve(component: Component, port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on ``host:port`` (a daemon thread) and mark ``component`` up; port 0: no server."""
    if port:
        start_http_server(port, addr=host)
    mark_up(component)


class Versheid:
    """How far a projection's read model is behind: now minus recorded_at of the last applied event, while
    there is something to apply; 0 once a poll finds nothing new (an idle registry is not a stale one).

    Read at scrape time (``Gauge.set_function``), so a stuck projector shows a growing value."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.Lock()
        self._last: dt.datetime | None = None
        self._behind_since: dt.datetime | None = None  # recorded_at of the first record waiting to be applied

    def polled(self, first_recorded_at: dt.datetime | None) -> None:
        """A poll returned records (the oldest with ``first_recorded_at``) or, with None, nothing new."""
        with self._lock:
            if first_recorded_at is None:
                self._behind_since = None
            elif self._behind_since is None:
                self._behind_since = first_recorded_at

    def applied(self, last_recorded_at: dt.datetime | None) -> None:
        """A batch committed; ``last_recorded_at``: of its last event."""
        with self._lock:
            if last_recorded_at is not None and (self._last is None or last_recorded_at > self._last):
                self._last = last_recorded_at

    def seconds(self) -> float:
        with self._lock:
            if self._behind_since is None:
                return 0.0
            # after a long idle spell the last applied event is old; the read model is only as stale as the
            # oldest record still waiting
            since = self._behind_since if self._last is None else max(self._last, self._behind_since)
            return max(0.0, (self._clock() - since).total_seconds())

    def gauge(self, projection: str) -> None:
        """Export this tracker as ``praktijk_projection_freshness_seconds{projection}``."""
        PROJECTION_FRESHNESS.labels(projection).set_function(self.seconds)


def record_lag(group: str, consumer: Any, partitions: Iterable[Any]) -> None:
    """``praktijk_consumer_lag_records`` of ``consumer`` (a KafkaConsumer) on ``partitions`` (TopicPartitions): the
    high watermark its last fetch saw minus its position. No broker round trip: it only reads what the fetch
    brought, so it costs nothing per batch; a partition not fetched yet is left out."""
    tps = list(partitions)
    positions = posities(consumer, tps)
    for tp in tps:
        end = consumer.highwater(tp)
        if end is not None:
            CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(0, end - (positions[tp] or 0)))
