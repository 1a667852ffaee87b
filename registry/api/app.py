"""The query API: ``create_app(settings, queries=...)`` assembles the FastAPI application.

The endpoints live in ``routes/`` (one router per resource), the pages in ``web/``; both get what they need through
dependencies (``deps.py``: the database connection, one per request, read-only use of the read models, and the
read-model queries, the ``ReadQueries`` port; ``principal.py``: the authenticated API key, ``Authorization: Bearer
prk_...``; ``answers.py``: the answer cache) and call the use cases in ``registry/diensten/``. Every error
is RFC 9457 problem+json (see ``problems.py``). ``/metrics`` is for Prometheus, ``/docs`` is the OpenAPI UI.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.middleware.trustedhost import TrustedHostMiddleware

from registry.api import docs, metrics, problems, web
from registry.api.audit import AuditLog, AuditTable, MemoryAuditLog, audit_table_of
from registry.api.auth import KeyLookup, KeyStore
from registry.api.cache import DEFAULT_DATA_VERSION_SECONDS, DEFAULT_KEY_TTL_SECONDS, CachedKeyLookup, RecentDataVersion
from registry.api.context import ApiContext, StatusProbe
from registry.api.deps import ReleaseConnection
from registry.api.encoded import EncodedCache
from registry.api.ports import ReadQueries
from registry.api.readmodels import DEFAULT_CACHE_BYTES, AnswerCache
from registry.api.routes import (  # the verklaring as PDF, VC-JWT, HTML page
    aantallen,
    baseline,
    credential,
    document,
    doorstroom,
    overzichten,
    reconciliatie,
    status,
    trajecten,
    verificatie,
    verificatie_pagina,
)
from registry.api.routes import audit as audit_route
from registry.api.routes import problems as problem_pages
from registry.api.web.formulier import CsrfCookie
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import gil, topics
from registry.infra.settings import Settings


def read_engine(engine: Engine, schema: str) -> Engine:
    """The requests' engine: ``engine`` reading from ``schema`` (projections.queries takes its tables from the option
    praktijk_schema), in autocommit. The requests only read, each statement on its own snapshot as under READ
    COMMITTED anyway, so no BEGIN and no ROLLBACK round trip per request. Writes (keys, audit) go
    through ``engine`` itself, in transactions."""
    return engine.execution_options(praktijk_schema=schema, isolation_level="AUTOCOMMIT")


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def allowed_hosts(public_url: str) -> list[str]:
    """The ``Host`` values the API answers: ``PRAKTIJK_PUBLIC_URL``'s host and loopback (health checks, the demo,
    Prometheus on the same machine). Unset: any host, since then nothing the registry signs or prints carries a URL
    (those routes answer 503), so a forged ``Host`` has nothing to end up in."""
    if not public_url:
        return ["*"]
    host = urlsplit(public_url).hostname
    if not host:
        raise ValueError(f"PRAKTIJK_PUBLIC_URL={public_url!r} has no host")
    return [host, *LOOPBACK_HOSTS]


@asynccontextmanager
async def frozen_heap(app: FastAPI) -> AsyncIterator[None]:
    """At the start of a serving process: move what exists by then (modules, routes, the app: ~150,000 objects) out of
    the cyclic garbage collector's reach (``gc.freeze``). Under load a request's objects reach the oldest generation
    often, and each full collection walked all of them: 90-700 ms pauses every 1-3 s, most of the p99 of a cached
    overzicht. Frozen objects are still freed by reference counting."""
    gc.collect()  # what is garbage now is not kept forever
    gc.freeze()
    yield


@asynccontextmanager
async def quick_thread_handover() -> AsyncIterator[None]:
    """While serving: a thread that wants the GIL gets it after at most 1 ms instead of 5. Under load the event
    loop holds the GIL without pause, and the data version's read ahead (a worker thread) waited for it after each
    of its I/O steps: in a serving worker under wrk its read took 20-40 ms (median), and longer than the bound's
    margin often enough that cached requests waited for it; with 1 ms, 5-14 ms. Restored afterwards (a test
    process serves many apps)."""
    before = gil.quick_handover()
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    """The lifespan of a serving process: the heap frozen, threads handed the GIL quickly."""
    async with frozen_heap(app), quick_thread_handover():
        yield


def create_app(
    settings: Settings,
    *,
    queries: ReadQueries | None,
    engine: Engine | None = None,
    connect_database: bool = True,
    keys: KeyLookup | None = None,
    schema: str | None = None,
    events_topic: str = topics.DEFAULT.events,
    ingress_prefix: str = topics.DEFAULT.ingress_prefix,
    status_timeout_ms: int = 5000,
    status_probe: StatusProbe | None = None,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    audit: AuditLog | None = None,
    key_cache_seconds: float = DEFAULT_KEY_TTL_SECONDS,
    data_version_seconds: float = DEFAULT_DATA_VERSION_SECONDS,
) -> FastAPI:
    """Build the API.

    ``queries``: the read-model queries (``projections.queries``, passed by the composition root
    ``registry.cli.api``; an in-memory stand-in in unit tests); None: the data endpoints answer 503.
    ``engine`` defaults to the one for ``settings.database_url`` (``connect_database=False``: no database at all,
    for tests with in-memory keys and queries); ``keys`` defaults to the ``api_keys`` table; ``schema`` is the
    PostgreSQL schema of the read models (default: theirs). ``status_probe`` replaces the Kafka lag lookup
    (tests). ``cache_bytes``: bound of the answer cache of overzichten/aantallen/reconciliatie
    (their JSON size; 0: no cache). ``audit``: where person-level reads are recorded (default: the table
    ``<key table>_audit`` next to a ``KeyStore``, else in memory). ``key_cache_seconds``: how long the default
    key table's answers are remembered (registry/api/cache.py; 0: ask every request); keys passed in are not cached.
    ``data_version_seconds``: how long the read models' data version is reused before it is read again, so the
    bound after which a new event reaches a cached answer (registry/api/cache.py ``RecentDataVersion``; 0: every
    request).
    """
    if engine is None and connect_database:
        from registry.infra.db import API_PING_AFTER_IDLE_SECONDS, API_POOL_SIZE
        from registry.infra.db import engine as make_engine

        # no ping per request, no connection closed after a busy moment (registry/infra/db.py)
        engine = make_engine(settings.database_url, API_PING_AFTER_IDLE_SECONDS, API_POOL_SIZE, 0)
    default_keys = keys is None
    if keys is None:
        if engine is None:
            raise ValueError("keys are required when there is no database")
        keys = KeyStore(engine)
    if audit is None:
        audit = AuditTable(keys.engine, audit_table_of(keys.table)) if isinstance(keys, KeyStore) else MemoryAuditLog()
    if default_keys and key_cache_seconds > 0:  # registry/api/cache.py: a revoked key is refused within this bound
        keys = CachedKeyLookup(keys, key_cache_seconds)

    app = FastAPI(
        title="Praktijkregister API",
        version="1",
        summary=docs.API_SUMMARY,
        description=docs.API_DESCRIPTION,
        openapi_tags=docs.TAGS,
        docs_url=None,
        redoc_url=None,  # /docs and /redoc: registry.api.web, assets served locally
        lifespan=serving,
    )
    app.state.context = ApiContext(
        settings=settings,
        engine=engine,
        keys=keys,
        queries=queries,
        read_schema=schema or DEFAULT_READ_SCHEMA,
        cache=AnswerCache(cache_bytes),
        encoded=EncodedCache(cache_bytes),
        metrics=metrics.ApiMetrics(multiproc_dir=settings.metrics_multiproc_dir or None),
        events_topic=events_topic,
        ingress_prefix=ingress_prefix,
        status_timeout_ms=status_timeout_ms,
        status_probe=status_probe,
        audit=audit,
        versions=RecentDataVersion(data_version_seconds),
        read_engine=read_engine(engine, schema or DEFAULT_READ_SCHEMA) if engine is not None else None,
    )
    problems.install(app)
    app.add_middleware(ReleaseConnection)  # the request's database connection back to the pool (deps.py)
    metrics.install(app, app.state.context.metrics)
    app.include_router(overzichten.router(queries.OVERZICHTEN if queries is not None else {}))
    app.include_router(aantallen.router)
    app.include_router(doorstroom.router)
    app.include_router(trajecten.router)
    app.include_router(audit_route.router)
    app.include_router(verificatie.router)
    app.include_router(document.router)
    app.include_router(credential.router)
    app.include_router(verificatie_pagina.router)  # noqa: E702
    app.include_router(reconciliatie.router)
    app.include_router(status.router)
    app.include_router(problem_pages.router)
    if settings.bench_baseline_file:  # the bench's floor (routes/baseline.py); the setting is empty in production
        app.include_router(baseline.router(settings.bench_baseline_file))
    # the Praktijkloket forms' CSRF token (registry/api/web/formulier.py)
    app.add_middleware(CsrfCookie, secure_cookie=settings.public_url.startswith("https://"))
    web.install(app)  # the Praktijkloket pages under /, /docs, /redoc, /static and the Content-Security-Policy
    docs.install_openapi(app)
    # outermost: a request for another host is refused before any route, metric or key lookup
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings.public_url), www_redirect=False)
    return app
