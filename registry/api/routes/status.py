"""GET /v1/status (consumer lag of the validator and of every projection) and GET /metrics (Prometheus): both for
``operations`` and ``landelijk`` keys only (they show the registry's load and partners' activity). Prometheus
scrapes /metrics with an operations key as bearer token (``authorization: {type: Bearer, credentials_file: ...}``
in its scrape config): that key opens nothing else, so the file on the scraper's disk holds no access to persons."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from registry.api.context import StatusProbe
from registry.api.deps import Context, OptionalConn
from registry.api.metrics import exposition
from registry.api.principal import Principal
from registry.api.problems import problem_responses
from registry.api.schemas import StatusResponse
from registry.api.scopes import require
from registry.api.status import ProjectionOffsets, kafka_status, parked_counts, parked_topic, projection_offsets
from registry.diensten import status as diensten
from registry.diensten.status import ParkedProbe

router = APIRouter(tags=["operations"])


async def status_probe(context: Context) -> StatusProbe:
    """The app's probe (tests inject one), else Kafka itself."""
    if context.status_probe is not None:
        return context.status_probe
    s = context.settings
    return partial(
        kafka_status,
        s.kafka_servers,
        s.validator_group,
        context.ingress_prefix,
        context.events_topic,
        timeout_ms=context.status_timeout_ms,
    )


async def parked_probe(context: Context) -> ParkedProbe:
    """Parked counts from the validator's parked topic; none when the app runs on an injected status probe (tests)."""
    if context.status_probe is not None:
        return lambda: []
    s = context.settings
    return partial(parked_counts, s.kafka_servers, parked_topic(context.events_topic), context.status_timeout_ms)


def stored_offsets(context: Context, conn: OptionalConn) -> ProjectionOffsets:
    """What each projection has applied (a query: runs in the thread pool); nothing without read models or a
    database (the lag is still shown)."""
    if context.queries is None or conn is None:
        return {}
    return projection_offsets(context.queries.projection_status(conn), context.events_topic)


@router.get(
    "/v1/status",
    response_model=StatusResponse,
    responses=problem_responses(401, 403, 503),
    summary="Consumer lag of validator and projections",
)
def status(
    principal: Principal,
    context: Context,
    probe: Annotated[StatusProbe, Depends(status_probe)],
    projections: Annotated[ProjectionOffsets, Depends(stored_offsets)],
    parked: Annotated[ParkedProbe, Depends(parked_probe)],
) -> StatusResponse:
    """Per partition: end offset, committed offset of the validator's consumer group (ingress topics
    `praktijkleren.ingress.*`) or stored offset of each projection (`praktijkleren.events`), the lag, whether
    committed records are still pending, and the recorded_at of the last applied event. `caught_up` is true
    when everything published has been validated and projected. `parked`: the submissions that wait for an event they
    depend on, per partner and reason code (`praktijkregister parked`). Scopes: operations, landelijk
    (others 403). Kafka unreachable: 503."""
    require(principal, "operations", "landelijk")
    return diensten.status(
        probe, projections, parked, lambda naam, lag: context.metrics.consumer_lag.labels(naam).set(lag)
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (operations, landelijk)",
    response_class=Response,
    responses={
        **problem_responses(401, 403),
        200: {
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            "description": "Prometheus text format",
        },
    },
)
def metrics(principal: Principal, context: Context) -> Response:
    """Request counts and latency by route template and status (no ids in labels: `praktijk_api_request_seconds`,
    `praktijkregister_http_*`), cache hits and misses, consumer lag as of the last /v1/status call, `praktijk_up`.
    With `serve --workers N` the sum over all workers, whichever worker answers. Scopes: operations, landelijk
    (others 403). For Prometheus, create an operations key (`praktijkregister apikey create --scope operations
    --naam prometheus`: it opens /metrics and /v1/status only) and scrape with it as bearer token
    (`ops/prometheus.sh` does both)."""
    require(principal, "operations", "landelijk")
    return exposition(context.metrics)
