"""What a projection runner is told and keeps: its configuration (``RunnerConfig``), per projection its stats and
the offsets it stored last (``Track``), and the consumer group of a set of projections.

The runner itself is consumers/projector.py (the loop) and consumers/projector_worker.py (the batches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kafka import TopicPartition

from projections import store
from projections.model import Projection, TopicKind
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import metrics, topics

GROUP_PREFIX = "praktijkregister-projection-"  # the projector's Kafka ACLs cover this prefix (registry/infra/toegang)


@dataclass
class RunnerConfig:
    bootstrap: str | list[str]
    database_url: str
    schema: str = DEFAULT_READ_SCHEMA
    events_topic: str = topics.DEFAULT.events
    rejections_topic: str = topics.DEFAULT.rejections
    batch_size: int = 500
    poll_timeout_ms: int = 500
    topic_wait_s: float = 10.0
    # None: every partition; else only these (scale out: one runner per partition subset, same schema)
    partitions: tuple[int, ...] | None = None
    # scale out through Kafka: every runner of the same projections joins one consumer group and projects the
    # partitions the group gives it (``partitions`` is then ignored); the offsets stay in PostgreSQL with the rows
    groep: bool = False
    # the bulk path (consumers/projector_worker.py ``_kies_pad``): from this many records behind on, batches of
    # ``bulk_batch_size`` go through a staging table and set-based statements instead of per-event ``apply``, until
    # the runner is within one batch of the end. 0: always (a replay); None: never
    bulk_lag: int | None = None
    bulk_batch_size: int = 10_000
    # a replay: the runner loads fresh tables, so it creates the indexes no update needs once at the end
    # (consumers/replay.py), not row by row
    rebuild: bool = False

    def topic_of(self, kind: TopicKind) -> str:
        return self.events_topic if kind == "events" else self.rejections_topic


@dataclass
class Stats:
    projection: str = ""
    consumed: int = 0
    applied: int = 0
    undecodable: int = 0
    batches: int = 0
    bulk_batches: int = 0  # of ``batches``: those written by the bulk path
    reseeks: int = 0
    retries: int = 0  # batches rolled back by a database error and retried


@dataclass
class Track:
    """One projection inside a runner: where its tables live, the offsets it stored last, its stats and freshness."""

    projection: Projection
    schema: str
    topics: frozenset[str]
    stats: Stats = field(default_factory=Stats)
    committed: dict[store.TopicPartition, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stats.projection = self.projection.name
        self.versheid = metrics.Versheid()  # praktijk_projection_freshness_seconds, read at scrape time
        self.versheid.gauge(self.projection.name)

    def mine(self, assigned: Sequence[TopicPartition]) -> set[store.TopicPartition]:
        return {(tp.topic, tp.partition) for tp in assigned if tp.topic in self.topics}


def group_id(projections: Sequence[Projection]) -> str:
    """The consumer group of a runner of these projections (one projection: its own group, as before)."""
    if len(projections) == 1:
        return projections[0].consumer_group
    return GROUP_PREFIX + "-".join(sorted(p.name for p in projections))
