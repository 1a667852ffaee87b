"""GET /v1/status (consumer lag of the validator and of every projection) and GET /metrics (Prometheus): both for
``operations`` and ``landelijk`` keys only (they show the registry's load and partners' activity). Prometheus
scrapes /metrics with an operations key as bearer token (``authorization: {type: Bearer, credentials_file: ...}``
in its scrape config): that key opens nothing else, so the file on the scraper's disk holds no access to persons."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from registry.api.context import StatusProbe
from registry.api.deps import Context, OptionalConn, Principal, require
from registry.api.metrics import exposition
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import ConsumerStatus, ParkedCount, PartitionStatus, StatusResponse
from registry.api.status import (
    ConsumerLag,
    KafkaUnavailable,
    ProjectionOffsets,
    kafka_status,
    parked_counts,
    parked_topic,
    projection_offsets,
)

ParkedProbe = Callable[[], list[tuple[str, str, int]]]

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


def _consumer_status(c: ConsumerLag) -> ConsumerStatus:
    return ConsumerStatus(
        naam=c.naam,
        soort="validator" if c.soort == "validator" else "projectie",
        group=c.group,
        lag=c.lag,
        caught_up=not c.pending,
        last_recorded_at=c.last_recorded_at,
        partitions=[
            PartitionStatus(
                topic=p.topic,
                partition=p.partition,
                end_offset=p.end_offset,
                committed_offset=p.committed_offset,
                lag=p.lag,
                pending=p.pending,
                last_recorded_at=p.last_recorded_at,
            )
            for p in c.partitions
        ],
    )


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
    try:
        lags = probe(projections)
        waiting = parked()
    except KafkaUnavailable as exc:
        raise ProblemError(503, "kafka-unavailable", str(exc)) from None
    for c in lags:
        context.metrics.consumer_lag.labels(c.naam).set(c.lag)
    consumers = [_consumer_status(c) for c in lags]
    return StatusResponse(
        caught_up=all(c.caught_up for c in consumers),
        consumers=consumers,
        parked_total=sum(n for _, _, n in waiting),
        parked=[ParkedCount(partner=p, reden=r, aantal=n) for p, r, n in waiting],
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
