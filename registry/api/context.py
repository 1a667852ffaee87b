"""What one app instance serves with: built by ``create_app``, kept in ``app.state.context``, injected by the
dependencies in ``deps.py`` and passed on to the use cases (``registry.diensten``) that need its settings or audit
trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from registry.api.audit import AuditLog, MemoryAuditLog
from registry.api.auth import KeyLookup
from registry.api.cache import RecentDataVersion
from registry.api.encoded import EncodedCache
from registry.api.metrics import ApiMetrics
from registry.api.ports import ReadQueries
from registry.api.readmodels import AnswerCache
from registry.api.status import ConsumerLag, ProjectionOffsets
from registry.infra.settings import Settings

# (stored projection offsets) -> lag of the validator and of every projection; the default asks Kafka
StatusProbe = Callable[[ProjectionOffsets], list[ConsumerLag]]


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    engine: Engine | None  # None: no database (unit tests with in-memory keys and queries)
    keys: KeyLookup
    queries: ReadQueries | None  # None: the data endpoints answer 503 read-models-unavailable
    read_schema: str  # PostgreSQL schema of the read models
    cache: AnswerCache
    metrics: ApiMetrics
    events_topic: str
    ingress_prefix: str
    status_timeout_ms: int
    status_probe: StatusProbe | None
    audit: AuditLog = field(default_factory=MemoryAuditLog)  # person-level reads (append-only)
    versions: RecentDataVersion = field(default_factory=RecentDataVersion)  # the answer cache's data version
    # ``engine`` with the execution option praktijk_schema=read_schema, set once: per connection it cost ~10% of a
    # cached answer's busy time; None: use ``engine`` as it is
    read_engine: Engine | None = None
    # the encoded answers (bytes and ETag) of the cached endpoints, per data version
    encoded: EncodedCache = field(default_factory=EncodedCache)
