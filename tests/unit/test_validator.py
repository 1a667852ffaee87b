"""The validator's loop (consumers/validator.py), built over small fakes of its store, vault and key: no Kafka."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from kafka import TopicPartition

from consumers.transactieproces import Direct
from consumers.validator import EXIT_TRANSACTIE_HANGT, Validator, producer_settings, staat_schema, watchdog
from consumers.validator_config import Bevroren, StateStore
from registry.domein.staat import Deelnemer, Staat, entity_json
from registry.infra import kafka
from registry.infra.kafka import TRANSACTIE_RETRY_BACKOFF_MS
from tests.support.validator_fakes import FakeHerversleutelaar, FakeKluis, FakeStore, config


def validator(**overrides: Any) -> Validator:
    return Validator(config(**overrides), FakeStore(), FakeKluis(), FakeHerversleutelaar())


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


class _Leeg:
    """A consumer that holds no partition."""

    def assignment(self) -> set[TopicPartition]:
        return set()


def test_the_validator_is_composed_of_a_judge_a_parking_service_and_a_hand_over_sharing_one_memory() -> None:
    v = validator()
    assert v.beoordelaar.memory is v.memory is v.overdracht.memory is v.parkeren.memory
    assert v.beoordelaar.parkeren is v.parkeren and v.overdracht.parkeren is v.parkeren
    assert v.plaats is v.memory.plaats and v.staat is v.memory.staat


def test_the_validator_needs_the_registry_pseudonym_key_and_a_valid_instance() -> None:
    with pytest.raises(ValueError, match="registry pseudonym key"):
        validator(registry_pseudonym_key=())
    with pytest.raises(ValueError, match="instance must be 0 or more"):
        Validator(config(), FakeStore(), FakeKluis(), FakeHerversleutelaar(), instance=-1)
    assert staat_schema("validator", 0) == "validator" and staat_schema("validator", 2) == "validator_2"


def test_the_validator_subscribes_once_the_ingress_topics_show_and_looks_again_soon_until_then() -> None:
    v = validator()
    consumer = _NogGeenTopics()
    v.consumer = consumer
    v._abonneer()
    assert consumer.subscribed == set() and v.next_topic_check - time.monotonic() < 1  # no empty subscribe
    v._abonneer()
    assert consumer.subscribed == {"t.ingress.sbb"} and v.next_topic_check - time.monotonic() > 1


def test_a_drain_without_progress_raises_instead_of_waiting_for_ever() -> None:
    v = validator()
    v.instance = 3
    v.consumer = _Leeg()
    v.run_once = lambda timeout_ms=500: 0  # type: ignore[method-assign]
    v.caught_up = lambda: False  # type: ignore[method-assign]
    with pytest.raises(TimeoutError, match=r"instance 3: no progress .*\(0 partition"):
        v.drain(stuck_after_s=0.05)
    v.caught_up = lambda: True  # type: ignore[method-assign]
    assert v.drain(stuck_after_s=0.05) == 0  # caught up: done, no error


def test_a_transaction_that_never_settles_ends_the_process_and_a_settled_one_does_not() -> None:
    """kafka-python waits for a transaction's offsets and commit without a time-out (one wait never ended after a
    broker restart in the fault suite): the validator's watchdog exits the process instead, to be restarted."""
    codes: list[int] = []
    with watchdog(0.05, EXIT_TRANSACTIE_HANGT, exit_fn=codes.append):
        time.sleep(0.3)  # a commit that hangs
    assert codes == [75]
    codes.clear()
    with watchdog(0.2, EXIT_TRANSACTIE_HANGT, exit_fn=codes.append):
        pass  # settled in time
    time.sleep(0.4)
    assert codes == []


# ---- one batch, over fakes of the Kafka clients ---------------------------------------------------------------
class _Future:
    def __init__(self, partition: int, offset: int) -> None:
        self.partition, self.offset = partition, offset

    def get(self) -> _Future:
        return self


class _Producer:
    """A transactional producer that records the order of its calls."""

    def __init__(self, fail_commit: bool = False) -> None:
        self.calls: list[str] = []
        self.offsets: dict[TopicPartition, Any] = {}
        self.fail_commit = fail_commit

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"", partition: int | None = None) -> Any:
        self.calls.append(f"send {topic}")
        return _Future(partition or 0, len(self.calls))

    def send_offsets_to_transaction(self, offsets: dict[TopicPartition, Any], group_metadata: object) -> None:
        self.calls.append("offsets")
        self.offsets = offsets

    def commit_transaction(self) -> None:
        if self.fail_commit:
            from kafka.errors import CommitFailedError

            raise CommitFailedError("fenced")
        self.calls.append("commit")

    def abort_transaction(self) -> None:
        self.calls.append("abort")


class _Consumer:
    """A stable group member holding one ingress partition, with one record to hand out."""

    def __init__(self, tp: TopicPartition, records: list[Any]) -> None:
        self.tp, self.records = tp, records
        self.gepauzeerd: set[TopicPartition] = set()

    def subscription(self) -> set[str]:
        return {self.tp.topic}

    def group_metadata(self) -> Any:
        from types import SimpleNamespace

        from kafka.structs import MemberState

        return SimpleNamespace(state=MemberState.STABLE)

    def poll(self, timeout_ms: int = 0, **kwargs: Any) -> dict[TopicPartition, list[Any]]:
        records, self.records = self.records, []
        return {self.tp: records} if records else {}

    def assignment(self) -> set[TopicPartition]:
        return {self.tp}

    def paused(self) -> set[TopicPartition]:
        return set(self.gepauzeerd)

    def pause(self, *tps: TopicPartition) -> None:
        self.gepauzeerd |= set(tps)

    def committed(self, tp: TopicPartition) -> int | None:
        return None

    def seek_to_beginning(self, *tps: TopicPartition) -> None:
        pass

    def highwater(self, tp: TopicPartition) -> int:
        return 1

    def position(self, tp: TopicPartition) -> int:
        return 1


class _Volger:
    def __init__(self) -> None:
        self.eigen: set[tuple[int, int]] = set()
        self.posities: dict[int, int] = {}
        self.closed = False

    def volg(self, toepassen: Any, timeout_ms: int = 0) -> int:
        return 0

    def geschreven(self, eigen: Any) -> None:
        self.eigen.update(eigen)

    def close(self) -> None:
        self.closed = True


def _batch_validator(producer: _Producer) -> tuple[Validator, _Consumer, _Volger, FakeStore]:
    from registry.infra import codec
    from tests.support.builders import referentie_events
    from tests.support.validator_fakes import Rec

    store = FakeStore()
    v = Validator(config(), store, FakeKluis(), FakeHerversleutelaar())
    tp = TopicPartition("t.ingress.sbb", 0)
    event_type, dossier = referentie_events()[0]
    consumer = _Consumer(tp, [Rec(codec.encode(event_type, dossier), topic=tp.topic, offset=0)])
    volger = _Volger()
    v.schrijver.kanaal = Direct(producer, v.topics.events)
    v.consumer, v.overdracht.consumer = consumer, consumer  # type: ignore[assignment]
    v.overdracht.volger = volger  # type: ignore[assignment]
    v.overdracht._volger = lambda offsets: _Volger()  # type: ignore[assignment, method-assign, return-value]
    v.next_topic_check = v.next_transaction_check = float("inf")
    return v, consumer, volger, store


def test_a_batch_is_judged_in_one_transaction_with_its_ingress_offsets_and_then_snapshotted() -> None:
    producer = _Producer()
    v, _, volger, store = _batch_validator(producer)
    assert v.run_once() == 1
    assert producer.calls == ["begin", "send t.events", "offsets", "commit"]
    [(tp, offset)] = producer.offsets.items()
    assert (tp.topic, offset.offset) == ("t.ingress.sbb", 1)
    assert len(volger.eigen) == 1 and len(v.staat.event_ids) == 1  # our own record: the tail skips it
    v._snapshot_klaar()  # written by the snapshot thread while the loop went on
    assert store.saved and not v.snapshot_pending


def test_a_fenced_transaction_is_aborted_and_what_it_judged_forgotten() -> None:
    producer = _Producer(fail_commit=True)
    v, consumer, volger, _ = _batch_validator(producer)
    assert v.run_once() == 0
    assert producer.calls == ["begin", "send t.events", "offsets", "abort"]
    assert len(v.staat.event_ids) == 0 and volger.closed  # state from the (empty) snapshot, a new tail
    assert v.overdracht.nieuw == {consumer.tp} and consumer.gepauzeerd == {consumer.tp}  # handed over again


# ---- the pipeline: batch N+1 judged while batch N commits ------------------------------------------------------
class _Consumers(_Consumer):
    """Hands out one batch per poll; ``bij_poll`` runs inside the n-th poll (a rebalance callback, say)."""

    def __init__(self, tp: TopicPartition, batches: list[list[Any]], bij_poll: dict[int, Any] | None = None) -> None:
        super().__init__(tp, [])
        self.batches, self.polls, self.bij_poll = batches, 0, bij_poll or {}
        self.gezocht: dict[TopicPartition, int] = {}

    def poll(self, timeout_ms: int = 0, **kwargs: Any) -> dict[TopicPartition, list[Any]]:
        self.polls += 1
        if self.polls in self.bij_poll:
            self.bij_poll[self.polls]()
        return {self.tp: self.batches.pop(0)} if self.batches else {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.gezocht[tp] = offset

    def topics(self) -> set[str]:
        return {self.tp.topic}


class _WachtendeProducer(_Producer):
    """A commit that returns only once the consumer was polled ``polls`` times (the next batch was read)."""

    def __init__(self, consumer: _Consumers, polls: int, fail_commit: bool = False) -> None:
        super().__init__(fail_commit)
        self.consumer, self.polls, self.zag = consumer, polls, False

    def commit_transaction(self) -> None:
        deadline = time.monotonic() + 2
        while self.consumer.polls < self.polls and time.monotonic() < deadline:
            time.sleep(0.005)
        self.zag = self.zag or self.consumer.polls >= self.polls
        super().commit_transaction()


def _pipeline_validator(
    n_batches: int, fail_commit: bool = False, bij_poll: dict[int, Any] | None = None
) -> tuple[Validator, _Consumers, _WachtendeProducer, _Volger]:
    from registry.infra import codec
    from tests.support.builders import referentie_events
    from tests.support.validator_fakes import Rec

    tp = TopicPartition("t.ingress.sbb", 0)
    events = referentie_events()
    batches = [
        [Rec(codec.encode(et, record), topic=tp.topic, offset=i)] for i, (et, record) in enumerate(events[:n_batches])
    ]
    consumer = _Consumers(tp, batches, bij_poll)
    producer = _WachtendeProducer(consumer, 2, fail_commit)
    v, _, volger, _ = _batch_validator(producer)
    v.consumer = v.overdracht.consumer = consumer  # type: ignore[assignment]
    return v, consumer, producer, volger


def test_the_next_batch_is_judged_while_the_previous_one_commits_and_each_commits_in_its_own_transaction() -> None:
    v, _, producer, volger = _pipeline_validator(2)
    assert v.run_once() == 2
    assert producer.zag  # the first commit was still running when the second batch was polled
    assert producer.calls == ["begin", "send t.events", "offsets", "commit"] * 2
    assert len(volger.eigen) == 2 and len(v.staat.event_ids) == 2  # both committed when run_once returns


def test_a_fenced_commit_takes_the_batch_judged_after_it_down_too() -> None:
    v, consumer, producer, _ = _pipeline_validator(2, fail_commit=True)
    assert v.run_once() == 0
    assert producer.zag and producer.calls == ["begin", "send t.events", "offsets", "abort"]  # never sent
    assert len(v.staat.event_ids) == 0 and not v.sender.zendingen  # both batches forgotten
    assert v.overdracht.nieuw == {consumer.tp}  # handed over again from the committed offsets


def test_a_rebalance_in_the_pipelined_poll_seeks_its_records_back_for_after_the_hand_over() -> None:
    def rebalance() -> None:
        v.overdracht.toegewezen({TopicPartition("t.ingress.sbb", 1)})

    v, consumer, producer, _ = _pipeline_validator(2, bij_poll={2: rebalance})
    assert v.run_once() == 1  # only the first batch: the second waits for the hand-over
    assert producer.calls == ["begin", "send t.events", "offsets", "commit"]
    assert consumer.gezocht == {consumer.tp: 1} and len(v.staat.event_ids) == 1


# ---- the periodic hanging-transaction check: in a thread of its own ---------------------------------------------
class _Admin:
    """The admin client's metadata: every topic has two partitions, ``__consumer_offsets`` fifty."""

    def list_topics(self) -> list[str]:
        return ["t.events", "t.rejections.sbb", "t.ingress.sbb"]

    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        return [
            {"name": n, "partitions": [{"partition_index": p} for p in range(50 if n == "__consumer_offsets" else 2)]}
            for n in names
        ]


class _Wacht:
    """A hanging-transaction check whose question to the partition leaders waits for ``vrij``; remembers which
    thread asked, in order (begin, end), and about which partitions."""

    def __init__(self, partities: Any) -> None:
        self.partities, self.admin = partities, _Admin()
        self.vrij = threading.Event()
        self.vragen: list[tuple[str, str]] = []
        self.gevraagd: list[TopicPartition] = []

    def open_transacties(self) -> list[Any]:
        self.vragen.append((threading.current_thread().name, "begin"))
        self.gevraagd = list(self.partities())
        self.vrij.wait(5)
        self.vragen.append((threading.current_thread().name, "eind"))
        return []

    def oudste_per_partitie(self, open_: Any) -> dict[TopicPartition, float]:
        return {}


def _met_wacht() -> tuple[Validator, _Wacht]:
    v, _, volger, _ = _batch_validator(_Producer())
    volger.tps = []  # type: ignore[attr-defined]
    v.wacht = wacht = _Wacht(v._bewaakte_partities)  # type: ignore[assignment]
    return v, wacht


def test_the_periodic_transaction_check_runs_in_its_own_thread_while_the_loop_goes_on() -> None:
    v, wacht = _met_wacht()
    v.next_transaction_check = 0.0  # due
    assert v.run_once() == 1  # the batch is committed while the check still waits for the partition leaders
    assert v.controle_bezig is not None and not v.controle_bezig.done()
    wacht.vrij.set()
    v._controle_klaar()
    assert wacht.vragen == [("validator-0-transacties_0", "begin"), ("validator-0-transacties_0", "eind")]
    assert v.next_transaction_check > time.monotonic()
    gevraagd = {(tp.topic, tp.partition) for tp in wacht.gevraagd}  # from the admin client, in the check's thread
    assert gevraagd >= {("t.events", 1), ("t.rejections.sbb", 0), ("t.parked", 1)}
    assert not any(tp.topic == "t.ingress.sbb" for tp in wacht.gevraagd) and len(gevraagd) == 11


def test_the_check_the_hand_over_asks_for_waits_for_the_one_in_flight_and_runs_at_once() -> None:
    v, wacht = _met_wacht()
    v.next_transaction_check = 0.0
    v._controleer_op_achtergrond()
    v._controleer_op_achtergrond()  # still running: not a second one
    threading.Timer(0.1, wacht.vrij.set).start()
    v.controleer_transacties()  # the admin client is used by one thread at a time
    hier = threading.current_thread().name
    achtergrond = "validator-0-transacties_0"
    assert wacht.vragen == [(achtergrond, "begin"), (achtergrond, "eind"), (hier, "begin"), (hier, "eind")]
    assert v.controle_bezig is None


class _ThreadStore(FakeStore):
    """Remembers which thread wrote each snapshot; ``fout``: the write fails."""

    def __init__(self, fout: bool = False) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.fout = fout

    def schrijf(self, bevroren: Any, offsets: dict[int, int]) -> None:
        self.threads.append(threading.current_thread().name)
        if self.fout:
            raise RuntimeError("database gone")
        super().schrijf(bevroren, offsets)


def test_a_busy_snapshot_is_written_by_its_own_thread_and_an_idle_one_before_run_once_returns() -> None:
    v, _, _, _ = _batch_validator(_Producer())
    v.store = v.overdracht.store = store = _ThreadStore()
    assert v.run_once() == 1  # busy: the snapshot (due: none saved yet) goes to the snapshot thread
    v._snapshot_klaar()
    assert store.threads == ["validator-0-snapshot_0"]
    v.overdracht.volg = lambda: 1  # type: ignore[method-assign]  # idle, but another instance's event came
    assert v.run_once() == 0
    assert store.threads[1:] == [threading.current_thread().name] and v.snapshot_bezig is None


def test_a_failed_background_snapshot_raises_at_the_next_wait_as_a_failed_save_did() -> None:
    v, _, _, _ = _batch_validator(_Producer())
    v.store = v.overdracht.store = _ThreadStore(fout=True)
    assert v.run_once() == 1
    with pytest.raises(RuntimeError, match="database gone"):
        v._snapshot_klaar()


class _TrageStore(_ThreadStore):
    """A snapshot write that waits for ``vrij``."""

    def __init__(self) -> None:
        super().__init__()
        self.vrij = threading.Event()

    def schrijf(self, bevroren: Any, offsets: dict[int, int]) -> None:
        self.vrij.wait(5)
        super().schrijf(bevroren, offsets)


def test_a_busy_loop_does_not_wait_for_a_snapshot_still_being_written() -> None:
    from registry.infra import codec
    from tests.support.builders import referentie_events
    from tests.support.validator_fakes import Rec

    v, consumer, _, _ = _batch_validator(_Producer())
    v.store = v.overdracht.store = store = _TrageStore()
    assert v.run_once() == 1  # the snapshot (due: none saved yet) goes to the snapshot thread, and hangs there
    bezig = v.snapshot_bezig
    v.snapshot_at = 0.0  # due again
    event_type, record = referentie_events()[1]
    consumer.records = [Rec(codec.encode(event_type, record), topic=consumer.tp.topic, offset=1)]
    started = time.monotonic()
    assert v.run_once() == 1  # returns without waiting for the write
    assert time.monotonic() - started < 2 and v.snapshot_bezig is bezig and v.snapshot_pending
    store.vrij.set()
    v._snapshot_klaar()
    assert store.threads == ["validator-0-snapshot_0"]


def test_a_snapshot_freezes_every_changed_entity_once_and_forgets_the_changes() -> None:
    """``StateStore.bevries`` (pure, no database): each changed entity is one row, in no particular order; removed
    entities are listed apart; the state's record of changes is empty afterwards."""
    s = Staat()
    s.deelnemers["p1"] = Deelnemer("p1", advies=True)
    s.deelnemers["p2"] = Deelnemer("p2")
    s.event_ids |= {"e1", "e2"}
    s.dirty |= {("deelnemer", "p1"), ("deelnemer", "p2"), ("event", "e1"), ("event", "e2")}
    s.weg |= {("deelnemer", "p3")}
    bevroren = StateStore(None, "unused").bevries(s)  # type: ignore[arg-type]
    assert bevroren.rijen is not None and bevroren.weg is not None
    rijen = json.loads(bevroren.rijen)
    assert len(rijen) == 4
    assert {(k, i): d for k, i, d in rijen} == {
        ("deelnemer", "p1"): entity_json(s, "deelnemer", "p1"),
        ("deelnemer", "p2"): entity_json(s, "deelnemer", "p2"),
        ("event", "e1"): None,
        ("event", "e2"): None,
    }
    assert json.loads(bevroren.weg) == [["deelnemer", "p3"]]
    assert not s.dirty and not s.weg
    assert StateStore(None, "unused").bevries(s) == Bevroren(None, None)  # type: ignore[arg-type]


def test_what_arrives_while_a_batch_commits_is_judged_into_one_next_batch_and_transaction() -> None:
    from registry.infra import codec
    from tests.support.builders import referentie_events
    from tests.support.validator_fakes import Rec

    tp = TopicPartition("t.ingress.sbb", 0)
    events = referentie_events()
    batches = [[Rec(codec.encode(et, record), topic=tp.topic, offset=i)] for i, (et, record) in enumerate(events[:3])]
    consumer = _Consumers(tp, batches)
    producer = _WachtendeProducer(consumer, 4)  # the first commit ends once polls 2, 3 and 4 (empty) were made
    v, _, volger, _ = _batch_validator(producer)
    v.consumer = v.overdracht.consumer = consumer  # type: ignore[assignment]
    assert v.run_once() == 3
    assert producer.zag
    # batch 1 alone; batches 2 and 3, polled while batch 1 committed, in ONE transaction up to offset 3
    first, second = " ".join(producer.calls).removesuffix(" commit").split(" commit ")
    assert first.split() == ["begin", "send", "t.events", "offsets"]
    assert second.count("send") == 2 and second.startswith("begin") and second.endswith("offsets")
    assert producer.offsets[tp].offset == 3


class _TrageProducer(_Producer):
    def __init__(self, seconds: float = 0.1) -> None:
        super().__init__()
        self.seconds = seconds

    def commit_transaction(self) -> None:
        time.sleep(self.seconds)
        super().commit_transaction()


def test_a_batch_stops_collecting_at_a_polls_worth_of_records() -> None:
    from dataclasses import replace

    from registry.infra import codec
    from tests.support.builders import referentie_events
    from tests.support.validator_fakes import Rec

    tp = TopicPartition("t.ingress.sbb", 0)
    events = referentie_events()
    batches = [[Rec(codec.encode(et, record), topic=tp.topic, offset=i)] for i, (et, record) in enumerate(events[:3])]
    consumer = _Consumers(tp, batches)
    producer = _TrageProducer()  # long enough for both later batches to arrive while the first one commits
    v, _, _, _ = _batch_validator(producer)
    v.config = replace(v.config, max_poll_records=1)
    v.consumer = v.overdracht.consumer = consumer  # type: ignore[assignment]
    assert v.run_once() == 3
    assert producer.calls.count("commit") == 3  # one record per transaction: the bound of one poll


def test_a_stop_while_a_batch_commits_ends_the_collecting() -> None:
    from registry.infra import codec
    from tests.support.builders import referentie_events
    from tests.support.validator_fakes import Rec

    tp = TopicPartition("t.ingress.sbb", 0)
    events = referentie_events()
    batches = [[Rec(codec.encode(et, record), topic=tp.topic, offset=i)] for i, (et, record) in enumerate(events[:3])]
    consumer = _Consumers(tp, batches)
    v, _, _, _ = _batch_validator(_TrageProducer(0.5))
    consumer.bij_poll[2] = lambda: setattr(v, "stopping", True)  # a SIGTERM while the first batch commits
    v.consumer = v.overdracht.consumer = consumer  # type: ignore[assignment]
    # the second poll's batch goes with the stop; without it, batch 3 too would be collected during the commit
    assert v.run_once() == 2
    assert consumer.batches, "the third batch was polled after the stop"


# ---- the snapshot of a run's last batch: frozen while that batch commits ----------------------------------------
class _Volgorde:
    """One log of what the store and the producer did, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.bevroren = threading.Event()


class _VolgordeStore(FakeStore):
    def __init__(self, volgorde: _Volgorde) -> None:
        super().__init__()
        self.volgorde = volgorde
        self.bevroren_dirty: list[set[tuple[str, str]]] = []

    def bevries(self, staat: Staat) -> Bevroren:
        self.volgorde.log.append("bevries")
        self.bevroren_dirty.append(set(staat.dirty))
        self.volgorde.bevroren.set()
        return super().bevries(staat)

    def schrijf(self, bevroren: Bevroren, offsets: dict[int, int]) -> None:
        self.volgorde.log.append("schrijf")
        super().schrijf(bevroren, offsets)


class _VolgordeProducer(_Producer):
    def __init__(self, volgorde: _Volgorde, fout: Exception | None = None) -> None:
        super().__init__()
        self.volgorde, self.fout = volgorde, fout

    def commit_transaction(self) -> None:
        self.volgorde.bevroren.wait(1)  # a commit that lasts until the snapshot is frozen (or a second)
        self.volgorde.log.append("commit")
        if self.fout is not None:
            raise self.fout
        super().commit_transaction()


class _PositieVolger(_Volger):
    """Our own records move the tail's positions past them (as the real tail does)."""

    def geschreven(self, eigen: Any) -> None:
        eigen = list(eigen)
        for partitie, offset in eigen:
            self.posities[partitie] = max(self.posities.get(partitie, 0), offset + 1)
        super().geschreven(eigen)


def _laatste_batch(
    monkeypatch: pytest.MonkeyPatch, fout: Exception | None = None
) -> tuple[Validator, _Volgorde, _VolgordeStore]:
    """A run whose time is up at its first batch: that batch is the run's last (nothing is judged while it
    commits), and a snapshot is due (none was saved yet)."""
    import consumers.validator as validator_mod

    monkeypatch.setattr(validator_mod, "PIJPLIJN_S", 0.0)
    volgorde = _Volgorde()
    v, _, _, _ = _batch_validator(_VolgordeProducer(volgorde, fout))
    v.store = v.overdracht.store = store = _VolgordeStore(volgorde)
    v.overdracht.volger = _PositieVolger()  # type: ignore[assignment]
    return v, volgorde, store


def test_the_snapshot_after_a_runs_last_batch_is_frozen_while_it_commits_and_written_once_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v, volgorde, store = _laatste_batch(monkeypatch)
    assert v.run_once() == 1
    v._snapshot_klaar()
    assert volgorde.log == ["bevries", "commit", "schrijf"]  # frozen before the commit ended, written after it
    assert store.bevroren_dirty[0] and not v.staat.dirty  # the batch's changes went into it
    [(partitie, offset)] = v.overdracht.volger.eigen  # type: ignore[union-attr]
    assert store.saved == [{partitie: offset + 1}]  # the offsets past the batch's own record: known once committed
    assert not v.snapshot_pending and v.snapshot_bezig is None


def test_a_snapshot_frozen_for_a_fenced_commit_is_never_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafka.errors import CommitFailedError

    v, volgorde, store = _laatste_batch(monkeypatch, CommitFailedError("fenced"))
    assert v.run_once() == 0
    assert volgorde.log == ["bevries", "commit"] and store.saved == []
    assert len(v.staat.event_ids) == 0  # the state came back from the last snapshot written (empty)


def test_a_commit_that_fails_otherwise_gives_the_frozen_changes_back_to_the_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v, volgorde, store = _laatste_batch(monkeypatch, RuntimeError("broker gone"))
    with pytest.raises(RuntimeError, match="broker gone"):
        v.run_once()
    assert volgorde.log == ["bevries", "commit"] and store.saved == []
    assert v.staat.dirty == store.bevroren_dirty[0] != set()  # the next snapshot still writes them


def test_the_producer_retries_a_refused_transaction_start_after_the_short_back_off() -> None:
    before = kafka.login()
    kafka.configure(kafka.KafkaLogin("plaintext"))  # no credentials needed to build the settings
    try:
        settings = producer_settings(["127.0.0.1:9092"], "registry-validator-0", "registry-validator", 0)
    finally:
        kafka.configure(before)
    assert settings["retry_backoff_ms"] == TRANSACTIE_RETRY_BACKOFF_MS < 100  # kafka-python's default: 100
    assert settings["transactional_id"] == "registry-validator-0" and settings["enable_idempotence"] is True
