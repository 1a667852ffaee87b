"""The registry's processing status: consumer lag of the validator and of every projection, and what waits parked."""

from __future__ import annotations

from collections.abc import Callable

from registry.api.context import StatusProbe
from registry.api.problems import ProblemError
from registry.api.schemas import ConsumerStatus, ParkedCount, PartitionStatus, StatusResponse
from registry.api.status import ConsumerLag, KafkaUnavailable, ProjectionOffsets

# -> (partner, reason code, count) of the parked submissions
ParkedProbe = Callable[[], list[tuple[str, str, int]]]


def status(
    probe: StatusProbe, projections: ProjectionOffsets, parked: ParkedProbe, lag_gezien: Callable[[str, int], None]
) -> StatusResponse:
    """Per consumer its lag and partitions, and the parked submissions; 503 when Kafka does not answer.
    ``lag_gezien(consumer, lag)`` is told every lag found (the API's gauge: /metrics shows the last status call's)."""
    try:
        lags = probe(projections)
        waiting = parked()
    except KafkaUnavailable as exc:
        raise ProblemError(503, "kafka-unavailable", str(exc)) from None
    for c in lags:
        lag_gezien(c.naam, c.lag)
    consumers = [_consumer_status(c) for c in lags]
    return StatusResponse(
        caught_up=all(c.caught_up for c in consumers),
        consumers=consumers,
        parked_total=sum(n for _, _, n in waiting),
        parked=[ParkedCount(partner=p, reden=r, aantal=n) for p, r, n in waiting],
    )


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
