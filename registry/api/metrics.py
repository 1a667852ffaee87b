"""Prometheus metrics of the API: request count and latency by route *template* and status.

Labels are the route template (``/v1/trajecten/{traject_id}``), the method and the status code - never the
path itself, so no traject id, pseudonym, BSN or name ever becomes a label value. Requests that match no
route are counted under ``<unmatched>``.

Two families, both defined in registry/infra/metrics.py: the partners' existing ``praktijkregister_http_*`` (per
app instance, ``ApiMetrics``) and the operations metric ``praktijk_api_request_seconds{route,status}``. With
``serve --workers N`` the serve command sets ``PROMETHEUS_MULTIPROC_DIR`` (read with the settings:
``Settings.metrics_multiproc_dir``): every worker then writes its values to files there and ``/metrics`` answers
the sum over all workers (prometheus-client's multiprocess mode), whichever worker takes the scrape.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.infra import metrics as ops_metrics
from registry.infra.metrics import ApiMetrics

__all__ = ["UNMATCHED", "ApiMetrics", "MetricsMiddleware", "exposition", "install", "route_template"]

UNMATCHED = "<unmatched>"
MAX_SERIES = 1000  # labelled series kept by the middleware


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
        self._series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

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
            count, latency, seconds = self._children(route_template(self.fastapi_app, scope), scope, status)
            count.inc()
            elapsed = time.perf_counter() - start
            latency.observe(elapsed)
            seconds.observe(elapsed)

    def _children(self, route: str, scope: Scope, status: int) -> tuple[Any, Any, Any]:
        """The labelled series of a (route template, method, status): looked up once, then kept (a few dozen;
        ``labels`` per request was a share of a cached answer's time)."""
        method = str(scope.get("method", ""))
        key = (route, method, status)
        children = self._series.get(key)
        if children is None:
            children = (
                self.metrics.requests.labels(route, method, str(status)),
                self.metrics.latency.labels(route, method),
                ops_metrics.API_REQUEST_SECONDS.labels(route, str(status)),
            )
            if len(self._series) < MAX_SERIES:  # a client's odd methods do not grow it without bound
                self._series[key] = children
        return children


def install(app: FastAPI, metrics: ApiMetrics) -> None:
    """Count and time every request; ``GET /metrics`` itself is in ``routes/status.py`` (landelijk keys only)."""
    app.add_middleware(MetricsMiddleware, fastapi_app=app, metrics=metrics)
    ops_metrics.mark_up("api")


def exposition(metrics: ApiMetrics) -> Response:
    """The metrics in the Prometheus text format: this app's and the process's, or, with several workers, the sum
    over every worker's files."""
    path = metrics.multiproc_dir
    if path is not None:
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=path)  # type: ignore[no-untyped-call]
        return Response(generate_latest(combined), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(metrics.registry) + generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
