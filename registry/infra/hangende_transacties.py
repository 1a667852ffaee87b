"""Hanging transactions: a transaction that is open on a partition while its coordinator no longer holds it open.

A read_committed reader (the validator's roll-forward, the projector, a partner reading its rejections) cannot pass
a partition's last stable offset (LSO) while a transaction is open there. Normally the coordinator ends every
transaction (commit, abort, or abort after ``transaction.timeout.ms``) by writing a marker to each partition it
knows the transaction wrote to. A transaction is *hanging* when a partition holds records of a producer id + epoch
whose transaction the coordinator no longer has open (state ``Empty``/``Complete*``, a later epoch, or a
transaction without that partition): no marker will ever come, and the LSO stays where it is for ever.

How one arises with this registry's client: kafka-python speaks transaction protocol version 1 (it caps
``EndTxn`` at v3 and adds partitions with ``AddPartitionsToTxn`` v4; Kafka 4's version 2 (KIP-890: ``EndTxn`` v5,
an epoch bump per transaction, partitions added implicitly with the produce request) needs ``EndTxn`` v5, which the
client does not send), so the broker relies on partition verification (``transaction.partition.verification.enable``,
KIP-890 part 1) and on the coordinator's record of the transaction's partitions. When the coordinator's record and a
partition's producer state disagree (the coordinator fenced an epoch with ``init_transactions`` while it was still
loading its state after a restart, or a partition got a write the coordinator never recorded) the markers skip that
partition. ``docs`` (Operations, "Hanging transactions") gives the fault-suite case this module was built for.

What is safe to abort: only an open transaction that (a) the coordinator does not hold open with the same producer
epoch including that partition, and (b) saw no write for longer than the longest transaction time-out in use plus a
margin. A live transaction is never aborted, whatever its age: its coordinator ends it itself. The abort is
Kafka's own admin operation (KIP-664: ``WriteTxnMarkers`` to the partition leader), the same as
``kafka-transactions.sh abort``. For the validator this loses nothing: a hanging transaction's ingress offsets were
never committed (the offsets commit is part of the same transaction, on ``__consumer_offsets``, which is checked
too), so its submissions are consumed and judged again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient

log = logging.getLogger("praktijkregister.transacties")

# coordinator states in which the coordinator itself will still write the markers
NOG_OPEN = frozenset({"Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"})
OFFSETS_TOPIC = "__consumer_offsets"


@dataclass(frozen=True)
class OpenTransactie:
    """An open transaction on one partition, as the partition leader reports it (DescribeProducers)."""

    tp: TopicPartition
    producer_id: int
    producer_epoch: int
    start_offset: int
    laatste_schrijf_ms: int  # the producer's last append to the partition (ms since the epoch)
    # the coordinator epoch of the last marker this partition took from the producer (-1: none): an abort marker
    # must carry at least this one, or the leader refuses it as from a fenced coordinator
    coordinator_epoch: int = -1

    def regel(self) -> str:
        return (
            f"{self.tp.topic}[{self.tp.partition}] producer id {self.producer_id} epoch {self.producer_epoch} "
            f"open since offset {self.start_offset}"
        )


@dataclass(frozen=True)
class CoordinatorZicht:
    """What the transaction coordinator holds for one producer id (ListTransactions + DescribeTransactions)."""

    transactional_id: str
    state: str
    producer_epoch: int
    partities: frozenset[TopicPartition]


def houdt_open(open_: OpenTransactie, zicht: CoordinatorZicht | None) -> bool:
    """Whether the coordinator will still end this transaction on this partition by itself."""
    return (
        zicht is not None
        and zicht.state in NOG_OPEN
        and zicht.producer_epoch == open_.producer_epoch
        and open_.tp in zicht.partities
    )


def hangend(
    open_: Iterable[OpenTransactie], coordinator: Mapping[int, CoordinatorZicht], nu_ms: int, min_stil_ms: int
) -> list[OpenTransactie]:
    """The open transactions that hang: the coordinator does not hold them open, and nothing was written to them for
    at least ``min_stil_ms`` (a transaction the coordinator has only just ended is still getting its markers)."""
    return [
        t
        for t in open_
        if not houdt_open(t, coordinator.get(t.producer_id)) and nu_ms - t.laatste_schrijf_ms >= min_stil_ms
    ]


def groep_partitie(group: str, partitions: int) -> int:
    """The ``__consumer_offsets`` partition that holds ``group``'s offsets: Kafka's
    ``Utils.abs(groupId.hashCode()) % partitions`` (Java's String.hashCode over UTF-16 code units)."""
    h = 0
    data = group.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    return 0 if h == -(1 << 31) else abs(h) % partitions


class Transactiewacht:
    """Finds and aborts hanging transactions on the partitions ``partities()`` names; measures open transactions.

    ``admin`` is a ``KafkaAdminClient`` (kept open; every call is a few small requests to the partition leaders and
    the transaction coordinators)."""

    def __init__(
        self,
        admin: KafkaAdminClient,
        partities: Callable[[], Sequence[TopicPartition]],
        min_stil_s: float,
        klok_ms: Callable[[], int] | None = None,
    ) -> None:
        self.admin = admin
        self.partities = partities
        self.min_stil_ms = int(min_stil_s * 1000)
        self.klok_ms = klok_ms or (lambda: int(time.time() * 1000))
        self.afgebroken = 0

    def open_transacties(self) -> list[OpenTransactie]:
        tps = list(self.partities())
        if not tps:
            return []
        staat: Mapping[TopicPartition, Any] = self.admin.describe_producers(tps)
        return [
            OpenTransactie(
                tp,
                p.producer_id,
                p.producer_epoch,
                p.current_transaction_start_offset,
                p.last_timestamp,
                p.coordinator_epoch,
            )
            for tp, s in staat.items()
            for p in s.active_producers
            if p.current_transaction_start_offset >= 0
        ]

    def coordinator(self, producer_ids: Iterable[int]) -> dict[int, CoordinatorZicht]:
        """The coordinator's view of each producer id that still has a transactional id (absent: none)."""
        pids = sorted(set(producer_ids))
        if not pids:
            return {}
        per_broker: Mapping[int, list[Any]] = self.admin.list_transactions(producer_id_filters=pids)
        ids = {t.transactional_id: t.producer_id for listings in per_broker.values() for t in listings}
        if not ids:
            return {}
        out: dict[int, CoordinatorZicht] = {}
        for txn_id, d in self.admin.describe_transactions(sorted(ids)).items():
            out[d.producer_id] = CoordinatorZicht(
                txn_id, str(d.state.value), d.producer_epoch, frozenset(d.topic_partitions)
            )
        return out

    def hangende(self, open_: list[OpenTransactie] | None = None) -> list[OpenTransactie]:
        """Hanging transactions (``open_``: the partitions' answer, when the caller asked already). The partitions
        are asked twice, before and after the coordinators: a transaction whose coordinator completed it between
        the two questions got its marker and is open only in the first."""
        open_ = self.open_transacties() if open_ is None else open_
        if not open_:
            return []
        kandidaten = hangend(open_, self.coordinator(t.producer_id for t in open_), self.klok_ms(), self.min_stil_ms)
        if not kandidaten:
            return []
        nog_open = {(t.tp, t.producer_id, t.producer_epoch, t.start_offset) for t in self.open_transacties()}
        return [t for t in kandidaten if (t.tp, t.producer_id, t.producer_epoch, t.start_offset) in nog_open]

    def breek_af(self, t: OpenTransactie) -> None:
        from kafka.admin._transactions import AbortTransactionSpec  # kafka-python's KIP-664 tooling

        # the partition's own coordinator epoch, not -1: a partition that took markers from this producer before (the
        # fault suite's case: epoch 10) refuses a lower one as TRANSACTION_COORDINATOR_FENCED
        self.admin.abort_transaction(AbortTransactionSpec(t.tp, t.producer_id, t.producer_epoch, t.coordinator_epoch))
        self.afgebroken += 1

    def ruim_op(self, open_: list[OpenTransactie] | None = None) -> list[OpenTransactie]:
        """Abort every hanging transaction; one log line per abort. Errors are logged (by type) and the next call
        tries again: a caller is never stopped by this check."""
        try:
            weg = self.hangende(open_)
            for t in weg:
                self.breek_af(t)
                log.warning(
                    "hanging transaction aborted: %s (its coordinator had ended it; no marker had come)", t.regel()
                )
            return weg
        except Exception as exc:  # noqa: BLE001 - a broker that does not answer now is asked again at the next check
            log.warning("hanging-transaction check failed (%s); trying again later", type(exc).__name__)
            return []

    def oudste_per_partitie(self, open_: Iterable[OpenTransactie]) -> dict[TopicPartition, float]:
        """Seconds since the last write of the oldest open transaction, per partition (the LSO stall)."""
        nu, out = self.klok_ms(), dict[TopicPartition, float]()
        for t in open_:
            out[t.tp] = max(out.get(t.tp, 0.0), max(nu - t.laatste_schrijf_ms, 0) / 1000)
        return out
