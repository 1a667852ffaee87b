"""Which faults a fault-suite run does (``./ops/faults --short`` / ``--only``): pure, no servers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.support.faults import controle
from tests.support.faults.controle import Telling, row_difference
from tests.support.faults.stapel import ROOT
from tests.support.faults.suite import RECOVERY_LIMIT_S, SHORT, Opzet, Rij


def test_only_narrows_the_run_and_short_keeps_one_of_each_kind() -> None:
    alles = [
        "validator SIGKILL",
        "Kafka SIGTERM + restart",
        "Kafka SIGKILL + restart",
        "PostgreSQL stop -m fast + start",
    ]
    assert [f for f in alles if Opzet(False, 1, ("kafka",)).doet(f)] == alles[1:3]
    assert [f for f in alles if Opzet(False, 1, ("KAFKA", "postgres")).doet(f)] == alles[1:]
    assert [f for f in alles if Opzet(True, 1).doet(f)] == [f for f in alles if f in SHORT]
    assert all(Opzet(False, 1).doet(f) for f in alles)


def test_a_recovery_over_the_limit_fails_the_row_as_never_does() -> None:
    telling = Telling(events_in=10, in_log=10, duplicates=0, lost=0)
    assert Rij("x", 2, telling, True, [1.0, RECOVERY_LIMIT_S - 1]).ok
    assert not Rij("x", 2, telling, True, [1.0, RECOVERY_LIMIT_S]).ok
    assert not Rij("x", 2, telling, True, [1.0, None]).ok
    assert "1 over 60 s" in Rij("x", 2, telling, True, [1.0, 75.0]).cells()[-1]


def test_a_differing_table_is_described_by_the_rows_only_one_side_has() -> None:
    said = row_difference(["('a', 1)", "('b', 2)"], ["('a', 1)", "('b', 3)", "('c', 4)"])
    assert said.startswith("2 live rows, 3 replayed;")
    assert "only live (1): [\"('b', 2)\"]" in said
    assert "only replayed (2): [\"('b', 3)\", \"('c', 4)\"]" in said


class _Boek:
    """A log that grows by one record on each of the first ``grows`` refreshes."""

    def __init__(self, grows: int) -> None:
        self.last_offset = {("events", 0): 10}
        self.grows = grows

    def refresh(self) -> bool:
        if self.grows:
            self.grows -= 1
            self.last_offset[("events", 0)] += 1
        return True


def test_a_comparison_counts_only_when_the_log_stood_still(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[int] = []
    monkeypatch.setattr(controle, "wait_drained", lambda *a: None)
    monkeypatch.setattr(controle, "read_models_differ", lambda *a: compared.append(1) or ["event_log"])
    boek = _Boek(grows=1)
    assert controle.compare_drained({}, None, boek, None, 1.0) == (None, ["event_log"])  # type: ignore[arg-type]
    assert len(compared) == 2  # grew during the first: drained and compared again
    compared.clear()
    boek = _Boek(grows=5)
    controle.compare_drained({}, None, boek, None, 1.0, attempts=3)  # type: ignore[arg-type]
    assert len(compared) == 3  # a log that never stands still: the last comparison is reported


def test_a_run_whose_starter_is_gone_stops_itself() -> None:
    starter = subprocess.Popen(["sleep", "60"])
    run = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from tests.support.faults.suite import watch_parent; "
            f"watch_parent({starter.pid}, every_s=0.1); time.sleep(60)",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        assert run.poll() is None, "stopped while its starter still ran"
        starter.kill()
        starter.wait()
        _, err = run.communicate(timeout=20)
        assert run.returncode == -signal.SIGTERM
        assert f"the process that started this run ({starter.pid}) is gone" in err
    finally:
        starter.kill()
        run.kill()
