"""CLI tables in a pipe: one line per row, never folded at 80 columns (ids and reason codes stay greppable)."""

from __future__ import annotations

import io

from rich.table import Table

from registry.cli import uitvoer


def test_a_table_in_a_pipe_keeps_each_row_on_one_line(capsys: object) -> None:
    console = uitvoer.console()  # pytest's captured stdout is no terminal
    assert console.width == uitvoer.BREED
    table = Table(title="t")
    for col in ("recorded_at", "event_type", "event_id", "reden", "melding"):
        table.add_column(col)
    event_id = "9e9fa148-d6be-48e1-8df7-b08800311980"
    table.add_row(
        "2021-01-13T12:00:00",
        "WerkprocesAfgetekend",
        event_id,
        "onbekend_traject",
        "traject 11111111-1111-4111-8111-111111111111 is not known to the registry " * 3,
    )
    out = io.StringIO()
    console.file = out
    console.print(table)
    rows = [line for line in out.getvalue().splitlines() if event_id in line]
    assert len(rows) == 1 and "onbekend_traject" in rows[0]
