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
