"""The validator's hand-over on rebalance: a mixin of ``consumers.validator.Validator``.

Partitions the group gives an instance stay paused until the state is rolled forward to the canonical log's end
and the parked entries of those partitions are loaded from the parked topic, so no record of them is judged on
another instance's stale view; partitions taken away drop their parked entries (their new owner loads them).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from consumers import groep
from consumers.parkeer import Beoordeling
from consumers.validator_staat import StateStore, ValidatorConfig
from consumers.volger import CanoniekeVolger, hoogwater, lees_tot, lezer
from registry.domein import pseudoniemen
from registry.domein.parkeren import Parkeerplaats, vervult
from registry.domein.staat import Staat, pas_toe
from registry.infra import codec
from registry.infra import topics as topics_mod
from registry.infra.gegevenskluis import Gegevenskluis
from registry.infra.topics import Topics

log = logging.getLogger("praktijkregister.validator")


class Overdracht(Beoordeling):
    """Rolling forward and taking over partitions; the state it needs is set up by ``Validator``."""

    config: ValidatorConfig
    instance: int
    topics: Topics
    store: StateStore
    staat: Staat
    plaats: Parkeerplaats
    kluis: Gegevenskluis
    consumer: KafkaConsumer | None
    volger: CanoniekeVolger | None
    parked_partities: int
    nieuw: set[TopicPartition]  # assigned, paused until handed over
    geladen: set[TopicPartition]  # ingress partitions whose parked entries are in ``plaats``
    opnieuw: set[str]  # parked event ids to judge again (a dependency may have come)
    toewijzing_sinds: float  # when the group last gave or took partitions (time.monotonic)
    controleer_transacties: Callable[[], None]  # aborts hanging transactions (``Validator``); called while waiting

    def _parked_topic(self) -> None:
        """Create the parked topic like the others if it is missing; remember its partition count."""
        reader = lezer(self.config.bootstrap, f"{self.config.group}-meta-{self.instance}")
        try:
            if not reader.partitions_for_topic(self.topics.parked):
                partitions = len(reader.partitions_for_topic(self.topics.events) or ()) or 6
                topics_mod.create(self.config.bootstrap, partitions, [], self.topics.prefix)
            self.parked_partities = len(reader.partitions_for_topic(self.topics.parked) or ())
        finally:
            reader.close()

    def roll_forward(self) -> int:
        """Apply every canonical event written before now that the state does not hold yet (idempotent on event_id)."""
        assert self.volger is not None
        n = self.volger.tot_het_einde(self._gevolgd, self.controleer_transacties)
        self.store.save(self.staat, self.volger.posities)
        return n

    def _gevolgd(self, event_type: str, record: Mapping[str, Any]) -> None:
        """A canonical event read back from the log (another instance's, or one from before a restart)."""
        if record["event_id"] in self.staat.event_ids:
            return
        pas_toe(self.staat, event_type, record)
        if event_type == "DeelnemerGegevensVerwijderd":  # committed before a crash (or by another instance)
            self.kluis.vernietig(str(record["deelnemer"]))
        for key in vervult(event_type, record):  # parked events of ours it may release
            self.opnieuw.update(g.event_id for g in self.plaats.wachtend_op(key))

    def ingetrokken(self, tps: set[TopicPartition]) -> None:
        """Partitions taken away: forget their parked entries (no transaction is open during a poll)."""
        self.nieuw -= tps
        self.toewijzing_sinds = time.monotonic()
        weg = {(tp.topic, tp.partition) for tp in tps & self.geladen}
        self.geladen -= tps
        n = self.plaats.laat_los(weg)
        if not self.geladen:  # all gone (the range assignor revokes everything): start the counters afresh too
            self.plaats = Parkeerplaats()
        log.info("instance %d: %d partition(s) revoked, %d parked entries handed over", self.instance, len(tps), n)

    def toegewezen(self, tps: set[TopicPartition]) -> None:
        """Partitions given: paused until ``neem_over`` (no record of them is judged before)."""
        assert self.consumer is not None
        nieuw = tps - self.geladen
        self.consumer.pause(*nieuw)
        self.nieuw |= nieuw
        self.toewijzing_sinds = time.monotonic()

    def verweesd(self) -> None:
        """Assigned partitions that are paused but not waiting for a hand-over (the rebalance callback runs on the
        consumer's IO thread: a pause that raced a hand-over in progress was never resumed, and the drain then saw
        18 partitions assigned, none read, for ever): hand them over (again). Handing one over twice is harmless
        (parked entries are kept by event id)."""
        assert self.consumer is not None
        weg = (set(self.consumer.paused()) & self.consumer.assignment()) - self.nieuw
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
        self._gauge()
        log.info(
            "instance %d: took over %d partition(s) in %.1f s (rolled forward %d event(s); %d parked waiting)",
            self.instance,
            len(nieuw),
            time.monotonic() - started,
            n,
            len(self.plaats),
        )

    def _laad_geparkeerd(self, tps: set[TopicPartition]) -> None:
        """Fold the parked partitions of ``tps`` (to their end, past open transactions) and take over their entries."""
        partities = sorted({tp.partition % max(self.parked_partities, 1) for tp in tps})
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
        for g in self.plaats.neem_over(fold, {(tp.topic, tp.partition) for tp in tps}):
            _, record = codec.decode(g.waarde)  # the ingress bytes: re-keyed again, as on arrival
            self.plaats.zet(
                dataclasses.replace(g, record=pseudoniemen.herschrijf(record, self.config.registry_pseudonym_key))
            )
            self.opnieuw.add(g.event_id)  # what it waits for may have come while no one owned it

    def toewijzing_definitief(self) -> bool:
        """Whether idling on this assignment means the work is done (``groep.definitief``)."""
        assert self.consumer is not None
        return groep.definitief(self.consumer, self.toewijzing_sinds)

    def _herstel(self, exc: Exception) -> None:
        """A rebalance fenced this transaction (KIP-447: the partitions may belong to another instance now): abort
        it and forget what judging it changed in memory: state from the last snapshot, parked entries and ingress
        positions from what was committed; the partitions are handed over again before their next record."""
        assert self.consumer is not None and self.producer is not None and self.volger is not None
        log.warning(
            "instance %d: transaction not committed (%s): aborted; state rebuilt from the last commit",
            self.instance,
            type(exc).__name__,
        )
        self.producer.abort_transaction()
        self.te_vernietigen.clear()
        self.te_legen.clear()
        self.staat, offsets = self.store.load()
        self.volger.close()
        self.volger = CanoniekeVolger(
            self.config.bootstrap, self.topics.events, offsets, f"{self.config.group}-volger-{self.instance}"
        )
        self.plaats, self.geladen, self.opnieuw = Parkeerplaats(), set(), set()
        assigned = set(self.consumer.assignment())
        for tp in assigned:
            committed = self.consumer.committed(tp)
            if committed is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, committed)
        self.consumer.pause(*assigned)
        self.nieuw = assigned
