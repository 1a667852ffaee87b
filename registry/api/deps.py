"""FastAPI dependencies that inject what a request works with: the app's ``ApiContext``, its database connection and
the read-model queries (the ``ReadQueries`` port).

Per-app state lives in ``app.state.context`` (an ``ApiContext``) and is only read here. FastAPI caches a dependency
per request, so one request checks out at most one database connection, shared by the key lookup (``principal``),
the answer cache (``answers``) and the queries, and only when it needs one: a remembered key and a cached answer
need none (``LazyConnection``). Parameter canonicalisation lives in ``params``, the scope checks in ``scopes``.
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated dependency types at runtime

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from registry.api.context import ApiContext
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError

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
