"""kill -9 the validator at random moments while events are parked and released: the canonical log still holds
every accepted event exactly once, in the same per-deelnemer order, and the parked set is the same."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient

from registry.infra.kafka import client_config
from tests.integration.test_validator import reference
from tests.support import validator as h
from tests.support.builders import LB, MBO, ev
from tests.support.processen import verdwijnt
from tests.support.pseudoniemen import key_file

DEELNEMERS = 1100  # x 5 events = 5,500 submissions (+ refusals)


def stream(seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    rnd = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(DEELNEMERS):
        p = f"{i:064x}"
        traject = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        out.append(
            (
                "DeelnemerIngeschreven",
                ev(
                    MBO,
                    deelnemer=p,
                    traject_id=traject,
                    mbo_instelling=MBO,
                    crebo="25250",
                    leertraject="OVO",
                    pilot="rijnmond",
                    startdatum=ev("x")["occurred_at"].date(),
                    leerbedrijf_id=LB,
                    geslacht="man",
                    leeftijd=16 + i % 40,
                    gemeente=None,
                    persoonsgegevens=None,
                    pok_datum=None,
                ),
            )
        )
        wps = ["B1-K1-W1", "B1-K1-W2", "B1-K1-W9" if i % 10 == 0 else "B1-K1-W3"]  # every 10th: an unknown werkproces
        for wp in wps:
            out.append(
                (
                    "WerkprocesAfgetekend",
                    ev(MBO, deelnemer=p, traject_id=traject, crebo="25250", werkproces=wp, afgetekend_door="po"),
                )
            )
        out.append(
            (
                "PraktijkverklaringUitgegeven",
                ev(
                    MBO,
                    deelnemer=p,
                    traject_id=traject,
                    verklaring_id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                    werkprocessen=[{"crebo": "25250", "werkproces": w} for w in wps],
                    leerbedrijf_id=LB,
                    brancheorganisaties=["NOA"],
                    volgnummer=None,
                    ondertekend_door="po",
                    ondertekend_op=ev("x")["occurred_at"].date(),
                ),
            )
        )
    return out


def _validator_process(
    prefix: str, database_url: str, bootstrap: str, keys: Path, idle_exit: float | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        PRAKTIJK_KAFKA_BOOTSTRAP=bootstrap,
        PRAKTIJK_DATABASE_URL=database_url,
        PRAKTIJK_VALIDATOR_GROUP=f"{prefix}-validator",  # the same registry pseudonym key as h.validator
        PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE=str(key_file(keys)),
    )
    args = [sys.executable, "-m", "registry.cli", "validator", "--prefix", prefix, "--schema", f"{prefix}_validator"]
    if idle_exit is not None:
        args += ["--idle-exit", str(idle_exit)]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if log is None else log.open("ab")
    )


def _kill(prefix: str, database_url: str, bootstrap: str, keys: Path, rnd: random.Random, times: int) -> int:
    """SIGKILL a validator ``times`` times; its child processes (the transaction's, the reading one) end with it.
    Returns how many children the killed validators had."""
    kinderen = 0
    for _ in range(times):
        proc = _validator_process(prefix, database_url, bootstrap, keys)
        time.sleep(rnd.uniform(2.0, 5.0))  # start-up takes ~2 s: most kills land mid-batch
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            kind_pids = [int(k) for k in f.read().split()]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert all(verdwijnt(k) for k in kind_pids), "a child process outlived its killed validator"
        kinderen += len(kind_pids)
    return kinderen


def _group_empty(bootstrap: str, group: str, timeout_s: float = 60.0) -> None:
    """Wait until the coordinator has dropped every killed member (their sessions time out): the next validator
    then gets every partition at once (the product also copes without this: ``consumers/groep.definitief``)."""
    admin = KafkaAdminClient(**client_config([bootstrap]))
    try:
        deadline = time.monotonic() + timeout_s
        while admin.describe_groups([group])[group].get("members"):
            assert time.monotonic() < deadline, f"killed members still in {group} after {timeout_s:.0f} s"
            time.sleep(0.5)
    finally:
        admin.close()


def test_sigkill_at_random_moments_while_parking_and_releasing_loses_and_duplicates_nothing(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    refdata = reference()[:3]  # the same submissions (same event_ids) for both runs
    events = stream()
    assert len(events) >= 5000
    results = {}
    for run in ("clean", "killed"):
        prefix = f"t{unique}{run[0]}"
        t = h.make_topics(kafka_bootstrap, prefix, ["sbb", "duo", MBO])
        # the stream first: every inschrijving waits for the erkenning, every later event in line behind it;
        # then the reference data, which releases them (chains: inschrijving -> sign-offs -> verklaring)
        h.publish(kafka_bootstrap, prefix, events)
        if run == "clean":
            v = h.validator(kafka_bootstrap, database_url, prefix)
            h.drain(v)
            assert len(v.plaats) == len(events)
            h.publish(kafka_bootstrap, prefix, refdata)
            h.drain(v)
            v.close()
        else:
            rnd = random.Random(unique)
            kinderen = _kill(prefix, database_url, kafka_bootstrap, tmp_path, rnd, 5)  # while parking
            # on a loaded machine five short lives may not park the whole stream; finish parking before the
            # reference data arrives, or later events are accepted without ever waiting (the clean run parks all)
            log = tmp_path / "validator.log"  # shown when the sets differ
            _group_empty(kafka_bootstrap, f"{prefix}-validator")  # no killed member left holding partitions
            parker = _validator_process(prefix, database_url, kafka_bootstrap, tmp_path, idle_exit=6, log=log)
            assert parker.wait(timeout=300) == 0
            h.publish(kafka_bootstrap, prefix, refdata)
            kinderen += _kill(prefix, database_url, kafka_bootstrap, tmp_path, rnd, 5)  # while releasing
            assert kinderen >= 2, "no killed validator had started its child processes: the kills checked nothing"
            _group_empty(kafka_bootstrap, f"{prefix}-validator")
            final = _validator_process(prefix, database_url, kafka_bootstrap, tmp_path, idle_exit=6, log=log)
            assert final.wait(timeout=300) == 0
        canonical = h.canonical(kafka_bootstrap, t)
        accepted = [r["event_id"] for _, r in canonical]
        per_deelnemer: dict[str, list[str]] = {}
        for _, r in canonical:
            if r.get("deelnemer"):
                per_deelnemer.setdefault(r["deelnemer"], []).append(r["event_id"])
        refused = [(r["event_id"], r["reden"]) for r in h.rejections(kafka_bootstrap, t)]
        plaats = h.parked(kafka_bootstrap, t)
        parked = {g.event_id: (g.reden, g.wacht_op) for g in plaats.entries.values()}
        results[run] = (accepted, refused, per_deelnemer, parked, plaats.geparkeerd_ooit)

    clean_ok, clean_refused, clean_order, clean_parked, clean_ever = results["clean"]
    killed_ok, killed_refused, killed_order, killed_parked, killed_ever = results["killed"]
    # + one aanmelding per deelnemer: h.publish refers each before it enrols (an inschrijving needs one)
    assert len(clean_ok) == 3 + DEELNEMERS * 6 - (DEELNEMERS // 10) * 2  # unknown werkproces + its verklaring
    assert max(Counter(killed_ok).values()) == 1, "an accepted event appears twice in the canonical log"
    missing, extra = set(clean_ok) - set(killed_ok), set(killed_ok) - set(clean_ok)
    assert not missing and not extra, (
        f"{len(missing)} accepted only without kills, {len(extra)} only with; "
        "the parker and last validator logged:\n" + log.read_text()[-4000:]
    )
    assert killed_order == clean_order, "a deelnemer's events in another order"
    assert max(Counter(killed_refused).values()) == 1
    assert set(killed_refused) == set(clean_refused)
    assert sorted(clean_refused, key=lambda x: x[0]) and {r for _, r in clean_refused} == {"onbekend_werkproces"}
    assert len(clean_refused) == DEELNEMERS // 10
    # the verklaring listing the unknown werkproces waits for its sign-off (it never comes)
    assert killed_parked == clean_parked and len(clean_parked) == DEELNEMERS // 10
    assert {reden for reden, _ in clean_parked.values()} == {"niet_afgetekend"}
    assert clean_ever == killed_ever == len(events)
