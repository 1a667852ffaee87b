"""The ``operations`` scope: the key a scraper keeps on disk reads /metrics and /v1/status and nothing else (not
the person-level document, not the audit trail, not the web pages); landelijk keys keep reading both."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.api.app import create_app
from registry.api.auth import OPERATIONS_PATHS, MemoryKeyStore, Scope, parse_scope
from registry.api.verklaringen import bronnen
from registry.infra import settings as settings_mod
from tests.unit.test_api import FakeReadModels, fake_probe
from tests.unit.test_document import FakeBronnen
from tests.unit.test_web import WebReadModels

PUBLIC = "https://r.example"


def _env(queries: Any) -> dict[str, Any]:
    store = MemoryKeyStore()
    keys = {s: store.create(s, f"test {s}")[1] for s in ("operations", "landelijk")}
    settings = replace(settings_mod.load(), public_url=PUBLIC)
    app = create_app(settings, connect_database=False, keys=store, queries=queries, status_probe=fake_probe)
    app.dependency_overrides[bronnen] = FakeBronnen
    # the stand-in read models do not answer every route: a 500 there is still "not refused"
    return {"client": TestClient(app, base_url=PUBLIC, raise_server_exceptions=False), "keys": keys, "app": app}


@pytest.fixture()
def env() -> dict[str, Any]:
    return _env(FakeReadModels())


def _auth(env: dict[str, Any], scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['keys'][scope]}"}


def test_operations_is_a_scope_without_a_value() -> None:
    assert parse_scope(" Operations ") == Scope("operations")
    with pytest.raises(ValueError):
        parse_scope("operations:prometheus")


@pytest.mark.parametrize("scope", ["operations", "landelijk"])
def test_metrics_and_status_for_operations_and_landelijk(env: dict[str, Any], scope: str) -> None:
    assert env["client"].get("/metrics", headers=_auth(env, scope)).status_code == 200
    status = env["client"].get("/v1/status", headers=_auth(env, scope))
    assert status.status_code == 200 and "consumers" in status.json()


def _keyed_get_paths(app: Any) -> list[str]:
    """Every GET path of the OpenAPI document that takes an API key, path parameters filled in."""
    paths = []
    for path, ops in app.openapi()["paths"].items():
        if "get" in ops and ops["get"].get("security"):
            paths.append(re.sub(r"\{[^}]+\}", "3f2a9c1e-7b4d-4e11-9a0b-5c6d7e8f9012", path))
    return paths


def test_an_operations_key_opens_nothing_else(env: dict[str, Any]) -> None:
    paths = _keyed_get_paths(env["app"])
    assert "/v1/verklaringen/3f2a9c1e-7b4d-4e11-9a0b-5c6d7e8f9012/document" in paths and "/v1/audit" in paths
    for path in paths:
        if path in OPERATIONS_PATHS:
            continue
        resp = env["client"].get(path, headers=_auth(env, "operations"))
        assert resp.status_code == 403, (path, resp.status_code)
        assert "operations" in resp.json()["detail"]
        assert env["client"].get(path, headers=_auth(env, "landelijk")).status_code != 403, path


def test_an_operations_key_opens_no_web_page() -> None:
    env = _env(WebReadModels())
    c = env["client"]
    c.get("/")  # the form's CSRF token
    token = c.cookies.get("praktijk_csrf") or ""
    resp = c.post(
        "/sleutel",
        data={"sleutel": env["keys"]["operations"], "terug": "/", "csrf": token},
        headers={"Origin": PUBLIC},
        follow_redirects=False,
    )
    assert (
        resp.status_code == 401
        and "monitoring" in resp.text
        and "praktijk_sleutel=" not in resp.headers.get("set-cookie", "")
    )
    c.cookies.set("praktijk_sleutel", env["keys"]["operations"])  # set by hand: still publiek, and cleared
    page = c.get("/")
    assert 'id="scope">publiek' in page.text and 'praktijk_sleutel=""' in page.headers.get("set-cookie", "")
