"""``praktijkregister publish``: file -> checked events -> ingress topic."""

from __future__ import annotations

from pathlib import Path

from kafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from producers.invoer import Grenzen, Invoer, Resultaat
from producers.publisher import PublishError
from producers.sleutels import KeyError_, Pseudonymiser, Sealer
from registry import bootstrap
from registry.cli.uitvoer import BREED, voortgang
from registry.infra.settings import Settings


def read_file(invoer: Invoer, file: Path, event_type: str | None) -> Resultaat:
    suffix = file.suffix.lower()
    if suffix == ".csv":
        if not event_type:
            raise ValueError("CSV files hold one event type: give it with --type (e.g. --type DeelnemerIngeschreven)")
        return invoer.csv(file, event_type)
    if suffix in (".jsonl", ".ndjson", ".json"):
        if event_type:
            raise ValueError("--type is for CSV files; JSON lines name their type per row")
        return invoer.jsonl(file)
    raise ValueError(f"{file.name}: unknown file kind {suffix!r}; use .jsonl or .csv")


def run(
    s: Settings, file: Path, partner: str, event_type: str | None, skip_invalid: bool, out: Console, err: Console
) -> int:
    try:
        grenzen = Grenzen(s.import_max_line_bytes, s.import_max_cell_bytes, s.max_ingress_bytes)
        invoer = Invoer(
            partner,
            Pseudonymiser.from_file(s.pseudonym_key_file),
            Sealer.from_file(s.public_key_file).seal,
            grenzen=grenzen,
        )
        with voortgang(err, "rows checked") as tel:  # on a terminal only (err: stderr)
            invoer.bij_regel = tel
            res = read_file(invoer, file, event_type)
    except OSError as exc:
        err.print(f"error: {file}: cannot read: {exc.strerror or exc}", highlight=False)
        return 2
    except (KeyError_, ValueError) as exc:
        err.print(f"error: {exc}", highlight=False)
        return 2
    if res.fouten:
        table = Table(title=f"{len(res.fouten)} invalid row(s) in {file.name}")
        for col in ("file", "line", "field", "reason"):
            table.add_column(col)
        for f in res.fouten:
            table.add_row(f.file, str(f.line), f.field, f.reason)
        # in a pipe or a log one line per row (rich caps a print's width at its console's: a wide console then)
        (err if err.is_terminal else Console(file=err.file, width=BREED)).print(table)
        if not skip_invalid:
            err.print(
                f"nothing sent: fix the rows above or use --skip-invalid ({len(res.berichten)} valid row(s) held back)"
            )
            return 1
        err.print(f"skipping {len(res.fouten)} invalid row(s)")
    try:
        with (
            bootstrap.publisher(s, partner) as pub,
            voortgang(err, "rows sent", len(res.berichten)) as tel,
        ):
            for b in res.berichten:
                pub.send_encoded(b.key, b.value, b.line)
                tel(1)
            sent = len(pub.flush())
    except PublishError as exc:
        err.print(f"error: {exc}", highlight=False)
        lines = [b.line for b in res.berichten]
        acked = set(exc.sent)
        err.print(
            f"{file.name}: sent {len(acked)} of {len(lines)} row(s): lines {regels([n for n in lines if n in acked])}; "
            f"NOT sent: lines {regels([n for n in lines if n not in acked])} (publishing again is safe: the same "
            "rows get the same event ids and the validator ignores repeats)",
            highlight=False,
        )
        return 3
    except (KafkaError, ValueError) as exc:  # no broker, refused login, ...: before the first send
        err.print(f"error: {exc}; nothing sent", highlight=False)
        return 3
    out.print(f"published {sent} event(s) from {file.name} to praktijkleren.ingress.{partner}")
    return 1 if res.fouten else 0


def regels(lines: list[int]) -> str:
    """1,2,3,5 -> '1-3, 5'; none -> 'none'."""
    parts: list[str] = []
    for n in sorted(lines):
        if parts and "-" not in parts[-1].split(", ")[-1] and int(parts[-1]) == n - 1:
            parts[-1] = f"{n - 1}-{n}"
        elif parts and "-" in parts[-1] and int(parts[-1].split("-")[1]) == n - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts) or "none"
