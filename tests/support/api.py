"""Calling the API under test with a key of a given scope, and checking RFC 9457 problem bodies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from registry.api.auth import MemoryKeyStore

PROBLEM = "application/problem+json"


@dataclass
class ApiWorld:
    """An API over a test's own read models: the client, a key per scope, the topic prefix and read-model schema."""

    client: TestClient
    keys: dict[str, str]
    prefix: str
    schema: str

    def get(self, url: str, scope: str | None = None) -> Any:
        """GET with the key of ``scope`` (None: without a key)."""
        return self.client.get(url, headers={"Authorization": f"Bearer {self.keys[scope]}"} if scope else {})


def get(env: dict[str, Any], url: str, scope: str | None) -> Any:
    headers = {}
    if scope == "revoked":
        headers["Authorization"] = f"Bearer {env['revoked']}"
    elif scope == "unknown":
        headers["Authorization"] = "Bearer prk_0123456789ab_" + "x" * 43
    elif scope == "garbage":
        headers["Authorization"] = "Bearer nonsense"
    elif scope is not None:
        headers["Authorization"] = f"Bearer {env['keys'][scope]}"
    return env["client"].get(url, headers=headers)


def assert_problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = resp.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    assert body["instance"] == resp.request.url.path
    assert body["type"].startswith("/problems/")
    return body


def memory_keys(scopes: Iterable[str], naam: str | None = None) -> tuple[MemoryKeyStore, dict[str, str], str]:
    """An in-memory key store with one key per scope (named ``naam``, default ``test <scope>``) and one revoked
    landelijk key: (store, scope -> key, the revoked key)."""
    store = MemoryKeyStore()
    keys = {s: store.create(s, f"test {s}" if naam is None else naam)[1] for s in scopes}
    revoked_key, revoked = store.create("landelijk", "revoked")
    store.revoke(revoked_key.key_id)
    return store, keys, revoked
