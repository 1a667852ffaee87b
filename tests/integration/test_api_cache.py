"""The API's answer cache is never stale: a cached overzicht is served from the cache while the read models stand
still, and the first request after a new event is projected, once the data-version bound (0.2 s) has passed, answers
with the new numbers.

Real path: partner events -> validator -> Kafka -> projector -> PostgreSQL -> API (with the production key cache)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from projections import queries
from registry.api.app import create_app
from registry.api.cache import CachedKeyLookup
from registry.infra import settings as settings_mod
from tests.integration.test_api_readmodels import reference
from tests.support import validator as h
from tests.support.builders import Q, inschrijving
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.wereld import pijplijn

T2 = "44444444-4444-4444-8444-444444444444"
URL = "/v1/overzichten/deelnemers-per-pilot?peildatum=2021-01-31"


def _totaal(answer: Any) -> int:
    assert answer.status_code == 200, answer.text
    return sum(int(r["deelnemers"] or 0) for r in answer.json()["rijen"])


def test_a_new_event_makes_the_next_request_recompute(kafka_bootstrap: str, database_url: str) -> None:
    prefix, schema, _, v, eng, keystore = pijplijn(kafka_bootstrap, database_url)
    _, key = keystore.create("landelijk", "test")
    s = replace(settings_mod.load(), kafka_bootstrap=kafka_bootstrap, database_url=database_url)
    now = [0.0]  # the caches' clock: the bounds are tested by moving it, not by sleeping
    app = create_app(
        s,
        queries=queries,
        engine=eng,
        keys=CachedKeyLookup(keystore, clock=lambda: now[0]),
        schema=schema,
        events_topic=f"{prefix}.events",
        ingress_prefix=f"{prefix}.ingress.",
    )
    client = TestClient(app, headers={"Authorization": f"Bearer {key}"})
    cache, versions = app.state.context.cache, app.state.context.versions
    versions.clock = lambda: now[0]
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(eng, "before_cursor_execute", record)
    try:
        h.publish(kafka_bootstrap, prefix, reference())
        h.drain(v)
        h.publish(kafka_bootstrap, prefix, [("DeelnemerIngeschreven", inschrijving())])  # P, rijnmond, 2020-06-01
        h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)

        before = _totaal(client.get(URL))
        hits = cache.hits
        statements.clear()
        assert _totaal(client.get(URL)) == before == 1
        assert cache.hits == hits + 1  # the second answer came from the cache
        assert statements == []  # with no database round trip: key and data version remembered, no connection

        h.publish(kafka_bootstrap, prefix, [("DeelnemerIngeschreven", inschrijving(deelnemer=Q, traject_id=T2))])
        h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)

        misses = cache.misses
        assert _totaal(client.get(URL)) == before  # within the bound (data_version_seconds): the version read before
        now[0] += versions.max_age  # the bound has passed
        assert _totaal(client.get(URL)) == before + 1  # the very next request: the new numbers
        assert cache.misses == misses + 1  # recomputed, not served from the old entry
        assert _totaal(client.get(URL)) == before + 1 and cache.hits == hits + 3  # and cached again
    finally:
        event.remove(eng, "before_cursor_execute", record)
        v.close()
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table, f"{keystore.table}_audit"])


def test_a_cached_answer_is_304_for_the_caller_holding_it_and_never_across_scopes(
    kafka_bootstrap: str, database_url: str
) -> None:
    """ETag and If-None-Match on the real path, answered from memory (remembered keys) and by the declared route (a
    key table asked every time): the same tag for the same answer, another per scope, a new one for new numbers."""
    prefix, schema, _, v, eng, keystore = pijplijn(kafka_bootstrap, database_url)
    secrets = {scope: keystore.create(scope, "test")[1] for scope in ("landelijk", "publiek", "regio:Rijnmond")}
    s = replace(settings_mod.load(), kafka_bootstrap=kafka_bootstrap, database_url=database_url)
    now = [0.0]
    common: dict[str, Any] = {"queries": queries, "engine": eng, "schema": schema}
    from_memory = create_app(s, keys=CachedKeyLookup(keystore, clock=lambda: now[0]), **common)
    from_memory.state.context.versions.clock = lambda: now[0]
    declared = create_app(s, keys=keystore, data_version_seconds=0, **common)

    def get(app: Any, scope: str, held: str | None = None, url: str = URL) -> Any:
        headers = {"Authorization": f"Bearer {secrets[scope]}", **({"If-None-Match": held} if held else {})}
        return TestClient(app).get(url, headers=headers)

    try:
        h.publish(kafka_bootstrap, prefix, reference())
        h.publish(kafka_bootstrap, prefix, [("DeelnemerIngeschreven", inschrijving())])
        h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)

        tags = {scope: get(from_memory, scope).headers["etag"] for scope in secrets}
        assert len(set(tags.values())) == 3  # a tag per scope
        for app in (from_memory, declared):
            for scope, tag in tags.items():
                held = get(app, scope, tag)
                assert held.status_code == 304 and held.content == b"" and held.headers["etag"] == tag
                assert held.headers["vary"] == "Authorization" and held.headers["cache-control"] == "private, no-cache"
                for other in set(tags) - {scope}:
                    assert get(app, other, tag).status_code == 200  # another scope's tag: the full answer
        # refused callers get their refusal whatever they claim to hold
        assert get(from_memory, "publiek", "*", URL.replace("2021-01-31", "2021-01-13")).status_code == 400
        assert (
            get(from_memory, "regio:Rijnmond", tags["regio:Rijnmond"], URL + "&instelling=mbo.albeda").status_code
            == 403
        )
        assert TestClient(from_memory).get(URL, headers={"If-None-Match": tags["landelijk"]}).status_code == 401

        h.publish(kafka_bootstrap, prefix, [("DeelnemerIngeschreven", inschrijving(deelnemer=Q, traject_id=T2))])
        h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)
        now[0] += from_memory.state.context.versions.max_age  # the data version's bound has passed
        for app in (from_memory, declared):
            changed = get(app, "landelijk", tags["landelijk"])
            assert changed.status_code == 200 and changed.headers["etag"] != tags["landelijk"]
            assert _totaal(changed) == 2
    finally:
        v.close()
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table, f"{keystore.table}_audit"])
