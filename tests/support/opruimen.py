"""One way for an integration test to leave nothing behind: its read-model and validator schemas, its key tables
and its topics (a broker that keeps every test's topics runs out of file handles)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kafka import KafkaAdminClient
from sqlalchemy import Engine, text

from projections import store as read_store
from registry.infra.kafka import client_config


def ruim_op(engine: Engine, kafka_bootstrap: str, prefix: str, schema: str, tables: Iterable[str] = ()) -> None:
    with engine.begin() as conn:
        read_store.drop_schema(conn, schema)
        read_store.drop_schema(conn, f"{prefix}_validator")
        for table in tables:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
    admin = KafkaAdminClient(**client_config(kafka_bootstrap))
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(prefix + ".")])
    finally:
        admin.close()


def verwijder_topics(admin: KafkaAdminClient, names: Sequence[str]) -> None:
    """Delete ``names``, 100 a request; one that will not go is left (gone already, or a slow broker: a few topics
    left do no harm to whoever cleans up at the end of a run)."""
    for i in range(0, len(names), 100):
        try:
            admin.delete_topics(list(names[i : i + 100]), timeout_ms=30_000)
        except Exception:  # noqa: BLE001 - see the docstring
            pass
