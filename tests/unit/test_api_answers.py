"""The cached overzicht's fast path: answered on the event loop without a worker thread while the answer
is in memory, recomputed in a worker thread once the data version has moved on, with the same scope checks and key
revocation bound as every other request; and the serving process's heap frozen at start (no long GC pauses)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool
from starlette.concurrency import run_in_threadpool

from registry.api import answers, principal
from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.cache import CachedKeyLookup
from registry.api.routes import overzichten
from registry.infra import settings as settings_mod
from tests.unit.test_api import FakeReadModels

T = TypeVar("T")
URL = "/v1/overzichten/kwalificaties?peildatum=2021-01-31"


class _Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def world(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An app with the answer cache on: an engine (SQLite, never queried by the fake read models nor the in-memory
    keys), the data version
    from ``world["version"]`` instead of projection_offsets, a count of the dependencies' worker-thread hops and
    where each overzicht was rendered."""
    world: dict[str, Any] = {"version": "v1", "threads": 0, "rendered": []}
    monkeypatch.setattr(answers, "data_version", lambda conn, schema: world["version"])
    use_case = overzichten.diensten.overzicht

    def rendered(*args: Any, **kwargs: Any) -> Any:  # where each answer is made: on the event loop or in a thread
        rows = use_case(*args, **kwargs)
        try:
            asyncio.get_running_loop()
            world["rendered"].append("loop")
        except RuntimeError:
            world["rendered"].append("thread")
        return rows

    monkeypatch.setattr(overzichten.diensten, "overzicht", rendered)

    async def counting(func: Callable[..., T], *args: Any) -> T:
        world["threads"] += 1
        return await run_in_threadpool(func, *args)

    monkeypatch.setattr(answers, "run_in_threadpool", counting)
    monkeypatch.setattr(principal, "run_in_threadpool", counting)
    clock, store, rm = _Clock(), MemoryKeyStore(), FakeReadModels()
    keys = CachedKeyLookup(store, ttl=2.0, clock=clock)
    app = create_app(settings_mod.load(), queries=rm, engine=_sqlite(), keys=keys)  # type: ignore[arg-type]
    app.state.context.versions.clock = clock
    world.update(app=app, client=TestClient(app), clock=clock, store=store, rm=rm)
    return world


def _sqlite() -> Any:
    # one connection shared by the event loop and the worker threads: the fake read models never query it
    return create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)


def _get(world: dict[str, Any], scope: str, url: str = URL) -> Any:
    key, secret = world.setdefault("keys", {}).get(scope) or world["store"].create(scope, scope)
    world["keys"][scope] = (key, secret)
    return world["client"].get(url, headers={"Authorization": f"Bearer {secret}"})


def test_a_cached_overzicht_is_answered_without_a_worker_thread(world: dict[str, Any]) -> None:
    first = _get(world, "landelijk")
    assert first.status_code == 200 and len(world["rm"].calls) == 1
    threads = world["threads"]
    second = _get(world, "landelijk")
    assert second.status_code == 200 and second.content == first.content
    assert world["threads"] == threads and len(world["rm"].calls) == 1  # from memory: no key or version query
    assert world["rendered"] == ["thread", "loop"]  # computed in a worker thread, then answered on the event loop
    assert second.headers["x-content-type-options"] == "nosniff"
    # the caller's own answer, revalidated before each use (ETag): never kept by a shared cache
    assert second.headers["cache-control"] == "private, no-cache" and second.headers["vary"] == "Authorization"
    assert second.headers["etag"] == first.headers["etag"]


def test_a_new_data_version_makes_the_next_request_recompute(world: dict[str, Any]) -> None:
    cache = world["app"].state.context.cache
    assert _get(world, "landelijk").status_code == 200
    world["version"] = "v2"  # a new event projected
    assert _get(world, "landelijk").status_code == 200 and len(world["rm"].calls) == 1  # within the bound
    misses = cache.misses
    world["clock"].now += 0.2  # the bound (data_version_seconds) has passed
    assert _get(world, "landelijk").status_code == 200
    assert len(world["rm"].calls) == 2 and cache.misses == misses + 1  # recomputed, the miss counted once
    assert _get(world, "landelijk").status_code == 200 and len(world["rm"].calls) == 2  # and cached again


def test_past_half_the_bound_a_request_reads_the_version_ahead_without_waiting(world: dict[str, Any]) -> None:
    versions = world["app"].state.context.versions
    assert _get(world, "landelijk").status_code == 200 and versions.reads == 1
    world["version"] = "v2"  # a new event projected
    world["clock"].now += 0.1  # half the bound
    threads = world["threads"]
    assert _get(world, "landelijk").status_code == 200 and len(world["rm"].calls) == 1  # answered from memory ...
    assert world["threads"] == threads and world["rendered"][-1] == "loop"  # ... on the event loop
    deadline = time.monotonic() + 5
    while versions.reads < 2 and time.monotonic() < deadline:  # ... while the version is read in the background
        time.sleep(0.01)
    assert versions.current() == "v2"
    assert _get(world, "landelijk").status_code == 200 and len(world["rm"].calls) == 2  # the new numbers


def test_past_half_its_bound_a_revoked_key_is_found_out_in_the_background(world: dict[str, Any]) -> None:
    keys = world["app"].state.context.keys
    assert _get(world, "landelijk").status_code == 200
    key, secret = world["keys"]["landelijk"]
    world["store"].revoke(key.key_id)
    world["clock"].now += 1.0  # half the key's bound
    assert _get(world, "landelijk").status_code == 200  # remembered: within the bound
    deadline = time.monotonic() + 5
    while keys.remembered(secret) is not None and time.monotonic() < deadline:  # ... and looked up again meanwhile
        time.sleep(0.01)
    assert _get(world, "landelijk").status_code == 401  # refused well within the bound


def test_the_fast_path_keeps_every_scope_check(world: dict[str, Any]) -> None:
    assert _get(world, "landelijk").status_code == 200  # cached for landelijk
    assert _get(world, "regio:Rijnmond").status_code == 200
    assert world["rm"].calls[-1]["regio"] == "Rijnmond"  # another scope filter: not landelijk's answer
    assert _get(world, "publiek").status_code == 200  # (its key remembered from now on)
    threads = world["threads"]
    assert _get(world, "regio:Rijnmond", URL + "&instelling=mbo.albeda").status_code == 403
    assert _get(world, "publiek", URL + "&instelling=mbo.albeda").status_code == 403  # publiek: no instelling cut
    assert _get(world, "publiek", URL.replace("2021-01-31", "2021-01-13")).status_code == 400  # not published
    assert _get(world, "landelijk", "/v1/overzichten/onbekend?peildatum=2021-01-31").status_code == 404
    assert world["threads"] == threads  # refused on the event loop, before any answer
    assert world["client"].get(URL).status_code == 401


def test_a_revoked_key_is_refused_within_the_bound_on_the_fast_path(world: dict[str, Any]) -> None:
    assert _get(world, "landelijk").status_code == 200
    key, _ = world["keys"]["landelijk"]
    world["store"].revoke(key.key_id)
    world["clock"].now += 1.9
    assert _get(world, "landelijk").status_code == 200  # remembered: within the 2 s bound
    world["clock"].now += 0.1
    assert _get(world, "landelijk").status_code == 401


def test_a_serving_process_freezes_its_heap_at_start() -> None:
    app = create_app(settings_mod.load(), connect_database=False, keys=MemoryKeyStore(), queries=FakeReadModels())  # type: ignore[arg-type]
    gc.unfreeze()
    try:
        with TestClient(app):  # runs the lifespan, as uvicorn does
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
