"""The ingress validator: partners' submissions -> one canonical, trustworthy log.

Per poll batch, in ONE Kafka transaction: decode, judge (registry.regels), append
accepted events to ``<prefix>.events``, refusals to ``.rejections``, undecodable
bytes to ``.deadletter``, and commit the ingress offsets (send_offsets_to_transaction).

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
transaction as its acceptance or refusal. On start the parked set is the fold of the parked topic
(read_committed), so a SIGKILL at any moment neither loses nor releases anything twice. An event parked
longer than ``park_timeout`` (validator clock = recorded_at) is refused with its reason, also when idle.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import signal
from typing import Any, Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.structs import OffsetAndMetadata
from sqlalchemy import Engine

from registry.infra.kafka import client_config
from consumers.eigen_weigeringen import EigenWeigeringen
from consumers.gegevens import Herversleutelaar, lees_private_key
from consumers.parkeer import Beoordeling
from consumers.validator_staat import StateStore, ValidatorConfig
from registry.domein import pseudoniemen
from registry.domein.parkeren import Parkeerplaats
from registry.domein.staat import Staat, pas_toe
from registry.infra import codec
from registry.infra import settings as settings_mod
from registry.infra.gegevenskluis import Gegevenskluis
from registry.infra import topics as topics_mod
from registry.infra.topics import Topics, batches_to_end, caught_up

__all__ = ["StateStore", "Validator", "ValidatorConfig"]

log = logging.getLogger("praktijkregister.validator")


class Validator(Beoordeling):
    def __init__(self, config: ValidatorConfig, engine: Engine, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.config = config
        self.topics = Topics(config.prefix)
        self.store = StateStore(engine, config.schema)
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.staat = Staat()
        self.offsets: dict[int, int] = {}
        self.plaats = Parkeerplaats()
        if not config.registry_pseudonym_key:
            raise ValueError("the validator needs the registry pseudonym key (PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE; "
                             "`praktijkregister keys init` creates it)")
        self.producer: KafkaProducer | None = None
        self.consumer: KafkaConsumer | None = None
        self.stopping = False
        # issue 12 erasure: sealed persoonsgegevens -> the deelnemer's data key (consumers/gegevens.py)
        s = settings_mod.load()
        self.kluis = Gegevenskluis.from_file(engine, config.master_key_file or s.master_key_file, config.schema)
        self.herversleutelaar = Herversleutelaar(lees_private_key(config.private_key_file or s.private_key_file), self.kluis)
        self.te_vernietigen: list[str] = []
        self.eigen_weigeringen = EigenWeigeringen(self.topics, lambda: set(self.consumer.topics()) if self.consumer else set())

    # ---- start-up: settle, roll forward, subscribe -------------------------------------------
    def start(self) -> None:
        self.producer = KafkaProducer(
            **client_config(self.config.bootstrap), transactional_id=f"{self.config.group}-0",
            acks="all", enable_idempotence=True, linger_ms=5, batch_size=512 * 1024,
            client_id=f"{self.config.group}-producer",
        )
        self.producer.init_transactions()  # fences and settles a previous incarnation's transaction
        self.store.ensure()
        self.kluis.ensure()
        self.staat, self.offsets = self.store.load()
        n = self.roll_forward()
        log.info("state loaded; rolled forward %d canonical event(s)", n)
        self.load_parked()
        log.info("%d parked submission(s) waiting", len(self.plaats))
        self.consumer = KafkaConsumer(
            **client_config(self.config.bootstrap), group_id=self.config.group, enable_auto_commit=False,
            isolation_level="read_committed", auto_offset_reset="earliest", max_poll_records=self.config.max_poll_records,
            # range assignment keeps partition i of every co-partitioned ingress topic on one instance
            partition_assignment_strategy=[RangePartitionAssignor], metadata_max_age_ms=3000,
            fetch_max_bytes=32 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024,
            client_id=f"{self.config.group}-consumer",
        )
        self.consumer.subscribe(pattern=self.topics.ingress_pattern)

    def roll_forward(self) -> int:
        """Apply canonical events the stored state does not cover yet (idempotent on event_id)."""
        reader = KafkaConsumer(**client_config(self.config.bootstrap), group_id=None, enable_auto_commit=False,
                               isolation_level="read_committed", max_poll_records=5000)
        parts = reader.partitions_for_topic(self.topics.events) or set()
        tps = [TopicPartition(self.topics.events, p) for p in sorted(parts)]
        applied = 0
        if tps:
            reader.assign(tps)
            for tp in tps:
                reader.seek(tp, self.offsets.get(tp.partition, 0))
            for tp, records in batches_to_end(reader, tps):
                for rec in records:
                    event_type, record = codec.decode(rec.value)
                    pas_toe(self.staat, event_type, record)
                    if event_type == "DeelnemerGegevensVerwijderd":  # committed before a crash deleted its key
                        self.kluis.vernietig(str(record["deelnemer"]))
                    applied += 1
                self.offsets[tp.partition] = records[-1].offset + 1
            for tp in tps:  # past trailing transaction markers too
                self.offsets[tp.partition] = max(self.offsets.get(tp.partition, 0), reader.position(tp))
        reader.close()
        self.store.save(self.staat, self.offsets)
        return applied

    def load_parked(self) -> None:
        """The parked set: the fold of the parked topic (created like the others if missing)."""
        reader = KafkaConsumer(**client_config(self.config.bootstrap), group_id=None, enable_auto_commit=False,
                               isolation_level="read_committed", max_poll_records=5000)
        try:
            if not reader.partitions_for_topic(self.topics.parked):
                partitions = len(reader.partitions_for_topic(self.topics.events) or ()) or 6
                topics_mod.create(self.config.bootstrap, partitions, [], self.topics.prefix)
            parts = reader.partitions_for_topic(self.topics.parked) or set()
            tps = [TopicPartition(self.topics.parked, p) for p in sorted(parts)]
            plaats = Parkeerplaats()
            if tps:
                reader.assign(tps)
                reader.seek_to_beginning(*tps)
                for _tp, records in batches_to_end(reader, tps):
                    for rec in records:
                        plaats.vouw(json.loads(rec.value))
        finally:
            reader.close()
        for g in list(plaats.entries.values()):
            _, record = codec.decode(g.waarde)  # the ingress bytes: re-keyed again, as on arrival (issue 12)
            plaats.zet(dataclasses.replace(g, record=pseudoniemen.herschrijf(record, self.config.registry_pseudonym_key)))
        self.plaats = plaats
        self._gauge()

    # ---- the loop ------------------------------------------------------------------------------
    def run(self, idle_exit_after: float | None = None) -> None:
        """Validate until SIGTERM/SIGINT (or, with ``idle_exit_after``, until idle that long)."""
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        idle_since = self.clock()
        while not self.stopping:
            n = self.run_once()
            if n or not self.caught_up():
                idle_since = self.clock()
            elif idle_exit_after is not None and (self.clock() - idle_since).total_seconds() >= idle_exit_after:
                break
        self.close()

    def run_once(self, timeout_ms: int = 500) -> int:
        assert self.consumer is not None and self.producer is not None
        batch = self.consumer.poll(timeout_ms=timeout_ms)
        now = self.clock()
        verlopen = self.plaats.verlopen(now, self.config.park_timeout)
        if not batch and not verlopen:
            return 0
        producer = self.producer
        producer.begin_transaction()
        self.te_vernietigen.clear()
        futures: list[Any] = []
        offsets = {}
        n = 0
        if verlopen:
            futures += self._verloop(now)
        for tp, records in batch.items():
            partner = self.topics.partner_of(tp.topic)
            for rec in records:
                futures += self._handle(rec, partner, now)
                n += 1
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        if offsets:
            producer.send_offsets_to_transaction(offsets, self.consumer.group_metadata())
        producer.commit_transaction()
        for deelnemer in self.te_vernietigen:  # the erasures are in the log now: their data keys go
            self.kluis.vernietig(deelnemer)
        self.te_vernietigen.clear()
        self._gauge()
        for f in futures:
            md = f.get()
            self.offsets[md.partition] = max(self.offsets.get(md.partition, 0), md.offset + 1)
        self.store.save(self.staat, self.offsets)
        return n

    def drain(self, idle_polls: int = 2) -> int:
        """Validate until caught up with every assigned ingress partition (demo, tests, bench)."""
        total, idle = 0, 0
        while idle < idle_polls:
            n = self.run_once(timeout_ms=300)
            total += n
            idle = 0 if n else (idle + 1 if self.caught_up() else 0)
        return total

    def caught_up(self) -> bool:
        """True once partitions are assigned and every one is read to its end."""
        assert self.consumer is not None
        assigned = list(self.consumer.assignment())
        return bool(assigned) and caught_up(self.consumer, assigned)

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
        if self.producer is not None:
            self.producer.close()
