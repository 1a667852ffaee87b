"""What the use cases read through besides the ``ReadQueries`` port: the request's answer cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Connection

Rows = list[dict[str, Any]]


class Antwoorden(Protocol):
    """The request's answer cache (``registry.api.answers.CachedAnswers``): rows kept while the read models are
    unchanged, else computed by ``compute`` (and kept)."""

    def rows(self, key: tuple[Any, ...], compute: Callable[[], Rows]) -> Rows:
        """The rows under ``key``: remembered, or ``compute()``."""
        ...

    def connection(self) -> Connection:
        """The request's connection for a computation (checked out now)."""
        ...
