"""The validator's transaction writer: a judged batch is sent and committed in a thread of its own, so the main
thread judges the next batch while this one commits (the projector's writer does the same with PostgreSQL).

kafka-python's producer holds one open transaction at a time, so judging does not send: the judge and the parking
service send into a ``Zendlijst`` (the batch's records in order), and the writer thread hands them to the
transactional producer's own process (consumers/transactieproces.py), which opens the transaction, sends them, adds
the ingress offsets (with the consumer's group metadata of the poll that read the records: KIP-447) and commits.
Batches commit one at a time, in the order they were judged; the next batch is handed over only after the previous
one committed, and a batch whose commit failed takes the batch judged after it down with it (the caller forgets
both: ``Validator._herstel``). The wait for the commit runs under the watchdog (consumers/watchdog.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka import TopicPartition
from kafka.errors import MessageSizeTooLargeError
from kafka.structs import OffsetAndMetadata

from consumers.transactieproces import Opdracht, Record, Uitslag
from consumers.watchdog import EXIT_TRANSACTIE_HANGT, watchdog


class Uitgesteld:
    """A send of a judged batch: its index in the batch, and its (partition, offset) once the batch committed."""

    __slots__ = ("index", "positie")

    def __init__(self, index: int) -> None:
        self.index = index
        self.positie: tuple[int, int] | None = None

    def get(self) -> tuple[int, int]:
        if self.positie is None:
            raise RuntimeError("this record was never sent: its batch was not committed")
        return self.positie


# kafka-python's default ``max_request_size`` (the validator's producer keeps it); the record batch's own overhead
# is left as margin
MAX_ZENDING_BYTES = 1024 * 1024 - 1024


class Zendlijst:
    """What the judge and the parking service send while a batch is judged (``consumers.parkeer.Sender``)."""

    def __init__(self, max_bytes: int = MAX_ZENDING_BYTES) -> None:
        # plain tuples (topic, key, value, partition): one is made and pickled per record
        self.zendingen: list[Record] = []
        self.max_bytes = max_bytes

    def send(self, topic: str, *, key: bytes | None, value: bytes, partition: int | None = None) -> Uitgesteld:
        """Raises at once, as the producer's own send would, for a record the producer would refuse: the judge
        then dead-letters that one record (``interne_fout``) instead of the writer failing the whole batch."""
        size = len(key or b"") + len(value)
        if size > self.max_bytes:
            raise MessageSizeTooLargeError(f"a record of {size} bytes is over the producer's {self.max_bytes}")
        self.zendingen.append((topic, key, value, partition))
        return Uitgesteld(len(self.zendingen) - 1)

    def neem(self) -> list[Record]:
        """The batch's records, in the order they were sent; the list starts empty again."""
        zendingen, self.zendingen = self.zendingen, []
        return zendingen


@dataclass
class Oordeel:
    """A judged batch: its records to send, the ingress offsets it covers, and what follows its commit."""

    zendingen: list[Record]
    offsets: dict[TopicPartition, OffsetAndMetadata]
    groep: Any  # the consumer's group metadata when its records were polled (None: no ingress records)
    n: int  # ingress records read
    eigen: list[Uitgesteld] = field(default_factory=list)  # its canonical records (the tail skips them)
    te_vernietigen: list[str] = field(default_factory=list)  # erasures: data keys to delete after the commit
    te_legen: set[int] = field(default_factory=set)  # erasures: ingress partitions to empty after the commit


def samen(eerder: Oordeel, later: Oordeel) -> Oordeel:
    """Two judged polls as one batch (one transaction): the records in the order they were judged, the ingress
    offsets of the later poll where both read a partition. Both were read in one generation of the group (the
    caller stops collecting when it changes), so the earlier's group metadata stands for both. The later poll's
    sends move up by the earlier's records (their index is their place in the batch)."""
    for u in later.eigen:
        u.index += len(eerder.zendingen)
    return Oordeel(
        eerder.zendingen + later.zendingen,
        eerder.offsets | later.offsets,
        eerder.groep if eerder.groep is not None else later.groep,
        eerder.n + later.n,
        eerder.eigen + later.eigen,
        eerder.te_vernietigen + later.te_vernietigen,
        eerder.te_legen | later.te_legen,
    )


class Kanaal(Protocol):
    """Where a batch's transaction runs (consumers/transactieproces.py: a child process, or in-process in tests)."""

    partities: tuple[int, ...]  # the canonical topic's partitions, as of the last answer

    def voer_uit(self, opdracht: Opdracht) -> Uitslag: ...

    def close(self) -> None: ...


class Schrijver:
    """One writer thread; ``start`` hands it a judged batch, the returned future ends with its commit. The thread
    only waits for the transaction process (``kanaal``; set by ``Validator.start``), off the GIL."""

    def __init__(self, watchdog_s: Callable[[], float | None], naam: str) -> None:
        self.watchdog_s = watchdog_s
        self.kanaal: Kanaal | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=naam)

    def start(self, oordeel: Oordeel) -> Future[None]:
        return self.pool.submit(self.schrijf, oordeel)

    def schrijf(self, oordeel: Oordeel) -> None:
        """One transaction: the batch's records, its ingress offsets, commit (raises what the producer raised; a
        refused commit was aborted already). Our canonical records get their (partition, offset)."""
        assert self.kanaal is not None
        opdracht = Opdracht(oordeel.zendingen, oordeel.offsets, oordeel.groep, [u.index for u in oordeel.eigen])
        seconds = self.watchdog_s()
        with watchdog(seconds, EXIT_TRANSACTIE_HANGT) if seconds else contextlib.nullcontext():
            uitslag = self.kanaal.voer_uit(opdracht)
        if uitslag.fout is not None:
            raise uitslag.fout
        for u, positie in zip(oordeel.eigen, uitslag.posities, strict=True):
            u.positie = positie

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        if self.kanaal is not None:
            self.kanaal.close()
