"""Calling the API under test with a key of a given scope, and checking RFC 9457 problem bodies."""
from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


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
