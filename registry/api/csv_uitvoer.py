"""Read-model rows as CSV: a header of the columns, and cells a spreadsheet will not run (CSV injection)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any


def columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for col in row:
            seen.setdefault(col, None)
    return list(seen)


_FORMULA = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet will not run: one starting with = + - @ or a control character (tab, CR, ...) gets
    a leading apostrophe (OWASP "CSV injection"); other control characters become spaces. Numbers are never
    text cells here, so a negative count keeps its sign."""
    if cell and (cell[0] in _FORMULA or _CONTROL.match(cell)):
        cell = "'" + cell
    return _CONTROL.sub(" ", cell)


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return neutralise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple, set)):
        return json.dumps(sorted(value) if isinstance(value, set) else value, ensure_ascii=False, default=str)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(rows: list[dict[str, Any]], header: Sequence[str] | None = None) -> str:
    """The rows as CSV with a header: ``header``, else the JSON members in first-seen order."""
    buf = io.StringIO()
    cols = list(header) if header is not None else columns(rows)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in cols])
    return buf.getvalue()
