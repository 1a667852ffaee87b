"""Scale out without servers: who owns a parked entry, per-instance state, the demo's processes."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

from kafka import TopicPartition

from consumers.groep import DEFINITIEF_NA_S
from consumers.projector_worker import Worker
from consumers.validator import staat_schema
from registry.demo.run import Instanties
from registry.domein.parkeren import Geparkeerd, Parkeerplaats

NU = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _g(
    event_id: str, topic: str, partition: int, volgorde: int, wacht_op: tuple[str, ...] = ("dossier:1",)
) -> Geparkeerd:
    return Geparkeerd(
        event_id,
        "DeelnemerIngeschreven",
        "mbo.a",
        "p" * 64,
        volgorde,
        wacht_op,
        "onbekend_dossier",
        "",
        NU,
        bron={"topic": topic, "partition": partition, "offset": volgorde},
    )


def test_an_instance_takes_over_only_the_entries_of_its_ingress_partitions() -> None:
    fold = Parkeerplaats()
    for g in (_g("a", "in.mbo.a", 0, 0), _g("b", "in.mbo.a", 1, 1), _g("c", "in.mbo.b", 0, 2)):
        fold.vouw(g.to_json())
    fold.vouw({"soort": "opgelost", "event_id": "c", "uitkomst": "geaccepteerd"})
    plaats = Parkeerplaats()
    genomen = plaats.neem_over(fold, {("in.mbo.a", 0), ("in.mbo.b", 0)})
    assert [g.event_id for g in genomen] == ["a"] and set(plaats.entries) == {"a"}
    assert plaats.by_key == {"dossier:1": {"a"}}
    assert plaats.geparkeerd_ooit == 3 and plaats.opgelost_ooit["geaccepteerd"] == 1
    assert plaats.volgende == 3  # new arrivals come after everything taken over


def test_revoked_partitions_are_let_go_without_counting_as_resolved() -> None:
    plaats = Parkeerplaats()
    for g in (_g("a", "in.mbo.a", 0, 0), _g("b", "in.mbo.a", 1, 1)):
        plaats.zet(g)
    assert plaats.laat_los({("in.mbo.a", 1)}) == 1
    assert set(plaats.entries) == {"a"} and not plaats.opgelost_ooit
    assert plaats.wachtend_op("dossier:1") == [plaats.entries["a"]]


def test_every_instance_keeps_its_own_state_snapshot() -> None:
    assert staat_schema("validator", 0) == "validator"  # one instance: where it always was
    assert len({staat_schema("validator", i) for i in range(4)}) == 4


def test_the_demo_starts_n_of_each_and_one_projector_as_before() -> None:
    assert Instanties().commands() == [
        ["validator", "--instance", "0"],
        ["project"],
        ["reconcile", "--follow", "--instance", "0"],
    ]
    cmds = Instanties(2, 3, 2).commands()
    assert [c for c in cmds if c[0] == "validator"] == [
        ["validator", "--instance", "0"],
        ["validator", "--instance", "1"],
    ]
    assert [c for c in cmds if c[0] == "project"] == [["project", "--group"]] * 3
    assert len([c for c in cmds if c[0] == "reconcile"]) == 2


class _Groepslid:
    """A consumer's view of its group: two topics of two partitions, of which it holds ``held``."""

    def __init__(self, held: set[TopicPartition]) -> None:
        self.held = held

    def subscription(self) -> set[str]:
        return {"in.a", "in.b"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1}

    def assignment(self) -> set[TopicPartition]:
        return self.held


def test_a_group_projector_is_caught_up_only_on_a_final_assignment() -> None:
    half = {TopicPartition("in.a", 0), TopicPartition("in.b", 0)}
    lid = SimpleNamespace(
        config=SimpleNamespace(groep=True),
        assigned=sorted(half),
        nieuw=set(),
        consumer=_Groepslid(half),
        toewijzing_sinds=time.monotonic(),
        _remaining=lambda: [0, 0],
        _lopend=None,
    )
    assert not Worker.caught_up(lid)  # type: ignore[arg-type]  # `project --group --once` must not stop yet
    lid.toewijzing_sinds -= DEFINITIEF_NA_S + 0.5
    assert Worker.caught_up(lid)  # type: ignore[arg-type]
    lid._remaining = lambda: [0, 3]
    assert not Worker.caught_up(lid)  # type: ignore[arg-type]  # records left
