"""The Praktijkloket's two form posts (``/sleutel``, ``/sleutel/wissen``): only from this site's own page (Origin),
with the visitor's CSRF token, at most 4 KiB, and the key cookie ``Secure`` whenever the public URL is https."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.web.formulier import MAX_FORM_BYTES
from registry.infra import settings as settings_mod
from tests.unit.test_web import ORIGIN, WebReadModels, _csrf

ROUTES = ["/sleutel", "/sleutel/wissen"]


def _client(public_url: str = "", base_url: str = "http://testserver") -> tuple[TestClient, str]:
    store = MemoryKeyStore()
    _, key = store.create("landelijk", "test")
    app = create_app(
        replace(settings_mod.load(), public_url=public_url), connect_database=False, keys=store, queries=WebReadModels()
    )
    return TestClient(app, base_url=base_url), key


def _post(c: TestClient, route: str, key: str, headers: dict[str, str], **form: str) -> Any:
    return c.post(route, data={"sleutel": key, "terug": "/", **form}, headers=headers, follow_redirects=False)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {},  # neither: a browser always sends Origin on a post
    ],
)
def test_a_post_from_another_site_is_refused(route: str, headers: dict[str, str]) -> None:
    c, key = _client()
    resp = _post(c, route, key, headers, **_csrf(c))
    assert resp.status_code == 403 and "praktijk_sleutel" not in resp.headers.get("set-cookie", "")


@pytest.mark.parametrize("route", ROUTES)
def test_a_post_without_the_visitors_token_is_refused(route: str) -> None:
    c, key = _client()
    _csrf(c)
    assert _post(c, route, key, ORIGIN["headers"]).status_code == 403
    assert _post(c, route, key, ORIGIN["headers"], csrf="x" * 43).status_code == 403
    fresh, _ = _client()  # a token from another visitor's page (the attacker's own) does not match this cookie
    assert _post(c, route, key, ORIGIN["headers"], **_csrf(fresh)).status_code == 403
    assert _post(c, route, key, ORIGIN["headers"], **_csrf(c)).status_code == 303


def test_the_referer_stands_in_for_a_missing_origin() -> None:
    c, key = _client()
    assert _post(c, "/sleutel", key, {"Referer": "http://testserver/regios"}, **_csrf(c)).status_code == 303


@pytest.mark.parametrize("route", ROUTES)
def test_a_form_over_4_kib_is_413(route: str) -> None:
    c, key = _client()
    token = _csrf(c)
    big = _post(c, route, key, ORIGIN["headers"], **token, terug="/" + "a" * MAX_FORM_BYTES)
    assert big.status_code == 413
    chunks = (b"x" * 1024 for _ in range(8))  # streamed, no Content-Length: counted while read
    streamed = c.post(
        route, content=chunks, headers={**ORIGIN["headers"], "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413
    assert _post(c, route, key, ORIGIN["headers"], **token, terug="/" + "a" * 1000).status_code == 303


def test_cookies_are_secure_when_the_public_url_is_https() -> None:
    """Behind a TLS proxy the app sees http; the public URL says the visitor uses https."""
    c, key = _client(public_url="https://r.example", base_url="http://r.example")
    page = c.get("/")
    assert "Secure" in page.headers["set-cookie"] and "praktijk_csrf=" in page.headers["set-cookie"]
    token = _csrf(c)
    # the proxy forwards the browser's cookies; httpx itself would not send a Secure cookie over http
    proxied = {"Origin": "https://r.example", "Cookie": f"praktijk_csrf={token['csrf']}"}
    resp = _post(c, "/sleutel", key, proxied, **token)
    assert resp.status_code == 303 and "Secure" in resp.headers["set-cookie"]
    plain, key = _client()
    _csrf(plain)
    resp = _post(plain, "/sleutel", key, ORIGIN["headers"], **_csrf(plain))
    assert resp.status_code == 303 and "Secure" not in resp.headers["set-cookie"]
