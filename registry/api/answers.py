"""The answer cache of the aggregate endpoints and pages (overzichten, aantallen, reconciliatie), per request:
``CachedAnswers`` gives rows from the app's ``AnswerCache`` while the read models are unchanged, else computes
them; ``off_loop_if_needed`` answers a cached request on the event loop and only goes to a worker thread when the
answer needs the database; ``memory_route`` answers a cached request before FastAPI resolves its dependencies. The
use cases (``registry.diensten``) see it as their ``Antwoorden`` port."""
# no "from __future__ import annotations": FastAPI resolves the Annotated dependency types at runtime

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from registry.api.context import ApiContext
from registry.api.deps import LazyConnection, context_of, lazy_connection
from registry.api.readmodels import data_version
from registry.api.threads import in_background, with_connection

Rows = list[dict[str, Any]]


class NeedsDatabase(Exception):
    """The answer is not in this worker's memory: run the endpoint again in a worker thread (``off_loop_if_needed``)."""


class CachedAnswers:
    """Rows from the app's answer cache while the read models are unchanged, else computed (and cached).

    ``memory_only``: never do I/O (the event loop's attempt): raise ``NeedsDatabase`` instead of reading the data
    version or computing. ``version``: the data version the request starts with (``memory_answers``), else the
    remembered one."""

    def __init__(
        self, lazy: LazyConnection, context: ApiContext, memory_only: bool = False, version: str | None = None
    ) -> None:
        self.lazy = lazy
        self.context = context
        self.memory_only = memory_only
        self.start_version = version
        # the data versions the answer's rows were read under: one version means the answer is that version's, and
        # its encoding can be kept with it (encoded.EncodedCache); none (no cache) or several: encode anew
        self.versions: set[str] = set()

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
        self.versions.add(version)
        rows = cache.get(key, version)
        self.context.metrics.cache_result(rows is not None)
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
        version = self.start_version or self.context.versions.current()
        if version is not None and self.context.versions.due():
            self._read_version_ahead()
        rows = None if version is None else self.context.cache.get(key, version, count_miss=False)
        if rows is None:  # counted by the worker thread's attempt
            raise NeedsDatabase()
        assert version is not None
        self.versions.add(version)
        self.context.metrics.cache_result(True)
        return rows

    @property
    def version(self) -> str | None:
        """The one data version every row of this request's answer was read under, else None."""
        return next(iter(self.versions)) if len(self.versions) == 1 else None

    def _read_version_ahead(self) -> None:
        versions, schema = self.context.versions, self.context.read_schema
        in_background(
            "reading the data version ahead",
            lambda: with_connection(
                self.lazy.engine, lambda conn: versions.read_ahead(lambda: data_version(cast(Connection, conn), schema))
            ),
        )


async def memory_answers(context: ApiContext) -> CachedAnswers | None:
    """Answers for a request answered from memory (``memory_route``), with the data version it starts with: when
    the version is past its bound, the request awaits the one read of it that the event loop's requests share
    (``RecentDataVersion.on_loop``) and stays on the memory path. Before, every request in that moment fell through
    to the declared route (its dependency resolution, a worker thread and a pool connection each, all waiting for
    the same read): under load, most of a cached answer's p99. None when there is nothing to answer from memory
    (no database or no cache: the declared route answers) or the read failed (the declared route gives the
    error)."""
    versions, engine, schema = context.versions, context.read_engine, context.read_schema
    if engine is None or context.cache.size <= 0 or versions.max_age <= 0:
        return None
    version = versions.current()
    if version is None:

        def refresh() -> None:
            def read(conn: Connection | None) -> None:
                versions.get(lambda: data_version(cast(Connection, conn), schema))

            with_connection(engine, read)

        try:
            version = await versions.on_loop(refresh)
        except Exception:
            return None
        if version is None:
            return None
    return CachedAnswers(LazyConnection(engine), context, memory_only=True, version=version)


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
        # the request's last use of its connection: back to the pool in this thread, which spares
        # deps.ReleaseConnection one more thread hop
        answers.lazy.close()


def memory_route(from_memory: Callable[[Request], Awaitable[Response | None]]) -> type[APIRoute]:
    """A route class whose GET first tries ``from_memory``: the answer from this worker's memory without FastAPI's
    dependency resolution (which cost a cached answer more than the rest of its work together), or None, and then
    the route runs as declared, with its dependencies, validation and error answers. ``from_memory`` must answer
    only what the route would answer, after the same key and scope checks, and return None for anything else (a key
    not remembered, a parameter it does not take as is, an error, an answer not in memory)."""

    class MemoryRoute(APIRoute):
        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["method"] == "GET":
                response = await from_memory(Request(scope, receive))
                if response is not None:
                    await response(scope, receive, send)
                    return
            await super().handle(scope, receive, send)

    return MemoryRoute


async def cached_answers(request: Request) -> CachedAnswers:
    return CachedAnswers(lazy_connection(request), context_of(request))


Answers = Annotated[CachedAnswers, Depends(cached_answers)]
