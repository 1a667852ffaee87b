"""The validator's judge: one ingress record in, its outcome sent inside the poll's transaction.

Per record: read it (the size limit, decode, re-key the deelnemer: consumers/voorlezer.py, usually done ahead by the
reading process), drop a duplicate, judge (registry.domein.parkeren.beslis over the rules), then accept (to the
canonical log), refuse (to the rejections topics) or park (through the parking service), and judge again what an
acceptance releases. Every record's failure is handled on its own (``handle``): too large or
undecodable bytes and any unexpected error while judging (a bug in a rule included) become a bounded dead letter
with a reason, never a refusal to the partner; the batch goes on.

Logs never hold record content: a failure is logged with its position, the exception's type and where it was
raised (file and line), never the exception's message or the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any, Protocol

from consumers import dead_letter, gegevens
from consumers.parkeer import Herversleutelen, Sender
from consumers.validator_config import Memory, ValidatorConfig
from consumers.voorlezer import FOUT, ONLEESBAAR, TE_GROOT, Gelezen, lees, waar
from producers.publisher import partition_of
from registry.domein import events, relaties
from registry.domein.parkeren import Geparkeerd, beslis, vervult
from registry.domein.regels import Besluit
from registry.domein.staat import pas_toe
from registry.infra import codec, metrics
from registry.infra.topics import Topics

log = logging.getLogger("praktijkregister.validator")


class Parkeren(Protocol):
    """What the judge asks of the parking service (consumers/parkeer.py)."""

    def parkeer(self, g: Geparkeerd, b: Besluit, wacht_op: tuple[str, ...], nieuw: bool, now: dt.datetime) -> None: ...

    def los_op(self, g: Geparkeerd, uit: str, reden: str | None, now: dt.datetime, actie: str) -> None: ...

    def verloop(self, now: dt.datetime) -> tuple[Geparkeerd, Besluit] | None: ...

    def meld_partner(self, g: Geparkeerd, value: bytes) -> None: ...

    def partner_pseudoniem(self, g: Geparkeerd) -> str | None: ...


class Beoordelaar:
    """Judges records and sends their outcome (into the batch's list, which the writer sends in its transaction:
    consumers/schrijver.py); the erasures of a batch wait in ``te_vernietigen``/``te_legen``, taken with the batch,
    until its transaction commits."""

    def __init__(
        self,
        config: ValidatorConfig,
        topics: Topics,
        memory: Memory,
        sender: Sender,
        parkeren: Parkeren,
        herversleutelaar: Herversleutelen,
    ) -> None:
        self.config, self.topics, self.memory, self.sender = config, topics, memory, sender
        self.parkeren, self.herversleutelaar = parkeren, herversleutelaar
        self.tellers = metrics.Telbuffer()  # the batch's counter increments, added when it ends
        self.canonieke_partities: tuple[int, ...] = ()  # the canonical topic's partitions, looked up once per batch
        self.te_vernietigen: list[str] = []  # deelnemers whose data key is deleted after the transaction commits
        self.te_legen: set[int] = set()  # ingress partitions of this batch's erasures, emptied after the commit

    def vergeet(self) -> None:
        """The transaction did not commit: its erasures did not happen."""
        self.te_vernietigen.clear()
        self.te_legen.clear()

    def handle(self, rec: Any, partner: str, now: dt.datetime, gelezen: Gelezen | None = None) -> list[Any]:
        """One ingress record, whatever its bytes: never raises for a record (a bug becomes ``interne_fout``).
        ``gelezen``: the record already read (consumers/voorlezer.py, in the reading process); read here if not."""
        if gelezen is None:
            gelezen = lees(rec.value, rec.key, self.config.max_record_bytes, self.config.registry_pseudonym_key)
        soort, a, b, romp = gelezen
        if soort == TE_GROOT:
            metrics.INGRESS_RECORDS.labels(partner, metrics.ONLEESBAAR).inc()
            return self._dead(
                rec,
                partner,
                dead_letter.TE_GROOT,
                f"record of {a} bytes is larger than the ingress limit of {self.config.max_record_bytes}",
                now,
            )
        if soort == ONLEESBAAR:
            metrics.INGRESS_RECORDS.labels(partner, metrics.ONLEESBAAR).inc()
            return self._dead(rec, partner, dead_letter.ONLEESBAAR, a, now)
        self.tellers.tel(metrics.INGRESS_RECORDS, partner, a)
        if soort == FOUT:  # re-keying failed (a bug): as any other error while judging
            return self._intern(rec, partner, b[0], b[1], now)
        try:
            return self._nieuw(rec, partner, a, b, now, romp)
        except Exception as exc:
            # a rule's own error is chained (registry.domein.regels.RegelFout)
            return self._intern(rec, partner, type(exc).__name__, waar(exc.__cause__ or exc), now)

    def _intern(self, rec: Any, partner: str, soort: str, plek: str, now: dt.datetime) -> list[Any]:
        """Never exit on a record: keep it as a dead letter and go on with the batch. Neither the log nor the dead
        letter gets the exception's message or traceback text: they may quote the record."""
        log.error(
            "internal error judging %s p%d@%d (%s at %s): dead-lettered",
            rec.topic,
            rec.partition,
            rec.offset,
            soort,
            plek,
        )
        return self._dead(rec, partner, dead_letter.INTERNE_FOUT, soort, now)

    def _nieuw(
        self, rec: Any, partner: str, event_type: str, record: dict[str, Any], now: dt.datetime, romp: bytes | None
    ) -> list[Any]:
        """A read record (already re-keyed): a duplicate is dropped, anything else judged."""
        if record.get("event_id") in self.memory.staat.event_ids or record.get("event_id") in self.memory.plaats:
            self.tellers.tel(metrics.SUBMISSIONS, "duplicaat")  # a resubmission (accepted or parked): a silent no-op
            return []
        nieuw = Geparkeerd.aangekomen(
            str(record["event_id"]),
            event_type,
            partner,
            record.get("deelnemer"),
            self.memory.plaats.volgende,
            now,
            rec.value,
            rec.key,
            dead_letter.bron(rec),
            record,
        )
        return self.judge(nieuw, now, parked=False, romp=romp)

    def _dead(self, rec: Any, partner: str, reden: str, fout: str, now: dt.datetime) -> list[Any]:
        metrics.SUBMISSIONS.labels("deadletter").inc()
        metrics.DEADLETTERS_BY_REASON.labels(reden).inc()
        metrics.DEADLETTERS.inc()
        self.sender.send(
            self.topics.deadletter,
            key=rec.key if rec.key is None or len(rec.key) <= 1024 else None,
            value=dead_letter.deadletter(rec, partner, reden, fout, now, self.config.deadletter_prefix_bytes),
        )
        return []

    def judge(self, g: Geparkeerd, now: dt.datetime, parked: bool, romp: bytes | None = None) -> list[Any]:
        """Judge a new arrival or a released parked event (``parked``); release what its acceptance satisfies.
        ``romp``: the arrival's bytes as read, but the registry's last two fields (consumers/voorlezer.py)."""
        assert g.record is not None
        plaats = self.memory.plaats
        uitkomst = beslis(
            self.memory.staat, plaats, g.event_type, g.record, g.partner, now, g.volgorde if parked else None
        )
        b = uitkomst.besluit
        if uitkomst.soort == "parkeer":
            self.parkeren.parkeer(g, b, uitkomst.wacht_op, not parked, now)
            return []
        if uitkomst.soort == "accepteer" and g.record.get("persoonsgegevens"):
            g, b = self._herversleuteld(g, b)
            romp = None  # sealed again: other bytes
        futures: list[Any] = []
        queue: list[str] = []
        if parked:
            uit = "geaccepteerd" if uitkomst.soort == "accepteer" else "geweigerd"
            self.parkeren.los_op(g, uit, b.reden, now, "vrijgegeven")
            queue.append(f"na:{g.event_id}")
        if uitkomst.soort == "weiger":
            futures += self._refuse(g, b, now)
        else:
            futures += self._accept(g, b, now, romp)
            queue += sorted(vervult(g.event_type, g.record or {}))
        for key in queue:
            futures += self._release(key, now)
        return futures

    def _herversleuteld(self, g: Geparkeerd, b: Besluit) -> tuple[Geparkeerd, Besluit]:
        """Partner-sealed persoonsgegevens -> the deelnemer's data key, before anything is sent."""
        try:
            return dataclasses.replace(g, record=self.herversleutelaar.herversleutel(g.record)), b
        except gegevens.Onopenbaar:  # not sealed to this registry: never copied into the log, the event counts
            g = dataclasses.replace(g, record={**(g.record or {}), "persoonsgegevens": None})
            return g, dataclasses.replace(b, warnings=b.warnings + (gegevens.ONLEESBAAR,))

    def _release(self, key: str, now: dt.datetime) -> list[Any]:
        futures: list[Any] = []
        plaats = self.memory.plaats
        for g in plaats.wachtend_op(key):
            if g.event_id in plaats and key in plaats.entries[g.event_id].wacht_op:
                futures += self.judge(plaats.entries[g.event_id], now, parked=True)
        return futures

    def verloop(self, now: dt.datetime) -> list[Any]:
        """Refuse, with their reason, the events parked longer than the time-out (oldest first)."""
        futures: list[Any] = []
        while (verlopen := self.parkeren.verloop(now)) is not None:
            g, b = verlopen
            futures += self._refuse(g, b, now)
            futures += self._release(f"na:{g.event_id}", now)
        return futures

    def _refuse(self, g: Geparkeerd, b: Besluit, now: dt.datetime) -> list[Any]:
        assert g.record is not None
        metrics.SUBMISSIONS.labels("geweigerd").inc()
        metrics.REJECTIONS.labels(b.reden or "").inc()
        record = g.record
        if b.reden == "gegevens_verwijderd":  # the refusal does not name the erased deelnemer again
            record = dict(record, deelnemer=gegevens.VERWIJDERD)
        value = dead_letter.rejection(g.event_type, record, g.partner, b, g.bron, now)
        self.sender.send(self.topics.rejections, key=g.partner.encode(), value=value)
        if record.get("deelnemer") and b.reden != "gegevens_verwijderd":  # the partner reads its own pseudonym back
            record = dict(record, deelnemer=self.parkeren.partner_pseudoniem(g))
        self.parkeren.meld_partner(g, dead_letter.rejection(g.event_type, record, g.partner, b, g.bron, now))
        return []

    def _accept(self, g: Geparkeerd, b: Besluit, now: dt.datetime, romp: bytes | None) -> list[Any]:
        assert g.record is not None
        staat = self.memory.staat
        record = relaties.zonder_verwijderden(staat, g.record) if g.event_type == events.TELLING else g.record
        canonical = dict(record, recorded_at=now, warnings=list(b.warnings))
        if b.volgnummer is not None:
            canonical["volgnummer"] = b.volgnummer
        for w in b.warnings:
            self.tellers.tel(metrics.WARNINGS, w)
        if romp is not None and record is g.record and b.volgnummer is None:
            # accepted as it was read: only the registry's own last two fields are new (codec.met_staart)
            value = codec.met_staart(romp, now, b.warnings)
        else:  # before the state changes: a failure here leaves no trace
            value = codec.encode(g.event_type, canonical)
        key = events.key(g.event_type, canonical)
        self.tellers.tel(metrics.SUBMISSIONS, "geaccepteerd")
        self.tellers.tel(metrics.CANONICAL_EVENTS, g.event_type)
        pas_toe(staat, g.event_type, canonical)
        if g.event_type == "DeelnemerGegevensVerwijderd":  # its data key goes once this transaction commits
            self.te_vernietigen.append(str(canonical["deelnemer"]))
            if int(g.bron.get("partition", -1)) >= 0:
                self.te_legen.add(int(g.bron["partition"]))
        # the partition kafka-python's default partitioner picks, cached per key (its murmur2 is pure Python)
        partition = None if key is None else partition_of(key, self.canonieke_partities)
        return [self.sender.send(self.topics.events, key=key, value=value, partition=partition)]
