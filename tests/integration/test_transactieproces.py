"""The validator's transactional producer in its child process (consumers/transactieproces.py), against the broker:
a commit answers the canonical records' offsets, a second incarnation fences the first, the child ends with its
parent and closes on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kafka.errors import ProducerFencedError

from consumers.transactieproces import Kindproces, Opdracht, Record, Start
from registry.infra import topics
from registry.infra.kafka import client_config
from registry.infra.topics import Topics
from tests.support.processen import leeft, verdwijnt


def _start(bootstrap: str, prefix: str) -> Start:
    config = client_config([bootstrap]) | {
        "transactional_id": f"{prefix}-kind",
        "enable_idempotence": True,
        "acks": "all",
    }
    return Start(config, Topics(prefix).events, os.getpid())


def test_a_commit_answers_offsets_and_a_second_incarnation_fences_the_first(kafka_bootstrap: str, unique: str) -> None:
    prefix = f"t{unique}"
    topics.create([kafka_bootstrap], 2, [], prefix)
    events = Topics(prefix).events
    eerste = Kindproces(_start(kafka_bootstrap, prefix))
    try:
        assert eerste.partities == (0, 1)
        records: list[Record] = [(events, b"k", b"a", 1), (events, b"k", b"b", 1), (events, b"k", b"c", 0)]
        uitslag = eerste.voer_uit(Opdracht(records, {}, None, [0, 1, 2]))
        assert uitslag.fout is None and uitslag.posities == [(1, 0), (1, 1), (0, 0)]
        assert sorted(r.value for r in topics.read_all([kafka_bootstrap], events)) == [b"a", b"b", b"c"]
        tweede = Kindproces(_start(kafka_bootstrap, prefix))  # the same transactional id: fences the first
        try:
            fenced = eerste.voer_uit(Opdracht([(events, b"k", b"d", 1)], {}, None, []))
            assert isinstance(fenced.fout, ProducerFencedError)
            assert tweede.voer_uit(Opdracht([(events, b"k", b"e", 1)], {}, None, [0])).posities[0][0] == 1
        finally:
            tweede.close()
    finally:
        eerste.close()
    assert eerste.proces.returncode == 0  # closed on request, its producer with it


def test_the_child_does_not_outlive_its_parent(kafka_bootstrap: str, unique: str) -> None:
    prefix = f"t{unique}"
    topics.create([kafka_bootstrap], 1, [], prefix)
    script = (  # the login comes on stdin, never in argv
        "import json, os, sys, time\n"
        "from consumers.transactieproces import Kindproces, Start\n"
        f"kind = Kindproces(Start(json.loads(sys.stdin.readline()), '{prefix}.events', os.getpid()))\n"
        "print(kind.proces.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    ouder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert ouder.stdin is not None
    ouder.stdin.write((json.dumps(_start(kafka_bootstrap, prefix).producer_config) + "\n").encode())
    ouder.stdin.flush()
    try:
        assert ouder.stdout is not None
        kind = int(ouder.stdout.readline())
        assert leeft(kind)
        ouder.kill()  # as SIGKILL or the watchdog's hard exit would end it
        ouder.wait()
        assert verdwijnt(kind)
    finally:
        if ouder.poll() is None:
            ouder.kill()
