"""consumers.projector.run: a database error, also one psycopg raises unwrapped (the bulk path's COPY and
pipelined statements), rolls back, seeks to the stored offsets and retries; too many in a row re-raise."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from consumers import projector


@dataclass
class _Config:
    poll_timeout_ms: int = 10


@dataclass
class _Stats:
    retries: int = 0


@dataclass
class _Worker:
    """Fails ``fails`` steps with ``error``, then projects one batch and is caught up."""

    error: Exception
    fails: int
    config: _Config = field(default_factory=_Config)
    all_stats: list[_Stats] = field(default_factory=lambda: [_Stats()])
    reseeks: int = 0
    done: bool = False

    def step(self, timeout_ms: int) -> int:
        if self.fails:
            self.fails -= 1
            raise self.error
        if self.done:
            return 0
        self.done = True
        return 1

    def reseek(self) -> None:
        self.reseeks += 1

    def caught_up(self) -> bool:
        return self.done


def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading.Event, "wait", lambda self, timeout=None: False)  # no real back-off sleeps


def test_an_unwrapped_psycopg_error_backs_off_reseeks_and_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    _quick(monkeypatch)
    w = _Worker(psycopg.OperationalError("server closed the connection"), fails=2)
    projector.run([w], once=True)  # type: ignore[list-item]
    assert w.done and w.reseeks == 2 and w.all_stats[0].retries == 2


def test_too_many_failures_in_a_row_re_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    _quick(monkeypatch)
    w = _Worker(psycopg.OperationalError("down"), fails=10)
    with pytest.raises(psycopg.OperationalError):
        projector.run([w], once=True, max_failures=3)  # type: ignore[list-item]


def test_other_errors_are_not_taken_for_database_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _quick(monkeypatch)
    w: Any = _Worker(ValueError("a bug"), fails=1)
    with pytest.raises(ValueError):
        projector.run([w], once=True)
    assert w.reseeks == 0
