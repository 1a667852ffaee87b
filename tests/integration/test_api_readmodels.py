"""The API over real projected data: partner events -> validator -> Kafka -> projector -> PostgreSQL -> API.

One private topic set, validator group, read-model schema and api_keys table per module; every endpoint is
queried with every scope against what the projector really wrote.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from projections import queries
from registry.api.app import create_app
from registry.api.auth import KeyStore
from registry.infra import settings as settings_mod
from registry.infra.db import engine as make_engine
from tests.support import validator as h
from tests.support.api import ApiWorld
from tests.support.builders import ANDER, LB, MBO, T1, V1, P, Q, afteken, ev, inschrijving, verklaring
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.pseudoniemen import key_file
from tests.support.wereld import pijplijn, sleutels

T2 = "33333333-3333-4333-8333-333333333333"
R = "c" * 64  # a deelnemer nobody enrolled: only an aanmelding


@dataclass
class World(ApiWorld):
    kafka: str
    database_url: str
    validator: Any

    def project(self) -> None:
        project_once(self.kafka, self.database_url, self.prefix, self.schema)


def reference() -> list[tuple[str, dict[str, Any]]]:
    wps = [{"code": f"B1-K1-W{i}", "naam": f"werkproces {i}"} for i in range(1, 5)]
    return [
        (
            "KwalificatiedossierVastgesteld",
            ev(
                "sbb",
                crebo="25250",
                naam="Assistent bouwen wonen en onderhoud",
                niveau=1,
                domein="Afbouw, hout en onderhoud",
                kerntaken=[{"code": "B1-K1", "naam": "k", "werkprocessen": wps}],
            ),
        ),
        ("LeerbedrijfErkend", ev("sbb", leerbedrijf_id=LB, naam="Bouw BV", crebos=["25250"])),
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=MBO, crebo="25250", vanaf=dt.date(2019, 1, 1))),
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=ANDER, crebo="25250", vanaf=dt.date(2019, 1, 1))),
    ]


SCOPES = ["landelijk", "regio:Rijnmond", "regio:Twente", "instelling:mbo.albeda", "instelling:ROC TOP", "publiek"]


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    prefix, schema, _, v, eng, keystore = pijplijn(kafka_bootstrap, database_url)
    keys = sleutels(keystore, SCOPES)
    s = replace(
        settings_mod.load(),
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        validator_group=f"{prefix}-validator",  # the API maps partner pseudonyms with the validator's key
        registry_pseudonym_key_file=key_file(tmp_path_factory.mktemp("keys")),
    )
    app = create_app(
        s,
        queries=queries,
        engine=eng,
        keys=keystore,
        schema=schema,
        events_topic=f"{prefix}.events",
        ingress_prefix=f"{prefix}.ingress.",
    )
    w = World(TestClient(app), keys, prefix, schema, kafka_bootstrap, database_url, v)
    try:
        h.publish(kafka_bootstrap, prefix, reference())
        h.drain(v)
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                (
                    "KandidaatAangemeld",
                    ev(
                        "gemeente.gm0599",
                        deelnemer=R,
                        pilot="rijnmond",
                        aanmelder_type="gemeente",
                        doelgroep="a",
                        gemeente=None,
                        werkend=False,
                        persoonsgegevens=None,
                    ),
                ),
                ("DeelnemerIngeschreven", inschrijving()),  # P at Albeda, pilot rijnmond, 2020-06-01
                (
                    "DeelnemerIngeschreven",
                    inschrijving(
                        deelnemer=Q,
                        traject_id=T2,
                        mbo_instelling=ANDER,
                        partner=ANDER,
                        pilot="twente",
                        geslacht="man",
                        leeftijd=40,
                    ),
                ),
            ],
        )
        h.drain(v)
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                ("WerkprocesAfgetekend", afteken("B1-K1-W1")),
                ("WerkprocesAfgetekend", afteken("B1-K1-W2")),
                ("WerkprocesAfgetekend", afteken("B1-K1-W9")),
            ],
        )  # refused: onbekend_werkproces
        h.drain(v)
        issued = verklaring(["B1-K1-W1", "B1-K1-W2"]) | {"occurred_at": dt.datetime(2020, 11, 2, 10, tzinfo=dt.UTC)}
        h.publish(kafka_bootstrap, prefix, [("PraktijkverklaringUitgegeven", issued)])
        h.drain(v)
        w.project()
        yield w
    finally:
        v.close()
        # the key table and the audit trail of person reads go too
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table, f"{keystore.table}_audit"])


ENDPOINTS = {
    "lijst": "/v1/overzichten",
    "overzicht": "/v1/overzichten/niveaus?peildatum=2021-01-31",  # a month end: publiek sees only those
    "overzicht_csv": "/v1/overzichten/niveaus?peildatum=2021-01-31&format=csv",
    "aantallen": "/v1/aantallen?van=2020-01-01&tot=2020-12-31",
    "traject": f"/v1/trajecten/{T1}",
    "tijdlijn": f"/v1/deelnemers/{P}/tijdlijn",
    "verificatie": f"/v1/verklaringen/{V1}/verificatie",
    "status": "/v1/status",
}
# expected status per scope: none, landelijk, regio:Rijnmond, instelling:mbo.albeda (owner of T1/P), instelling:ROC TOP, publiek
MATRIX = {
    "lijst": (401, 200, 200, 200, 200, 200),
    "overzicht": (401, 200, 200, 200, 200, 200),
    "overzicht_csv": (401, 200, 200, 200, 200, 200),
    "aantallen": (401, 200, 200, 200, 200, 403),
    "traject": (401, 200, 403, 200, 403, 403),
    "tijdlijn": (401, 200, 403, 200, 403, 403),
    "verificatie": (200, 200, 200, 200, 200, 200),
    "status": (401, 200, 403, 403, 403, 403),  # operations: landelijk only
}
MATRIX_SCOPES = [None, "landelijk", "regio:Rijnmond", "instelling:mbo.albeda", "instelling:ROC TOP", "publiek"]


@pytest.mark.parametrize(
    ("endpoint", "scope", "expected"), [(e, sc, MATRIX[e][i]) for e in ENDPOINTS for i, sc in enumerate(MATRIX_SCOPES)]
)
def test_every_endpoint_and_scope(world: World, endpoint: str, scope: str | None, expected: int) -> None:
    resp = world.get(ENDPOINTS[endpoint], scope)
    assert resp.status_code == expected, resp.text
    if expected != 200:
        body = resp.json()
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert body["status"] == expected and body["instance"] == ENDPOINTS[endpoint].split("?")[0]


def test_overzichten_list_is_the_read_models(world: World) -> None:
    from projections.queries import OVERZICHTEN

    body = world.get("/v1/overzichten", "publiek").json()
    assert {o["naam"]: o["beschrijving"] for o in body["overzichten"]} == OVERZICHTEN


def test_kwalificaties_exact_and_suppressed(world: World) -> None:
    url = "/v1/overzichten/kwalificaties?peildatum=2021-01-31"
    rows = world.get(url, "landelijk").json()["rijen"]
    assert rows == [
        {
            "kwalificatie": "25250",
            "naam": "Assistent bouwen wonen en onderhoud",
            "niveau": 1,
            "eerste": 1,
            "tweede": 0,
            "derde": 0,
            "totaal": 1,
        }
    ]
    (pub,) = world.get(url, "publiek").json()["rijen"]
    # the cell key method: the one verklaring (eerste, totaal: the same record, so the same number) becomes 0 or 5,
    # nobody stays 0, labels and dimensions stay
    assert pub["eerste"] == pub["totaal"] and pub["eerste"] in (0, 5)
    assert {k: v for k, v in pub.items() if k not in ("eerste", "totaal")} == {
        "kwalificatie": "25250",
        "naam": "Assistent bouwen wonen en onderhoud",
        "niveau": 1,
        "tweede": 0,
        "derde": 0,
    }
    before = world.get("/v1/overzichten/kwalificaties?peildatum=2020-11-01", "landelijk").json()["rijen"]
    assert before == []  # issued 2020-11-02: not yet at that peildatum


def test_deelnemers_per_pilot_by_scope(world: World) -> None:
    url = "/v1/overzichten/deelnemers-per-pilot?peildatum=2021-01-31"
    land = {r["pilot"]: r["deelnemers"] for r in world.get(url, "landelijk").json()["rijen"]}
    assert (
        len(land) == 26 and land["rijen" if False else "rijnmond"] == 1 and land["twente"] == 1 and land["drenthe"] == 0
    )
    rijnmond = world.get(url, "regio:Rijnmond").json()["rijen"]
    # a regio's person-sized cells are perturbed as for publiek: the one deelnemer is 0 or 5
    assert [r["pilot"] for r in rijnmond] == ["rijnmond"] and rijnmond[0]["deelnemers"] in (0, 5)
    twente = world.get(url, "regio:Twente").json()["rijen"]
    assert [r["pilot"] for r in twente] == ["twente"] and twente[0]["deelnemers"] in (0, 5)
    albeda = {r["pilot"]: r["deelnemers"] for r in world.get(url, "instelling:mbo.albeda").json()["rijen"]}
    assert albeda["rijnmond"] == 1 and albeda["twente"] == 0
    pub = {r["pilot"]: r for r in world.get(url, "publiek").json()["rijen"]}
    assert pub["rijnmond"]["deelnemers"] == rijnmond[0]["deelnemers"]  # the same person: the same number
    assert pub["twente"]["deelnemers"] == twente[0]["deelnemers"]
    assert pub["drenthe"]["deelnemers"] == 0  # nobody: nothing to perturb
    assert pub["rijnmond"]["tranche"] == 1 and "onderdrukt" not in pub["rijnmond"]  # a dimension, never perturbed
    assert world.get(url + "&pilot=twente", "regio:Rijnmond").status_code == 403
    early = {
        r["pilot"]: r["deelnemers"]
        for r in world.get("/v1/overzichten/deelnemers-per-pilot?peildatum=2020-05-31", "landelijk").json()["rijen"]
    }
    assert early["rijnmond"] == 0  # startdatum 2020-06-01 > peildatum


def test_instellingen_csv(world: World) -> None:
    resp = world.get("/v1/overzichten/instellingen?peildatum=2021-01-13&format=csv", "landelijk")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert rows == [{"mbo_instelling": "Albeda", "deelnemers": "1"}, {"mbo_instelling": "ROC TOP", "deelnemers": "1"}]
    own = list(
        csv.DictReader(
            io.StringIO(
                world.get("/v1/overzichten/instellingen?peildatum=2021-01-13&format=csv", "instelling:ROC TOP").text
            )
        )
    )
    assert own == [{"mbo_instelling": "ROC TOP", "deelnemers": "1"}]


def test_unknown_overzicht_lists_real_names(world: World) -> None:
    from projections.queries import OVERZICHTEN

    resp = world.get("/v1/overzichten/tabel-9?peildatum=2021-01-13", "landelijk")
    assert resp.status_code == 404 and resp.json()["valid_values"] == sorted(OVERZICHTEN)


def test_aantallen_by_scope(world: World) -> None:
    url = "/v1/aantallen?van=2020-06-01&tot=2020-11-30"
    land = world.get(url, "landelijk").json()["maanden"]
    assert [m["maand"] for m in land] == ["2020-06", "2020-07", "2020-08", "2020-09", "2020-10", "2020-11"]
    juni = land[0]
    # aangemeld: R by its gemeente; P and Q by the instellingen that enrol them (an inschrijving needs an aanmelding)
    assert juni["ingeschreven"] == 2 and juni["actief"] == 2 and juni["aangemeld"] == 3
    assert land[5]["verklaringen"] == 1
    assert world.get(url, "instelling:ROC TOP").json()["maanden"][0]["ingeschreven"] == 1
    assert world.get(url, "instelling:ROC TOP").json()["maanden"][5]["verklaringen"] == 0
    twente = world.get(url, "regio:Twente").json()
    # a regio's counts are perturbed (the cell key method): its one inschrijving is 0 or 5, an empty month 0
    assert twente["regio"] == "Twente" and twente["maanden"][0]["ingeschreven"] in (0, 5)
    assert twente["maanden"][0]["verklaringen"] == 0 and twente["onthullingsbeheersing"]["methode"] == "celsleutel"
    assert "onthullingsbeheersing" not in world.get(url, "landelijk").json()
    assert world.get(url + "&pilot=rijnmond", "landelijk").json()["maanden"][0]["ingeschreven"] == 1
    assert world.get(url, "publiek").status_code == 403


@pytest.mark.parametrize(
    "scope, expected",
    [
        ("landelijk", 200),
        ("instelling:mbo.albeda", 200),
        ("instelling:ROC TOP", 403),
        ("regio:Rijnmond", 403),
        ("publiek", 403),
        (None, 401),
    ],
)
def test_traject_scopes(world: World, scope: str | None, expected: int) -> None:
    resp = world.get(f"/v1/trajecten/{T1}", scope)
    assert resp.status_code == expected, resp.text
    if expected == 200:
        body = resp.json()
        assert body["mbo_instelling"] == MBO and body["pilot"] == "rijnmond"
        assert [v["volgnummer"] for v in body["verklaringen"]] == [1]
        assert any(e["afgewezen"] and e["reden"] == "onbekend_werkproces" for e in body["events"])
    else:
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_traject_unknown(world: World) -> None:
    for scope in ("landelijk", "instelling:mbo.albeda"):
        assert world.get(f"/v1/trajecten/{uuid.uuid4()}", scope).status_code == 404


@pytest.mark.parametrize(
    "scope, expected",
    [
        ("landelijk", 200),
        ("instelling:mbo.albeda", 200),
        ("instelling:ROC TOP", 403),
        ("regio:Rijnmond", 403),
        ("publiek", 403),
        (None, 401),
    ],
)
def test_tijdlijn_scopes(world: World, scope: str | None, expected: int) -> None:
    resp = world.get(f"/v1/deelnemers/{P}/tijdlijn", scope)
    assert resp.status_code == expected, resp.text
    if expected == 200:
        events = resp.json()
        types = [e["event_type"] for e in events if not e["afgewezen"]]
        assert types[:4] == [
            "KandidaatAangemeld",
            "DeelnemerIngeschreven",
            "WerkprocesAfgetekend",
            "WerkprocesAfgetekend",
        ]
        assert "PraktijkverklaringUitgegeven" in types
        assert [e["reden"] for e in events if e["afgewezen"]] == ["onbekend_werkproces"]


def test_tijdlijn_unknown(world: World) -> None:
    assert world.get(f"/v1/deelnemers/{'d' * 64}/tijdlijn", "landelijk").status_code == 404
    # an instelling cannot probe whether a pseudonym is known: unknown and not-enrolled-here are both 403
    assert world.get(f"/v1/deelnemers/{'d' * 64}/tijdlijn", "instelling:mbo.albeda").status_code == 403


def test_verificatie_public_without_personal_data(world: World) -> None:
    resp = world.get(f"/v1/verklaringen/{V1}/verificatie")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "geldig" and body["mbo_instelling"] == "Albeda" and body["kwalificatie"] == "25250"
    assert [w["werkproces"] for w in body["werkprocessen"]] == ["B1-K1-W1", "B1-K1-W2"]
    assert P not in resp.text and T1 not in resp.text
    missing = world.get(f"/v1/verklaringen/{uuid.uuid4()}/verificatie")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_status_follows_the_pipeline(world: World) -> None:
    first = world.get("/v1/status", "landelijk")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["caught_up"] is True, body
    by_name = {c["naam"]: c for c in body["consumers"]}
    assert by_name["validator"]["group"] == f"{world.prefix}-validator"
    assert {p["topic"] for p in by_name["validator"]["partitions"]} == {
        f"{world.prefix}.ingress.{p}" for p in h.PARTNERS
    }
    from projections.catalogus import ALL

    assert set(ALL) <= set(by_name)
    feiten = by_name["feiten"]
    assert feiten["last_recorded_at"] is not None
    assert all(p["committed_offset"] is not None for p in feiten["partitions"] if p["end_offset"] > 0)

    # published but not validated: the validator is behind
    h.publish(world.kafka, world.prefix, [("WerkprocesAfgetekend", afteken("B1-K1-W3"))])
    behind = world.get("/v1/status", "landelijk").json()
    assert behind["caught_up"] is False
    val = next(c for c in behind["consumers"] if c["naam"] == "validator")
    assert val["caught_up"] is False and val["lag"] >= 1
    assert [p["topic"] for p in val["partitions"] if p["pending"]] == [f"{world.prefix}.ingress.{MBO}"]

    # validated but not projected: the projections are behind
    h.drain(world.validator)
    mid = world.get("/v1/status", "landelijk").json()
    states = {c["naam"]: c["caught_up"] for c in mid["consumers"]}
    assert states["validator"] is True and states["feiten"] is False and mid["caught_up"] is False

    world.project()
    done = world.get("/v1/status", "landelijk").json()
    assert done["caught_up"] is True
    assert all(not p["pending"] for c in done["consumers"] for p in c["partitions"])
    for c in done["consumers"]:
        for p in c["partitions"]:
            assert p["lag"] == p["end_offset"] - (p["committed_offset"] or 0)

    assert world.get("/v1/status").status_code == 401


def test_serve_and_loadtest(world: World) -> None:
    """``praktijkregister serve`` really serves the projected data; the bench helper measures it."""
    import httpx

    from tests.support.loadtest import run_load
    from tests.support.serve import free_port, serve_env, start_serve, wait_until_serving

    port = free_port()
    keystore = KeyStore(make_engine(world.database_url))  # serve uses the default api_keys table
    key, secret = keystore.create("landelijk", "test_serve_and_loadtest")
    proc = start_serve(serve_env(world.database_url, world.kafka, port), world.schema)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, base)
        assert httpx.get(base + "/docs").status_code == 200
        assert httpx.get(base + f"/v1/verklaringen/{V1}/verificatie").json()["status"] == "geldig"

        result = run_load(base, secret, clients=4, max_requests=200, max_seconds=30)
        assert result.requests == 200 and result.errors == 0 and result.statuses == {200: 200}
        assert 0 < result.p50_ms <= result.p99_ms and result.requests_per_s > 0

        assert httpx.get(base + "/metrics").status_code == 401  # landelijk keys only (Prometheus: bearer token)
        metrics = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {secret}"}).text
        line = next(
            line
            for line in metrics.splitlines()
            if line.startswith("praktijkregister_http_requests_total")
            and 'route="/v1/overzichten/{naam}"' in line
            and 'status="200"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) == 200.0 + 4  # 200 measured + one warm-up request per client
        assert V1 not in metrics
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        with keystore.engine.begin() as conn:
            conn.execute(text("DELETE FROM api_keys WHERE key_id = :i"), {"i": key.key_id})


def test_cached_answers_follow_the_read_models(world: World) -> None:
    """Runs last in this module: it adds a deelnemer. The cache must serve the new count once it is projected."""
    url = "/v1/overzichten/deelnemers-per-pilot?peildatum=2021-01-13"
    cache = world.client.app.state.context.cache  # type: ignore[attr-defined]

    def drenthe() -> int:
        return int(
            next(r["deelnemers"] for r in world.get(url, "landelijk").json()["rijen"] if r["pilot"] == "drenthe")
        )

    assert drenthe() == 0
    hits = cache.hits
    assert drenthe() == 0 and cache.hits == hits + 1  # unchanged read models: served from the cache
    nieuw = "e" * 64
    h.publish(
        world.kafka,
        world.prefix,
        [
            (
                "DeelnemerIngeschreven",
                inschrijving(
                    deelnemer=nieuw, traject_id=str(uuid.uuid4()), pilot="drenthe", startdatum=dt.date(2020, 9, 1)
                ),
            )
        ],
    )
    h.drain(world.validator)
    assert drenthe() == 0  # validated, not yet projected
    world.project()
    misses = cache.misses
    assert drenthe() == 1 and cache.misses == misses + 1  # the projection moved on: recomputed
    assert 'praktijkregister_api_cache_total{result="hit"}' in world.get("/metrics", "landelijk").text


def test_tijdlijn_answers_for_the_partner_pseudonym_and_holds_only_registry_pseudonyms(world: World) -> None:
    """The read models hold registry pseudonyms; a partner asks with its own (partner-side) pseudonym and
    the API maps it with the registry key; landelijk may use either form."""
    from tests.support.pseudoniemen import canoniek

    own = world.get(f"/v1/deelnemers/{P}/tijdlijn", "instelling:mbo.albeda")
    registry_form = world.get(f"/v1/deelnemers/{canoniek(P)}/tijdlijn", "landelijk")
    partner_form = world.get(f"/v1/deelnemers/{P}/tijdlijn", "landelijk")
    assert own.status_code == registry_form.status_code == partner_form.status_code == 200
    assert registry_form.json() == partner_form.json() and len(own.json()) >= 4
    # the instelling sees the same events (its view of an aanmelding leaves out the doelgroep)
    assert [(e["event_id"], e["event_type"]) for e in own.json()] == [
        (e["event_id"], e["event_type"]) for e in registry_form.json()
    ]
    assert P not in own.text and P not in registry_form.text
    with make_engine(world.database_url).connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = :s AND column_name = 'deelnemer'"
                ),
                {"s": world.schema},
            )
        ]
        assert "afwijzingen" in tables
        for table in tables:
            found = conn.execute(
                text(
                    f"SELECT count(*) FILTER (WHERE deelnemer = :p), count(*) FILTER (WHERE deelnemer = :c) "
                    f'FROM "{world.schema}"."{table}"'
                ),
                {"p": P, "c": canoniek(P)},
            ).one()
            assert found[0] == 0, table  # never the partner-side pseudonym
        afwijzingen = conn.execute(
            text(f'SELECT count(*) FROM "{world.schema}".afwijzingen WHERE deelnemer = :c'), {"c": canoniek(P)}
        ).scalar_one()
        assert afwijzingen == 1  # the onbekend_werkproces refusal, under the registry pseudonym
