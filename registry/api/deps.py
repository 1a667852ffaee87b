"""FastAPI dependencies that inject what a request works with: the app's ``ApiContext``, its database connection and
the read-model queries (the ``ReadQueries`` port).

Per-app state lives in ``app.state.context`` (an ``ApiContext``) and is only read here. FastAPI caches a dependency
per request, so one request checks out at most one database connection, shared by the key lookup (``principal``),
the answer cache (``answers``) and the queries, and only when it needs one: a remembered key and a cached answer
need none (``LazyConnection``). Parameter canonicalisation lives in ``params``, the scope checks in ``scopes``.
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated dependency types at runtime

from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from registry.api.context import ApiContext
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError

# --- per-app state ------------------------------------------------------------------------------------------
# Every dependency here takes the ``Request`` itself rather than other dependencies: FastAPI resolves each node of a
# route's dependency tree on every request (a cached one too), and that walk was most of a cached answer's time.


def context_of(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


async def api_context(request: Request) -> ApiContext:  # no I/O: runs on the event loop, not in the thread pool
    return context_of(request)


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


LAZY_STATE = "praktijk_connection"  # the request's LazyConnection in the ASGI scope's state


def lazy_connection(request: Request) -> LazyConnection:
    """One (lazy) connection per request, shared by the key lookup, the answer cache and the queries; kept in the
    request's state, where ``ReleaseConnection`` finds it."""
    state = request.scope.setdefault("state", {})
    lazy: LazyConnection | None = state.get(LAZY_STATE)
    if lazy is None:
        # the engine carries praktijk_schema: projections.queries reads its tables from that schema
        lazy = state[LAZY_STATE] = LazyConnection(context_of(request).read_engine)
    return lazy


async def request_connection(request: Request) -> LazyConnection:
    return lazy_connection(request)


class ReleaseConnection:
    """Pure ASGI middleware: after the request, its connection (if one was checked out) goes back to the pool. The
    place a ``yield`` dependency had: that one cost every request an exit stack, for the few that open one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            lazy = scope.get("state", {}).get(LAZY_STATE)
            if lazy is not None and lazy.opened:
                # returning it to the pool may roll back: I/O, so off the event loop, in a thread of its own (as
                # FastAPI exits sync dependencies): never queued behind worker threads that wait for the pool
                await anyio.to_thread.run_sync(lazy.close, limiter=anyio.CapacityLimiter(1))


Lazy = Annotated[LazyConnection, Depends(request_connection)]


def connection(lazy: Lazy) -> Connection | None:
    """The request's connection, checked out now (a sync dependency: FastAPI runs it in a worker thread)."""
    return lazy.get()


Conn = Annotated[Connection, Depends(connection)]
OptionalConn = Annotated[Connection | None, Depends(connection)]


async def read_queries(request: Request) -> ReadQueries:
    queries = context_of(request).queries
    if queries is None:
        raise ProblemError(503, "read-models-unavailable", "the read models (projections.queries) are not installed")
    return queries


Queries = Annotated[ReadQueries, Depends(read_queries)]
