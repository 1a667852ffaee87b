"""The validator's hand-over on rebalance, and its tail of the canonical log.

Partitions the group gives an instance stay paused until the state is rolled forward to the canonical log's end
and the parked entries of those partitions are loaded from the parked topic, so no record of them is judged on
another instance's stale view; partitions taken away drop their parked entries (their new owner loads them).
A transaction fenced by a rebalance is forgotten here too (``herstel``): state and parked set from what was
committed, every partition handed over again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from kafka import TopicPartition

from consumers import groep
from consumers.validator_config import Memory, Snapshots, ValidatorConfig
from consumers.volger import CanoniekeVolger, hoogwater, lees_tot, lezer
from registry.domein import pseudoniemen
from registry.domein.parkeren import Parkeerplaats, vervult
from registry.domein.staat import pas_toe
from registry.infra import codec
from registry.infra import topics as topics_mod
from registry.infra.topics import Topics

log = logging.getLogger("praktijkregister.validator")


class GroupConsumer(Protocol):
    """What the hand-over does with the validator's group consumer."""

    def assignment(self) -> set[TopicPartition]: ...

    def paused(self) -> set[TopicPartition]: ...

    def pause(self, *partitions: TopicPartition) -> None: ...

    def resume(self, *partitions: TopicPartition) -> None: ...

    def committed(self, partition: TopicPartition) -> int | None: ...

    def seek(self, partition: TopicPartition, offset: int) -> None: ...

    def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...

    def subscription(self) -> set[str] | None: ...

    def partitions_for_topic(self, topic: str) -> set[int] | None: ...

    def group_metadata(self) -> Any: ...


class Sleutelkluis(Protocol):
    """The data-key vault (registry/infra/gegevenskluis.py) as the validator uses it: an erasure deletes the key."""

    def ensure(self) -> None: ...

    def vernietig(self, deelnemer: str) -> bool: ...


class Parkeerstand(Protocol):
    """The parking service, as far as the hand-over needs it."""

    partities: int

    def gauge(self) -> None: ...


class Overdracht:
    """Rolling forward and taking over partitions (a ``groep.Lid``)."""

    def __init__(
        self,
        config: ValidatorConfig,
        instance: int,
        topics: Topics,
        store: Snapshots,
        memory: Memory,
        kluis: Sleutelkluis,
        parkeren: Parkeerstand,
        controleer_transacties: Callable[[], None],
    ) -> None:
        self.config, self.instance, self.topics, self.store = config, instance, topics, store
        self.memory, self.kluis, self.parkeren = memory, kluis, parkeren
        self.controleer_transacties = controleer_transacties  # aborts hanging transactions; called while waiting
        self.consumer: GroupConsumer | None = None  # the group consumer, once it is made
        self.volger: CanoniekeVolger | None = None  # the tail of the canonical log (``open``)
        self.nieuw: set[TopicPartition] = set()  # assigned, paused until handed over
        self.geladen: set[TopicPartition] = set()  # ingress partitions whose parked entries are in ``plaats``
        self.toewijzing_sinds = time.monotonic()  # when the group last gave or took partitions

    def parked_topic(self) -> None:
        """Create the parked topic like the others if it is missing; tell the parking service its partitions."""
        reader = lezer(self.config.bootstrap, f"{self.config.group}-meta-{self.instance}")
        try:
            if not reader.partitions_for_topic(self.topics.parked):
                partitions = len(reader.partitions_for_topic(self.topics.events) or ()) or 6
                topics_mod.create(
                    self.config.bootstrap,
                    partitions,
                    [],
                    self.topics.prefix,
                    max_ingress_bytes=self.config.max_record_bytes,
                    retention_days=self.config.ingress_retention_days,
                )
            self.parkeren.partities = len(reader.partitions_for_topic(self.topics.parked) or ())
        finally:
            reader.close()

    def open(self) -> int:
        """Load the snapshot, tail the canonical log from the offsets it covers and roll forward to its end."""
        self.memory.staat, offsets = self.store.load()
        self.volger = self._volger(offsets)
        return self.roll_forward()

    def _volger(self, offsets: Mapping[int, int]) -> CanoniekeVolger:
        return CanoniekeVolger(
            self.config.bootstrap, self.topics.events, offsets, f"{self.config.group}-volger-{self.instance}"
        )

    def roll_forward(self) -> int:
        """Apply every canonical event written before now that the state does not hold yet (idempotent on event_id)."""
        assert self.volger is not None
        n = self.volger.tot_het_einde(self.gevolgd, self.controleer_transacties)
        self.store.save(self.memory.staat, self.volger.posities)
        return n

    def volg(self) -> int:
        """Apply what other instances committed since the last call."""
        assert self.volger is not None
        return self.volger.volg(self.gevolgd)

    def gevolgd(self, event_type: str, record: Mapping[str, Any]) -> None:
        """A canonical event read back from the log (another instance's, or one from before a restart)."""
        staat = self.memory.staat
        if record["event_id"] in staat.event_ids:
            return
        pas_toe(staat, event_type, record)
        if event_type == "DeelnemerGegevensVerwijderd":  # committed before a crash (or by another instance)
            self.kluis.vernietig(str(record["deelnemer"]))
        for key in vervult(event_type, record):  # parked events of ours it may release
            self.memory.opnieuw.update(g.event_id for g in self.memory.plaats.wachtend_op(key))

    def ingetrokken(self, tps: set[TopicPartition]) -> None:
        """Partitions taken away: forget their parked entries (no transaction is open during a poll)."""
        self.nieuw -= tps
        self.toewijzing_sinds = time.monotonic()
        weg = {(tp.topic, tp.partition) for tp in tps & self.geladen}
        self.geladen -= tps
        n = self.memory.plaats.laat_los(weg)
        if not self.geladen:  # all gone (the range assignor revokes everything): start the counters afresh too
            self.memory.plaats = Parkeerplaats()
        log.info("instance %d: %d partition(s) revoked, %d parked entries handed over", self.instance, len(tps), n)

    def toegewezen(self, tps: set[TopicPartition]) -> None:
        """Partitions given: paused until ``neem_over`` (no record of them is judged before)."""
        assert self.consumer is not None
        nieuw = tps - self.geladen
        self.consumer.pause(*nieuw)
        self.nieuw |= nieuw
        self.toewijzing_sinds = time.monotonic()

    def verweesd(self) -> None:
        """Assigned partitions that are paused but not waiting for a hand-over, once the member is stable: its
        listener was told they were revoked and never that they were assigned again (a rebalance the client left
        unfinished, consumers/groep.verlaten_join): hand them over (again). Handing one over twice is harmless
        (parked entries are kept by event id)."""
        assert self.consumer is not None
        weg = groep.verweesd(self.consumer, self.nieuw)
        if weg:
            log.warning(
                "instance %d: %d paused partition(s) without a hand-over: handing them over", self.instance, len(weg)
            )
            self.nieuw |= weg

    def neem_over(self) -> None:
        """Roll the state forward to the canonical log's end, load the new partitions' parked entries, resume them."""
        assert self.consumer is not None
        nieuw = self.nieuw & self.consumer.assignment()
        self.nieuw.clear()
        started = time.monotonic()
        n = self.roll_forward()
        self._laad_geparkeerd(nieuw)
        self.geladen |= nieuw
        self.consumer.resume(*nieuw)
        self.parkeren.gauge()
        log.info(
            "instance %d: took over %d partition(s) in %.1f s (rolled forward %d event(s); %d parked waiting)",
            self.instance,
            len(nieuw),
            time.monotonic() - started,
            n,
            len(self.memory.plaats),
        )

    def _laad_geparkeerd(self, tps: set[TopicPartition]) -> None:
        """Fold the parked partitions of ``tps`` (to their end, past open transactions) and take over their entries."""
        partities = sorted({tp.partition % max(self.parkeren.partities, 1) for tp in tps})
        if not partities:
            return
        reader = lezer(self.config.bootstrap, f"{self.config.group}-parked-{self.instance}")
        fold = Parkeerplaats()
        try:
            ptps = [TopicPartition(self.topics.parked, p) for p in partities]
            reader.assign(ptps)
            reader.seek_to_beginning(*ptps)
            lees_tot(
                reader,
                hoogwater(self.config.bootstrap, ptps),
                lambda _tp, rec: fold.vouw(json.loads(rec.value)),
                "parked topic",
                self.controleer_transacties,
            )
        finally:
            reader.close()
        plaats = self.memory.plaats
        for g in plaats.neem_over(fold, {(tp.topic, tp.partition) for tp in tps}):
            _, record = codec.decode(g.waarde)  # the ingress bytes: re-keyed again, as on arrival
            plaats.zet(
                dataclasses.replace(g, record=pseudoniemen.herschrijf(record, self.config.registry_pseudonym_key))
            )
            self.memory.opnieuw.add(g.event_id)  # what it waits for may have come while no one owned it

    def toewijzing_definitief(self) -> bool:
        """Whether idling on this assignment means the work is done (``groep.definitief``)."""
        assert self.consumer is not None
        return groep.definitief(self.consumer, self.toewijzing_sinds)

    def herstel(self) -> None:
        """A rebalance fenced the transaction (KIP-447: the partitions may belong to another instance now), which
        is aborted: forget what judging it changed in memory: state from the last snapshot, parked entries and
        ingress positions from what was committed; the partitions are handed over again before their next record."""
        assert self.consumer is not None and self.volger is not None
        self.memory.staat, offsets = self.store.load()
        self.volger.close()
        self.volger = self._volger(offsets)
        self.memory.plaats, self.memory.opnieuw, self.geladen = Parkeerplaats(), set(), set()
        assigned = set(self.consumer.assignment())
        for tp in assigned:
            committed = self.consumer.committed(tp)
            if committed is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, committed)
        self.consumer.pause(*assigned)
        self.nieuw = assigned
