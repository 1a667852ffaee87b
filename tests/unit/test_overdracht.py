"""The validator's hand-over (consumers/overdracht.py) with small fakes: a group consumer, a store, a vault."""

from __future__ import annotations

import time

from kafka import TopicPartition
from kafka.structs import MemberState

from consumers.groep import DEFINITIEF_NA_S, SESSIE_TIMEOUT_MS
from consumers.overdracht import Overdracht
from consumers.validator_config import Memory
from registry.domein.parkeren import Geparkeerd
from registry.infra.topics import Topics
from tests.support.validator_fakes import (
    NU,
    FakeGroupConsumer,
    FakeKluis,
    FakeParkeerstand,
    FakeStore,
    config,
)

A0, A1, B0 = TopicPartition("in.a", 0), TopicPartition("in.a", 1), TopicPartition("in.b", 0)


def overdracht(consumer: FakeGroupConsumer) -> tuple[Overdracht, Memory, FakeKluis]:
    memory, kluis = Memory(), FakeKluis()
    o = Overdracht(config(), 0, Topics("t"), FakeStore(), memory, kluis, FakeParkeerstand(), lambda: None)
    o.consumer = consumer
    return o, memory, kluis


def _g(event_id: str, tp: TopicPartition, wacht_op: tuple[str, ...] = ("dossier:1",)) -> Geparkeerd:
    return Geparkeerd(
        event_id,
        "DeelnemerIngeschreven",
        "mbo.a",
        "p" * 64,
        0,
        wacht_op,
        "onbekend_dossier",
        "",
        NU,
        bron={"topic": tp.topic, "partition": tp.partition, "offset": 0},
    )


def _definitief(held: set[TopicPartition], age_s: float) -> bool:
    o, _, _ = overdracht(FakeGroupConsumer(held))
    o.consumer.subscription = lambda: {"in.a", "in.b"}  # type: ignore[union-attr, method-assign]
    o.toewijzing_sinds = time.monotonic() - age_s
    return o.toewijzing_definitief()


def test_an_idle_exit_waits_out_a_killed_members_session_unless_it_holds_every_partition() -> None:
    alles = {TopicPartition(t, p) for t in ("in.a", "in.b") for p in (0, 1)}
    half = {TopicPartition("in.a", 0), TopicPartition("in.b", 0)}
    assert _definitief(alles, 0.0)  # nobody else can hold work
    assert not _definitief(half, 1.0)  # the rest may sit with a member killed moments ago
    assert not _definitief(half, SESSIE_TIMEOUT_MS / 1000 + 2.5)  # the dead member may not be out yet
    assert _definitief(half, DEFINITIEF_NA_S + 0.5)  # a dead member would have been removed by now
    assert not _definitief(set(), 1.0)


def test_a_paused_partition_without_a_hand_over_is_handed_over_again_once_the_member_is_stable() -> None:
    """A partition revoked (``nieuw`` cleared) but never assigned again stays paused with nobody to resume it: the
    validator then read nothing of it, for ever. Once the member is stable, such a partition goes back into
    ``nieuw``; a revoked one (paused but no longer assigned) and one already waiting do not. While the member is
    rebalancing it waits: the assignment still to come pauses what it gives."""
    consumer = FakeGroupConsumer({A0, A1}, paused={A0, A1, B0})
    consumer.state = MemberState.REBALANCING
    o, _, _ = overdracht(consumer)
    o.nieuw = {A1}
    o.verweesd()
    assert o.nieuw == {A1}
    consumer.state = MemberState.STABLE
    o.verweesd()
    assert o.nieuw == {A0, A1}
    niets, _, _ = overdracht(FakeGroupConsumer({A0}))
    niets.verweesd()
    assert niets.nieuw == set()


def test_given_partitions_are_paused_until_handed_over_and_revoked_ones_let_their_parked_entries_go() -> None:
    consumer = FakeGroupConsumer({A0, A1})
    o, memory, _ = overdracht(consumer)
    o.toegewezen({A0, A1})
    assert consumer.gepauzeerd == {A0, A1} and o.nieuw == {A0, A1}
    o.geladen = {A0, A1}
    memory.plaats.zet(_g("a", A0))
    memory.plaats.zet(_g("b", A1))
    o.ingetrokken({A1})
    assert set(memory.plaats.entries) == {"a"} and o.nieuw == {A0} and o.geladen == {A0}
    plaats = memory.plaats
    o.ingetrokken({A0})  # everything gone: a fresh parked set (its counters too)
    assert memory.plaats is not plaats and len(memory.plaats) == 0


def test_an_event_read_back_from_the_log_updates_the_state_releases_parked_ones_and_ends_an_erased_key() -> None:
    o, memory, kluis = overdracht(FakeGroupConsumer(set()))
    memory.plaats.zet(_g("wacht", A0, ("dossier:25250",)))
    dossier = {"event_id": "d1", "crebo": "25250", "partner": "sbb"}
    o.gevolgd("KwalificatiedossierVastgesteld", dossier | {"naam": "x", "niveau": 1, "domein": "x", "kerntaken": []})
    assert "d1" in memory.staat.event_ids and memory.opnieuw == {"wacht"}
    o.gevolgd("DeelnemerGegevensVerwijderd", {"event_id": "e1", "deelnemer": "p" * 64, "partner": "sbb"})
    assert kluis.vernietigd == ["p" * 64]
    o.gevolgd("DeelnemerGegevensVerwijderd", {"event_id": "e1", "deelnemer": "p" * 64, "partner": "sbb"})
    assert kluis.vernietigd == ["p" * 64]  # the same event twice: once


def test_a_fenced_transaction_is_forgotten_and_every_partition_handed_over_again() -> None:
    class Volger:
        closed = False

        def close(self) -> None:
            self.closed = True

    consumer = FakeGroupConsumer({A0, A1})
    o, memory, _ = overdracht(consumer)
    oud = Volger()
    o.volger = oud  # type: ignore[assignment]
    o._volger = lambda offsets: Volger()  # type: ignore[assignment, method-assign, return-value]
    memory.plaats.zet(_g("a", A0))
    memory.opnieuw.add("a")
    o.geladen = {A0, A1}
    o.herstel()
    assert oud.closed and o.volger is not oud  # type: ignore[comparison-overlap]
    assert len(memory.plaats) == 0 and memory.opnieuw == set() and o.geladen == set()
    assert consumer.gezocht == {A0: 7, A1: "begin"} and consumer.gepauzeerd == {A0, A1} and o.nieuw == {A0, A1}
