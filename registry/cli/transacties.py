"""``praktijkregister transactions hanging [--abort]``: list (and abort) hanging Kafka transactions by hand.

The validator does this by itself (registry/infra/hangende_transacties.py); this is the operator's view of the same
rule, as ``kafka-transactions.sh find-hanging`` / ``abort`` would give it, over every partition of the registry's
topics and of ``__consumer_offsets``. Needs the admin login (``eval "$(ops/stack.sh env)"``; ``ops/transactions``).
"""

from __future__ import annotations

import typer
from kafka import TopicPartition
from rich.console import Console

from registry.infra import settings as settings_mod
from registry.infra.hangende_transacties import OFFSETS_TOPIC, Transactiewacht
from registry.infra.toegang import admin_client

app = typer.Typer(
    help="Kafka transactions: hanging ones (open on a partition, ended at their coordinator).", no_args_is_help=True
)
err = Console(stderr=True)


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
) -> None:
    """List open transactions their coordinator no longer holds open; exit 1 when any is left hanging."""
    s = settings_mod.load()
    admin = admin_client(s.kafka_servers)
    try:
        wacht = Transactiewacht(admin, lambda: _partities(admin, prefix), min_quiet)
        gevonden = wacht.hangende()
        for t in gevonden:
            if abort:
                wacht.breek_af(t)
            typer.echo(
                f"{'aborted' if abort else 'hanging'}\t{t.regel()}"
            )  # one tab-separated line each, also in a pipe
    finally:
        admin.close()
    err.print(f"{len(gevonden)} hanging transaction(s){' aborted' if abort and gevonden else ''}", highlight=False)
    if gevonden and not abort:
        raise typer.Exit(1)
