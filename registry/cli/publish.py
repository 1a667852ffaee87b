"""``praktijkregister publish``: file -> checked events -> ingress topic."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from producers.invoer import Invoer, Resultaat
from producers.publisher import PublishError, Publisher
from producers.sleutels import KeyError_, Pseudonymiser, Sealer
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


def run(s: Settings, file: Path, partner: str, event_type: str | None, skip_invalid: bool, out: Console, err: Console) -> int:
    try:
        invoer = Invoer(partner, Pseudonymiser.from_file(s.pseudonym_key_file), Sealer.from_file(s.public_key_file).seal)
        res = read_file(invoer, file, event_type)
    except (KeyError_, ValueError) as exc:
        err.print(f"error: {exc}", highlight=False)
        return 2
    if res.fouten:
        table = Table(title=f"{len(res.fouten)} invalid row(s) in {file.name}")
        for col in ("file", "line", "field", "reason"):
            table.add_column(col)
        for f in res.fouten:
            table.add_row(f.file, str(f.line), f.field, f.reason)
        err.print(table)
        if not skip_invalid:
            err.print(f"nothing sent: fix the rows above or use --skip-invalid ({len(res.berichten)} valid row(s) held back)")
            return 1
        err.print(f"skipping {len(res.fouten)} invalid row(s)")
    try:
        with Publisher(s.kafka_servers, partner, partitions=s.partitions) as pub:
            sent = pub.publish_batch((b.event_type, b.record) for b in res.berichten)
    except PublishError as exc:
        err.print(f"error: {exc}", highlight=False)
        return 3
    out.print(f"published {sent} event(s) from {file.name} to praktijkleren.ingress.{partner}")
    return 1 if res.fouten else 0
