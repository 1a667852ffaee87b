"""The transaction of the validator's child process (consumers/transactieproces.py): what it answers for a commit,
a commit the group refused (aborted before the answer) and a fenced producer, with a producer that records its
calls."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from typing import Any

from kafka import TopicPartition
from kafka.errors import CommitFailedError, ProducerFencedError
from kafka.structs import OffsetAndMetadata

from consumers.transactieproces import Opdracht, Uitslag, transactie
from tests.support.processen import leeft, verdwijnt


class _Md:
    def __init__(self, partition: int, offset: int) -> None:
        self.partition, self.offset = partition, offset


class _Future:
    def __init__(self, md: _Md) -> None:
        self.md = md

    def get(self) -> _Md:
        return self.md


class _Producer:
    def __init__(self, fout: BaseException | None = None) -> None:
        self.calls: list[str] = []
        self.fout = fout
        self.groep: Any = None

    def partitions_for(self, topic: str) -> set[int]:
        return {2, 0, 1}

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"", partition: int | None = None) -> _Future:
        self.calls.append(f"send {topic}")
        return _Future(_Md(partition or 0, 10 + len(self.calls)))

    def send_offsets_to_transaction(self, offsets: Any, groep: Any) -> None:
        self.calls.append("offsets")
        self.groep = groep

    def commit_transaction(self) -> None:
        if self.fout is not None:
            raise self.fout
        self.calls.append("commit")

    def abort_transaction(self) -> None:
        self.calls.append("abort")


def _opdracht() -> Opdracht:
    records = [("t.events", b"k", b"a", 1), ("t.rejections", None, b"b", None), ("t.events", b"k", b"c", 1)]
    offsets = {TopicPartition("t.ingress.sbb", 0): OffsetAndMetadata(7, "", -1)}
    return Opdracht(records, offsets, "generatie 3", [0, 2])


def test_a_commit_answers_the_positions_asked_for_and_the_canonical_partitions() -> None:
    producer = _Producer()
    uitslag = transactie(producer, _opdracht(), "t.events")
    assert producer.calls == ["begin", "send t.events", "send t.rejections", "send t.events", "offsets", "commit"]
    assert producer.groep == "generatie 3"  # the group metadata of the poll that read the records (KIP-447)
    assert uitslag == Uitslag([(1, 12), (1, 14)], (0, 1, 2))


def test_a_commit_the_group_refused_is_aborted_before_the_answer() -> None:
    producer = _Producer(CommitFailedError("rebalanced"))
    uitslag = transactie(producer, _opdracht(), "t.events")
    assert producer.calls[-2:] == ["offsets", "abort"]
    assert isinstance(uitslag.fout, CommitFailedError) and uitslag.posities == []


def test_a_fenced_producer_is_answered_as_such_and_not_aborted() -> None:
    producer = _Producer(ProducerFencedError("a newer incarnation"))
    uitslag = transactie(producer, _opdracht(), "t.events")
    assert "abort" not in producer.calls
    # the answer crosses the pipe pickled: the caller raises the same class
    assert isinstance(pickle.loads(pickle.dumps(uitslag)).fout, ProducerFencedError)


def test_the_child_ends_when_its_parent_is_gone() -> None:
    """The child's guard (registry/infra/hulpproces.py ``bewaak_ouder``) in a grandchild of this test: its parent is
    SIGKILLed."""
    ouder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "kind = subprocess.Popen([sys.executable, '-c', 'import os; from registry.infra.hulpproces import "
            "bewaak_ouder; bewaak_ouder(os.getppid())'])\n"
            "print(kind.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert ouder.stdout is not None
    kind = int(ouder.stdout.readline())
    time.sleep(1.0)
    assert leeft(kind)  # it waits while its parent lives
    ouder.kill()
    ouder.wait()
    assert verdwijnt(kind)


def test_two_polls_in_one_batch_ask_for_their_canonical_records_at_their_place_in_the_batch() -> None:
    from consumers.schrijver import Oordeel, Zendlijst, samen

    lijst = Zendlijst()
    eerder_eigen = [lijst.send("t.events", key=b"k", value=b"a"), lijst.send("t.events", key=b"k", value=b"b")]
    eerder = Oordeel(lijst.neem(), {}, None, 2, eerder_eigen)
    lijst.send("t.rejections", key=None, value=b"c")
    later_eigen = [lijst.send("t.events", key=b"k", value=b"d")]
    batch = samen(eerder, Oordeel(lijst.neem(), {}, None, 2, later_eigen))
    assert [batch.zendingen[u.index][2] for u in batch.eigen] == [b"a", b"b", b"d"]
