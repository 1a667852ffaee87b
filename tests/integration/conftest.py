"""Fixtures several integration modules share (the session's own are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from registry import bootstrap
from registry.infra import settings as settings_mod
from tests.support.demo import Wereld, phased_world
from tests.support.faults.kort import KorteRun


@pytest.fixture(scope="session")
def demo_world(kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wereld]:
    """The demo data set published in phases and projected, once per run: the disclosure attacks read it through the
    API and the parking test compares a concurrent publication with it (building it takes about a minute)."""
    bootstrap.configure(settings_mod.load())  # session-scoped: set up before the per-test Kafka login
    with phased_world(kafka_bootstrap, database_url, tmp_path_factory.mktemp("demo-keys")) as world:
        yield world


@pytest.fixture(scope="session", autouse=True)
def short_fault_run(request: pytest.FixtureRequest) -> Iterator[KorteRun | None]:
    """``./ops/faults --short`` (tests/integration/test_faults.py) on its private stack, started with the first
    integration test when that test is in the run: it spends minutes waiting for restarts, time the other tests use."""
    if not any(item.path.name == "test_faults.py" for item in request.session.items):
        yield None
        return
    run = KorteRun()
    try:
        yield run
    finally:
        run.close()
