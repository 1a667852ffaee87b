"""The demo (``./ops/demo``): what a new user sees first."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from registry import topics
from registry.settings import Settings


def run(s: Settings, console: Console) -> None:
    table = Table(title="Praktijkregister stack", show_header=False)
    table.add_row("Kafka bootstrap", s.kafka_bootstrap)
    table.add_row("Database URL", s.database_url)
    console.print(table)
    names = topics.list_topics(s.kafka_servers)
    console.print(f"{len(names)} topics:")
    for name in names:
        console.print(f"  {name}")
