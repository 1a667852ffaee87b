"""Scale out without servers: who owns a parked entry, per-instance state, the demo's processes."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pytest
from kafka import TopicPartition

from consumers.eigen_weigeringen import EigenWeigeringen
from consumers.groep import DEFINITIEF_NA_S, SESSIE_TIMEOUT_MS
from consumers.overdracht import Overdracht
from consumers.projector_werker import Worker
from consumers.validator import Validator, staat_schema
from registry.demo.run import Instanties
from registry.domein.parkeren import Geparkeerd, Parkeerplaats
from registry.infra.topics import Topics

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


def _definitief(held: set[TopicPartition], age_s: float) -> bool:
    lid = SimpleNamespace(consumer=_Groepslid(held), toewijzing_sinds=time.monotonic() - age_s)
    return Overdracht.toewijzing_definitief(lid)  # type: ignore[arg-type]


def test_an_idle_exit_waits_out_a_killed_members_session_unless_it_holds_every_partition() -> None:
    alles = {TopicPartition(t, p) for t in ("in.a", "in.b") for p in (0, 1)}
    half = {TopicPartition("in.a", 0), TopicPartition("in.b", 0)}
    assert _definitief(alles, 0.0)  # nobody else can hold work
    assert not _definitief(half, 1.0)  # the rest may sit with a member killed moments ago
    assert not _definitief(half, SESSIE_TIMEOUT_MS / 1000 + 2.5)  # the dead member may not be out yet
    assert _definitief(half, DEFINITIEF_NA_S + 0.5)  # a dead member would have been removed by now
    assert not _definitief(set(), 1.0)


class _NogGeenTopics:
    """A consumer whose metadata shows the ingress topics only from the second look on."""

    def __init__(self) -> None:
        self.looks, self.subscribed = 0, set[str]()

    def topics(self) -> set[str]:
        self.looks += 1
        return set() if self.looks == 1 else {"t.ingress.sbb", "t.events"}

    def subscription(self) -> set[str]:
        return self.subscribed

    def subscribe(self, topics: list[str], listener: object) -> None:
        self.subscribed = set(topics)


def test_the_validator_subscribes_once_the_ingress_topics_show_and_looks_again_soon_until_then() -> None:
    consumer = _NogGeenTopics()
    lid = SimpleNamespace(
        consumer=consumer,
        topics=Topics("t"),
        volgende_topiccheck=0.0,
        eigen_weigeringen=EigenWeigeringen(Topics("t"), set),
    )
    Validator._abonneer(lid)  # type: ignore[arg-type]
    assert consumer.subscribed == set() and lid.volgende_topiccheck - time.monotonic() < 1  # no empty subscribe
    Validator._abonneer(lid)  # type: ignore[arg-type]
    assert consumer.subscribed == {"t.ingress.sbb"} and lid.volgende_topiccheck - time.monotonic() > 1


def test_a_drain_without_progress_raises_instead_of_waiting_for_ever() -> None:
    lid = SimpleNamespace(
        consumer=_Groepslid(set()),
        nieuw=set(),
        instance=3,
        actief=False,
        run_once=lambda timeout_ms: 0,
        caught_up=lambda: False,
    )
    with pytest.raises(TimeoutError, match=r"instance 3: no progress .*\(0 partition"):
        Validator.drain(lid, stuck_after_s=0.05)  # type: ignore[arg-type]
    lid.caught_up = lambda: True
    assert Validator.drain(lid, stuck_after_s=0.05) == 0  # caught up: done, no error  # type: ignore[arg-type]


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


def test_a_paused_partition_without_a_hand_over_is_handed_over_again() -> None:
    """A pause from a rebalance callback (the consumer's IO thread) that raced a hand-over in progress left the
    partition paused with nobody to resume it: the validator then read nothing of it, for ever. Such a partition
    goes back into ``nieuw``; a revoked one (paused but no longer assigned) and one already waiting do not."""
    a0, a1, b0 = TopicPartition("in.a", 0), TopicPartition("in.a", 1), TopicPartition("in.b", 0)
    consumer = SimpleNamespace(paused=lambda: {a0, a1, b0}, assignment=lambda: {a0, a1})
    lid = SimpleNamespace(consumer=consumer, nieuw={a1}, instance=0)
    Overdracht.verweesd(lid)  # type: ignore[arg-type]
    assert lid.nieuw == {a0, a1}
    niets = SimpleNamespace(
        consumer=SimpleNamespace(paused=lambda: set(), assignment=lambda: {a0}), nieuw=set(), instance=0
    )
    Overdracht.verweesd(niets)  # type: ignore[arg-type]
    assert niets.nieuw == set()


def test_a_transaction_that_never_settles_ends_the_process_and_a_settled_one_does_not() -> None:
    """kafka-python waits for a transaction's offsets and commit without a time-out (one wait never ended after a
    broker restart in the fault suite): the validator's watchdog exits the process instead, to be restarted."""
    from consumers.validator import EXIT_TRANSACTIE_HANGT, waakhond

    codes: list[int] = []
    with waakhond(0.05, EXIT_TRANSACTIE_HANGT, exit_fn=codes.append):
        time.sleep(0.3)  # a commit that hangs
    assert codes == [75]
    codes.clear()
    with waakhond(0.2, EXIT_TRANSACTIE_HANGT, exit_fn=codes.append):
        pass  # settled in time
    time.sleep(0.4)
    assert codes == []
