"""API keys in the real PostgreSQL: store, CLI (create prints once, list shows no secret, revoke) and the API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from projections import queries
from registry.api.app import create_app
from registry.api.auth import KeyStore
from registry.infra import settings as settings_mod
from registry.infra.db import engine as make_engine


@pytest.fixture()
def store(database_url: str, unique: str) -> Iterator[KeyStore]:
    ks = KeyStore(make_engine(database_url), table=f"api_keys_{unique}")
    yield ks
    with ks.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {ks.table}"))


def test_store_keeps_only_the_hash(store: KeyStore) -> None:
    key, secret = store.create("instelling:Albeda", "albeda portal")
    assert str(key.scope) == "instelling:mbo.albeda"
    with store.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {store.table}")).mappings().all()
    assert len(rows) == 1
    assert secret not in repr(rows)
    assert rows[0]["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    found = store.lookup(secret)
    assert found is not None and found.key_id == key.key_id and str(found.scope) == "instelling:mbo.albeda"
    assert store.lookup(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


def test_revoke(store: KeyStore) -> None:
    key, secret = store.create("landelijk")
    other, other_secret = store.create("publiek")
    assert store.revoke(key.key_id) is True
    assert store.revoke(key.key_id) is False  # already revoked
    assert store.revoke("000000000000") is False
    assert store.lookup(secret) is None
    assert store.lookup(other_secret) is not None
    listed = {k.key_id: k for k in store.list()}
    assert listed[key.key_id].revoked_at is not None and listed[other.key_id].revoked_at is None


def test_unknown_stored_scope_authenticates_nobody(store: KeyStore) -> None:
    key, secret = store.create("landelijk")
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {store.table} SET scope = 'superuser' WHERE key_id = :i"), {"i": key.key_id})
    assert store.lookup(secret) is None


@pytest.fixture()
def empty_read_models(store: KeyStore, unique: str) -> Iterator[str]:
    from projections import store as read_store
    from projections.catalogus import ALL

    schema = f"t{unique}_read"
    with store.engine.begin() as conn:
        read_store.ensure(conn, schema, ALL.values())
    yield schema
    with store.engine.begin() as conn:
        read_store.drop_schema(conn, schema)


def test_api_with_database_keys(store: KeyStore, database_url: str, empty_read_models: str) -> None:
    """401 for missing / unknown / revoked keys against the real table; a valid key gets past authentication."""
    s = replace(settings_mod.load(), database_url=database_url, kafka_bootstrap="127.0.0.1:1")
    app = create_app(
        s, queries=queries, engine=store.engine, keys=store, schema=empty_read_models, status_timeout_ms=300
    )
    client = TestClient(app)
    key, secret = store.create("landelijk", "ops")
    assert client.get("/v1/status").status_code == 401
    assert client.get("/v1/status", headers={"Authorization": "Bearer prk_000000000000_" + "y" * 43}).status_code == 401
    ok = client.get("/v1/status", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 503 and ok.json()["type"] == "/problems/kafka-unavailable"  # authenticated; Kafka down
    store.revoke(key.key_id)
    again = client.get("/v1/status", headers={"Authorization": f"Bearer {secret}"})
    assert again.status_code == 401 and again.headers["content-type"].startswith("application/problem+json")


def test_cli_create_list_revoke(database_url: str, unique: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.cli.main import app

    monkeypatch.setenv("PRAKTIJK_DATABASE_URL", database_url)
    runner = CliRunner()
    label = f"cli-test-{unique}"
    created = runner.invoke(app, ["apikey", "create", "--scope", "regio:rijnmond", "--naam", label])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("prk_")
    key_id = secret.split("_")[1]
    store = KeyStore(make_engine(database_url))
    found = store.lookup(secret)
    assert found is not None and str(found.scope) == "regio:Rijnmond" and found.naam == label

    listed = runner.invoke(app, ["apikey", "list"])
    assert listed.exit_code == 0 and key_id in listed.stdout
    assert secret not in listed.stdout and hashlib.sha256(secret.encode()).hexdigest() not in listed.stdout

    revoked = runner.invoke(app, ["apikey", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    assert store.lookup(secret) is None
    assert runner.invoke(app, ["apikey", "revoke", key_id]).exit_code == 1
    assert key_id not in runner.invoke(app, ["apikey", "list"]).stdout
    assert key_id in runner.invoke(app, ["apikey", "list", "--all"]).stdout
    with store.engine.begin() as conn:  # leave the shared table as it was
        conn.execute(text("DELETE FROM api_keys WHERE key_id = :i"), {"i": key_id})


@pytest.mark.parametrize("scope", ["regio:Atlantis", "instelling:mbo.nergens", "root", "landelijk:x"])
def test_cli_rejects_bad_scope(database_url: str, monkeypatch: pytest.MonkeyPatch, scope: str) -> None:
    from registry.cli.main import app

    monkeypatch.setenv("PRAKTIJK_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["apikey", "create", "--scope", scope])
    assert result.exit_code == 2
    assert "prk_" not in result.stdout
