"""The cached overzicht's fast path: answered on the event loop without a worker thread while the answer
is in memory, recomputed in a worker thread once the data version has moved on, with the same scope checks and key
revocation bound as every other request; and the serving process's heap frozen at start (no long GC pauses)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.pool import QueuePool, StaticPool
from starlette.concurrency import run_in_threadpool

from registry.api import answers, deps, encoded, principal
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


def _get_with(world: dict[str, Any], scope: str, if_none_match: str, url: str = URL) -> Any:
    key, secret = world.setdefault("keys", {}).get(scope) or world["store"].create(scope, scope)
    world["keys"][scope] = (key, secret)
    return world["client"].get(url, headers={"Authorization": f"Bearer {secret}", "If-None-Match": if_none_match})


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


def test_a_request_that_finds_the_version_expired_awaits_its_read_and_stays_on_the_memory_path(
    world: dict[str, Any],
) -> None:
    versions = world["app"].state.context.versions
    assert _get(world, "landelijk").status_code == 200 and versions.reads == 1
    world["clock"].now += 0.2  # past the bound, no read ahead ran
    threads = world["threads"]
    second = _get(world, "landelijk")
    assert second.status_code == 200 and versions.reads == 2  # the version read again, within the bound ...
    assert len(world["rm"].calls) == 1 and world["rendered"][-1] == "loop"  # ... the answer from memory ...
    assert world["threads"] == threads  # ... without the declared route's worker thread
    world["version"] = "v2"  # a new event projected
    world["clock"].now += 0.2
    assert _get(world, "landelijk").status_code == 200 and len(world["rm"].calls) == 2  # the new version: computed


def test_when_the_version_cannot_be_read_the_declared_route_gives_the_error(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _get(world, "landelijk").status_code == 200
    reads = []

    def broken(conn: Any, schema: str) -> str:
        reads.append(schema)
        raise RuntimeError("database down")

    monkeypatch.setattr(answers, "data_version", broken)
    world["clock"].now += 0.2
    client = TestClient(world["app"], raise_server_exceptions=False)
    _, secret = world["keys"]["landelijk"]
    failed = client.get(URL, headers={"Authorization": f"Bearer {secret}"})
    assert failed.status_code == 500 and failed.headers["content-type"] == "application/problem+json"
    assert len(reads) == 2  # tried on the memory path, then by the declared route, which answered


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


def test_a_serving_process_hands_threads_the_gil_within_a_millisecond_and_restores_it() -> None:
    import sys

    before = sys.getswitchinterval()
    app = create_app(settings_mod.load(), queries=FakeReadModels(), connect_database=False, keys=MemoryKeyStore())  # type: ignore[arg-type]
    with TestClient(app):
        assert sys.getswitchinterval() == pytest.approx(0.001)
    assert sys.getswitchinterval() == before


def test_a_serving_process_freezes_its_heap_at_start() -> None:
    app = create_app(settings_mod.load(), connect_database=False, keys=MemoryKeyStore(), queries=FakeReadModels())  # type: ignore[arg-type]
    gc.unfreeze()
    try:
        with TestClient(app):  # runs the lifespan, as uvicorn does
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual


# --- the answer from memory gives exactly what the declared route gives -------------------------------------------

PARAMETER_CASES = [
    URL,
    URL + "&format=csv",
    URL + "&format=xml",  # invalid: 400 from FastAPI's validation
    URL + "&peildatum=2021-02-28",  # twice: FastAPI's reading, not the memory route's
    URL + "&onbekend=1",
    URL + "&pilot=drenthe",
    URL + "&pilot=Drenthe",  # the name, not the id: canonicalised by the use case
    URL + "&regio=Rijnmond",
    URL + "&instelling=mbo.albeda",
    URL + "&pilot=%00",
    URL + "&pilot=",
    "/v1/overzichten/kwalificaties?peildatum=2021-1-31",
    "/v1/overzichten/kwalificaties?peildatum=9999-12-31",
    "/v1/overzichten/kwalificaties?peildatum=1989-12-31",
    "/v1/overzichten/kwalificaties?peildatum=2021-02-30",
    "/v1/overzichten/kwalificaties",
    "/v1/overzichten/onbekend?peildatum=2021-01-31",
    "/v1/overzichten/Kwalificaties?peildatum=2021-01-31",
    "/v1/overzichten/deelnemers_per_pilot?peildatum=2021-01-31&pilot=rijnmond",
]
SCOPES = ["landelijk", "publiek", "regio:Rijnmond", "instelling:mbo.albeda", "operations"]


def _answers(app: Any, secrets: dict[str, str], url: str) -> dict[str, tuple[int, bytes, str | None]]:
    client = TestClient(app)
    out = {}
    for scope, secret in secrets.items():
        for _ in range(2):  # the second time from memory where the memory route answers
            got = client.get(url, headers={"Authorization": f"Bearer {secret}"})
        out[scope] = (got.status_code, got.content, got.headers.get("etag"))
    return out


def test_the_answer_from_memory_equals_the_declared_routes_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same requests to an app whose keys are remembered (answers from memory) and to one that asks the key
    table every time (always the declared route, its dependencies and validation): the same status, bytes and tag."""
    monkeypatch.setattr(answers, "data_version", lambda conn, schema: "v1")
    store = MemoryKeyStore()
    secrets = {scope: store.create(scope, scope)[1] for scope in SCOPES}
    served = []
    memory_route = overzichten.from_memory

    async def counted(request: Any) -> Any:
        response = await memory_route(request)
        served.append(response is not None)
        return response

    monkeypatch.setattr(overzichten, "from_memory", counted)
    from_memory = create_app(
        settings_mod.load(), queries=FakeReadModels(), engine=_sqlite(), keys=CachedKeyLookup(store)
    )  # type: ignore[arg-type]
    declared = create_app(settings_mod.load(), queries=FakeReadModels(), engine=_sqlite(), keys=store)  # type: ignore[arg-type]
    for url in PARAMETER_CASES:
        assert _answers(from_memory, secrets, url) == _answers(declared, secrets, url), url
    assert any(served)  # the memory route did answer some of them


def test_the_memory_route_answers_only_plain_arguments() -> None:
    from starlette.requests import Request

    def arguments(query: str) -> Any:
        scope = {
            "type": "http",
            "query_string": query.encode(),
            "path_params": {"naam": "kwalificaties"},
            "headers": [],
        }
        return overzichten.plain_arguments(Request(scope))

    assert arguments("peildatum=2021-01-31&pilot=drenthe") == {
        "naam": "kwalificaties",
        "peildatum": date(2021, 1, 31),
        "format": "json",
        "pilot": "drenthe",
        "regio": None,
        "instelling": None,
    }
    for query in ("", "peildatum=2021-01-31&peildatum=2021-01-31", "peildatum=20210131", "peildatum=2021-01-31&x=1"):
        assert arguments(query) is None, query
    assert arguments("peildatum=2101-01-01") is None and arguments("peildatum=2021-01-31&format=xml") is None


def test_the_memory_route_remembers_plain_arguments_per_query_string_within_its_bound() -> None:
    from starlette.requests import Request

    def request(query: str) -> Request:
        return Request({"type": "http", "query_string": query.encode(), "path_params": {"naam": "kwalificaties"}})

    overzichten._plain.clear()
    for day in range(1, overzichten.MAX_PLAIN + 40):
        query = f"peildatum={date(2021, 1, 1).fromordinal(date(2021, 1, 1).toordinal() + day).isoformat()}"
        assert overzichten.plain_arguments(request(query)) == overzichten.arguments_of(request(query))
        assert len(overzichten._plain) <= overzichten.MAX_PLAIN
    assert overzichten.plain_arguments(request("peildatum=2021-01-31&peildatum=2021-01-31")) is None


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "bearer prk_x", "BEARER  prk_x  ", "Basic prk_x", "Bearerprk_x", "Bearer a b"],
)
def test_the_memory_route_reads_the_key_as_http_bearer_does(authorization: str | None) -> None:
    from starlette.requests import Request

    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    request = Request({"type": "http", "headers": headers})
    creds = asyncio.run(principal.bearer(request))
    assert principal.bearer_secret(request) == (creds.credentials if creds is not None else None)


# --- ETag and 304 ---------------------------------------------------------------------------------------------------


def test_a_cached_answer_carries_an_etag_and_is_304_when_the_caller_holds_it(world: dict[str, Any]) -> None:
    first = _get(world, "landelijk")
    tag = first.headers["etag"]
    assert tag.startswith('"') and first.headers["vary"] == "Authorization"
    for held in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        again = _get_with(world, "landelijk", held)
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag, held
        assert again.headers["cache-control"] == "private, no-cache"
    assert _get_with(world, "landelijk", '"other"').status_code == 200
    world["version"] = "v2"  # a new event projected that this overzicht does not count
    world["clock"].now += 0.2
    assert _get_with(world, "landelijk", tag).status_code == 304  # recomputed: the same bytes, the same tag
    rm, rows = world["rm"], world["rm"].overzicht
    rm.overzicht = lambda *a, **k: [{**row, "totaal": row["totaal"] + 1} for row in rows(*a, **k)]
    world["version"] = "v3"  # one it counts
    world["clock"].now += 0.2
    changed = _get_with(world, "landelijk", tag)
    assert changed.status_code == 200 and changed.headers["etag"] != tag  # another answer, another tag


def test_the_etag_differs_per_scope_and_is_never_304_across_scopes(world: dict[str, Any]) -> None:
    tags = {scope: _get(world, scope).headers["etag"] for scope in ("landelijk", "publiek", "regio:Rijnmond")}
    assert len(set(tags.values())) == 3
    for scope in tags:
        for other, tag in tags.items():
            expected = 304 if other == scope else 200
            assert _get_with(world, scope, tag).status_code == expected, (scope, other)
    # a caller not allowed the answer gets its refusal, whatever it claims to hold
    assert _get_with(world, "publiek", "*", URL.replace("2021-01-31", "2021-01-13")).status_code == 400
    assert _get_with(world, "regio:Rijnmond", tags["landelijk"], URL + "&instelling=mbo.albeda").status_code == 403
    assert _get_with(world, "operations", "*").status_code == 403
    assert world["client"].get(URL, headers={"If-None-Match": tags["landelijk"]}).status_code == 401


def test_the_etag_is_a_hash_of_the_scope_and_the_bytes() -> None:
    assert encoded.etag_of("landelijk", b"{}") == encoded.etag_of("landelijk", b"{}")
    assert encoded.etag_of("landelijk", b"{}") != encoded.etag_of("publiek", b"{}")
    assert encoded.etag_of("landelijk", b"{}") != encoded.etag_of("landelijk", b"[]")
    assert not encoded.matches(None, '"a"') and not encoded.matches("", '"a"') and not encoded.matches('"b"', '"a"')


def test_the_encoded_cache_keeps_one_encoding_per_version_within_its_bound() -> None:
    cache, made = encoded.EncodedCache(max_bytes=8 * 200), []

    def encode(body: bytes) -> Any:
        made.append(body)
        return encoded.encoded("landelijk", body, "application/json")

    assert cache.get_or_encode("k", "v1", lambda: encode(b"a")).body == b"a"
    assert cache.get_or_encode("k", "v1", lambda: encode(b"b")).body == b"a" and made == [b"a"]  # kept
    assert cache.get_or_encode("k", "v2", lambda: encode(b"b")).body == b"b"  # another version: encoded anew
    assert cache.get_or_encode("k", None, lambda: encode(b"c")).body == b"c" and len(cache) == 1  # several: not kept
    for i in range(40):
        cache.get_or_encode(i, "v1", lambda: encode(b"x" * 100))
    assert cache.bytes <= cache.max_bytes


# --- the bench's baseline route -------------------------------------------------------------------------------------


def test_the_baseline_route_exists_only_with_its_setting(tmp_path: Any) -> None:
    assert settings_mod.load().bench_baseline_file == ""
    default = TestClient(
        create_app(settings_mod.load(), connect_database=False, keys=MemoryKeyStore(), queries=FakeReadModels())
    )  # type: ignore[arg-type]
    assert default.get("/v1/bench/baseline").status_code == 404
    assert "/v1/bench/baseline" not in default.get("/openapi.json").text
    body = tmp_path / "body.json"
    body.write_bytes(b'{"naam":"kwalificaties"}')
    settings = replace(settings_mod.load(), bench_baseline_file=str(body))
    bench = TestClient(create_app(settings, connect_database=False, keys=MemoryKeyStore(), queries=FakeReadModels()))  # type: ignore[arg-type]
    answer = bench.get("/v1/bench/baseline")
    assert answer.status_code == 200 and answer.content == body.read_bytes()
    assert answer.headers["x-content-type-options"] == "nosniff"  # behind the same middlewares as every route
    assert "/v1/bench/baseline" not in bench.get("/openapi.json").text


def test_a_connection_a_request_took_goes_back_to_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys not remembered: every request checks a connection out for its key lookup; the middleware that took the
    place of the ``yield`` dependency returns it, also when the request fails."""
    made: list[deps.LazyConnection] = []  # held here, so no garbage collection returns them instead
    init = deps.LazyConnection.__init__

    def remembered(self: deps.LazyConnection, engine: Any) -> None:
        init(self, engine)
        made.append(self)

    monkeypatch.setattr(deps.LazyConnection, "__init__", remembered)
    eng = create_engine(
        "sqlite://", connect_args={"check_same_thread": False}, poolclass=QueuePool, pool_size=1, max_overflow=0
    )
    store = MemoryKeyStore()
    app = create_app(settings_mod.load(), queries=FakeReadModels(), engine=eng, keys=store)  # type: ignore[arg-type]
    client, secret = TestClient(app), store.create("landelijk", "test")[1]
    for url in (URL, URL + "&format=xml", "/v1/overzichten/onbekend?peildatum=2021-01-31", URL):
        client.get(url, headers={"Authorization": f"Bearer {secret}"})
        assert made and not any(lazy.opened for lazy in made), url
        assert eng.pool.checkedout() == 0, url  # type: ignore[attr-defined]
    assert client.get(URL, headers={"Authorization": "Bearer prk_unknown"}).status_code == 401
    assert eng.pool.checkedout() == 0  # type: ignore[attr-defined]
