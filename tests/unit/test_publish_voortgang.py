"""``publish`` shows its progress (rows checked, then rows sent, with a rate) on stderr when that is a terminal,
and nothing of it in a pipe or a file."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from producers.sleutels import init_keys
from registry import bootstrap
from registry.cli import publish as publish_cli
from registry.cli import uitvoer
from registry.infra import settings as settings_mod

ROW = {
    "type": "KandidaatAangemeld",
    "bsn": "123456782",
    "occurred_at": "2020-01-16T10:30:00",
    "pilot": "rijnmond",
    "aanmelder_type": "gemeente",
    "doelgroep": "b",
    "gemeente": "GM0599",
    "werkend": True,
}


class _Publisher:
    """Takes every event; no broker."""

    def __init__(self, *a: Any, **k: Any) -> None:
        self.tags: list[Any] = []

    def __enter__(self) -> _Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def send_encoded(self, key: bytes | None, value: bytes, tag: Any = None) -> None:
        self.tags.append(tag)

    def flush(self) -> list[Any]:
        return self.tags


def _publish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool, extra: str = "") -> tuple[int, str, str]:
    keys = tmp_path / "keys"
    init_keys(keys / "pseudonym.key", keys / "registry.pub", keys / "registry.key")
    monkeypatch.setenv("PRAKTIJK_KEYS_DIR", str(keys))
    monkeypatch.setattr(bootstrap, "Publisher", _Publisher)  # the publisher the CLI gets from the wiring
    file = tmp_path / "rows.jsonl"
    file.write_text("".join(json.dumps({**ROW, "gemeente": f"GM{i:04d}"}) + "\n" for i in range(25)) + extra)
    out, err = io.StringIO(), io.StringIO()
    code = publish_cli.run(
        settings_mod.load(),
        file,
        "gemeente.gm0599",
        None,
        False,
        Console(file=out, force_terminal=False),
        Console(file=err, force_terminal=terminal, width=120),
    )
    return code, out.getvalue(), err.getvalue()


def test_a_terminal_sees_rows_checked_then_rows_sent_with_a_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _publish(tmp_path, monkeypatch, terminal=True)
    assert code == 0 and "published 25 event(s)" in out
    assert "rows checked" in err and "rows sent" in err and "rows/s" in err
    assert err.index("rows checked") < err.index("rows sent")
    assert "25/25" in err


def test_a_pipe_gets_no_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _publish(tmp_path, monkeypatch, terminal=False)
    assert code == 0 and "published 25 event(s)" in out
    assert err == ""


def test_voortgang_off_a_terminal_writes_nothing() -> None:
    buffer = io.StringIO()
    with uitvoer.voortgang(Console(file=buffer, force_terminal=False), "rows sent", 3) as tel:
        for _ in range(3):
            tel(1)
    assert buffer.getvalue() == ""


def test_invalid_rows_in_a_pipe_are_one_line_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slecht = json.dumps({**ROW, "pilot": "atlantis-" + "x" * 120}) + "\n"
    code, out, err = _publish(tmp_path, monkeypatch, terminal=False, extra=slecht)
    assert code == 1 and out == ""
    rows = [line for line in err.splitlines() if "rows.jsonl" in line and "26" in line]
    assert len(rows) == 1 and "unknown pilot" in rows[0] and "known: " in rows[0], err  # the reason not folded
