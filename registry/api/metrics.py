"""Prometheus metrics of the API: request count and latency by route *template* and status.

Labels are the route template (``/v1/trajecten/{traject_id}``), the method and the status code - never the
path itself, so no traject id, pseudonym, BSN or name ever becomes a label value. Requests that match no
route are counted under ``<unmatched>``.
"""
from __future__ import annotations

import time
from typing import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.routing import Match

UNMATCHED = "<unmatched>"


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter("praktijkregister_http_requests_total", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("praktijkregister_http_request_duration_seconds", "HTTP request latency by route template.",
                                 ["route", "method"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        self.in_flight = Gauge("praktijkregister_http_requests_in_flight", "HTTP requests being served.", registry=self.registry)
        self.consumer_lag = Gauge("praktijkregister_consumer_lag", "Consumer lag (offsets) as of the last /v1/status call.",
                                  ["consumer"], registry=self.registry)


def route_template(app: FastAPI, request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for r in app.router.routes:  # e.g. the request failed before routing finished
        match, _ = r.matches(request.scope)
        if match == Match.FULL:
            p = getattr(r, "path", None)
            if isinstance(p, str):
                return p
    return UNMATCHED


def install(app: FastAPI, metrics: ApiMetrics) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        metrics.in_flight.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            metrics.in_flight.dec()
            route = route_template(app, request)
            metrics.requests.labels(route, request.method, str(status)).inc()
            metrics.latency.labels(route, request.method).observe(time.perf_counter() - start)

    @app.get("/metrics", include_in_schema=False)
    def _metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
