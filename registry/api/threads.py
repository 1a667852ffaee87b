"""Work off the event loop that nobody waits for: a cache refreshed ahead of its bound (the key lookup, the data
version of the answer cache)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import Connection, Engine

log = logging.getLogger("praktijkregister.api")


def with_connection(engine: Engine | None, use: Callable[[Connection | None], None]) -> None:
    """``use`` on a connection of its own (None: no database, unit tests)."""
    # the connection before the cache's locks (see answers.CachedAnswers._version)
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
