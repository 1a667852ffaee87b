"""Parking over the real broker: arrival order does not matter.

(1) every partner's file of the demo data published concurrently, in a random order, reference data last,
    gives the same canonical log and the same overzichten at two peildata as the phased publication;
(2) is in test_validator_faults.py (SIGKILL x10 while events are parked and released);
(3) a dependency that never comes: refused after the time-out with its reason, also when idle."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import time
from typing import Any

import pytest

from consumers import projector
from projections import queries
from registry.demo import run
from registry.domein.regels import HERSTELBAAR
from registry.infra.db import engine
from tests.support import validator as h
from tests.support.builders import LB, MBO, T0, afteken, inschrijving, referentie_events
from tests.support.demo import Wereld
from tests.support.opruimen import ruim_op

PEILDATA = (dt.date(2020, 6, 30), dt.date(2021, 1, 13))
REFERENTIE = ("sbb", "duo")


Overzichten = dict[tuple[str, dt.date], list[dict[str, Any]]]


def _overzichten_in(database_url: str, schema: str) -> Overzichten:
    out = {}
    with engine(database_url).connect() as conn:
        c = conn.execution_options(praktijk_schema=schema)
        for naam in queries.OVERZICHTEN:
            for d in PEILDATA:
                out[(naam, d)] = queries.overzicht(c, naam, d)
    return out


def _overzichten(database_url: str, bootstrap: str, prefix: str) -> Overzichten:
    t = h.Topics(prefix)
    schema = f"{prefix}_read"
    projector.project(
        projector.RunnerConfig(bootstrap, database_url, schema, t.events, t.rejections), ["all"], once=True
    )
    out = _overzichten_in(database_url, schema)
    # its schemas and its topics (a demo world's ~600 partitions; a broker that keeps them runs out of file handles)
    ruim_op(engine(database_url), bootstrap, prefix, schema)
    return out


def test_concurrent_publication_in_random_order_equals_the_phased_one(
    kafka_bootstrap: str, database_url: str, unique: str, demo_world: Wereld
) -> None:
    # phased: the lifecycle order, caught up between phases (what the demo used to do); built once per run
    # (tests/integration/conftest.py), the same records and partner keys as the concurrent run below
    pseudo, sealer, records = demo_world.pseudo, demo_world.sealer, demo_world.records
    files = run.files(records)
    partners = sorted(files)
    phased_ok, phased_refused = demo_world.canonical, demo_world.rejections
    overzichten_phased = _overzichten_in(database_url, demo_world.schema)

    prefix = f"t{unique}c"  # concurrent: every file at once, random order, reference data last
    t = h.make_topics(kafka_bootstrap, prefix, partners)
    order = [p for p in partners if p not in REFERENTIE]
    random.Random(unique).shuffle(order)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        run.publish_concurrently([kafka_bootstrap], 6, files, pseudo, sealer, order=order, prefix=prefix)
        v.drain()
        waiting = len(v.plaats)
        run.publish_concurrently([kafka_bootstrap], 6, files, pseudo, sealer, order=list(REFERENTIE), prefix=prefix)
        last_publish = time.monotonic()
        v.drain()
        caught_up_s = time.monotonic() - last_publish
    finally:
        v.close()
    canonical, refused, plaats = (
        h.canonical(kafka_bootstrap, t),
        h.rejections(kafka_bootstrap, t),
        h.parked(kafka_bootstrap, t),
    )
    print(
        f"\nconcurrent demo run: {plaats.geparkeerd_ooit} parked ({waiting} waiting before the reference data), "
        f"{plaats.opgelost_ooit['geaccepteerd']} released and accepted, {plaats.opgelost_ooit['geweigerd']} released and "
        f"refused, {len(plaats)} still parked; caught up {caught_up_s:.1f} s after the last publish"
    )

    assert waiting > 1000, "most events must have waited for the reference data"
    assert len(plaats) == 0 and plaats.opgelost_ooit["geaccepteerd"] == plaats.geparkeerd_ooit
    assert not [r for r in refused if r["reden"] in HERSTELBAAR]
    assert sorted(r["event_id"] for _, r in canonical) == sorted(r["event_id"] for _, r in phased_ok)
    assert sorted((r["event_id"], r["reden"]) for r in refused) == sorted(
        (r["event_id"], r["reden"]) for r in phased_refused
    )
    # every event of one partner for one deelnemer in the order that partner published it
    position = {r.record["event_id"]: i for i, r in enumerate(records)}
    per_stream: dict[tuple[str, str], list[int]] = {}
    for _, r in canonical:
        if r.get("deelnemer"):
            per_stream.setdefault((r["partner"], r["deelnemer"]), []).append(position[r["event_id"]])
    assert all(seq == sorted(seq) for seq in per_stream.values())
    overzichten = _overzichten(database_url, kafka_bootstrap, prefix)
    assert overzichten == overzichten_phased
    dpp = overzichten[("deelnemers-per-pilot", PEILDATA[1])]
    assert sum(r["deelnemers"] for r in dpp) == 784


class Klok:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_dependency_that_never_comes_is_refused_after_the_time_out(
    kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix)
    klok = Klok()
    timeout = dt.timedelta(hours=12)
    ref = [e for e in referentie_events() if e[0] != "LeerbedrijfErkend"]  # the leerbedrijf's erkenning never comes
    ins = inschrijving()
    sign = afteken("B1-K1-W1")  # waits in line behind the inschrijving
    v = h.validator(kafka_bootstrap, database_url, prefix, park_timeout=timeout, clock=klok)
    try:
        h.publish(kafka_bootstrap, prefix, ref + [("DeelnemerIngeschreven", ins), ("WerkprocesAfgetekend", sign)])
        v.drain()
        assert set(v.plaats.entries) == {ins["event_id"], sign["event_id"]}
        assert v.plaats.entries[ins["event_id"]].wacht_op == (f"leerbedrijf:{LB}",)
        klok.now += timeout - dt.timedelta(minutes=1)
        v.run_once(timeout_ms=200)
        assert len(v.plaats) == 2 and h.rejections(kafka_bootstrap, t) == []
        v.close()
        # a restart rebuilds the parked set from the topic; the time-out fires while idle
        v = h.validator(kafka_bootstrap, database_url, prefix, park_timeout=timeout, clock=klok)
        assert set(v.plaats.entries) == {ins["event_id"], sign["event_id"]}
        klok.now += dt.timedelta(minutes=2)
        for _ in range(3):
            v.run_once(timeout_ms=200)
    finally:
        v.close()
    refused = {r["event_id"]: r for r in h.rejections(kafka_bootstrap, t)}
    assert refused[ins["event_id"]]["reden"] == "leerbedrijf_niet_erkend"
    assert refused[ins["event_id"]]["partner"] == MBO
    # released behind it and judged again: its traject was never accepted, and it has waited as long
    assert refused[sign["event_id"]]["reden"] == "onbekend_traject"
    plaats = h.parked(kafka_bootstrap, t)
    assert len(plaats) == 0 and plaats.opgelost_ooit == {"geweigerd": 2}
    assert [r for _, r in h.canonical(kafka_bootstrap, t) if r["event_id"] in (ins["event_id"], sign["event_id"])] == []


def _parked_gauge(reden: str) -> float:
    """``praktijk_parked_events{reden}`` as this process's Prometheus registry holds it (0 when the label is gone)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("praktijk_parked_events", {"reden": reden}) or 0.0


def test_a_released_event_is_recorded_when_accepted_and_the_gauge_follows(
    kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    """A parked-then-released event's ``recorded_at`` is the moment it was accepted (after its dependency
    arrived), its ``occurred_at`` stays the partner's; ``praktijk_parked_events{reden}`` counts it while it waits."""
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix)
    klok = Klok()
    klok.now = klok.now.replace(microsecond=0)  # the log keeps milliseconds: compare exactly
    parked_at = klok.now
    ins, sign = inschrijving(), afteken("B1-K1-W1")
    v = h.validator(kafka_bootstrap, database_url, prefix, clock=klok)
    try:
        h.publish(kafka_bootstrap, prefix, [("DeelnemerIngeschreven", ins), ("WerkprocesAfgetekend", sign)])
        v.drain()
        assert set(v.plaats.entries) == {ins["event_id"], sign["event_id"]}
        assert _parked_gauge("geen_erkenning") == 2
        assert [et for et, _ in h.canonical(kafka_bootstrap, t)] == ["KandidaatAangemeld"]  # the instelling's own
        klok.now += dt.timedelta(hours=3)  # the reference data comes three hours later
        released_at = klok.now
        h.publish(kafka_bootstrap, prefix, referentie_events())
        v.drain()
        assert len(v.plaats) == 0
        assert _parked_gauge("geen_erkenning") == 0
        assert sum(_parked_gauge(r) for r in HERSTELBAAR) == 0
    finally:
        v.close()
    logged = {r["event_id"]: r for _, r in h.canonical(kafka_bootstrap, t)}
    for e in (ins, sign):
        assert logged[e["event_id"]]["recorded_at"] == released_at != parked_at
        assert logged[e["event_id"]]["occurred_at"] == e["occurred_at"] == T0  # the partner's moment
    assert h.parked(kafka_bootstrap, t).opgelost_ooit == {"geaccepteerd": 2}


def test_parked_is_visible_in_the_cli_the_rejections_view_and_the_status_endpoint(
    kafka_bootstrap: str, database_url: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from registry.api.app import create_app
    from registry.api.auth import MemoryKeyStore
    from registry.api.status import parked_counts
    from registry.cli.main import app as cli_app
    from registry.cli.validator import read_parked
    from registry.infra import settings as settings_mod

    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix)
    ins = inschrijving()
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        h.publish(
            kafka_bootstrap, prefix, [("DeelnemerIngeschreven", ins), ("WerkprocesAfgetekend", afteken("B1-K1-W1"))]
        )
        v.drain()
    finally:
        v.close()
    waiting = read_parked([kafka_bootstrap], prefix, MBO)
    assert [(g.event_type, g.wacht_op) for g in waiting] == [
        ("DeelnemerIngeschreven", (f"erkenning:{MBO}/25250",)),
        ("WerkprocesAfgetekend", (f"na:{ins['event_id']}",)),
    ]
    assert read_parked([kafka_bootstrap], prefix, "sbb") == []
    assert parked_counts([kafka_bootstrap], t.parked) == [(MBO, "geen_erkenning", 2)]

    monkeypatch.setenv("PRAKTIJK_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("COLUMNS", "250")
    out = CliRunner().invoke(cli_app, ["parked", "--as", MBO, "--prefix", prefix])
    assert out.exit_code == 0, out.output
    assert "2 parked submission(s) of mbo.albeda" in out.output and f"erkenning:{MBO}/25250" in out.output
    out = CliRunner().invoke(cli_app, ["rejections", "--as", MBO, "--prefix", prefix])
    assert out.exit_code == 0, out.output
    assert "0 refused submission(s) of mbo.albeda, 2 waiting" in out.output and "waiting for" in out.output
    # the same rows for programs: json (a list of objects) and csv (a header row, one line per row)
    out = CliRunner().invoke(cli_app, ["parked", "--as", MBO, "--prefix", prefix, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [(r["partner"], r["event_type"], r["wacht_op"]) for r in json.loads(out.stdout)] == [
        (MBO, "DeelnemerIngeschreven", [f"erkenning:{MBO}/25250"]),
        (MBO, "WerkprocesAfgetekend", [f"na:{ins['event_id']}"]),
    ]
    out = CliRunner().invoke(cli_app, ["rejections", "--as", MBO, "--prefix", prefix, "--format", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["event_type"], r["status"], r["reden"]) for r in rows] == [
        ("DeelnemerIngeschreven", "waiting", "geen_erkenning"),
        ("WerkprocesAfgetekend", "waiting", "geen_erkenning"),
    ]

    store = MemoryKeyStore()
    _, key = store.create("landelijk", "test")
    api = create_app(settings_mod.load(), queries=None, connect_database=False, keys=store, events_topic=t.events)
    body = TestClient(api).get("/v1/status", headers={"Authorization": f"Bearer {key}"}).json()
    assert body["parked_total"] == 2
    assert body["parked"] == [{"partner": MBO, "reden": "geen_erkenning", "aantal": 2}]
    assert "consumers" in body and "caught_up" in body
