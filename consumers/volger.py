"""Follow a log to its end: the validator's global table (the whole canonical log) and its parked partitions.

Every validator instance folds the WHOLE canonical log (reference data and every deelnemer), also the events
other instances write, but judges only the ingress partitions assigned to it. Two readings of "the end":

* ``volg``: what is committed now (read_committed stops at the last stable offset): the steady tail;
* ``tot_het_einde``: every record written before the call, so also the records of transactions that were still
  open then (of another instance, or of one that was killed: those are aborted after the transaction time-out).
  A hand-over needs this one: the previous owner's last commit may sit behind another instance's open transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from registry.infra import codec, topics
from registry.infra.kafka import client_config
from registry.infra.kafka import posities as lees_posities

log = logging.getLogger("praktijkregister.validator")

Toepassen = Callable[[str, Mapping[str, Any]], None]
# a wait for open transactions is bounded: a live transaction ends within its time-out (validator 20 s, reconciler
# 60 s) and a hanging one is aborted by ``wachtend`` (registry/infra/hangende_transacties.py) well before this
MAX_WACHT_S = 180.0
# while waiting, ``wachtend`` (the hanging-transaction check) is called this often
WACHT_CHECK_S = 5.0


def lezer(bootstrap: list[str], client_id: str) -> KafkaConsumer:
    """A group-less read_committed consumer (manual assign)."""
    return KafkaConsumer(
        **client_config(bootstrap),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=5000,
        client_id=client_id,
    )


def hoogwater(bootstrap: list[str], tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The high watermarks of ``tps``: the end including records of transactions that are still open."""
    if not tps:
        return {}
    probe = KafkaConsumer(
        **client_config(bootstrap), group_id=None, enable_auto_commit=False, isolation_level="read_uncommitted"
    )
    try:
        return {tp: int(o) for tp, o in probe.end_offsets(tps).items()}
    finally:
        probe.close()


def lees_tot(
    consumer: KafkaConsumer,
    einde: Mapping[TopicPartition, int],
    per_record: Callable[[TopicPartition, Any], None],
    wat: str,
    wachtend: Callable[[], object] | None = None,
) -> None:
    """Poll until every partition's position is at ``einde``; a read_committed position passes an open transaction
    only once it is committed or aborted, so this also waits for those (logged every 10 s, never per record).
    ``wachtend`` is called every ``WACHT_CHECK_S`` while a partition is behind (it aborts hanging transactions);
    after ``MAX_WACHT_S`` the wait ends with ``TimeoutError``."""
    begin = gemeld = gecheckt = time.monotonic()
    while topics.achter(consumer, einde):
        for tp, records in consumer.poll(timeout_ms=500).items():
            for rec in records:
                per_record(tp, rec)
        nu = time.monotonic()
        if wachtend is not None and nu - gecheckt >= WACHT_CHECK_S:
            gecheckt = nu
            wachtend()
        if nu - gemeld >= 10:
            gemeld = nu
            open_ = sorted(tp.partition for tp in topics.achter(consumer, einde))
            log.info("%s: waiting for open transactions on partition(s) %s (%.0f s)", wat, open_, nu - begin)
        if nu - begin > MAX_WACHT_S:
            raise TimeoutError(f"{wat}: partitions still behind an open transaction after {MAX_WACHT_S:.0f} s")


class CanoniekeVolger:
    """Tails every partition of the canonical log from ``posities`` (partition -> next offset)."""

    def __init__(self, bootstrap: list[str], topic: str, posities: Mapping[int, int], client_id: str) -> None:
        self.bootstrap = bootstrap
        self.consumer = lezer(bootstrap, client_id)
        self.tps = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())]
        self.per_partitie = {tp.partition: tp for tp in self.tps}
        self.posities = {tp.partition: int(posities.get(tp.partition, 0)) for tp in self.tps}
        # (partition, offset) of canonical records this instance wrote itself: already in its state, not decoded again
        self.eigen: set[tuple[int, int]] = set()
        # partition -> the offset just after our last own record there: the commit marker of its transaction is
        # the first offset after it (``geschreven``)
        self.na_eigen: dict[int, int] = {}
        if self.tps:
            self.consumer.assign(self.tps)
            for tp in self.tps:
                self.consumer.seek(tp, self.posities[tp.partition])

    def geschreven(self, eigen: Iterable[tuple[int, int]]) -> None:
        """Our own records (partition, offset) of a transaction that committed: in the state already. Where they
        follow on from the tail's position, the tail seeks past them instead of fetching and parsing them back
        (in a single instance that is nearly all of the canonical log); elsewhere ``volg`` skips them one by one.

        They follow on when they are contiguous and start at the position, or one past it where that one offset
        is our previous transaction's commit marker: the marker comes after that transaction's last record and
        before the next transaction's first (the broker completes a transaction, markers written, before the same
        producer's next one may add the partition), so a gap of one between them can hold nothing else."""
        per_partitie: dict[int, list[int]] = {}
        for partitie, offset in eigen:
            per_partitie.setdefault(partitie, []).append(offset)
        for partitie, offsets in per_partitie.items():
            eerste, laatste = min(offsets), max(offsets)
            tp = self.per_partitie.get(partitie)
            positie = None if tp is None else self.consumer.position(tp)
            aansluitend = positie == eerste or (positie == eerste - 1 and self.na_eigen.get(partitie) == positie)
            if tp is not None and aansluitend and laatste - eerste + 1 == len(offsets):
                self.consumer.seek(tp, laatste + 1)
            else:
                self.eigen.update((partitie, o) for o in offsets)
            self.na_eigen[partitie] = laatste + 1

    def volg(self, toepassen: Toepassen, timeout_ms: int = 0) -> int:
        """Apply what was committed since the last call; returns the records read."""
        if not self.tps:
            return 0
        n = 0
        for tp, records in self.consumer.poll(timeout_ms=timeout_ms).items():
            for rec in records:
                self._record(tp, rec, toepassen)
                n += 1
        self._posities()
        return n

    def tot_het_einde(self, toepassen: Toepassen, wachtend: Callable[[], object] | None = None) -> int:
        """Apply every record written before this call (waits for transactions open at that moment; ``lees_tot``)."""
        n = 0

        def per_record(tp: TopicPartition, rec: Any) -> None:
            nonlocal n
            self._record(tp, rec, toepassen)
            n += 1

        lees_tot(self.consumer, hoogwater(self.bootstrap, self.tps), per_record, "canonical log", wachtend)
        self._posities()
        return n

    def _record(self, tp: TopicPartition, rec: Any, toepassen: Toepassen) -> None:
        if (tp.partition, rec.offset) in self.eigen:
            self.eigen.discard((tp.partition, rec.offset))
            return
        event_type, record = codec.decode(rec.value)
        toepassen(event_type, record)

    def _posities(self) -> None:
        # the position, not the last record + 1: it is past trailing transaction markers too
        for tp, positie in lees_posities(self.consumer, self.tps).items():
            self.posities[tp.partition] = max(self.posities[tp.partition], positie or 0)

    def close(self) -> None:
        self.consumer.close()
