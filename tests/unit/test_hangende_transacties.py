"""The pure rules of registry/infra/hangende_transacties.py: which open transaction hangs, and where a group's
offsets live."""

from __future__ import annotations

from kafka import TopicPartition

from registry.infra.hangende_transacties import CoordinatorZicht, OpenTransactie, groep_partitie, hangend, houdt_open

TP = TopicPartition("praktijkleren.events", 1)
NU = 1_000_000


def open_(epoch: int = 11, stil_ms: int = 60_000, tp: TopicPartition = TP) -> OpenTransactie:
    return OpenTransactie(tp, producer_id=3, producer_epoch=epoch, start_offset=9715, laatste_schrijf_ms=NU - stil_ms)


def zicht(
    state: str = "Ongoing", epoch: int = 11, partities: frozenset[TopicPartition] = frozenset({TP})
) -> CoordinatorZicht:
    return CoordinatorZicht("praktijkregister-validator-0", state, epoch, partities)


def test_the_fault_suites_case_hangs_coordinator_empty_partition_open() -> None:
    assert hangend([open_()], {3: zicht("Empty", epoch=12, partities=frozenset())}, NU, 30_000) == [open_()]


def test_a_transaction_its_coordinator_holds_open_is_live_whatever_its_age() -> None:
    for state in ("Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"):
        assert houdt_open(open_(), zicht(state))
        assert hangend([open_(stil_ms=10**9)], {3: zicht(state)}, NU, 30_000) == []


def test_hanging_when_the_coordinator_forgot_the_partition_moved_on_or_does_not_know_the_producer() -> None:
    other = TopicPartition("praktijkleren.events", 2)
    assert not houdt_open(open_(), zicht(partities=frozenset({other})))  # no marker will go to this partition
    assert not houdt_open(open_(epoch=11), zicht(epoch=12))  # a later epoch's transaction: 11 was ended
    assert not houdt_open(open_(), zicht("CompleteCommit"))
    assert not houdt_open(open_(), None)  # transactional id expired: nobody will write a marker
    assert hangend([open_()], {}, NU, 30_000) == [open_()]


def test_a_recent_write_is_left_alone_for_now() -> None:
    assert hangend([open_(stil_ms=29_999)], {}, NU, 30_000) == []
    assert hangend([open_(stil_ms=30_000)], {}, NU, 30_000) == [open_(stil_ms=30_000)]


def test_group_partition_is_javas_string_hash() -> None:
    # values printed by Java 17: Math.abs(s.hashCode()) % n (Kafka's Utils.abs is the same for these)
    assert groep_partitie("praktijkregister-validator", 50) == 0
    assert groep_partitie("t1234-validator", 6) == 3
    assert all(0 <= groep_partitie(f"g{i}", 6) < 6 for i in range(200))
