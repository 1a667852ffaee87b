"""Where the CLI's tables go, and in which form.

A terminal gets its own width; a pipe or file one line per row, never folded (rich folds to 80 columns off a
terminal, which breaks event ids and reason codes over lines and defeats grep).

Every command that prints rows takes ``--format table|csv|json`` and hands its rows, as a list of dataclass
instances, to ``toon``: ``table`` for people (the command's own title and column heads), ``csv`` (RFC 4180: a header
row of the field names, CRLF line ends, quoted where needed) and ``json`` (a list of objects whose keys are the field
names, in field order) for programs. The field names are the stable keys; a column head is only for the table."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

BREED = 100_000  # off a terminal: wide enough that no row of ours is ever folded


class Formaat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FORMAT_HELP = "table (for people), csv (RFC 4180, a header row) or json (a list of objects)."


def format_option() -> Any:
    """The ``--format`` option every table command shares."""
    return typer.Option(Formaat.table, "--format", case_sensitive=False, help=FORMAT_HELP)


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else BREED)


def kolom(kop: str | None = None, *, cel: Callable[[Any], str] | None = None, in_tabel: bool = True) -> Any:
    """A field of a row type: ``kop`` its column head in the table (default: the field name), ``cel`` how the table
    shows its value (csv and json keep the whole value), ``in_tabel=False``: only in csv and json."""
    return dataclasses.field(metadata={"kop": kop, "cel": cel, "in_tabel": in_tabel})


def _velden(soort: type) -> tuple[dataclasses.Field[Any], ...]:
    if not dataclasses.is_dataclass(soort):
        raise TypeError(f"{soort!r} is not a dataclass: rows are typed")
    return dataclasses.fields(soort)


def _json_waarde(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple | frozenset | set):
        return [_json_waarde(v) for v in value]
    return value


def _tekst(value: object) -> str:
    """A value as one cell of text: nothing for None, a list joined with ", "."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(_tekst(v) for v in value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def als_json(rijen: Sequence[object], soort: type) -> str:
    namen = [f.name for f in _velden(soort)]
    data = [{n: _json_waarde(getattr(r, n)) for n in namen} for r in rijen]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def als_csv(rijen: Sequence[object], soort: type) -> str:
    namen = [f.name for f in _velden(soort)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: CRLF, quotes doubled, quoted when needed
    writer.writerow(namen)
    for r in rijen:
        writer.writerow([_tekst(getattr(r, n)) for n in namen])
    return out.getvalue()


def als_tabel(rijen: Sequence[object], soort: type, titel: str | None = None, overflow: str = "fold") -> Table:
    velden = [f for f in _velden(soort) if f.metadata.get("in_tabel", True)]
    table = Table(title=titel)
    for f in velden:
        table.add_column(f.metadata.get("kop") or f.name, overflow=overflow)  # type: ignore[arg-type]
    for r in rijen:
        table.add_row(*((f.metadata.get("cel") or _tekst)(getattr(r, f.name)) for f in velden))
    return table


def toon(
    rijen: Sequence[object],
    soort: type,
    formaat: Formaat,
    *,
    titel: str | None = None,
    tabel: Table | None = None,
) -> None:
    """Print ``rijen`` (instances of the dataclass ``soort``) on stdout in ``formaat``. ``tabel``: the command's own
    table layout instead of one column per field (csv and json always follow the fields)."""
    if formaat == Formaat.table:
        console().print(tabel if tabel is not None else als_tabel(rijen, soort, titel))
        return
    sys.stdout.write(als_json(rijen, soort) if formaat == Formaat.json else als_csv(rijen, soort))
    sys.stdout.flush()


class _Snelheid(ProgressColumn):
    """Rows per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s")


@contextmanager
def voortgang(uit: Console, omschrijving: str, totaal: int | None = None) -> Iterator[Callable[[int], object]]:
    """A progress bar (count and rate) on ``uit`` when that is a terminal; in a pipe or a file nothing at all, so a
    log or a program reading it gets only the command's own lines. Yields ``tel(n)``: n more rows done."""
    if not uit.is_terminal:
        yield lambda _n: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Snelheid(),
        TimeElapsedColumn(),
        console=uit,
    ) as bar:
        taak = bar.add_task(omschrijving, total=totaal)
        yield lambda n: bar.advance(taak, n)
        bar.update(taak, total=bar.tasks[0].completed)  # the count is the total once done (the check's was unknown)
