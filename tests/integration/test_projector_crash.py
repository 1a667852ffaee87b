"""Crash drill: SIGKILL the projector process mid-run several times, finish with the CLI, and the read
models equal (row for row) a clean replay of the same log. Rows and offsets commit together, so a kill
at any instruction neither loses nor duplicates an effect."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from projections import store
from registry.infra.db import engine as make_engine
from tests.integration.test_projector import create_topics, delete_topics, produce, snapshot
from tests.support import builders

ROOT = Path(__file__).resolve().parents[2]


def _progress(database_url: str, schema: str) -> int:
    with make_engine(database_url).connect() as conn:
        exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{schema}.projection_offsets"}).scalar()
        if exists is None:
            return 0
        return int(
            conn.execute(
                text(store.sql("SELECT coalesce(sum(next_offset), 0) FROM {s}.projection_offsets", schema))
            ).scalar_one()
        )


def test_sigkill_mid_batch_then_resume_equals_clean_replay(
    kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    events_topic = f"test.crash.{unique}.events"
    rejections_topic = f"test.crash.{unique}.rejections"
    live, clean = f"t_crash_{unique}", f"t_clean_{unique}"
    create_topics(kafka_bootstrap, events_topic, rejections_topic)
    rejections = [
        {
            "event_id": f"r-{i}",
            "event_type": "WerkprocesAfgetekend",
            "partner": "leerbedrijf.1",
            "deelnemer": f"d001{i:06d}".ljust(64, "0"),
            "traject_id": None,
            "reden": "werkproces_onbekend",
            "melding": "onbekend werkproces",
            "recorded_at": "2020-06-12T10:00:00+00:00",
            "bron": {"topic": "praktijkleren.ingress.x", "partition": 0, "offset": i},
        }
        for i in range(40)
    ]
    n = produce(kafka_bootstrap, events_topic, builders.scenario(300, seed=1), rejections_topic, rejections)
    total = 3 * n + len(rejections)  # three projections read the log; tijdlijn also the rejections

    env = dict(
        os.environ, PRAKTIJK_KAFKA_BOOTSTRAP=kafka_bootstrap, PRAKTIJK_DATABASE_URL=database_url, PYTHONPATH=str(ROOT)
    )
    topics_args = ["--events-topic", events_topic, "--rejections-topic", rejections_topic]
    rnd = random.Random(unique)
    seen: list[int] = []
    try:
        for _ in range(5):
            before = _progress(database_url, live)
            proc = subprocess.Popen(
                [sys.executable, "-m", "registry.cli", "project", "--schema", live, "--batch-size", "10", *topics_args],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + 60
                while _progress(database_url, live) <= before and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(rnd.uniform(0.05, 0.4))  # somewhere inside a later batch
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            seen.append(_progress(database_url, live))
        print("progress after kills", seen, "of", total)
        assert sum(1 for x in seen if x < total) >= 3, f"kills came after the projector had finished: {seen}"
        assert seen == sorted(seen) and seen[-1] > 0

        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "registry.cli",
                "project",
                "--once",
                "--schema",
                live,
                "--batch-size",
                "50",
                *topics_args,
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert _progress(database_url, live) >= total

        replayed = subprocess.run(
            [sys.executable, "-m", "registry.cli", "replay", "all", "--schema", clean, "--no-progress", *topics_args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert replayed.returncode == 0, replayed.stderr
        assert "replayed feiten" in replayed.stdout

        with make_engine(database_url).connect() as conn:
            a, b = snapshot(conn, live), snapshot(conn, clean)
        assert len(a["inschrijvingen"]) == 300 and len(a["afwijzingen"]) == 40
        for table in a:
            assert a[table] == b[table], f"{table} differs after the crashes"
    finally:
        with make_engine(database_url).begin() as conn:
            store.drop_schema(conn, live)
            store.drop_schema(conn, clean)
        delete_topics(kafka_bootstrap, events_topic, rejections_topic)


def test_sigterm_finishes_the_batch_and_exits_cleanly(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    events_topic, rejections_topic = f"test.term.{unique}.events", f"test.term.{unique}.rejections"
    schema = f"t_term_{unique}"
    create_topics(kafka_bootstrap, events_topic, rejections_topic)
    produce(kafka_bootstrap, events_topic, builders.scenario(20, seed=2))
    env = dict(
        os.environ, PRAKTIJK_KAFKA_BOOTSTRAP=kafka_bootstrap, PRAKTIJK_DATABASE_URL=database_url, PYTHONPATH=str(ROOT)
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "project",
            "--schema",
            schema,
            "--events-topic",
            events_topic,
            "--rejections-topic",
            rejections_topic,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _progress(database_url, schema) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _progress(database_url, schema) > 0
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "feiten:" in out
    finally:
        if proc.poll() is None:
            proc.kill()
        with make_engine(database_url).begin() as conn:
            store.drop_schema(conn, schema)
        delete_topics(kafka_bootstrap, events_topic, rejections_topic)
