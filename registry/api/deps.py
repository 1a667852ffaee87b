"""FastAPI dependencies of the query API, and the checks and parameter canonicalisation the endpoints share.

Per-app state lives in ``app.state.context`` (an ``ApiContext``) and is only read here. The annotated types
(``Principal``, ``Conn``, ``Queries``, ...) are what the endpoints declare. FastAPI caches a dependency per
request, so one request checks out at most one database connection, shared by the key lookup and the queries, and
only when it needs one: a remembered key and a cached answer need none (``LazyConnection``).
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated dependency types at runtime

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar, cast

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from registry.api.auth import UNQUALIFIED, ApiKey, Kind, canonical_instelling, canonical_regio, opens
from registry.api.cache import CachedKeyLookup
from registry.api.context import ApiContext
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.readmodels import data_version
from registry.domein import referentie

Rows = list[dict[str, Any]]
log = logging.getLogger("praktijkregister.api")


# --- per-app state ------------------------------------------------------------------------------------------


async def api_context(request: Request) -> ApiContext:  # no I/O: runs on the event loop, not in the thread pool
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(api_context)]


class LazyConnection:
    """The request's database connection, checked out on first use: a cached answer needs none."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine  # None: no database (unit tests with in-memory stand-ins)
        self._conn: Connection | None = None

    @property
    def opened(self) -> bool:
        return self._conn is not None

    def get(self) -> Connection | None:
        if self._conn is None and self.engine is not None:
            self._conn = self.engine.connect()  # may wait for the pool: call it from a worker thread
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def request_connection(context: Context) -> AsyncIterator[LazyConnection]:
    """One (lazy) connection per request, shared by the key lookup, the answer cache and the queries."""
    # the engine carries praktijk_schema: projections.queries reads its tables from that schema
    lazy = LazyConnection(context.read_engine)
    try:
        yield lazy
    finally:
        if lazy.opened:  # returning it to the pool may roll back: I/O, so off the event loop, in a thread of its own
            # (as FastAPI exits sync dependencies): never queued behind worker threads that wait for the pool
            await anyio.to_thread.run_sync(lazy.close, limiter=anyio.CapacityLimiter(1))


Lazy = Annotated[LazyConnection, Depends(request_connection)]


def connection(lazy: Lazy) -> Connection | None:
    """The request's connection, checked out now (a sync dependency: FastAPI runs it in a worker thread)."""
    return lazy.get()


Conn = Annotated[Connection, Depends(connection)]
OptionalConn = Annotated[Connection | None, Depends(connection)]


async def read_queries(context: Context) -> ReadQueries:
    if context.queries is None:
        raise ProblemError(503, "read-models-unavailable", "the read models (projections.queries) are not installed")
    return context.queries


Queries = Annotated[ReadQueries, Depends(read_queries)]


# --- the API key ------------------------------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False, scheme_name="apiKey", description="API key: `Authorization: Bearer prk_...`")


async def authenticated(
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    lazy: Lazy,
    context: Context,
    request: Request,
) -> ApiKey:
    """The active key of ``Authorization: Bearer ...``; 401 when missing, unknown or revoked."""
    challenge = {"WWW-Authenticate": 'Bearer realm="praktijkregister"'}
    if creds is None or not creds.credentials:
        raise ProblemError(401, "unauthenticated", "no API key: send Authorization: Bearer <key>", headers=challenge)
    secret, keys = creds.credentials, context.keys
    # a remembered key costs no query and no worker thread; else ask on the request's connection
    found = None
    if isinstance(keys, CachedKeyLookup):
        found = keys.remembered(secret)
        if found is not None and keys.due(secret):
            _look_up_ahead(keys, secret, context.read_engine)
    if found is None:
        found = await run_in_threadpool(lambda: keys.lookup(secret, lazy.get()))
    if found is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "unknown or revoked API key",
            headers={"WWW-Authenticate": 'Bearer realm="praktijkregister", error="invalid_token"'},
        )
    only_where_it_opens(found, request.url.path)
    return found


def only_where_it_opens(principal: ApiKey, path: str) -> None:
    """403 for a key used outside what its scope can ever open (an operations key: only /metrics and /v1/status)."""
    if not opens(principal.scope, path):
        raise forbid(principal, "an operations key reads /metrics and /v1/status only")


def _look_up_ahead(keys: CachedKeyLookup, secret: str, engine: Engine | None) -> None:
    in_background(
        "looking the key up ahead", lambda: _with_connection(engine, lambda conn: keys.lookup_ahead(secret, conn))
    )


Principal = Annotated[ApiKey, Depends(authenticated)]


# --- scope checks -------------------------------------------------------------------------------------------------


def forbid(principal: ApiKey, detail: str) -> ProblemError:
    return ProblemError(
        403, "forbidden", f"scope {principal.scope} does not allow this: {detail}", scope=str(principal.scope)
    )


def require(principal: ApiKey, *kinds: Kind) -> None:
    """403 unless the key's scope is one of ``kinds``."""
    if principal.scope.kind not in kinds:
        raise forbid(
            principal,
            f"requires one of the scopes {', '.join(k if k in UNQUALIFIED else k + ':...' for k in kinds)}",
        )


def scoped(*kinds: Kind) -> Callable[[ApiKey, ReadQueries], Coroutine[Any, Any, ApiKey]]:
    """A dependency: the authenticated key, 403 unless its scope is one of ``kinds``.

    It resolves the read queries first so the answers keep their order: 401 (key), 503 (no read models), 403.
    Only for endpoints without query parameters: where a parameter can be invalid, call ``require`` in the
    endpoint, after FastAPI validated the parameters (an invalid request is 400 whatever the scope)."""

    async def dependency(principal: Principal, _queries: Queries) -> ApiKey:
        require(principal, *kinds)
        return principal

    return dependency


# --- parameter canonicalisation -----------------------------------------------------------------------------------


def find_pilot(value: str) -> str | None:
    """The pilot_id for a pilot id or name (case, spaces and punctuation ignored), or None when unknown."""
    folded = re.sub(r"[^a-z0-9]", "", value.casefold())
    for pid, p in referentie.pilots().items():
        if folded in (re.sub(r"[^a-z0-9]", "", pid), re.sub(r"[^a-z0-9]", "", p.naam.casefold())):
            return pid
    return None


def canonical_pilot(value: str, status: int = 400) -> str:
    """The pilot_id for a pilot id or name; ``status`` (400 for a query parameter, 404 for a path
    segment) with the valid pilot ids when unknown."""
    pid = find_pilot(value)
    if pid is None:
        raise ProblemError(
            status,
            "invalid-parameter" if status == 400 else "not-found",
            f"unknown pilot {value!r}",
            parameter="pilot",
            valid_values=sorted(referentie.pilots()),
        )
    return pid


def regio_param(value: str) -> str:
    """The arbeidsmarktregio as spelled in the reference data; 400 when unknown."""
    regio = canonical_regio(value)
    if regio is None:
        raise ProblemError(
            400,
            "invalid-parameter",
            f"unknown arbeidsmarktregio {value!r}",
            parameter="regio",
            valid_values=referentie.arbeidsmarktregios(),
        )
    return regio


def instelling_param(value: str) -> str:
    """The mbo partner id for a partner id or name; 400 when unknown."""
    inst = canonical_instelling(value)
    if inst is None:
        raise ProblemError(
            400,
            "invalid-parameter",
            f"unknown mbo-instelling {value!r}",
            parameter="instelling",
            valid_values=sorted(referentie.mbo_instellingen()),
        )
    return inst


# --- cached answers of the aggregate endpoints --------------------------------------------------------------------


class NeedsDatabase(Exception):
    """The answer is not in this worker's memory: run the endpoint again in a worker thread (``off_loop_if_needed``)."""


class CachedAnswers:
    """Rows from the app's answer cache while the read models are unchanged, else computed (and cached).

    ``memory_only``: never do I/O (the event loop's attempt): raise ``NeedsDatabase`` instead of reading the data
    version or computing."""

    def __init__(self, lazy: LazyConnection, context: ApiContext, memory_only: bool = False) -> None:
        self.lazy = lazy
        self.context = context
        self.memory_only = memory_only

    def connection(self) -> Connection:
        """The request's connection for a computation (checked out now). None only without a database, where the
        in-memory queries ignore it."""
        return cast(Connection, self.lazy.get())

    def rows(self, key: tuple[Any, ...], compute: Callable[[], Rows]) -> Rows:
        cache = self.context.cache
        if self.lazy.engine is None or cache.size <= 0:
            if self.memory_only:
                raise NeedsDatabase()
            return compute()
        if self.memory_only:
            return self._remembered(key)
        version = self._version()
        rows = cache.get(key, version)
        self.context.metrics.cache.labels("miss" if rows is None else "hit").inc()
        if rows is None:
            rows = compute()
            cache.put(key, version, rows)
        return rows

    def _version(self) -> str:
        """The read models' data version, re-read at most every data_version_seconds (cache.RecentDataVersion)."""
        version = self.context.versions.current()
        if version is None:
            # the connection first: one request reads while the others wait for it, and a reader that waited for the
            # pool while the waiters hold its connections would wait for ever (30 s pool timeout, then 503s)
            conn, schema = self.connection(), self.context.read_schema
            version = self.context.versions.get(lambda: data_version(conn, schema))
        return version

    def _remembered(self, key: tuple[Any, ...]) -> Rows:
        version = self.context.versions.current()
        if version is not None and self.context.versions.due():
            self._read_version_ahead()
        rows = None if version is None else self.context.cache.get(key, version, count_miss=False)
        if rows is None:  # counted by the worker thread's attempt
            raise NeedsDatabase()
        self.context.metrics.cache.labels("hit").inc()
        return rows

    def _read_version_ahead(self) -> None:
        versions, schema = self.context.versions, self.context.read_schema
        in_background(
            "reading the data version ahead",
            lambda: _with_connection(
                self.lazy.engine, lambda conn: versions.read_ahead(lambda: data_version(cast(Connection, conn), schema))
            ),
        )


def _with_connection(engine: Engine | None, use: Callable[[Connection | None], None]) -> None:
    # the connection before the cache's locks (see CachedAnswers._version); None: no database (unit tests)
    if engine is None:
        use(None)
        return
    with engine.connect() as conn:
        use(conn)


def in_background(what: str, work: Callable[[], None]) -> None:
    """``work`` in a thread of the event loop's default executor, not waited for (a refresh ahead of a cache's bound:
    when it fails, the first request past the bound does it itself, as without it)."""

    def run() -> None:
        try:
            work()
        except Exception as exc:
            log.warning("%s failed: %s", what, type(exc).__name__)  # the message may hold a key or a pseudonym

    asyncio.get_running_loop().run_in_executor(None, run)


T = TypeVar("T")


async def off_loop_if_needed(answers: CachedAnswers, endpoint: Callable[[CachedAnswers], T]) -> T:
    """``endpoint(answers)`` on the event loop while its answers are in memory (a cached answer: no worker thread, no
    GIL hand-over), else the same call again in a worker thread, where it may read and compute. The
    endpoint must do no I/O but through ``answers`` and have no side effect before its first ``answers.rows``."""
    try:
        return endpoint(CachedAnswers(answers.lazy, answers.context, memory_only=True))
    except NeedsDatabase:
        return await run_in_threadpool(_then_release, endpoint, answers)


def _then_release(endpoint: Callable[[CachedAnswers], T], answers: CachedAnswers) -> T:
    try:
        return endpoint(answers)
    finally:
        # the request's last use of its connection: back to the pool in this thread, which spares the teardown of
        # request_connection one more thread hop
        answers.lazy.close()


async def cached_answers(lazy: Lazy, context: Context) -> CachedAnswers:
    return CachedAnswers(lazy, context)


Answers = Annotated[CachedAnswers, Depends(cached_answers)]
