"""``praktijkregister transactions hanging [--abort]``: list (and abort) hanging Kafka transactions by hand.

The validator does this by itself (registry/infra/hangende_transacties.py); this is the operator's view of the same
rule, as ``kafka-transactions.sh find-hanging`` / ``abort`` would give it, over every partition of the registry's
topics and of ``__consumer_offsets``. Needs the admin login (``eval "$(ops/stack.sh env)"``; ``ops/transactions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import typer
from kafka import TopicPartition
from rich.console import Console

from registry.cli import config, uitvoer
from registry.cli.uitvoer import Formaat
from registry.infra.hangende_transacties import OFFSETS_TOPIC, OpenTransactie, Transactiewacht
from registry.infra.toegang import admin_client

app = typer.Typer(
    help="Kafka transactions: hanging ones (open on a partition, ended at their coordinator).", no_args_is_help=True
)
err = Console(stderr=True)


@dataclass(frozen=True)
class Hangend:
    """A row of ``transactions hanging``: ``status`` hanging | aborted."""

    status: str
    topic: str
    partition: int
    producer_id: int
    producer_epoch: int
    start_offset: int

    @classmethod
    def van(cls, t: OpenTransactie, status: str) -> Hangend:
        return cls(status, t.tp.topic, t.tp.partition, t.producer_id, t.producer_epoch, t.start_offset)


def _partities(admin: object, prefix: str) -> list[TopicPartition]:
    topics = [t for t in admin.list_topics() if t.startswith(prefix + ".") or t == OFFSETS_TOPIC]  # type: ignore[attr-defined]
    described = admin.describe_topics(sorted(topics))  # type: ignore[attr-defined]
    return [TopicPartition(d["name"], p["partition_index"]) for d in described for p in d.get("partitions") or ()]


@app.command("hanging")
def hanging(
    abort: bool = typer.Option(False, "--abort", help="Abort every hanging transaction listed (Kafka's admin abort)."),
    min_quiet: float = typer.Option(
        30.0,
        "--min-quiet",
        min=0,
        help="Only transactions without a write for this many "
        "seconds (one ended a moment ago may still be getting its markers).",
    ),
    prefix: str = typer.Option("praktijkleren", help="Topic prefix of the registry."),
    formaat: Formaat = uitvoer.format_option(),
) -> None:
    """List open transactions their coordinator no longer holds open; exit 1 when any is left hanging. The table
    form is one tab-separated line each (also in a pipe), as it always was."""
    s = config.settings()
    admin = admin_client(s.kafka_servers)
    try:
        wacht = Transactiewacht(admin, lambda: _partities(admin, prefix), min_quiet)
        gevonden = wacht.hangende()
        for t in gevonden:
            if abort:
                wacht.breek_af(t)
            if formaat == Formaat.table:  # one tab-separated line each, also in a pipe
                typer.echo(f"{'aborted' if abort else 'hanging'}\t{t.regel()}")
    finally:
        admin.close()
    if formaat != Formaat.table:
        status = "aborted" if abort else "hanging"
        uitvoer.toon([Hangend.van(t, status) for t in gevonden], Hangend, formaat)
    err.print(f"{len(gevonden)} hanging transaction(s){' aborted' if abort and gevonden else ''}", highlight=False)
    if gevonden and not abort:
        raise typer.Exit(1)
