"""The checks after a fault: has everything published arrived (drained)? exactly once? have the read models caught
up, and are they equal row for row to a clean ``replay all`` into a fresh schema? And the probe that measures
recovery: the first event recorded after the fault that is visible in the read models."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from projections import store
from projections.catalogus import ALL
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from tests.support.faults.logboek import Logboek
from tests.support.faults.stapel import ROOT
from tests.support.faults.stroom import Stroom

REPLAY_SCHEMA = "faults_replay"
log = logging.getLogger("faults.controle")


def database(url: str) -> Engine:
    """No pool: after a PostgreSQL restart every check opens a fresh connection instead of a dead pooled one."""
    return create_engine(url, poolclass=NullPool)


@dataclass
class Telling:
    """One fault's accounting over the events published while it ran."""

    events_in: int
    in_log: int
    duplicates: int
    lost: int


def account(ids: list[str], boek: Logboek) -> Telling:
    """``ids``: event ids the broker acknowledged during the fault. None of them may be refused (the stream is
    valid), so each must be in the canonical log exactly once."""
    in_log = sum(1 for i in ids if boek.ids[i] >= 1)
    dups = sum(1 for i in ids if boek.ids[i] > 1)
    lost = sum(1 for i in ids if boek.ids[i] == 0)
    return Telling(len(ids), in_log, dups, lost)


def wait_drained(stroom: Stroom, boek: Logboek, db: Engine, timeout: float) -> str | None:
    """Wait until every acknowledged event is in the canonical log (or refused), the last telling was reconciled
    and the projector has applied everything; None, or what was still missing at the timeout."""
    deadline = time.monotonic() + timeout
    waiting = "nothing yet"
    while time.monotonic() < deadline:
        if boek.refresh():
            missing = sum(1 for i in stroom.acked if i not in boek.ids and i not in boek.refused)
            if missing:
                waiting = f"{missing} event(s) not in the canonical log"
            elif not last_telling_reconciled(stroom, boek):
                waiting = "the last telling has no reconciliation after it"
            elif not projector_caught_up(db, boek):
                waiting = "the projector has not applied the whole log"
            else:
                return None
        time.sleep(0.25)  # a row usually drains within a second: a coarse step would be most of its wait
    return waiting


def compare_drained(
    env: dict[str, str], stroom: Stroom, boek: Logboek, db: Engine, timeout: float, attempts: int = 3
) -> tuple[str | None, list[str]]:
    """Drain, then compare the read models with a clean replay (``read_models_differ``): what was still missing
    at the timeout (None: drained) and the tables that differ. A comparison only holds for a log that stood
    still while it ran: the registry itself may still append after the drain (a reconciler restarted by the fault
    re-runs a telling, a run for an earlier telling can satisfy the drain's check before the last telling's run
    is on the log), and then the replay and the live projector may each have seen a different end. So the log's
    last offsets are taken when the drain ends and read again after the comparison; if they moved, it drains and
    compares again."""
    differ: list[str] = []
    for attempt in range(1, attempts + 1):
        t0 = time.monotonic()
        waiting = wait_drained(stroom, boek, db, timeout)
        seen = dict(boek.last_offset)
        t1 = time.monotonic()
        differ = read_models_differ(env, db)
        log.info("drained in %.1f s, replayed and compared in %.1f s", t1 - t0, time.monotonic() - t1)
        if waiting or (boek.refresh() and boek.last_offset == seen):
            return waiting, differ
        grew = sorted(f"{t}:{p}" for (t, p), last in boek.last_offset.items() if last != seen.get((t, p)))
        log.warning(
            "the log grew while it was compared (%s; attempt %d of %d): again", ", ".join(grew), attempt, attempts
        )
    return None, differ


def last_telling_reconciled(stroom: Stroom, boek: Logboek) -> bool:
    if not stroom.tellingen:
        return True
    recorded = boek.tellingen.get(stroom.tellingen[-1])
    latest = boek.latest_reconciliation()
    return recorded is not None and latest is not None and latest >= recorded


def projector_caught_up(db: Engine, boek: Logboek) -> bool:
    """Every projection stored a next offset past the last record of every partition it reads."""
    try:
        with db.connect() as conn:
            rows = conn.execute(
                text(
                    store.sql(
                        "SELECT projection, topic, partition, next_offset FROM {s}.projection_offsets",
                        DEFAULT_READ_SCHEMA,
                    )
                )
            ).all()
    except SQLAlchemyError:
        return False
    stored = {(r.projection, r.topic, r.partition): r.next_offset for r in rows}
    for name, p in ALL.items():
        reads = {boek.topics.events if kind == "events" else boek.topics.rejections for kind in p.kinds}
        for (topic, partition), last in boek.last_offset.items():
            if topic in reads and stored.get((name, topic, partition), 0) <= last:
                return False
    return True


def read_models_differ(env: dict[str, str], db: Engine) -> list[str]:
    """Replay the whole log into a fresh schema with the CLI and compare every table row for row with the live
    read models; the names of the tables that differ (empty: equal)."""
    with db.begin() as conn:
        store.drop_schema(conn, REPLAY_SCHEMA)
    done = subprocess.run(
        [sys.executable, "-m", "registry.cli", "replay", "all", "--schema", REPLAY_SCHEMA, "--no-progress"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"replay all failed: {done.stderr.strip()[-800:]}")
    try:
        with db.connect() as conn:
            live, clean = snapshot(conn, DEFAULT_READ_SCHEMA), snapshot(conn, REPLAY_SCHEMA)
    finally:
        with db.begin() as conn:
            store.drop_schema(conn, REPLAY_SCHEMA)
    differ = [table for table in live if live[table] != clean[table]]
    for table in differ:
        log.warning("%s differs from a clean replay: %s", table, row_difference(live[table], clean[table]))
    return differ


def row_difference(live: list[str], clean: list[str], shown: int = 3) -> str:
    """What a differing table's rows are: how many only the live read model or only the replay has, and the first
    few of each (rows hold pseudonyms and codes, never a BSN or name): enough to tell a lost update from a stale
    one."""
    only_live, only_clean = sorted(set(live) - set(clean)), sorted(set(clean) - set(live))
    return (
        f"{len(live)} live rows, {len(clean)} replayed; only live ({len(only_live)}): {only_live[:shown]}; "
        f"only replayed ({len(only_clean)}): {only_clean[:shown]}"
    )


def snapshot(conn: Connection, schema: str) -> dict[str, list[str]]:
    """Every row of every read-model table, sorted (the offsets table is not a read model)."""
    out: dict[str, list[str]] = {}
    for p in ALL.values():
        for table in p.tables:
            rows = conn.execute(text(store.sql(f"SELECT * FROM {{s}}.{table}", schema))).all()
            out[table] = sorted(repr(tuple(r)) for r in rows)
    return out


# ---- recovery probes ----------------------------------------------------------------------------------------
def newest_projected(db: Engine) -> dt.datetime | None:
    """recorded_at of the newest event the feiten projection has applied (None: database not answering)."""
    try:
        with db.connect() as conn:
            return conn.execute(
                text(
                    store.sql(
                        "SELECT max(last_recorded_at) FROM {s}.projection_offsets WHERE projection = 'feiten'",
                        DEFAULT_READ_SCHEMA,
                    )
                )
            ).scalar()
    except SQLAlchemyError:
        return None


def wait_recovered(visible: Callable[[], bool], since: float, timeout: float) -> float | None:
    """Seconds from ``since`` (time.monotonic) until ``visible()`` holds, polled every 0.1 s; None after ``timeout``."""
    while time.monotonic() - since < timeout:
        if visible():
            return time.monotonic() - since
        time.sleep(0.1)
    return None
