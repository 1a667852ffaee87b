"""Reconciliation over the real PostgreSQL: events applied with the real projections (feiten, tijdlijn) into a
schema of the test's own, then projections/reconciliatie's SQL. One scenario per category, the evaluation's
mixed case, SQL == the pure classifier on random logs, publishing and following over the real broker, and the
timing on 100,000 deelnemers."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from sqlalchemy import Engine

from consumers import reconciler
from projections import reconciliatie as sql
from projections import store
from registry.domein.reconciliatie import CATEGORIEEN, PilotRij
from registry.infra import codec
from registry.infra.db import engine as make_engine
from registry.infra.kafka import client_config
from tests.support import reconciliatie_data as data
from tests.support.reconciliatie_data import Log, pseudo

D = dt.date(2020, 11, 30)
P = "groningen"
A, B, C, E, F, G, H = (pseudo(x) for x in "ABCEFGH")


@pytest.fixture()
def engine(database_url: str) -> Engine:
    return make_engine(database_url)


@pytest.fixture()
def schema(engine: Engine, unique: str) -> Iterator[str]:
    name = f"t_recon_{unique}"
    yield name
    with engine.begin() as conn:
        store.drop_schema(conn, name)


def run(
    engine: Engine,
    schema: str,
    log: Log,
    pilot: str | None = P,
    peildatum: dt.date = D,
    personen: bool = True,
    venster_dagen: int = 31,
) -> list[PilotRij]:
    with engine.begin() as conn:
        data.apply(conn, schema, log.events)
    with engine.connect() as conn:
        return sql.rijen(conn, schema, peildatum, pilot, personen=personen, venster_dagen=venster_dagen)


def only(rows: list[PilotRij]) -> PilotRij:
    assert len(rows) == 1, rows
    return rows[0]


def nonzero(row: PilotRij, partner: str) -> dict[str, int]:
    b = next(b for b in row.bronnen if b.partner == partner)
    return {c: n for c, n in b.categorieen.items() if n}


def registered(log: Log, *people: str, pilot: str = P, leeftijd: int = 30) -> None:
    for i, d in enumerate(people):
        log.inschrijving(d, pilot, D - dt.timedelta(days=100 + i), leeftijd)


# --- one scenario per category ----------------------------------------------------------------------------------


def test_overeenkomend(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A, B)
    log.telling("monitor", "monitor", P, D, 2, [(A, "in_traject"), (B, "afgerond")])
    row = only(run(engine, schema, log))
    assert (row.register, row.gereconcilieerd) == (2, 2)
    assert nonzero(row, "monitor") == {"overeenkomend": 2}
    assert set(row.bronnen[0].personen["overeenkomend"]) == {A, B}


def test_dubbel_in_bron(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A)
    log.telling("monitor", "monitor", P, D, 4, [(A, "in_traject"), (A, "in_traject"), (A, "gestopt"), (A, "aangemeld")])
    row = only(run(engine, schema, log))
    b = row.bronnen[0]
    assert nonzero(row, "monitor") == {"overeenkomend": 1, "dubbel_in_bron": 3}
    assert (b.gemeld, b.verschil, b.personen["dubbel_in_bron"]) == (4, 3, (A, A, A))
    assert b.vergelijking == "4 - 1 = (3 + 0 + 0 + 0 + 0 + 0) - (0 + 0)"


def test_boris_vermoeden(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A, B, leeftijd=16)
    registered(log, C, leeftijd=17)
    registered(log, E, leeftijd=18)
    log.telling("gemeente.gm0014", "gemeente", P, D, 1, [(E, "in_traject")])
    row = only(run(engine, schema, log))
    assert nonzero(row, "gemeente.gm0014") == {"overeenkomend": 1, "boris_vermoeden": 3}
    assert set(row.bronnen[0].personen["boris_vermoeden"]) == {A, B, C}


def test_alleen_in_register(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A, B, C)
    log.telling("uwv", "uwv", P, D, 1, [(A, "in_traject")])
    row = only(run(engine, schema, log))
    assert nonzero(row, "uwv") == {"overeenkomend": 1, "alleen_in_register": 2}
    assert row.bronnen[0].verschil == -2


def test_andere_pilot(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A)
    registered(log, B, C, pilot="twente")
    log.inschrijving(C, P, D - dt.timedelta(days=10))  # C's first inschrijving is twente: counts there
    log.telling("monitor", "monitor", P, D, 3, [(A, "in_traject"), (B, "in_traject"), (C, "in_traject")])
    row = only(run(engine, schema, log))
    assert row.register == 1
    assert nonzero(row, "monitor") == {"overeenkomend": 1, "andere_pilot": 2}


def test_buiten_peildatum(engine: Engine, schema: str) -> None:
    log = Log()
    log.inschrijving(A, P, D + dt.timedelta(days=1))
    log.inschrijving(B, "twente", D + dt.timedelta(days=5))
    log.inschrijving(B, P, D + dt.timedelta(days=20))
    log.aanmelding(B, P, D - dt.timedelta(days=30))
    log.telling("monitor", "monitor", P, D, 2, [(A, "in_traject"), (B, "in_traject")])
    row = only(run(engine, schema, log))
    assert (row.register, row.gereconcilieerd) == (0, 0)
    assert nonzero(row, "monitor") == {"buiten_peildatum": 2}


def test_aangemeld_niet_gestart(engine: Engine, schema: str) -> None:
    log = Log()
    log.aanmelding(A, P, D - dt.timedelta(days=30))
    log.advies(B, D - dt.timedelta(days=20))
    log.aanmelding(C, P, D - dt.timedelta(days=30))
    log.inschrijving(C, "twente", D + dt.timedelta(days=3))  # has an inschrijving (elsewhere, later): not this one
    log.telling("mbo.albeda", "mbo", P, D, 3, [(A, "in_traject"), (B, "aangemeld"), (C, "in_traject")])
    row = only(run(engine, schema, log))
    assert nonzero(row, "mbo.albeda") == {"aangemeld_niet_gestart": 2, "niet_geregistreerd": 1}
    assert row.gereconcilieerd == 1  # C: unknown here, listed in_traject by an mbo-instelling


def test_niet_geregistreerd_and_only_mbo_in_traject_adds(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A)
    log.telling(
        "mbo.albeda", "mbo", P, D, 4, [(A, "in_traject"), (E, "in_traject"), (F, "aangemeld"), (G, "in_traject")]
    )
    log.telling("mbo.noorderpoort", "mbo", P, D, 2, [(G, "in_traject"), (H, "in_traject")])
    log.telling("gemeente.gm0014", "gemeente", P, D, 1, [(B, "in_traject")])
    row = only(run(engine, schema, log))
    assert nonzero(row, "mbo.albeda") == {"overeenkomend": 1, "niet_geregistreerd": 3}
    assert nonzero(row, "gemeente.gm0014") == {"niet_geregistreerd": 1, "alleen_in_register": 1}
    assert row.gereconcilieerd == 1 + 3  # E, G, H (distinct); F is aangemeld; B is a gemeente's


def test_onverklaard_without_list(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A, B, C)
    log.telling("uwv", "uwv", P, D, 5)
    log.telling("gemeente.gm0014", "gemeente", P, D, 1)
    row = only(run(engine, schema, log))
    assert nonzero(row, "uwv") == {"onverklaard": 2}
    assert nonzero(row, "gemeente.gm0014") == {"onverklaard": -2}
    assert row.bronnen[0].vergelijking == "1 - 3 = (0 + 0 + 0 + 0 + 0 + -2) - (0 + 0)"


def test_latest_telling_in_window_per_partner(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A)
    log.telling("uwv", "uwv", P, D + dt.timedelta(days=32), 90)  # outside the window
    log.telling("uwv", "uwv", P, D + dt.timedelta(days=10), 7, on=D + dt.timedelta(days=40))
    log.telling("uwv", "uwv", P, D + dt.timedelta(days=10), 8, on=D + dt.timedelta(days=41))  # same peildatum, later
    log.telling("uwv", "uwv", P, D - dt.timedelta(days=3), 50, on=D + dt.timedelta(days=50))  # earlier peildatum
    log.telling("monitor", "monitor", P, D - dt.timedelta(days=31), 1, [(A, "in_traject")])
    row = only(run(engine, schema, log))
    assert [(b.partner, b.gemeld, b.telling_peildatum) for b in row.bronnen] == [
        ("monitor", 1, D - dt.timedelta(days=31)),
        ("uwv", 8, D + dt.timedelta(days=10)),
    ]
    assert [(b.partner, b.gemeld) for b in only(run(engine, schema, Log("none"), venster_dagen=5)).bronnen] == [
        ("uwv", 50)
    ]


def test_rows_per_pilot(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A)
    registered(log, B, pilot="drenthe")
    log.inschrijving(C, "twente", D + dt.timedelta(days=3))  # not registered at D, no telling: no row
    log.telling("uwv", "uwv", "zwolle", D, 4)  # a telling without registrations: a row
    rows = run(engine, schema, log, pilot=None, personen=False)
    assert [r.api() for r in rows] == [
        {"pilot": "drenthe", "register": 1, "gereconcilieerd": 1, "bronnen": []},
        {"pilot": "groningen", "register": 1, "gereconcilieerd": 1, "bronnen": []},
        {
            "pilot": "zwolle",
            "register": 0,
            "gereconcilieerd": 0,
            "bronnen": [
                {
                    "partner": "uwv",
                    "bron_type": "uwv",
                    "telling_peildatum": D.isoformat(),
                    "gemeld": 4,
                    "verschil": 4,
                    "categorieen": {c: 4 if c == "onverklaard" else 0 for c in CATEGORIEEN},
                    "vergelijking": "4 - 0 = (0 + 0 + 0 + 0 + 0 + 4) - (0 + 0)",
                }
            ],
        },
    ]


# --- the evaluation's case -------------------------------------------------------------------------------------


def test_monitor_reports_more_than_register(engine: Engine, schema: str) -> None:
    """37 registered (one a Boris pupil the monitor misses); the monitor lists 43 entries: the other 36, one of them
    twice, 3 aangemeld but not started, 2 registered late (inschrijving after D) and 1 unknown; the mbo-instelling
    lists 2 unknowns in_traject; the gemeente reports a bare 40."""
    log = Log()
    people = [pseudo(f"g{i}") for i in range(37)]
    registered(log, *people[1:])
    log.inschrijving(people[0], P, D - dt.timedelta(days=60), leeftijd=16)
    waiting = [pseudo(f"w{i}") for i in range(3)]
    for w in waiting:
        log.aanmelding(w, P, D - dt.timedelta(days=40))
    late = [pseudo(f"l{i}") for i in range(2)]
    for x in late:
        log.aanmelding(x, P, D - dt.timedelta(days=50))
        log.inschrijving(x, P, D + dt.timedelta(days=14), on=D + dt.timedelta(days=20))
    unknown = pseudo("u0")
    entries = [(x, "in_traject") for x in people[1:]] + [(people[5], "in_traject")]
    entries += [(x, "aangemeld") for x in waiting] + [(x, "in_traject") for x in late] + [(unknown, "in_traject")]
    log.telling("monitor", "monitor", P, D, len(entries), entries)
    log.telling(
        "mbo.albeda",
        "mbo",
        P,
        D - dt.timedelta(days=2),
        3,
        [(people[3], "in_traject"), (unknown, "in_traject"), (pseudo("u1"), "in_traject")],
    )
    log.telling("gemeente.gm0014", "gemeente", P, D + dt.timedelta(days=1), 40)
    row = only(run(engine, schema, log))
    api = row.api()
    assert (api["register"], api["gereconcilieerd"]) == (37, 39)
    assert [b["partner"] for b in api["bronnen"]] == ["gemeente.gm0014", "mbo.albeda", "monitor"]
    monitor = api["bronnen"][2]
    assert (monitor["gemeld"], monitor["verschil"]) == (43, 6)
    assert monitor["categorieen"] == {
        "overeenkomend": 36,
        "dubbel_in_bron": 1,
        "boris_vermoeden": 1,
        "alleen_in_register": 0,
        "andere_pilot": 0,
        "buiten_peildatum": 2,
        "aangemeld_niet_gestart": 3,
        "niet_geregistreerd": 1,
        "onverklaard": 0,
    }
    assert monitor["vergelijking"] == "43 - 37 = (1 + 0 + 2 + 3 + 1 + 0) - (1 + 0)"
    assert api["bronnen"][1]["categorieen"]["alleen_in_register"] == 35
    assert api["bronnen"][0]["vergelijking"] == "40 - 37 = (0 + 0 + 0 + 0 + 0 + 3) - (0 + 0)"
    assert row.bronnen[2].personen["boris_vermoeden"] == (people[0],)
    assert set(row.bronnen[2].personen["buiten_peildatum"]) == set(late)


# --- SQL == reference ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_equals_pure_classifier_on_random_logs(engine: Engine, schema: str, seed: int) -> None:
    events = data.random_log(seed, D)
    with engine.begin() as conn:
        data.apply(conn, schema, events)
    seen: set[str] = set()
    with engine.connect() as conn:
        for pilot in (None, "groningen"):
            got = sql.rijen(conn, schema, D, pilot, personen=True)
            want = data.reference(events, D, pilot=pilot)
            assert [r.api() for r in got] == [r.api() for r in want]
            assert [
                [(b.telling_event_id, dict(b.personen), b.in_traject_onbekend) for b in r.bronnen] for r in got
            ] == [[(b.telling_event_id, dict(b.personen), b.in_traject_onbekend) for b in r.bronnen] for r in want]
            seen |= {c for r in got for b in r.bronnen for c, n in b.categorieen.items() if n}
    assert seen == set(CATEGORIEEN)  # the random log exercises every category


def test_without_event_log_a_list_counts_its_distinct_entries(engine: Engine, schema: str) -> None:
    log = Log()
    registered(log, A)
    log.telling("monitor", "monitor", P, D, 3, [(A, "in_traject"), (A, "in_traject"), (B, "in_traject")])
    with engine.begin() as conn:
        data.apply(conn, schema, log.events)
        conn.exec_driver_sql(f'DROP TABLE "{schema}".event_log')
    with engine.connect() as conn:
        row = only(sql.rijen(conn, schema, D, P))
    assert nonzero(row, "monitor") == {"overeenkomend": 1, "niet_geregistreerd": 1}


# --- at scale (the speed is measured by ops/bench, not here) ----------------------------------------------------


def test_100000_deelnemers_every_row_closes(engine: Engine, schema: str) -> None:
    with engine.begin() as conn:
        data.bulk(conn, schema, 100_000, D)
    with engine.connect() as conn:
        rows = sql.rijen(conn, schema, D)
        one = only(sql.rijen(conn, schema, D, "groningen", personen=True))
    assert len(rows) == 26 and all(len(r.bronnen) == 3 for r in rows)
    assert sum(r.register for r in rows) > 90_000
    for row in rows:
        for b in row.bronnen:
            counted = sum(b.categorieen.values()) - b.categorieen["onverklaard"]
            assert b.vergelijking.startswith(f"{b.gemeld} - {row.register} = "), b.vergelijking
            assert counted == 0 or counted >= b.gemeld  # a list accounts for every entry (and register-only people)
    assert all(
        len(one.bronnen[0].personen.get(c, ())) == n
        for c, n in one.bronnen[0].categorieen.items()
        if c != "onverklaard"
    )


# --- publishing and following over the broker ------------------------------------------------------------------


@pytest.fixture()
def events_topic(kafka_bootstrap: str, unique: str) -> Iterator[str]:
    name = f"test.reconciler.{unique}.events"
    admin = KafkaAdminClient(**client_config(kafka_bootstrap))
    admin.create_topics([NewTopic(name, 3, 1)])
    yield name
    admin.delete_topics([name])
    admin.close()


def read(bootstrap: str, topic: str, want: int, timeout_s: float = 30) -> list[tuple[str, dict[str, Any]]]:
    consumer = KafkaConsumer(**client_config(bootstrap), group_id=None, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < want and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            out += [
                (rec.key.decode(), codec.decode(rec.value)[1])
                for rec in records
                if codec.decode(rec.value)[0] == "ReconciliatieUitgevoerd"
            ]
    consumer.close()
    return out


def test_publish_results_appends_one_event_per_pilot(
    engine: Engine, schema: str, kafka_bootstrap: str, events_topic: str
) -> None:
    log = Log()
    registered(log, A, B)
    registered(log, C, pilot="drenthe")
    log.telling("monitor", "monitor", P, D, 3, [(A, "in_traject"), (E, "in_traject"), (E, "in_traject")])
    rows = run(engine, schema, log, pilot=None, personen=False)
    producer = KafkaProducer(**client_config(kafka_bootstrap), acks="all")
    sent = reconciler.publish_results(producer, rows, topic=events_topic)
    producer.close()
    got = dict(read(kafka_bootstrap, events_topic, 2))
    assert set(got) == {"drenthe", P}
    g = got[P]
    assert g == sent[1] and g["partner"] == "registry" and (g["register"], g["gereconcilieerd"]) == (2, 2)
    assert [
        (
            b["partner"],
            b["gemeld"],
            b["overeenkomend"],
            b["dubbel_in_bron"],
            b["niet_geregistreerd"],
            b["alleen_in_register"],
        )
        for b in g["bronnen"]
    ] == [("monitor", 3, 1, 1, 1, 1)]
    assert got["drenthe"]["bronnen"] == []


def test_follow_reruns_the_pilot_of_a_new_telling(
    engine: Engine, schema: str, kafka_bootstrap: str, events_topic: str
) -> None:
    log = Log()
    registered(log, A, B)
    with engine.begin() as conn:
        data.apply(conn, schema, log.events)
    telling = Log("telling").telling("mbo.albeda", "mbo", P, D, 2, [(A, "in_traject"), (E, "in_traject")])
    results: list[list[dict[str, Any]]] = []
    stop = threading.Event()
    config = reconciler.FollowConfig(
        kafka_bootstrap, schema, events_topic, group=f"g-{schema}", from_beginning=True, wait_s=20
    )
    follower = threading.Thread(
        target=reconciler.follow, args=(engine, config), kwargs={"stop": stop, "on_result": results.append}
    )
    follower.start()
    try:
        producer = KafkaProducer(**client_config(kafka_bootstrap), acks="all")
        producer.send(events_topic, key=P.encode(), value=codec.encode("TellingGemeld", telling))
        producer.close()
        time.sleep(1)  # the follower waits for the projector: store the telling only now
        with engine.begin() as conn:
            data.apply(conn, schema, [("TellingGemeld", telling)])
        deadline = time.monotonic() + 30
        while not results and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        follower.join(30)
    assert len(results) == 1 and [r["pilot"] for r in results[0]] == [P]
    assert (results[0][0]["register"], results[0][0]["gereconcilieerd"]) == (2, 3)
    assert [p for p, _ in read(kafka_bootstrap, events_topic, 1)] == [P]


def test_the_cli_prints_the_table_and_records_every_pilot(
    engine: Engine, schema: str, kafka_bootstrap: str, unique: str
) -> None:
    import os
    import subprocess
    import sys

    from registry.infra import topics

    t = topics.Topics(f"t{unique}")
    topics.create([kafka_bootstrap], 1, [], t.prefix)
    log = Log()
    registered(log, A, B, C)
    log.telling(
        "monitor.groningen",
        "monitor",
        P,
        D,
        4,
        [(A, "in_traject"), (B, "in_traject"), (E, "aangemeld"), (E, "aangemeld")],
    )
    with engine.begin() as conn:
        data.apply(conn, schema, log.events)
    env = dict(os.environ, PRAKTIJK_KAFKA_BOOTSTRAP=kafka_bootstrap)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "reconcile",
            "--peildatum",
            D.isoformat(),
            "--pilot",
            P,
            "--schema",
            schema,
            "--events-topic",
            t.events,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "groningen" in out.stdout and "monitor.groningen: 4 (+1)" in out.stdout
    assert (
        "alleen_in_register 1" in out.stdout
        and "dubbel_in_bron 1" in out.stdout
        and "niet_geregistreerd 1" in out.stdout
    )
    recorded = [codec.decode(r.value) for r in topics.read_to_end([kafka_bootstrap], t.events)]
    assert [(et, rec["pilot"], rec["register"], rec["gereconcilieerd"]) for et, rec in recorded] == [
        ("ReconciliatieUitgevoerd", P, 3, 3)
    ]
    bad = subprocess.run(
        [sys.executable, "-m", "registry.cli", "reconcile", "--peildatum", "13-01-2021"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    unknown = subprocess.run(
        [sys.executable, "-m", "registry.cli", "reconcile", "--peildatum", "2021-01-13", "--pilot", "atlantis"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 2 and "unknown pilot 'atlantis'" in unknown.stderr
