"""Dispatch by event type, keyed by the catalogue (registry/domein/events.py) and checked when it is built.

A table of the rules, the state fold or a projection is an ``EventHandlers``: its keys are ``EventType`` literals
(mypy refuses a misspelled one) and building it raises ``CatalogueMismatch`` unless every catalogue type is either
handled or named as ignored, and nothing else is: a new event type without a rule, or a typo in one, fails at
import (and in ``tests/unit/test_catalogus.py``), never on a partner's record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from registry.domein.events import ALL_EVENTS, EventType

H = TypeVar("H")


class CatalogueMismatch(ValueError):
    """A dispatch table that does not cover the event catalogue exactly."""


def coverage(handled: frozenset[str], ignored: frozenset[str], alle: frozenset[str] = ALL_EVENTS) -> list[str]:
    """What is wrong with a table's coverage ([] when handled + ignored is exactly ``alle``, without overlap)."""
    problems = [f"neither handled nor ignored: {sorted(alle - handled - ignored)}"] if alle - handled - ignored else []
    if handled & ignored:
        problems.append(f"both handled and ignored: {sorted(handled & ignored)}")
    if (handled | ignored) - alle:
        problems.append(f"not in the catalogue: {sorted((handled | ignored) - alle)}")
    return problems


class EventHandlers(Generic[H]):
    """One handler per handled event type; ``get`` answers None for an ignored type (and for a name that is no
    event type at all: the codec only decodes catalogue types, so that is a caller's bug, not a partner's)."""

    def __init__(self, name: str, handlers: Mapping[EventType, H], ignored: Iterable[str] = ()) -> None:
        self.name = name
        self.handled: frozenset[str] = frozenset(handlers)
        self.ignored: frozenset[str] = frozenset(ignored)
        problems = coverage(self.handled, self.ignored)
        if problems:
            raise CatalogueMismatch(f"{name}: {'; '.join(problems)}")
        self._handlers: dict[str, H] = {str(k): v for k, v in handlers.items()}

    def get(self, event_type: str) -> H | None:
        return self._handlers.get(event_type)

    def __getitem__(self, event_type: str) -> H:
        return self._handlers[event_type]

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._handlers
