"""Prometheus metrics of the API: request count and latency by route *template* and status.

Labels are the route template (``/v1/trajecten/{traject_id}``), the method and the status code - never the
path itself, so no traject id, pseudonym, BSN or name ever becomes a label value. Requests that match no
route are counted under ``<unmatched>``.

Two families: the partners' existing ``praktijkregister_http_*`` (per app instance) and the operations metric
``praktijk_api_request_seconds{route,status}`` (registry/infra/metrics.py). With ``serve --workers N`` the serve
command sets ``PROMETHEUS_MULTIPROC_DIR``: every worker then writes its values to files there and ``/metrics``
answers the sum over all workers (prometheus-client's multiprocess mode), whichever worker takes the scrape.
"""

from __future__ import annotations

import os
import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.infra import metrics as ops_metrics

UNMATCHED = "<unmatched>"


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
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
        self.consumer_lag = Gauge(
            "praktijkregister_consumer_lag",
            "Consumer lag (offsets) as of the last /v1/status call.",
            ["consumer"],
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )


def route_template(app: FastAPI, scope: Scope) -> str:
    route = scope.get("route")  # set by the router on the (shared) scope when a route matched
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for r in app.router.routes:  # e.g. the request failed before routing finished
        match, _ = r.matches(scope)
        if match == Match.FULL:
            p = getattr(r, "path", None)
            if isinstance(p, str):
                return p
    return UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware overhead): counts and times every HTTP request."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, metrics: ApiMetrics) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
            route = route_template(self.fastapi_app, scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(route, method, str(status)).inc()
            elapsed = time.perf_counter() - start
            self.metrics.latency.labels(route, method).observe(elapsed)
            ops_metrics.API_REQUEST_SECONDS.labels(route, str(status)).observe(elapsed)


def install(app: FastAPI, metrics: ApiMetrics) -> None:
    """Count and time every request; ``GET /metrics`` itself is in ``routes/status.py`` (landelijk keys only)."""
    app.add_middleware(MetricsMiddleware, fastapi_app=app, metrics=metrics)
    ops_metrics.mark_up("api")


def multiprocess_dir() -> str | None:
    """The folder of prometheus-client's multiprocess files when the API runs with several workers."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(metrics: ApiMetrics) -> Response:
    """The metrics in the Prometheus text format: this app's and the process's, or, with several workers, the sum
    over every worker's files."""
    path = multiprocess_dir()
    if path is not None:
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=path)  # type: ignore[no-untyped-call]
        return Response(generate_latest(combined), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(metrics.registry) + generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
