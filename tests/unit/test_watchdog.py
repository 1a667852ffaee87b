"""The watchdog of transactional commits (consumers/watchdog.py): a commit that never returns ends the process with
status 75, in the validator and in the reconciler alike."""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from consumers import reconciler
from consumers.validator import TRANSACTIE_TIMEOUT_MS
from consumers.watchdog import EXIT_TRANSACTIE_HANGT, TRANSACTIE_HANGT_S, TRANSACTIE_REQUEST_TIMEOUT_MS


class _StuckProducer:
    """A producer whose commit waits for ever (kafka-python asking a dead coordinator)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def send_offsets_to_transaction(self, offsets: Any, group: Any) -> None:
        pass

    def commit_transaction(self) -> None:
        self.release.wait(5)


class _Consumer:
    def group_metadata(self) -> object:
        return object()


def test_the_limit_lies_beyond_the_coordinators_own_abort() -> None:
    # our transaction time-out (20 s) plus the broker's abort check (10 s): the coordinator gave up first
    assert 30.0 < TRANSACTIE_HANGT_S <= 40.0  # and a killed broker stalls accepted events for under a minute


def test_a_request_to_a_dead_coordinator_is_retried_twice_before_the_watchdog_ends_the_process() -> None:
    # the in-flight request times out, the retry cannot reach the node and looks the coordinator up again
    assert 2 * TRANSACTIE_REQUEST_TIMEOUT_MS / 1000 < TRANSACTIE_HANGT_S
    assert TRANSACTIE_REQUEST_TIMEOUT_MS < TRANSACTIE_TIMEOUT_MS


def test_a_reconciler_commit_that_never_returns_ends_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    codes: list[int] = []
    producer = _StuckProducer()

    def exit_fn(code: int) -> None:
        codes.append(code)
        producer.release.set()  # what os._exit would end

    watchdog = functools.partial(reconciler.watchdog, exit_fn=exit_fn)
    monkeypatch.setattr(reconciler, "watchdog", watchdog)
    monkeypatch.setattr(reconciler, "TRANSACTIE_HANGT_S", 0.05)
    assert reconciler._commit(_Consumer(), producer, {}) is True  # type: ignore[arg-type]
    assert codes == [EXIT_TRANSACTIE_HANGT]


class _Teller:
    def __init__(self, n: int) -> None:
        self.n = n

    def get(self) -> int:
        return self.n

    def decrement(self) -> None:
        self.n -= 1


class _Accumulator:
    def __init__(self) -> None:
        self._flushes_in_progress = _Teller(1)  # what kafka-python's commit leaves open


class _Producer:
    def __init__(self) -> None:
        self._accumulator = _Accumulator()

    def send_offsets_to_transaction(self, offsets: Any, group: Any) -> None:
        pass

    def commit_transaction(self) -> None:
        pass


def test_a_reconciler_commit_ends_the_flush_kafka_python_left_open() -> None:
    producer = _Producer()
    assert reconciler._commit(_Consumer(), producer, {}) is True  # type: ignore[arg-type]
    assert producer._accumulator._flushes_in_progress.get() == 0
