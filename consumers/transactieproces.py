"""The validator's transactional producer in a child process of its own, off the loop's GIL.

Everything in the validator holds one GIL, and the producer (its ``send`` per record, its network thread) was ~22 µs
of the ~110 µs an event costs. So the main process only judges: it hands each judged batch to the child as plain
data (``Opdracht``: the records as (topic, key, value, partition), the ingress offsets and the consumer's group
metadata), and the child opens the transaction, sends, adds the offsets, commits (``transactie``) and answers
(``Uitslag``): the (partition, offset) of each canonical record the caller asked for (the canonical tail skips
them, consumers/volger.py), or the exception. A commit the group refused (a rebalance) is aborted in the child
before it answers, so the caller only rebuilds its state; any other exception (a fenced producer) ends the caller as
the in-process producer's did. The caller waits for the answer under the commit watchdog (consumers/watchdog.py).

The child logs in with the caller's ``client_config`` (sent over the pipe, never in argv), ignores SIGINT and
SIGTERM (a Ctrl-C or a service stop reaches the whole process group: the caller finishes its batch and then closes
the child, which closes its producer) and ends itself as soon as its parent is gone (a SIGKILL, a watchdog exit),
so it never outlives it; whatever it commits meanwhile is a whole transaction with its offsets, and a restarted
instance fences it (the same transactional id).
"""

from __future__ import annotations

import atexit
import pickle
import threading
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from kafka import KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError, UnknownMemberIdError
from kafka.structs import OffsetAndMetadata

from registry.infra import hulpproces
from registry.infra.kafka import einde_flush

# the broker refused the ingress offsets: the group moved on (a rebalance while the transaction was open)
GEWEERD = (CommitFailedError, IllegalGenerationError, RebalanceInProgressError, UnknownMemberIdError)
# a clean close (the producer's close flushes nothing: every transaction is committed or aborted) takes well under this
SLUIT_S = 15.0

# (topic, key, value, partition): one record of a batch, a plain tuple (pickled per record)
Record = tuple[str, bytes | None, bytes, int | None]


class Opdracht(NamedTuple):
    """One transaction for the child: its records in order, the ingress offsets with the group metadata of the poll
    that read them (KIP-447), and the indexes of the records whose (partition, offset) come back."""

    records: list[Record]
    offsets: dict[TopicPartition, OffsetAndMetadata]
    groep: Any
    terug: list[int]


class Uitslag(NamedTuple):
    """The child's answer: the positions asked for (committed), the canonical topic's partitions, or the exception."""

    posities: list[tuple[int, int]]
    partities: tuple[int, ...]
    fout: BaseException | None = None


class Start(NamedTuple):
    """What the child needs to make its producer (the first message on the pipe)."""

    producer_config: dict[str, Any]
    canoniek: str  # the canonical topic: its partitions come back with every answer
    ouder: int  # the parent's pid: the child ends when it is gone


def transactie(producer: Any, opdracht: Opdracht, canoniek: str) -> Uitslag:
    """One transaction: begin, send, the offsets, commit; a refused one (``GEWEERD``) is aborted. Never raises."""
    try:
        producer.begin_transaction()
        futures = [producer.send(t, key=k, value=v, partition=p) for t, k, v, p in opdracht.records]
        if opdracht.offsets:
            producer.send_offsets_to_transaction(opdracht.offsets, opdracht.groep)
        producer.commit_transaction()
        einde_flush(producer)
        mds = [futures[i].get() for i in opdracht.terug]
        return Uitslag([(md.partition, md.offset) for md in mds], _partities(producer, canoniek))
    except GEWEERD as exc:
        return _afgebroken(producer, exc)
    except Exception as exc:  # noqa: BLE001 - the caller raises it (a fenced producer ends the instance)
        return Uitslag([], (), exc)


def _afgebroken(producer: Any, exc: BaseException) -> Uitslag:
    try:
        producer.abort_transaction()
        einde_flush(producer)
    except Exception as fout:  # noqa: BLE001 - the caller raises it: the instance ends
        return Uitslag([], (), fout)
    return Uitslag([], (), exc)


def _partities(producer: Any, canoniek: str) -> tuple[int, ...]:
    return tuple(sorted(producer.partitions_for(canoniek)))


class Direct:
    """The transaction in the caller's own process, on a producer it was given (unit tests with a fake one)."""

    def __init__(self, producer: Any, canoniek: str) -> None:
        self.producer, self.canoniek = producer, canoniek
        self.partities = _partities(producer, canoniek)

    def voer_uit(self, opdracht: Opdracht) -> Uitslag:
        uitslag = transactie(self.producer, opdracht, self.canoniek)
        self.partities = uitslag.partities or self.partities
        return uitslag

    def close(self) -> None:
        self.producer.close()


class Kindproces:
    """The transactional producer in a child process; ``voer_uit`` sends a transaction and waits for its answer."""

    def __init__(self, start: Start) -> None:
        self.proces, self.conn = hulpproces.start("consumers.transactieproces:kind")
        self.partities: tuple[int, ...] = ()
        self.lock = threading.Lock()  # one request at a time on the pipe
        # an exception that ends the caller still closes the child (its producer) before the interpreter exits
        atexit.register(self.close)
        self.conn.send(start)
        uitslag = self._antwoord()
        if uitslag.fout is not None:
            self.close()
            raise uitslag.fout
        self.partities = uitslag.partities

    def voer_uit(self, opdracht: Opdracht) -> Uitslag:
        with self.lock:
            self.conn.send(opdracht)
            uitslag = self._antwoord()
        self.partities = uitslag.partities or self.partities
        return uitslag

    def _antwoord(self) -> Uitslag:
        try:
            uitslag: Uitslag = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise RuntimeError(f"the transaction process ended (status {self.proces.poll()})") from exc
        return uitslag

    def close(self) -> None:
        """Ask the child to close its producer and end; one that does not is killed."""
        atexit.unregister(self.close)
        hulpproces.sluit(self.proces, self.conn, self.lock, SLUIT_S)


# ---- the child ------------------------------------------------------------------------------------------------------
def _stuur(conn: Connection, uitslag: Uitslag) -> None:
    """Send the answer; an exception that does not pickle travels as a RuntimeError with its class and message."""
    try:
        data = pickle.dumps(uitslag, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - the caller still learns what went wrong
        fout = uitslag.fout
        data = pickle.dumps(uitslag._replace(fout=RuntimeError(f"{type(fout).__name__}: {fout}")))
    conn.send_bytes(data)


def kind(conn: Connection) -> None:
    """The child's loop: make the producer (settling a predecessor's transaction), then one transaction per message
    until ``None`` or the end of the pipe; the producer is closed on the way out."""
    start: Start = conn.recv()
    hulpproces.als_kind(start.ouder)
    producer: KafkaProducer | None = None
    try:
        producer = KafkaProducer(**start.producer_config)
        producer.init_transactions()  # fences and settles a previous incarnation's transaction
        partities = _partities(producer, start.canoniek)
    except Exception as exc:  # noqa: BLE001 - the caller raises it
        _stuur(conn, Uitslag([], (), exc))
        if producer is not None:
            producer.close()
        return
    _stuur(conn, Uitslag([], partities))
    try:
        while True:
            try:
                opdracht: Opdracht | None = conn.recv()
            except (EOFError, OSError):
                break
            if opdracht is None:
                break
            _stuur(conn, transactie(producer, opdracht, start.canoniek))
    finally:
        producer.close()
