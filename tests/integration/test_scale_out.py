"""Several instances of every consumer: two validators and two projectors over six partitions give the
same canonical log and read models as one of each, also when one of each is killed mid-stream (SIGKILL) and the
other takes over its partitions."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from sqlalchemy import Engine, text

from consumers import reconciler
from projections import store
from projections.catalogus import select
from registry.domein import referentie
from registry.infra import codec
from registry.infra.db import engine as make_engine
from registry.infra.kafka import client_config
from registry.infra.topics import Topics
from tests.integration.test_validator import reference
from tests.integration.test_validator_faults import stream
from tests.support import reconciliatie_data as data
from tests.support import validator as h
from tests.support.builders import MBO
from tests.support.projecteren import project_once
from tests.support.pseudoniemen import key_file
from tests.support.reconciliatie_data import Log, pseudo

DEELNEMERS = 300  # x 5 submissions; every 10th has an unknown werkproces (refused) and a verklaring that waits
PARTNERS = ["sbb", "duo", MBO]
D = dt.date(2020, 11, 30)
# what differs between two runs of the same input by nature: the validator's clock, where an event landed, and the
# record keys of the cell key method (drawn at random per read model; which deelnemers have one is compared)
VOLATILE = {
    "recorded_at",
    "partition",
    "offset",
    "log_partition",
    "log_offset",
    "updated_at",
    "last_recorded_at",
    "sleutel",
}


def _env(bootstrap: str, database_url: str, prefix: str, keys: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PRAKTIJK_KAFKA_BOOTSTRAP=bootstrap,
        PRAKTIJK_DATABASE_URL=database_url,
        PRAKTIJK_VALIDATOR_GROUP=f"{prefix}-validator",
        PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE=str(keys),
    )


def _validator(
    env: dict[str, str], prefix: str, instance: int, *extra: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "validator",
            "--prefix",
            prefix,
            "--schema",
            f"{prefix}_validator",
            "--instance",
            str(instance),
            "--metrics-port",
            "0",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if log is None else log.open("wb"),
    )


def _projector(env: dict[str, str], prefix: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "project",
            "--group",
            "--schema",
            f"{prefix}_rm",
            "--events-topic",
            f"{prefix}.events",
            "--rejections-topic",
            f"{prefix}.rejections",
            "--metrics-port",
            "0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _ends(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(**client_config([bootstrap]), group_id=None, isolation_level="read_committed")
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: int(o) for tp, o in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def _wait(condition: Any, what: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _took_over(log: Path) -> bool:
    return log.exists() and "took over" in log.read_text(errors="replace")


def _projected(engine: Engine, bootstrap: str, prefix: str) -> bool:
    """Every projection has stored the end of every partition it reads (the runners caught up)."""
    ends = {topic: _ends(bootstrap, f"{prefix}.{topic}") for topic in ("events", "rejections")}
    with engine.connect() as conn:
        for p in select("all"):
            stored = store.load_offsets(conn, f"{prefix}_rm", p.name)
            for kind in p.kinds:
                topic = f"{prefix}.{kind}"
                if any(stored.get((topic, part), 0) < end for part, end in ends[kind].items() if end):
                    return False
    return True


def _log(bootstrap: str, prefix: str) -> dict[str, Any]:
    t = Topics(prefix)
    canonical = h.canonical(bootstrap, t)
    per_deelnemer: dict[str, list[str]] = {}
    for _, r in canonical:
        if r.get("deelnemer"):
            per_deelnemer.setdefault(r["deelnemer"], []).append(r["event_id"])
    plaats = h.parked(bootstrap, t)
    return {
        "accepted": Counter(r["event_id"] for _, r in canonical),
        "refused": Counter((r["event_id"], r["reden"]) for r in h.rejections(bootstrap, t)),
        "order": per_deelnemer,
        "parked": {g.event_id: (g.reden, g.wacht_op) for g in plaats.entries.values()},
    }


def _read_models(engine: Engine, prefix: str) -> dict[str, list[tuple[str, ...]]]:
    """Every read-model table row for row (sorted), without the columns that differ by nature (and with the run's
    own topic prefix, which a rejection's ``bron`` names, made neutral)."""
    schema = f"{prefix}_rm"
    out: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                    "AND table_name <> 'projection_offsets'"
                ),
                {"s": schema},
            )
            .scalars()
            .all()
        )
        for table in tables:
            columns = [
                c
                for c in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t "
                        "ORDER BY ordinal_position"
                    ),
                    {"s": schema, "t": table},
                ).scalars()
                if c not in VOLATILE
            ]
            select_list = ", ".join(f'"{c}"::text' for c in columns)
            rows = conn.execute(text(f'SELECT {select_list} FROM "{schema}"."{table}"')).all()
            out[table] = sorted(tuple("" if v is None else v.replace(prefix, "<prefix>") for v in row) for row in rows)
    return out


def test_two_validators_and_two_projectors_equal_one_of_each_also_when_one_is_killed(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    events = stream()[: DEELNEMERS * 5]  # per deelnemer: inschrijving, three sign-offs, verklaring (one partner)
    first, second = events[: len(events) // 2], events[len(events) // 2 :]
    refdata = reference()[:3]  # the same event ids in both runs
    engine = make_engine(database_url)

    # one validator, one projector: the reference
    een = f"t{unique}e"
    h.make_topics(kafka_bootstrap, een, PARTNERS)
    h.publish(kafka_bootstrap, een, first + refdata + second)
    v = h.validator(kafka_bootstrap, database_url, een)
    try:
        v.drain()
    finally:
        v.close()
    project_once(kafka_bootstrap, database_url, een, f"{een}_rm")

    # two of each; the first half parks (no reference data yet), the reference data releases it across instances
    twee = f"t{unique}t"
    h.make_topics(kafka_bootstrap, twee, PARTNERS)
    env = _env(kafka_bootstrap, database_url, twee, key_file(tmp_path))
    h.publish(kafka_bootstrap, twee, first)
    log, doomed_log = tmp_path / "survivor.log", tmp_path / "doomed.log"
    doomed = _validator(env, twee, 0, log=doomed_log)
    survivor = _validator(env, twee, 1, "--idle-exit", "15", log=log)
    projector_logs = [tmp_path / "projector-0.log", tmp_path / "projector-1.log"]
    projectors = [_projector(env, twee, projector_logs[0]), _projector(env, twee, projector_logs[1])]
    try:
        _wait(lambda: sum(_ends(kafka_bootstrap, f"{twee}.parked").values()) >= 200, "the first submissions to park")
        h.publish(kafka_bootstrap, twee, refdata)
        # 150 aanmeldingen (accepted at once) + the first 50 releases after the reference data
        _wait(lambda: sum(_ends(kafka_bootstrap, f"{twee}.events").values()) >= 200, "the first releases")
        # a loaded machine starts one Python much later than the other: kill only once both hold partitions
        _wait(lambda: all(_took_over(p) for p in (doomed_log, log)), "both validators to hold partitions")
        doomed.send_signal(signal.SIGKILL)  # mid-stream: releasing, or projecting what was released
        projectors[0].send_signal(signal.SIGKILL)
        h.publish(kafka_bootstrap, twee, second)  # lands on every partition: the survivor must take over
        try:
            code = survivor.wait(timeout=240)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 0, f"survivor exit {code}:\n" + log.read_text(errors="replace")[-6000:]
        try:
            _wait(lambda: _projected(engine, kafka_bootstrap, twee), "the surviving projector to catch up")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n" + projector_logs[1].read_text(errors="replace")[-6000:]) from None
    finally:
        for p in (doomed, survivor, *projectors):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)

    took_over = [line for line in log.read_text().splitlines() if "took over" in line]
    print("\nsurviving validator:\n" + "\n".join(took_over))
    assert len(took_over) >= 2, "the survivor never took over the killed instance's partitions"
    ref, scaled = _log(kafka_bootstrap, een), _log(kafka_bootstrap, twee)
    assert max(scaled["accepted"].values()) == 1, "an accepted event appears twice in the canonical log"
    assert max(scaled["refused"].values()) == 1, "a submission refused twice"
    assert len(ref["accepted"]) == 3 + DEELNEMERS * 6 - (DEELNEMERS // 10) * 2  # + the aanmelding h.publish adds
    assert set(scaled["accepted"]) == set(ref["accepted"])
    assert scaled["order"] == ref["order"], "a deelnemer's events in another order"
    assert set(scaled["refused"]) == set(ref["refused"]) and len(ref["refused"]) == DEELNEMERS // 10
    assert scaled["parked"] == ref["parked"] and len(ref["parked"]) == DEELNEMERS // 10
    assert _read_models(engine, twee) == _read_models(engine, een)


def test_two_reconcilers_handle_every_telling_once_and_one_takes_over_from_a_stopped_one(
    kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    engine = make_engine(database_url)
    schema, topic = f"t_recon_{unique}", f"t{unique}r.events"
    admin = KafkaAdminClient(**client_config([kafka_bootstrap]))
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    pilots = sorted(referentie.pilots())[:6]  # keys of the tellingen: spread over the three partitions
    log = Log()
    for pilot in pilots:
        log.inschrijving(pseudo(pilot), pilot, D - dt.timedelta(days=100))
    tellingen = [log.telling("mbo.albeda", "mbo", pilot, D, 1) for pilot in pilots]
    with engine.begin() as conn:
        data.apply(conn, schema, log.events)  # projected already: the followers need not wait
    stops = [threading.Event(), threading.Event()]
    results: list[list[dict[str, Any]]] = []
    followers = [
        threading.Thread(
            target=reconciler.follow,
            args=(
                engine,
                reconciler.FollowConfig(
                    [kafka_bootstrap], schema, topic, group=f"g-{unique}", from_beginning=True, instance=i
                ),
            ),
            kwargs={"stop": stops[i], "on_result": results.append},
        )
        for i in range(2)
    ]
    producer = KafkaProducer(**client_config([kafka_bootstrap]), acks="all")
    try:
        for f in followers:
            f.start()
        for telling in tellingen[:3]:
            producer.send(topic, key=telling["pilot"].encode(), value=codec.encode("TellingGemeld", telling))
        producer.flush()
        _wait(lambda: len(results) >= 3, "the first tellingen to be reconciled", 60)
        stops[0].set()  # its partitions go to the other follower
        followers[0].join(30)
        for telling in tellingen[3:]:
            producer.send(topic, key=telling["pilot"].encode(), value=codec.encode("TellingGemeld", telling))
        producer.flush()
        _wait(lambda: len(results) >= 6, "every telling to be reconciled", 60)
    finally:
        producer.close()
        for s in stops:
            s.set()
        for f in followers:
            f.join(30)
        with engine.begin() as conn:
            store.drop_schema(conn, schema)
    uitgevoerd = Counter(
        r["pilot"]
        for event_type, r in (codec.decode(rec.value) for rec in h.read_topic(kafka_bootstrap, topic))
        if event_type == "ReconciliatieUitgevoerd"
    )
    assert uitgevoerd == Counter(pilots), "a telling reconciled twice, or not at all"
