"""The bulk path (a replay, a runner far behind: a staging table and set-based SQL per large batch) gives the same
read models as the live path (per-event ``apply``), row for row, on random logs with revocations, retractions,
erasures, re-issued verklaringen, tellingen, reference data, rejections and a pseudonym key rotation, cut into
batches of random sizes; and a runner far behind switches to the bulk path and back."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from consumers import replay
from consumers.projector import RunnerConfig, Stats, Worker, make_runner, run
from consumers.records import bulk_share, changes_for, staged_events
from projections import catalogus, store
from projections.model import Message, staged
from registry.domein import events, referentie, rotatie
from registry.infra import codec, pseudoniem_rotatie
from registry.infra.db import engine as make_engine
from tests.integration.test_projector import REJECTION, Setup, delete_topics, produce, snapshot
from tests.support.builders import WERKPROCESSEN, Bouwer, Event

PROJECTIES = list(catalogus.ALL.values())
PARTITIES = 3


def _pseudoniem(rnd: random.Random) -> str:
    return f"{rnd.getrandbits(256):064x}"


def _deelnemer(rnd: random.Random, b: Bouwer, d: str, dag: dt.date) -> Iterator[Event]:
    """One deelnemer's events in a valid order, with the rare cases the bulk path must get right."""
    traject, crebo = b.uuid(), rnd.choice(sorted(referentie.kwalificaties())[:3])
    pilot, inst = rnd.choice(sorted(referentie.pilots())), rnd.choice(sorted(referentie.mbo_instellingen()))
    yield b.aanmelding(d, pilot, dag, gemeente=rnd.choice([None, "GM0363"]), uitkering=rnd.choice(["onbekend", "ww"]))
    if rnd.random() < 0.3:
        yield b.advies(d, inst, dag + dt.timedelta(days=3))
    yield b.inschrijving(d, traject, pilot, inst, crebo, dag + dt.timedelta(days=10), leeftijd=rnd.randrange(16, 60))
    wps = rnd.sample(WERKPROCESSEN, rnd.randrange(1, 4))
    if rnd.random() < 0.3:
        yield b.afspraken(d, traject, [(crebo, w) for w in wps], dag + dt.timedelta(days=11))
    if rnd.random() < 0.3:
        yield b.leerbedrijf(d, traject, f"1{rnd.randrange(10**8):08d}", dag + dt.timedelta(days=12))
    # a werkproces signed twice, at any hour (occurred_on is the Dutch day); a retraction later in business time
    # than what it retracts and earlier than what follows it (the live path's own outcome depends on its batches
    # otherwise: a retraction retracts what is in the tables by business time)
    for j, wp in enumerate(wps + rnd.sample(wps, rnd.randrange(0, 2))):
        yield b.aftekening(d, traject, crebo, wp, dag + dt.timedelta(days=20 + 2 * j), hour=rnd.randrange(0, 24))
        if rnd.random() < 0.3:  # retracted, sometimes twice
            for k in range(rnd.randrange(1, 3)):  # the first one in the log retracts
                yield b.aftekening_ingetrokken(d, traject, crebo, wp, dag + dt.timedelta(days=21 + 2 * j), hour=22 + k)
    for volgnummer in range(1, rnd.randrange(2, 4)):
        vid = b.uuid()
        branches = rnd.choice([[], ["SBB"], ["cbm", "ActiZ", "CBM", "ActiZ"]])
        verklaring = b.verklaring(
            d, traject, vid, [(crebo, w) for w in wps + wps[:1]], dag + dt.timedelta(days=60 + volgnummer),
            volgnummer=volgnummer, brancheorganisaties=branches,
        )  # fmt: skip
        yield verklaring
        if rnd.random() < 0.3:  # issued again under the same id (another event): the first one stays
            _, r = b.verklaring(d, traject, vid, [(crebo, wps[0])], dag + dt.timedelta(days=61), volgnummer=volgnummer)
            yield "PraktijkverklaringUitgegeven", {**r, "ondertekend_op": None}
        for k in range(rnd.choice([0, 0, 1, 2])):  # revoked, sometimes twice (the second one earlier)
            yield b.verklaring_ingetrokken(d, vid, dag + dt.timedelta(days=90 - 20 * k), reden=f"reden{k}")
    if rnd.random() < 0.5:
        reden = rnd.choice(["afgerond", "voortijdig_gestopt"])
        yield b.beeindigd(d, traject, reden, dag + dt.timedelta(days=120))
        yield b.uitstroom(d, "betaald_werk", dag + dt.timedelta(days=130), contract=rnd.choice([None, "vast"]))


def _log(rnd: random.Random, n: int) -> tuple[list[Event], dict[str, str], set[str]]:
    """A random canonical log (events decoded as the log gives them back), a rotation mapping of some of its
    pseudonyms, and the erased deelnemers."""
    b = Bouwer(f"bulk-{rnd.random()}")
    log: list[Event] = []
    for crebo in sorted(referentie.kwalificaties())[:3]:  # a dossier, and a newer and an older version of it
        for year in (2019, 2020, 2018):
            naam = f"{crebo} {year}"
            log.append(b.dossier(crebo, naam, 3, "Bouw", [(w, naam) for w in WERKPROCESSEN], dt.date(year, 1, 1)))
    log.append(b.leerbedrijf_erkend("100000001", "Bakkerij", ["25250", "25250"]))
    log.append(b.erkenning("mbo.albeda", "25250"))
    mensen = [_pseudoniem(rnd) for _ in range(n)]
    rijen = [
        list(_deelnemer(rnd, b, d, dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randrange(0, 400)))) for d in mensen
    ]
    while any(rijen):  # the deelnemers interleaved, each one's own events in order
        rij = rnd.choice([r for r in rijen if r])
        log.append(rij.pop(0))
    gewist = {d for d in mensen[1:] if rnd.random() < 0.2}
    blijvend = [d for d in mensen if d not in gewist]
    for pilot in sorted(referentie.pilots())[:2]:
        lijst = rnd.sample(blijvend, min(len(blijvend), 3))
        log.append(b.telling(pilot, dt.date(2021, 1, 31), len(lijst), lijst + lijst[:1]))
    log += [b.verwijderd(d, dt.date(2022, 1, 1)) for d in sorted(gewist)]  # nothing about them after their erasure
    mapping = {d: _pseudoniem(rnd) for d in rnd.sample(mensen, min(3, len(mensen)))}
    for i, (_, r) in enumerate(log):  # some accepted with warnings
        if "warnings" in r and (i == 0 or rnd.random() < 0.1):
            r["warnings"] = ["te_laat", "dubbel"][: rnd.randrange(1, 3)]
    return [codec.decode(codec.encode(t, r)) for t, r in log], mapping, gewist


def _messages(log: list[Event], mapping: dict[str, str], afwijzers: list[str]) -> list[list[Message]]:
    """Per partition (keyed as the log is) the messages, rotated as the runner rotates them; partition
    ``PARTITIES`` holds rejections (their own topic)."""
    parts: list[list[Message]] = [[] for _ in range(PARTITIES + 1)]
    for event_type, record in log:
        p = sum(events.key(event_type, record)) % PARTITIES
        parts[p].append(Message("events", p, len(parts[p]), event_type, rotatie.pas_toe(record, mapping)))
    for i, d in enumerate(afwijzers):
        bron = {"datum": "2020-01-01", "n": i}
        r = {"event_id": str(uuid.uuid4()), "event_type": "WerkprocesAfgetekend", "deelnemer": d, "reden": "x",
             "melding": "m", "recorded_at": "2020-01-02T10:00:00Z", "partner": "sbb", "bron": bron}  # fmt: skip
        parts[PARTITIES].append(Message("rejections", 0, i, "Afwijzing", r))
    return parts


def _polls(parts: list[list[Message]], rnd: random.Random, largest: int) -> Iterator[list[Message]]:
    """The messages as polls would bring them: per poll a run of each partition, partitions in order."""
    pos = [0] * len(parts)
    while any(p < len(msgs) for p, msgs in zip(pos, parts, strict=True)):
        poll: list[Message] = []
        for i, msgs in enumerate(parts):
            k = rnd.randrange(0, largest + 1)
            poll += msgs[pos[i] : pos[i] + k]
            pos[i] += k
        yield poll


def _live(conn: Connection, schema: str, polls: Iterator[list[Message]]) -> None:
    for poll in polls:
        for p in PROJECTIES:
            store.execute(conn, schema, changes_for(p, [m for m in poll if m.kind in p.kinds]))


def _bulk(conn: Connection, schema: str, polls: Iterator[list[Message]]) -> None:
    for poll in polls:
        shares = [(p, *bulk_share(p, [m for m in poll if m.kind in p.kinds])) for p in PROJECTIES]
        store.stage(conn, staged_events([m for _, _, mine in shares for m in mine]))
        for p, part, _ in shares:
            if part.staged and p.bulk is not None:
                store.execute_bulk(conn, schema, p.bulk)
            store.execute(conn, schema, part.changes)


def _tables(conn: Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for p in PROJECTIES:
        for name in p.tables:
            rows = conn.execute(text(store.sql(f"SELECT * FROM {{s}}.{name}", schema))).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
        for name in p.behouden:  # drawn at random (the record keys): the same deelnemers have one
            rows = conn.execute(text(store.sql(f"SELECT deelnemer FROM {{s}}.{name}", schema))).all()
            out[name] = sorted(tuple(r) for r in rows)
    return out


@pytest.fixture(scope="module")
def engine(database_url: str) -> Engine:
    return make_engine(database_url)


@pytest.fixture()
def schemas(engine: Engine) -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:10]
    names = (f"t{suffix}_live", f"t{suffix}_bulk")
    yield names
    with engine.begin() as conn:
        for name in names:
            store.drop_schema(conn, name)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), n=st.integers(1, 15), live=st.integers(3, 30), bulk=st.integers(1, 300))
def test_bulk_path_equals_live_path_row_for_row(
    engine: Engine, schemas: tuple[str, str], seed: int, n: int, live: int, bulk: int
) -> None:
    rnd = random.Random(seed)
    log, mapping, gewist = _log(rnd, n)
    blijvend = sorted({str(r["deelnemer"]) for _, r in log if r.get("deelnemer")} - gewist)
    parts = _messages(log, mapping, blijvend[:3])
    schema_live, schema_bulk = schemas
    with engine.begin() as conn:
        for schema in schemas:
            store.drop_schema(conn, schema)
            store.ensure(conn, schema, PROJECTIES)
        _live(conn, schema_live, _polls(parts, random.Random(seed), live))
        _bulk(conn, schema_bulk, _polls(parts, random.Random(seed + 1), bulk))
        live_rows, bulk_rows = _tables(conn, schema_live), _tables(conn, schema_bulk)
    for name, rows in live_rows.items():
        assert bulk_rows[name] == rows, name
    assert live_rows["verklaringen"] and live_rows["event_log"] and live_rows["afwijzingen"]  # the log had them
    assert len(live_rows["verwijderingen"]) == len(gewist)
    assert any(row[10] for row in live_rows["event_log"])  # warnings too (column 10)
    assert live_rows["record_sleutels"]


def test_a_runner_far_behind_catches_up_by_the_bulk_path_and_returns_to_the_live_path(
    kafka_bootstrap: str, database_url: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the real broker: a runner ``bulk_lag`` records behind takes the bulk path, then the live path once
    within a batch of the end; its tables and offsets equal those of a runner that never left the live path."""
    setup = Setup(kafka_bootstrap, database_url, unique)
    log, mapping, _ = _log(random.Random(7), 40)
    produce(kafka_bootstrap, setup.events_topic, log, setup.rejections_topic, [REJECTION])
    live_schema = setup.schema + "_live"
    try:
        with setup.engine.begin() as conn:  # a key rotation applied before these events were projected
            for schema in (setup.schema, live_schema):
                pseudoniem_rotatie.maak_tabel(conn, schema)
                conn.execute(
                    text(f'INSERT INTO "{schema}".{pseudoniem_rotatie.TABLE} (oud, nieuw) VALUES (:o, :n)'),
                    [{"o": o, "n": n} for o, n in mapping.items()],
                )
        live = project(replace(setup.config, schema=live_schema))
        assert sum(s.bulk_batches for s in live) == 0
        paths: list[bool] = []
        kies = Worker._kies_pad

        def gekozen(worker: Worker) -> bool:
            paths.append(kies(worker))
            return paths[-1]

        monkeypatch.setattr(Worker, "_kies_pad", gekozen)
        # back to the live path within a live batch (100) of the end: bulk batches are smaller, so one step lands there
        bulk = project(replace(setup.config, bulk_lag=150, batch_size=100, bulk_batch_size=60))
        for st_ in bulk:
            assert 0 < st_.bulk_batches < st_.batches, st_  # the bulk path first, the live path at the end
        # from the first poll on (the partitions no poll has handed out yet count too), then the live path once
        assert paths[0] and paths.index(False) == sum(paths), paths
        with setup.engine.connect() as conn:
            assert snapshot(conn, setup.schema) == snapshot(conn, live_schema)
    finally:
        setup.drop(live_schema)
        delete_topics(kafka_bootstrap, setup.events_topic, setup.rejections_topic)


def project(config: RunnerConfig) -> list[Stats]:
    worker = make_runner(config, ["all"])
    try:
        worker.start()
        run([worker], once=True)
    finally:
        worker.close()
    return worker.all_stats


def test_bulk_statements_sent_at_once_count_what_each_wrote(engine: Engine, schemas: tuple[str, str]) -> None:
    """``execute_bulk`` sends a projection's statements in one pipeline: it returns what they wrote one by one, and a
    failing statement fails the batch."""
    log, mapping, _ = _log(random.Random(3), 8)
    messages = [m for part in _messages(log, mapping, []) for m in part]
    feiten = catalogus.ALL["feiten"]
    assert feiten.bulk is not None
    at_once, one_by_one = schemas
    with engine.begin() as conn:
        for schema in schemas:
            store.ensure(conn, schema, [feiten])
        store.stage(conn, staged_events(bulk_share(feiten, messages)[1]))
        n = store.execute_bulk(conn, at_once, feiten.bulk)
        expected = 0
        for statement in feiten.bulk.statements:
            done = conn.execute(text(store.sql(statement, one_by_one).replace("{b}", store.BULK_STAGING)))
            expected += max(done.rowcount, 0)
        assert n == expected > 0
        for name in ("aftekeningen", "verklaringen", "inschrijvingen"):
            rows = [conn.execute(text(store.sql(f"SELECT * FROM {{s}}.{name}", s))).all() for s in schemas]
            assert sorted(rows[0], key=repr) == sorted(rows[1], key=repr), name
    broken = replace(feiten.bulk, statements=(*feiten.bulk.statements[:2], "SELECT 1/0", *feiten.bulk.statements[2:]))
    with pytest.raises(psycopg.errors.DivisionByZero), engine.begin() as conn:
        store.ensure(conn, at_once, [feiten])
        store.stage(conn, staged_events(bulk_share(feiten, messages)[1]))
        store.execute_bulk(conn, at_once, broken)


def test_bulk_statements_run_plain_and_meet_a_row_already_there_by_their_guards(
    engine: Engine, schemas: tuple[str, str]
) -> None:
    """``execute_bulk`` runs the statements without their ``ON CONFLICT`` guards first (``Bulk.plain``); a batch
    whose rows are already there (projected again) rolls that back to its savepoint and runs the guarded ones,
    which skip them: the same rows, nothing written twice, and the transaction goes on (the next batch plain
    again)."""
    feiten = catalogus.ALL["feiten"]
    assert feiten.bulk is not None
    # only the record keys keep their own guard: those rows are there by design
    assert [s for s in feiten.bulk.plain if "ON CONFLICT" in s] == [feiten.bulk.statements[0]]
    log, mapping, _ = _log(random.Random(11), 10)
    messages = [m for part in _messages(log, mapping, []) for m in part]
    first, second = messages[: len(messages) // 2], messages[len(messages) // 2 :]
    schema, _ = schemas

    def batch(conn: Connection, msgs: list[Message]) -> int:
        store.stage(conn, staged_events(bulk_share(feiten, msgs)[1]))
        return store.execute_bulk(conn, schema, feiten.bulk)

    with engine.begin() as conn:
        store.ensure(conn, schema, [feiten])
        assert batch(conn, first) > 0
        before = {n: conn.execute(text(store.sql(f"SELECT * FROM {{s}}.{n}", schema))).all() for n in feiten.tables}
        assert batch(conn, first) == 0  # every row already there: the guarded statements skip them all
        after = {n: conn.execute(text(store.sql(f"SELECT * FROM {{s}}.{n}", schema))).all() for n in feiten.tables}
        assert after == before
        assert batch(conn, second) > 0  # the transaction was not left aborted
        rows = conn.execute(text(store.sql("SELECT count(*), count(DISTINCT event_id) FROM {s}.aftekeningen", schema)))
        total, distinct = rows.one()
        assert total == distinct > 0


@pytest.mark.parametrize("copies", [0, 1, 400])
def test_the_staging_copy_holds_every_row_as_given(engine: Engine, copies: int) -> None:
    """The staging rows are formatted first and written at once (past psycopg's 32 KiB and 128 KiB buffers with 400
    copies of a log, within them with one, and no rows at all): the table holds each row as given."""
    log, mapping, _ = _log(random.Random(5), 3)
    messages = [m for part in _messages(log, mapping, []) for m in part if m.kind == "events"]
    rows = [staged(m._replace(offset=m.offset + i * len(messages))) for i in range(copies) for m in messages]
    with engine.begin() as conn:
        store.stage(conn, rows)
        got = conn.execute(
            text(f"SELECT part, off, event_type, event_id, rec, occurred_at, recorded_at FROM {store.BULK_STAGING}")
        ).all()
    assert len(got) == len(rows)
    # the timestamps, written in their binary form (ints), read back as the records' datetimes
    when = {(m.partition, m.offset): (m.record["occurred_at"], m.record["recorded_at"]) for m in messages}
    assert sorted(tuple(r) for r in got) == sorted(
        (r[0], r[1], r[2], r[3], json.loads(r[-1]), *when[(r[0], r[1] % len(messages))]) for r in rows
    )


def test_a_replay_in_two_processes_equals_one_in_one(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    """The partitions shared out over two runner processes writing the same staging schemas: the same tables and
    offsets, row for row, as one runner, on a log with revocations, retractions, erasures, verklaringen issued again,
    reference data, rejections and a pseudonym key rotation; the events consumed are the sum of the runners'. The
    rows written (``applied``) are not compared: they depend on the order in which writes reach a row, and a row
    reached from both runners' partitions (a deelnemer's events under its old and its new pseudonym, keyed apart)
    may be written by both or once, the later write skipped when the row already holds it (792 against 795 rows in
    about half the runs on a slow machine, with equal tables)."""
    setup = Setup(kafka_bootstrap, database_url, unique)
    log, mapping, _ = _log(random.Random(11), 40)
    produce(kafka_bootstrap, setup.events_topic, log, setup.rejections_topic, [REJECTION])
    een_schema = setup.schema + "_een"
    try:
        with setup.engine.begin() as conn:
            for schema in (setup.schema, een_schema):
                pseudoniem_rotatie.maak_tabel(conn, schema)
                conn.execute(
                    text(f'INSERT INTO "{schema}".{pseudoniem_rotatie.TABLE} (oud, nieuw) VALUES (:o, :n)'),
                    [{"o": o, "n": n} for o, n in mapping.items()],
                )
        een = replay.replay(replace(setup.config, schema=een_schema), ["all"], progress=False, processen=1)
        twee = replay.replay(setup.config, ["all"], progress=False, processen=2)
        assert [(s.projection, s.consumed) for s in twee] == [(s.projection, s.consumed) for s in een]
        assert all(s.consumed > 0 and s.applied > 0 for s in twee)
        with setup.engine.connect() as conn:
            assert snapshot(conn, setup.schema) == snapshot(conn, een_schema)
            offsets = conn.execute(
                text(store.sql("SELECT count(DISTINCT partition) FROM {s}.projection_offsets", setup.schema))
            ).scalar_one()
        assert offsets == 6  # every partition, from both runners
    finally:
        setup.drop(
            een_schema, *(replay.staging_schema(s, n) for s in (setup.schema, een_schema) for n in catalogus.ALL)
        )
        delete_topics(kafka_bootstrap, setup.events_topic, setup.rejections_topic)


def test_a_replay_in_two_processes_stopped_leaves_the_live_tables(
    kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    setup = Setup(kafka_bootstrap, database_url, unique)
    log, _, _ = _log(random.Random(13), 10)
    produce(kafka_bootstrap, setup.events_topic, log, setup.rejections_topic, [REJECTION])
    try:
        stop = threading.Event()
        stop.set()  # before the runners have done anything: they stop, the staging schemas go
        assert replay.replay(setup.config, ["all"], progress=False, stop=stop, processen=2) == []
        with setup.engine.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE :p"),
                {"p": setup.schema + "_replay_%"},
            ).scalar_one()
            live = conn.execute(
                text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :p"), {"p": setup.schema}
            ).scalar_one()
        assert left == 0 and live == 0
    finally:
        setup.drop()
        delete_topics(kafka_bootstrap, setup.events_topic, setup.rejections_topic)
