"""The ingress validator: partners' submissions -> one canonical, trustworthy log.

By composition: the loop here (poll, one transaction per batch, commit, snapshot) holds three collaborators with
narrow interfaces, built in ``__init__`` and sharing one ``Memory`` (state fold, parked set):
the judge (consumers/beoordelaar.py: one record in, its outcome sent), the parking service (consumers/parkeer.py:
park, release, expire, tell the partner) and the hand-over (consumers/overdracht.py: rebalance, roll forward, the
tail of the canonical log). ``registry/bootstrap.py`` builds it from the settings.

Per poll batch, in ONE Kafka transaction: decode, judge (registry.regels), append
accepted events to ``<prefix>.events``, refusals to ``.rejections``, undecodable
bytes to ``.deadletter``, and commit the ingress offsets (send_offsets_to_transaction).
Pipelined (consumers/schrijver.py): a writer thread has batch N sent and committed by the transactional producer,
which runs in a child process of its own (consumers/transactieproces.py: off this process's GIL), while the main
thread polls and judges batch N+1; N+1 goes to the writer once N committed, and a fenced N takes N+1 down with it.
The state snapshot is written by a thread of its own, from rows taken when nothing judged is uncommitted (or only
the batch whose commit the snapshot then waits for: ``_bevries_vooraf``); the periodic hanging-transaction check
also runs in a thread of its own.

State (registry.staat) is a fold over the canonical log. It is persisted to
PostgreSQL after each committed transaction together with the canonical offsets it
covers. A crash between the Kafka commit and the database commit is repaired at
start-up: ``init_transactions`` first settles any transaction of a previous
incarnation, then the state rolls forward by reading the canonical log from the
stored offsets to its end. A crash before the Kafka commit aborts the transaction,
so those submissions are consumed again.

Parking (registry.domein.parkeren): a submission refused only for want of an event that may still
come is parked instead: a ``geparkeerd`` record on ``<prefix>.parked`` in the SAME transaction as the
ingress offsets. When an accepted event satisfies a key, every event parked on it is judged again (in
arrival order; chains resolve in the same batch) and its ``opgelost`` marker is written in the same
transaction as its acceptance or refusal. The parked set is the fold of the parked topic
(read_committed), so a SIGKILL at any moment neither loses nor releases anything twice. An event parked
longer than ``park_timeout`` (validator clock = recorded_at) is refused with its reason, also when idle.

Several instances form one consumer group over the ingress topics:

* instance ``i`` has its own transactional id ``<group>-<i>`` (a restart of the same instance fences its
  predecessor) and commits the ingress offsets with the consumer's group metadata, so an instance that lost
  its partitions in a rebalance can no longer commit (KIP-447);
* the range assignor gives partition ``p`` of every ingress topic to one instance, and a parked record goes to
  partition ``p`` of the parked topic: the owner of an ingress partition owns its parked entries;
* every instance folds the WHOLE canonical log (consumers/volger.py: reference data and every deelnemer, like a
  global table), also what the other instances write, and releases its parked events that those satisfy;
* its state snapshot is its own (schema ``<schema>`` for instance 0, ``<schema>_<i>`` for the others);
* hand-over (``groep.Toewijzing`` -> ``Overdracht.toegewezen``): newly assigned partitions are paused until the state is rolled forward to the
  canonical log's end (past every transaction open at that moment) and their parked entries are loaded; only
  then is their first record judged. Partitions revoked drop their parked entries (the next owner folds them from
  the parked topic). A poll may run while the previous batch commits (the pipeline): its offsets carry the group
  metadata of the poll that read its records, so a commit of a generation that ended is refused and forgotten
  (KIP-447), and the next owner's committed offsets (read_committed asks for stable ones) and roll-forward (past
  open transactions) wait for a commit that was accepted. A poll that changes the assignment is sought back and
  the pipeline drains before the hand-over.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.structs import OffsetAndMetadata

from consumers import groep
from consumers.beoordelaar import Beoordelaar
from consumers.bundel import WACHT_S, verder_bundelen
from consumers.eigen_weigeringen import EigenWeigeringen
from consumers.overdracht import Overdracht, Sleutelkluis
from consumers.parkeer import Herversleutelen, Parkeerdienst
from consumers.schrijver import Oordeel, Schrijver, Zendlijst, samen
from consumers.transactieproces import GEWEERD, Kindproces, Start
from consumers.validator_config import Bevroren, Memory, Snapshots, StateStore, ValidatorConfig, Vooraf
from consumers.volger import CanoniekeVolger
from consumers.voorlezer import TerPlekke, Voorleesproces
from consumers.watchdog import (
    EXIT_TRANSACTIE_HANGT,
    TRANSACTIE_HANGT_S,
    TRANSACTIE_REQUEST_TIMEOUT_MS,
    _hard_exit,
    watchdog,
)
from registry.domein.parkeren import Geparkeerd, Parkeerplaats
from registry.domein.staat import Staat
from registry.infra import metrics
from registry.infra.hangende_transacties import OFFSETS_TOPIC, OpenTransactie, Transactiewacht, groep_partitie
from registry.infra.kafka import TRANSACTIE_RETRY_BACKOFF_MS, client_config, posities
from registry.infra.toegang import admin_client
from registry.infra.topics import Topics, caught_up

__all__ = [
    "EXIT_TRANSACTIE_HANGT",
    "StateStore",
    "Validator",
    "ValidatorConfig",
    "staat_schema",
    "watchdog",
]

log = logging.getLogger("praktijkregister.validator")

# A killed instance's open transaction holds back read_committed readers (the hand-over waits for it) until the
# broker aborts it: keep it short. A batch takes well under a second; the broker checks time-outs every 10 s.
TRANSACTIE_TIMEOUT_MS = 20_000
# The state snapshot is a cache of the canonical log's fold: saved at most once per this many seconds while busy (at
# once when idle, and with every erasure so an erased person's entities leave it at once). A crash only means the
# start-up rolls forward further (idempotent on event_id); saving per batch was ~14% of the validator's time.
STAAT_BEWAREN_S = 1.0
# The loop judges the next poll while the previous transaction commits (consumers/schrijver.py) for at most this
# long, then looks at hand-overs, the canonical tail, parked time-outs and the snapshot again.
PIJPLIJN_S = 1.0
# a poll that brought nothing (``Validator._poll_deel``)
LEEG = Oordeel([], {}, None, 0)
# how often the validator looks for a new partner's ingress topic
TOPIC_CHECK_S = 5.0
# a clean stop (finish the batch, leave the group, close the producer) normally takes a few seconds
STOP_GRACE_S = 20.0
# How often the validator looks for hanging transactions (registry/infra/hangende_transacties.py) on the partitions it
# writes in transactions, and how long such a transaction must have had no write before it is aborted: longer than
# our own transaction time-out plus the broker's 10 s check for timed-out transactions, so a transaction its
# coordinator is about to abort is left to the coordinator. A live transaction is never aborted, whatever its age.
TRANSACTIE_CHECK_S = 10.0
HANGT_NA_S = TRANSACTIE_TIMEOUT_MS / 1000 + 10.0


def staat_schema(schema: str, instance: int) -> str:
    """Where instance ``instance`` keeps its state snapshot: instances never overwrite each other's."""
    return schema if instance == 0 else f"{schema}_{instance}"


def producer_settings(bootstrap: list[str], transactional_id: str, group: str, instance: int) -> dict[str, Any]:
    """The validator's transactional producer: a transaction per batch, begun as soon as the last one committed."""
    return client_config(bootstrap) | {
        "transactional_id": transactional_id,
        "transaction_timeout_ms": TRANSACTIE_TIMEOUT_MS,
        "request_timeout_ms": TRANSACTIE_REQUEST_TIMEOUT_MS,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 100,
        "batch_size": 512 * 1024,
        "retry_backoff_ms": TRANSACTIE_RETRY_BACKOFF_MS,  # the next transaction starts during the last one's markers
        "client_id": f"{group}-producer-{instance}",
    }


class Validator:
    """The loop: poll, judge, commit. It holds its collaborators: the judge (``beoordelaar``), the parking service
    (``parkeren``) and the hand-over (``overdracht``), which share what is in memory (``memory``)."""

    def __init__(
        self,
        config: ValidatorConfig,
        store: Snapshots,
        kluis: Sleutelkluis,
        herversleutelaar: Herversleutelen,
        clock: Callable[[], dt.datetime] | None = None,
        instance: int = 0,
    ) -> None:
        if instance < 0:
            raise ValueError(f"instance must be 0 or more, not {instance}")
        if not config.registry_pseudonym_key:
            raise ValueError(
                "the validator needs the registry pseudonym key (PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE; "
                "`praktijkregister keys init` creates it)"
            )
        self.config, self.instance, self.store = config, instance, store
        self.topics = Topics(config.prefix)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # erasure: sealed persoonsgegevens -> the deelnemer's data key (consumers/gegevens.py); the vault is
        # shared by every instance (``config.schema``)
        self.kluis = kluis
        self.memory = Memory()
        # what the judge and the parking service send in a batch, kept until the writer sends it in the batch's
        # transaction (consumers/schrijver.py): they are built (and tested) without a producer
        self.sender = Zendlijst()
        self.consumer: KafkaConsumer | None = None
        self.eigen_weigeringen = EigenWeigeringen(
            self.topics, lambda: set(self.consumer.topics()) if self.consumer else set()
        )
        self.parkeren = Parkeerdienst(
            self.topics, self.memory, self.sender, self.eigen_weigeringen, herversleutelaar, config.park_timeout
        )
        self.beoordelaar = Beoordelaar(config, self.topics, self.memory, self.sender, self.parkeren, herversleutelaar)
        # decoding and re-keying: in place until ``start`` hands it to a child process (consumers/voorlezer.py)
        self.voorlezer: TerPlekke = TerPlekke(config.max_record_bytes, config.registry_pseudonym_key)
        self.overdracht = Overdracht(
            config, instance, self.topics, store, self.memory, kluis, self.parkeren, self.controleer_transacties
        )
        self.stopping = False
        self.actief = False  # the last run_once did something (records, releases, other instances' events)
        self.next_topic_check = 0.0  # when to look for new (or removed) partner ingress topics
        self.snapshot_pending = False  # the state holds batches the snapshot does not have yet
        self.erasures = False  # the last run_once committed an erasure (the snapshot follows at once)
        # the service (``run``) exits when a transaction never settles; in-process users (tests, demo, bench) do not
        self.watchdog_s: float | None = None
        self.snapshot_at = 0.0  # when the snapshot was last saved (time.monotonic)
        self.wacht: Transactiewacht | None = None  # hanging transactions: found and aborted (``start``)
        self.next_transaction_check = 0.0
        self.offsets_partities = 0  # partitions of __consumer_offsets (the group's offsets are on one of them)
        self.snapshotter = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"validator-{instance}-snapshot")
        self.snapshot_bezig: Future[None] | None = None  # the snapshot the snapshotter is writing
        # the periodic hanging-transaction check asks the partition leaders (admin requests): in a thread of its own,
        # so the loop does not wait for those round trips; the admin client is used by one thread at a time
        self.controle = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"validator-{instance}-transacties")
        self.controle_bezig: Future[None] | None = None
        self.schrijver = Schrijver(lambda: self.watchdog_s, f"validator-{instance}-writer")

    @property
    def staat(self) -> Staat:
        return self.memory.staat

    @property
    def plaats(self) -> Parkeerplaats:
        return self.memory.plaats

    @property
    def volger(self) -> CanoniekeVolger | None:
        return self.overdracht.volger

    @property
    def transactional_id(self) -> str:
        return f"{self.config.group}-{self.instance}"

    # ---- start-up: settle, roll forward, join the group -----------------------------------------
    def start(self) -> None:
        producer_config = producer_settings(
            self.config.bootstrap, self.transactional_id, self.config.group, self.instance
        )
        # the transactional producer runs in a child process (consumers/transactieproces.py), off this one's GIL;
        # it settles (and fences) a previous incarnation's transaction before this returns
        self.schrijver.kanaal = Kindproces(Start(producer_config, self.topics.events, os.getpid()))
        self.voorlezer = Voorleesproces(self.config.max_record_bytes, self.config.registry_pseudonym_key, os.getpid())
        self.wacht = Transactiewacht(admin_client(self.config.bootstrap), self._bewaakte_partities, HANGT_NA_S)
        self.store.ensure()
        self.kluis.ensure()
        self.overdracht.parked_topic()
        n = self.overdracht.open()
        log.info("instance %d: state loaded; rolled forward %d canonical event(s)", self.instance, n)
        self.consumer = KafkaConsumer(
            **client_config(self.config.bootstrap) | {"metadata_max_age_ms": 3000},
            group_id=self.config.group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_poll_records=self.config.max_poll_records,
            # range assignment keeps partition i of every co-partitioned ingress topic on one instance
            partition_assignment_strategy=[RangePartitionAssignor],
            session_timeout_ms=groep.SESSIE_TIMEOUT_MS,
            heartbeat_interval_ms=groep.HEARTBEAT_MS,
            fetch_max_bytes=32 * 1024 * 1024,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            client_id=f"{self.config.group}-consumer-{self.instance}",
        )
        self.overdracht.consumer = self.consumer
        self._abonneer()
        self._join()

    def _abonneer(self) -> None:
        """Subscribe to the ingress topics by name, again when a partner's topic comes or goes. Not by pattern:
        kafka-python refreshes the metadata inside every poll of a pattern subscriber while it rejoins, and a join
        that completes meanwhile is dropped (consumers/groep.py), so several instances would keep rebalancing."""
        assert self.consumer is not None
        wanted = {t for t in self.consumer.topics() if re.match(self.topics.ingress_pattern, t)}
        if wanted and wanted != self.consumer.subscription():
            self.consumer.subscribe(topics=sorted(wanted), listener=groep.Toewijzing(self.overdracht))
            self.eigen_weigeringen.ververs()  # a new partner: its own rejections topic came with its ingress topic
        # no ingress topic yet (none made, or the broker's metadata does not show new ones yet): look again soon
        self.next_topic_check = time.monotonic() + (TOPIC_CHECK_S if wanted else 0.5)

    def _join(self, wait_s: float = 10.0) -> None:
        """Join the group and take over the first assignment (polls return nothing: new partitions are paused)."""
        assert self.consumer is not None
        deadline = time.monotonic() + wait_s
        while not self.consumer.assignment() and time.monotonic() < deadline:
            if not self.consumer.subscription():  # the ingress topics are not in the metadata yet
                time.sleep(0.2)
                self._abonneer()
                continue
            groep.poll(self.consumer, 200)
        if self.overdracht.nieuw:
            self.overdracht.neem_over()
        log.info("instance %d: %d parked submission(s) waiting", self.instance, len(self.plaats))

    # ---- the loop ------------------------------------------------------------------------------
    def run(self, idle_exit_after: float | None = None) -> None:
        """Validate until SIGTERM/SIGINT (or, with ``idle_exit_after``, until idle that long)."""
        signal.signal(signal.SIGTERM, self._stop)
        self.watchdog_s = TRANSACTIE_HANGT_S
        idle_since = self.clock()
        while not self.stopping:
            n = self.run_once()
            if n or self.actief or not self.caught_up():
                idle_since = self.clock()
            elif (
                idle_exit_after is not None
                and (self.clock() - idle_since).total_seconds() >= idle_exit_after
                and self.overdracht.toewijzing_definitief()
            ):
                break
        self.close()

    def _stop(self, *_: Any) -> None:
        """SIGTERM: finish the batch and leave the group. A stop that hangs (a hand-over waiting on an open
        transaction, a broker that does not answer a close) becomes a hard exit after ``STOP_GRACE_S``: safe, since
        every effect is in a Kafka transaction or a database transaction with its offsets (a SIGKILL loses nothing)."""
        self.stopping = True

        timer = threading.Timer(STOP_GRACE_S, _hard_exit, args=(1,))
        timer.daemon = True
        timer.start()

    def run_once(self, timeout_ms: int = 500) -> int:
        """One poll: judge its records, what was released and what expired, in one transaction; while that commits,
        the next poll's records are judged (``_volgende``), for up to ``PIJPLIJN_S``. Returns the records read; when
        it returns, everything it judged is committed (or, fenced, forgotten)."""
        assert self.consumer is not None and self.schrijver.kanaal is not None
        started = time.perf_counter()
        if time.monotonic() >= self.next_topic_check:
            self._abonneer()
        if not self.consumer.subscription():  # nothing to read yet (``_abonneer`` looks again)
            time.sleep(timeout_ms / 1000)
            return 0
        batch = groep.poll(self.consumer, timeout_ms)
        if time.monotonic() >= self.next_transaction_check:
            self._controleer_op_achtergrond()
        self.overdracht.verweesd()
        if self.overdracht.nieuw:
            self._snapshot_klaar()  # the roll-forward saves a snapshot of its own: never two at once
            self.overdracht.neem_over()
        gevolgd = self.overdracht.volg()
        now = self.clock()
        verlopen = self.plaats.verlopen(now, self.config.park_timeout)
        opnieuw = sorted(
            (self.plaats.entries[i] for i in self.memory.opnieuw if i in self.plaats), key=lambda g: g.volgorde
        )
        self.memory.opnieuw.clear()
        self.actief = bool(batch or verlopen or opnieuw or gevolgd)
        if not batch and not verlopen and not opnieuw:
            self._snapshot_klaar()  # idle: the snapshot catches up at once, and is written when this returns
            if gevolgd or self.snapshot_pending:
                self._save_snapshot()
            return 0
        n = self._pijplijn(self._beoordeel(batch, opnieuw, bool(verlopen), now))
        if n is None:
            return 0
        if self.erasures:  # an erased person's entities leave the snapshot at once
            self._save_snapshot()
        elif self.snapshot_pending and time.monotonic() - self.snapshot_at >= STAAT_BEWAREN_S and self._snapshot_vrij():
            self._save_snapshot(achtergrond=True)  # nothing judged is uncommitted now: committed state only
        metrics.BATCH_SECONDS.labels("validator").observe(time.perf_counter() - started)
        metrics.record_lag(self.config.group, self.consumer, self.consumer.assignment())
        return n

    def _pijplijn(self, oordeel: Oordeel | None) -> int | None:
        """Commit ``oordeel`` in the writer thread and judge the next poll meanwhile, batch after batch; None when a
        rebalance fenced a transaction (what was judged since the last commit is forgotten)."""
        n, tot = 0, time.monotonic() + PIJPLIJN_S
        self.erasures = False
        while oordeel is not None:
            lopend = self.schrijver.start(oordeel)
            vooraf: Vooraf | None = None
            try:
                if time.monotonic() < tot and not self.stopping:
                    volgende = self._volgende(oordeel, lopend)
                else:  # the last commit of this run: nothing is judged meanwhile, so the snapshot is frozen now
                    volgende, vooraf = None, self._bevries_vooraf(oordeel)
            except BaseException:
                lopend.exception()  # no commit goes on behind the caller's back: wait for it, then raise
                raise
            try:
                lopend.result()
            except GEWEERD as exc:
                self._herstel(exc)  # the state comes back from the last snapshot written: ``vooraf`` is dropped
                return None
            except BaseException:
                if vooraf is not None:  # not written: its entities stay changed for the next snapshot
                    vooraf.terug(self.staat)
                raise
            finally:
                self.beoordelaar.tellers.leeg()
            self._na_commit(oordeel)
            if vooraf is not None:  # committed: the frozen state is committed state, its offsets are known now
                self._schrijf_snapshot(vooraf.bevroren, achtergrond=True)
            n += oordeel.n
            oordeel = volgende
        return n

    def _bevries_vooraf(self, oordeel: Oordeel) -> Vooraf | None:
        """The snapshot that is due once ``oordeel`` (the last batch of a run, nothing judged after it) commits,
        frozen while it commits instead of after: the freeze (a second's changed entities as JSON, on this thread:
        15-40 ms under load) no longer holds up the next batch. None when no background snapshot is due, or for erasures (their snapshot
        is written at once, after the commit)."""
        if oordeel.te_vernietigen or oordeel.te_legen or not self._snapshot_vrij():
            return None
        if time.monotonic() - self.snapshot_at < STAAT_BEWAREN_S:
            return None
        staat = self.staat
        dirty, weg = set(staat.dirty), set(staat.weg)
        return Vooraf(self.store.bevries(staat), dirty, weg)

    def _volgende(self, vorig: Oordeel, lopend: Future[None]) -> Oordeel | None:
        """The next batch, judged while ``vorig`` commits (``lopend``): polled again every ``WACHT_S``, judging what each
        poll brings, until ``vorig`` has committed or a poll's worth is judged (consumers/bundel.py); None when
        nothing came. It stops at once when ``vorig`` or a part of the batch has erasures (the snapshot follows
        them at once), and before judging a poll in which the group is not stable or its assignment changed (that
        poll's records are sought back: a hand-over comes first). A rebalance while ``vorig`` commits is safe
        (KIP-447): its ingress offsets carry the group metadata of its own poll, so a commit of a generation that
        ended is refused (and forgotten here), and the next owner's committed offsets (read_committed: stable
        offsets only) and roll-forward (past open transactions) wait for it."""
        assert self.consumer is not None
        if vorig.te_vernietigen or vorig.te_legen:
            return None
        grens = self.config.max_poll_records
        volgende: Oordeel | None = None
        n = 0
        while not self.stopping:  # a stop (SIGTERM) commits what is collected, and polls no more
            deel = self._poll_deel(grens - n)
            if deel is None:
                break
            if deel.n:
                volgende = deel if volgende is None else samen(volgende, deel)
                n += deel.n
            if deel.te_vernietigen or deel.te_legen or not verder_bundelen(n, grens, lopend.done()):
                break
            wait([lopend], timeout=WACHT_S)  # returns at once when the commit ends: one more poll takes what came
        return volgende

    def _poll_deel(self, max_records: int) -> Oordeel | None:
        """One poll of the batch being collected, judged: an empty Oordeel when nothing came; None when the group
        is not stable or its assignment changed (the records are sought back: a hand-over comes first)."""
        assert self.consumer is not None
        if not groep.stabiel(self.consumer):
            return None
        sinds = self.overdracht.toewijzing_sinds
        batch = self.consumer.poll(timeout_ms=0, max_records=max_records)
        if self.overdracht.toewijzing_sinds != sinds or self.overdracht.nieuw:
            assigned = self.consumer.assignment()
            for tp, records in batch.items():
                if tp in assigned:
                    self.consumer.seek(tp, records[0].offset)
            return None
        return self._beoordeel(batch, [], False, self.clock()) if batch else LEEG

    def _beoordeel(
        self, batch: dict[TopicPartition, list[Any]], opnieuw: list[Geparkeerd], verlopen: bool, now: dt.datetime
    ) -> Oordeel:
        """Judge a poll's records (and what was released or expired) into what its transaction sends."""
        assert self.consumer is not None and self.schrijver.kanaal is not None
        judge = self.beoordelaar
        judge.canonieke_partities = self.schrijver.kanaal.partities  # as of the last commit
        judge.te_vernietigen, judge.te_legen = [], set()
        groep_nu = self.consumer.group_metadata() if batch else None  # KIP-447: the generation that read them
        eigen: list[Any] = []
        offsets = {}
        n = 0
        for g in opnieuw:  # released by another instance's event, or taken over
            if g.event_id in self.plaats:
                eigen += judge.judge(self.plaats.entries[g.event_id], now, parked=True)
        if verlopen:
            eigen += judge.verloop(now)
        # read (decoded, re-keyed) by the reading process while the records before them are judged
        gelezen = self.voorlezer.lees_alles([rec for records in batch.values() for rec in records])
        for tp, records in batch.items():
            partner = self.topics.partner_of(tp.topic)
            for rec in records:
                eigen += judge.handle(rec, partner, now, next(gelezen))
                n += 1
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        return Oordeel(self.sender.neem(), offsets, groep_nu, n, eigen, judge.te_vernietigen, judge.te_legen)

    def _na_commit(self, oordeel: Oordeel) -> None:
        """The batch is committed: its erasures delete their data keys and ingress copies; the snapshot is due."""
        assert self.volger is not None
        for deelnemer in oordeel.te_vernietigen:  # the erasures are in the log now: their data keys go
            self.kluis.vernietig(deelnemer)
        if oordeel.te_legen:
            self._leeg_ingress(oordeel.te_legen)
        self.erasures = self.erasures or bool(oordeel.te_vernietigen)
        self.parkeren.gauge()
        # our own canonical records: in the state already, the tail skips them
        self.volger.geschreven(f.get() for f in oordeel.eigen)
        self.snapshot_pending = True

    def _herstel(self, exc: Exception) -> None:
        """A rebalance fenced this transaction (the transaction process aborted it): forget what judging it (and the
        batch judged after it) changed in memory."""
        log.warning(
            "instance %d: transaction not committed (%s): aborted; state rebuilt from the last commit",
            self.instance,
            type(exc).__name__,
        )
        self.sender.neem()
        self.beoordelaar.vergeet()
        self._snapshot_klaar()  # the state comes back from the snapshot: the last one written
        self.overdracht.herstel()

    # ---- hanging transactions ----------------------------------------------------------------------
    def _bewaakte_partities(self) -> list[TopicPartition]:
        """Every partition this validator writes in its transactions: the canonical log, parked, rejections (shared
        and per partner), dead letters, and the ``__consumer_offsets`` partition of its group's offsets. Asked of
        the admin client (the check's thread uses it alone; the consumers belong to the loop's thread)."""
        assert self.wacht is not None
        t, admin = self.topics, self.wacht.admin
        names = {t.events, t.parked, t.rejections, t.deadletter}
        names |= {n for n in admin.list_topics() if n.startswith(t.rejections + ".")}
        tps = [
            TopicPartition(d["name"], p["partition_index"])
            for d in sorted(admin.describe_topics(sorted(names)), key=lambda d: str(d["name"]))
            for p in sorted(d.get("partitions") or (), key=lambda p: int(p["partition_index"]))
        ]
        if not self.offsets_partities:
            described = admin.describe_topics([OFFSETS_TOPIC])
            self.offsets_partities = len(described[0].get("partitions") or ()) if described else 0
        if self.offsets_partities:
            tps.append(TopicPartition(OFFSETS_TOPIC, groep_partitie(self.config.group, self.offsets_partities)))
        return tps

    def controleer_transacties(self) -> None:
        """Abort hanging transactions (one log line each) and publish the age of the oldest open transaction per
        canonical partition, now (the hand-over calls it while it waits). Never raises: a failed check is logged and
        tried again at the next one."""
        self._controle_klaar()
        self._controleer()

    def _controleer_op_achtergrond(self) -> None:
        """The periodic check, in the check's own thread; one still running is left to finish (looked at again at the
        next batch)."""
        if self.wacht is None or (self.controle_bezig is not None and not self.controle_bezig.done()):
            return
        self._controle_klaar()
        self.controle_bezig = self.controle.submit(self._controleer)

    def _controle_klaar(self) -> None:
        """Wait for the check in flight (it never raises): after this the loop's thread may use the admin client."""
        bezig, self.controle_bezig = self.controle_bezig, None
        if bezig is not None:
            bezig.result()

    def _controleer(self) -> None:
        if self.wacht is None:
            return
        self.next_transaction_check = time.monotonic() + TRANSACTIE_CHECK_S
        try:  # one question to the partition leaders serves the gauge and the check
            open_ = self.wacht.open_transacties()
        except Exception as exc:  # noqa: BLE001 - measured again at the next check
            log.warning("instance %d: open transactions not measured (%s)", self.instance, type(exc).__name__)
            return
        self._meld_open(open_)
        for t in self.wacht.ruim_op(open_) if open_ else []:
            metrics.HANGING_TRANSACTIONS_ABORTED.labels(t.tp.topic).inc()

    def _meld_open(self, open_: list[OpenTransactie]) -> None:
        assert self.wacht is not None and self.volger is not None
        oudste = self.wacht.oudste_per_partitie(t for t in open_ if t.tp.topic == self.topics.events)
        for tp in self.volger.tps:
            metrics.OPEN_TRANSACTION_SECONDS.labels(str(tp.partition)).set(oudste.get(tp, 0.0))

    def _leeg_ingress(self, partities: set[int]) -> None:
        """After an erasure: delete the validated records of the ingress partitions it came through (every partner's
        topic; one deelnemer's submissions share a partition number), so no copy of its sealed persoonsgegevens
        waits out the ingress retention. Everything before the committed positions is in the canonical log, the
        refusals or the parked topic (re-encrypted) already. A failure is logged: the retention still ends them."""
        assert self.consumer is not None and self.wacht is not None
        self._controle_klaar()  # the admin client: one thread at a time
        tot = posities(self.consumer, [tp for tp in self.consumer.assignment() if tp.partition in partities])
        try:
            self.wacht.admin.delete_records({tp: o for tp, o in tot.items() if o})
        except Exception as exc:  # noqa: BLE001 - retention removes them later; the erasure itself is done
            log.warning(
                "instance %d: ingress records not deleted after an erasure (%s)", self.instance, type(exc).__name__
            )

    def _save_snapshot(self, achtergrond: bool = False) -> None:
        """The state snapshot and the canonical offsets it covers, in one database transaction; ``achtergrond``:
        written by the snapshot thread while the loop goes on (the rows are taken from the state now)."""
        self._snapshot_klaar()
        self._schrijf_snapshot(self.store.bevries(self.staat), achtergrond)

    def _schrijf_snapshot(self, bevroren: Bevroren, achtergrond: bool) -> None:
        """Write ``bevroren`` with the canonical offsets the state covers now (``achtergrond``: in the snapshot
        thread); the last snapshot written must have finished (``_snapshot_klaar`` or ``_snapshot_vrij``)."""
        assert self.volger is not None
        offsets = dict(self.volger.posities)
        if achtergrond:
            self.snapshot_bezig = self.snapshotter.submit(self.store.schrijf, bevroren, offsets)
        else:
            self.store.schrijf(bevroren, offsets)
        self.snapshot_pending, self.snapshot_at = False, time.monotonic()

    def _snapshot_vrij(self) -> bool:
        """No snapshot is being written: a busy loop does not wait for a slow database write, the next snapshot
        follows at a later batch (the one being written covers all but the newest batches)."""
        return self.snapshot_bezig is None or self.snapshot_bezig.done()

    def _snapshot_klaar(self) -> None:
        """Wait for the snapshot being written; a failed write raises here, as a failed save did."""
        bezig, self.snapshot_bezig = self.snapshot_bezig, None
        if bezig is not None:
            bezig.result()

    def drain(self, idle_polls: int = 2, stuck_after_s: float = 300.0) -> int:
        """Validate until caught up with every assigned ingress partition (demo, tests, bench). A drain that makes
        no progress for ``stuck_after_s`` (no partitions assigned, a broker that does not answer) raises instead
        of waiting for ever."""
        assert self.consumer is not None
        total, idle, progress = 0, 0, time.monotonic()
        while idle < idle_polls:
            n = self.run_once(timeout_ms=300)
            total += n
            idle = 0 if n else (idle + 1 if self.caught_up() else 0)
            if n or self.actief:
                progress = time.monotonic()
            elif time.monotonic() - progress > stuck_after_s:
                raise TimeoutError(
                    f"validator instance {self.instance}: no progress for {stuck_after_s:.0f} s and not "
                    f"caught up ({len(self.consumer.assignment())} partition(s) assigned, "
                    f"{len(self.overdracht.nieuw)} waiting for hand-over)"
                )
        return total

    def caught_up(self) -> bool:
        """True once partitions are assigned, handed over, and every one is read to its end."""
        assert self.consumer is not None
        assigned = list(self.consumer.assignment())
        waiting = self.overdracht.nieuw or self.memory.opnieuw
        return bool(assigned) and not waiting and caught_up(self.consumer, assigned)

    def close(self) -> None:
        if self.volger is not None:
            try:
                self._snapshot_klaar()
                if self.snapshot_pending:
                    self._save_snapshot()
            except Exception as exc:  # noqa: BLE001 - the next start rolls forward from the last snapshot
                log.warning("instance %d: state snapshot not saved at close (%s)", self.instance, type(exc).__name__)
        self.schrijver.close()
        self.voorlezer.close()
        self.snapshotter.shutdown(wait=True)
        self.controle.shutdown(wait=True)
        if self.consumer is not None:
            self.consumer.close()
        if self.volger is not None:
            self.volger.close()
        if self.wacht is not None:
            self.wacht.admin.close()
