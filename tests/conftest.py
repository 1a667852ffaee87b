"""Session fixtures: the real Kafka broker and PostgreSQL, started (or reused) by ops/.

Unit tests (tests/unit) need no servers and run first; everything under
tests/integration talks to the stack the ops scripts run on loopback.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ops(script: str, *args: str) -> str:
    out = subprocess.run([str(ROOT / "ops" / script), *args], check=True, capture_output=True, text=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
    # fastest first: pure unit tests before anything that needs the stack
    items.sort(key=lambda i: 1 if "integration" in i.path.parts else 0)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return os.environ.get("PRAKTIJK_KAFKA_BOOTSTRAP") or _ops("kafka.sh", "start")


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ.get("PRAKTIJK_DATABASE_URL") or _ops("postgres.sh", "start")


@pytest.fixture()
def unique() -> str:
    """A short unique suffix so tests never share topics, groups or tables."""
    return uuid.uuid4().hex[:10]


@pytest.fixture()
def admin(kafka_bootstrap: str) -> Iterator[object]:
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    yield client
    client.close()
