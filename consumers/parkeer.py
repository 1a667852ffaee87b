"""The validator's judging and parking adapter (registry.domein.parkeren over Kafka sends).

A mixin of ``consumers.validator.Validator``: it decides per record (decode, duplicate, judge, park,
release what an acceptance satisfies, expire) and sends the outcome inside the poll's transaction.
Every record's failure is handled on its own (``handle``): too large or undecodable bytes and any
unexpected error while judging become a bounded dead letter with a reason; the batch goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from kafka import KafkaProducer
from prometheus_client import Counter, Gauge

from consumers import dead_letter, gegevens
from consumers.eigen_weigeringen import EigenWeigeringen
from consumers.validator_staat import ValidatorConfig
from producers.publisher import partition_of
from registry.domein import events, parkeren, pseudoniemen, relaties
from registry.domein.parkeren import Geparkeerd, Parkeerplaats, beslis, vervult, voor_partner
from registry.domein.regels import Besluit
from registry.domein.staat import Staat, pas_toe
from registry.infra import codec, metrics
from registry.infra.codec import DecodeError
from registry.infra.topics import Topics

log = logging.getLogger("praktijkregister.validator")

UITKOMSTEN = Counter(
    "praktijk_validator_submissions_total", "Ingress submissions by outcome", ["uitkomst"]
)  # geaccepteerd | geweigerd | deadletter | duplicaat | geparkeerd
WEIGERINGEN = Counter("praktijk_validator_rejections_total", "Refused submissions by reason code", ["reden"])
WAARSCHUWINGEN = Counter("praktijk_validator_warnings_total", "Accepted events with a warning", ["warning"])
DEADLETTERS = Counter("praktijk_validator_deadletters_total", "Dead letters by reason code", ["reden"])
GEPARKEERD = Gauge("praktijk_parked_events", "Submissions parked waiting for a dependency, by reason code", ["reden"])
PARKEERACTIES = Counter(
    "praktijk_validator_parking_total", "Parkings, re-parkings and releases", ["actie"]
)  # geparkeerd | vrijgegeven | verlopen


class Beoordeling:
    """Judging and parking; the state it needs is set up by ``Validator``."""

    config: ValidatorConfig
    topics: Topics
    staat: Staat
    plaats: Parkeerplaats
    producer: KafkaProducer | None
    eigen_weigeringen: EigenWeigeringen
    herversleutelaar: gegevens.Herversleutelaar
    te_vernietigen: list[str]  # deelnemers whose data key is deleted after the transaction commits
    te_legen: set[int]  # ingress partitions of this batch's erasures: their validated records go after the commit
    tellers: metrics.Telbuffer  # the batch's counter increments, added when it ends
    canonieke_partities: tuple[int, ...]  # the canonical topic's partitions, looked up once per batch

    def _parkeer_partitie(self, g: Geparkeerd) -> int | None:
        """The parked topic's partition for ``g`` (None: by key); the validator puts it with its ingress partition."""
        return None

    def _herversleutel(self, record: Any) -> dict[str, Any]:
        return self.herversleutelaar.herversleutel(record)

    def _handle(self, rec: Any, partner: str, now: dt.datetime) -> list[Any]:
        """One ingress record, whatever its bytes: never raises for a record (a bug becomes ``interne_fout``)."""
        size = len(rec.value or b"") + len(rec.key or b"")
        if size > self.config.max_record_bytes:  # only an ingress topic made without the limit lets one through
            metrics.INGRESS_RECORDS.labels(partner, metrics.ONLEESBAAR).inc()
            return self._dead(
                rec,
                partner,
                dead_letter.TE_GROOT,
                f"record of {size} bytes is larger than the ingress limit of {self.config.max_record_bytes}",
                now,
            )
        try:
            event_type, record = codec.decode(rec.value)
        except DecodeError as exc:
            metrics.INGRESS_RECORDS.labels(partner, metrics.ONLEESBAAR).inc()
            return self._dead(rec, partner, dead_letter.ONLEESBAAR, str(exc), now)
        except Exception as exc:  # hostile bytes may trip the Avro reader in ways it does not wrap
            metrics.INGRESS_RECORDS.labels(partner, metrics.ONLEESBAAR).inc()
            return self._dead(rec, partner, dead_letter.ONLEESBAAR, f"{type(exc).__name__}: {exc}", now)
        self.tellers.tel(metrics.INGRESS_RECORDS, partner, event_type)
        try:
            # partner pseudonym -> registry pseudonym, an invalid identifier -> a marker, BEFORE judging,
            # state, parking, rejections or the canonical log see the record
            record = pseudoniemen.herschrijf(record, self.config.registry_pseudonym_key)
            if record.get("event_id") in self.staat.event_ids or record.get("event_id") in self.plaats:
                self.tellers.tel(
                    UITKOMSTEN, "duplicaat"
                )  # a resubmission (of an accepted or a parked event): silent no-op
                return []
            nieuw = Geparkeerd(
                str(record["event_id"]),
                event_type,
                partner,
                record.get("deelnemer"),
                self.plaats.volgende,
                (),
                "",
                "",
                now,
                rec.value,
                rec.key,
                dead_letter.bron(rec),
                record,
            )
            return self._judge(nieuw, now, parked=False)
        except Exception as exc:
            # Never exit on a record: keep it as a dead letter and go on with the batch. Only the exception's
            # type is logged (its text may quote the record).
            log.exception(
                "internal error judging %s p%d@%d (%s): dead-lettered",
                rec.topic,
                rec.partition,
                rec.offset,
                type(exc).__name__,
            )
            return self._dead(rec, partner, dead_letter.INTERNE_FOUT, type(exc).__name__, now)

    def _dead(self, rec: Any, partner: str, reden: str, fout: str, now: dt.datetime) -> list[Any]:
        assert self.producer is not None
        UITKOMSTEN.labels("deadletter").inc()
        DEADLETTERS.labels(reden).inc()
        metrics.DEADLETTERS.inc()
        self.producer.send(
            self.topics.deadletter,
            key=rec.key if rec.key is None or len(rec.key) <= 1024 else None,
            value=dead_letter.deadletter(rec, partner, reden, fout, now, self.config.deadletter_prefix_bytes),
        )
        return []

    def _judge(self, g: Geparkeerd, now: dt.datetime, parked: bool) -> list[Any]:
        """Judge a new arrival or a released parked event (``parked``); release what its acceptance satisfies."""
        assert self.producer is not None and g.record is not None
        futures: list[Any] = []
        queue: list[str] = []
        uitkomst = beslis(
            self.staat, self.plaats, g.event_type, g.record, g.partner, now, g.volgorde if parked else None
        )
        b = uitkomst.besluit
        if uitkomst.soort == "parkeer":
            herparkeerd = dataclasses.replace(g, wacht_op=uitkomst.wacht_op, reden=b.reden or "", melding=b.melding)
            if not parked:
                herparkeerd = dataclasses.replace(herparkeerd, waarde=self._parkeerbare_waarde(g))
            if not parked or herparkeerd.wacht_op != g.wacht_op or herparkeerd.reden != g.reden:
                self.producer.send(
                    self.topics.parked,
                    key=g.key,
                    value=dead_letter.j(herparkeerd.to_json()),
                    partition=self._parkeer_partitie(g),
                )
                self._meld_partner(
                    herparkeerd, dead_letter.parkeermelding(herparkeerd, self._partner_pseudoniem(g), now)
                )
            if not parked:
                UITKOMSTEN.labels("geparkeerd").inc()
                PARKEERACTIES.labels("geparkeerd").inc()
            self.plaats.zet(herparkeerd)
            return futures
        if uitkomst.soort == "accepteer" and g.record.get("persoonsgegevens"):
            try:  # partner-sealed -> the deelnemer's data key, before anything is sent
                g = dataclasses.replace(g, record=self._herversleutel(g.record))
            except gegevens.Onopenbaar:  # not sealed to this registry: never copied into the log, the event counts
                g = dataclasses.replace(g, record={**(g.record or {}), "persoonsgegevens": None})
                b = dataclasses.replace(b, warnings=b.warnings + (gegevens.ONLEESBAAR,))
        assert g.record is not None
        if parked:
            uit = "geaccepteerd" if uitkomst.soort == "accepteer" else "geweigerd"
            einde = parkeren.opgelost(g, uit, b.reden, now)
            self.producer.send(
                self.topics.parked, key=g.key, value=dead_letter.j(einde), partition=self._parkeer_partitie(g)
            )
            self._meld_partner(g, dead_letter.j(einde))
            self.plaats.verwijder(g.event_id, uit)
            PARKEERACTIES.labels("vrijgegeven").inc()
            queue.append(f"na:{g.event_id}")
        if uitkomst.soort == "weiger":
            futures += self._refuse(g, b, now)
        else:
            futures += self._accept(g, b, now)
            queue += sorted(vervult(g.event_type, g.record))
        for key in queue:
            futures += self._release(key, now)
        return futures

    def _release(self, key: str, now: dt.datetime) -> list[Any]:
        futures: list[Any] = []
        for g in self.plaats.wachtend_op(key):
            if g.event_id in self.plaats and key in self.plaats.entries[g.event_id].wacht_op:
                futures += self._judge(self.plaats.entries[g.event_id], now, parked=True)
        return futures

    def _verloop(self, now: dt.datetime) -> list[Any]:
        """Refuse, with their reason, the events parked longer than the time-out (oldest first)."""
        assert self.producer is not None
        futures: list[Any] = []
        while True:
            verlopen = self.plaats.verlopen(now, self.config.park_timeout)
            if not verlopen:
                return futures
            g = verlopen[0]
            wacht = voor_partner(g.wacht_op, g.deelnemer, self._partner_pseudoniem(g))
            b = Besluit(g.reden, f"still waiting for {', '.join(wacht)} after {self.config.park_timeout}: {g.melding}")
            einde = parkeren.opgelost(g, "geweigerd", g.reden, now)
            self.producer.send(
                self.topics.parked, key=g.key, value=dead_letter.j(einde), partition=self._parkeer_partitie(g)
            )
            self._meld_partner(g, dead_letter.j(einde))
            self.plaats.verwijder(g.event_id, "geweigerd")
            PARKEERACTIES.labels("verlopen").inc()
            futures += self._refuse(g, b, now)
            futures += self._release(f"na:{g.event_id}", now)

    def _refuse(self, g: Geparkeerd, b: Besluit, now: dt.datetime) -> list[Any]:
        assert self.producer is not None and g.record is not None
        UITKOMSTEN.labels("geweigerd").inc()
        WEIGERINGEN.labels(b.reden or "").inc()
        metrics.REJECTIONS.labels(b.reden or "").inc()
        record = g.record
        if b.reden == "gegevens_verwijderd":  # the refusal does not name the erased deelnemer again
            record = dict(record, deelnemer=gegevens.VERWIJDERD)
        value = dead_letter.rejection(g.event_type, record, g.partner, b, g.bron, now)
        self.producer.send(self.topics.rejections, key=g.partner.encode(), value=value)
        if record.get("deelnemer") and b.reden != "gegevens_verwijderd":  # the partner reads its own pseudonym back
            record = dict(record, deelnemer=self._partner_pseudoniem(g))
        self._meld_partner(g, dead_letter.rejection(g.event_type, record, g.partner, b, g.bron, now))
        return []

    def _meld_partner(self, g: Geparkeerd, value: bytes) -> None:
        """To the partner's own topic, the one it may read: its refusals, and what it sent that waits (and how that
        ended), always with its own pseudonym, never the registry's. An erasure that waits for sbb's confirmation is
        told to sbb too (sbb has a relation with every deelnemer)."""
        assert self.producer is not None
        for ontvanger in {g.partner} | ({relaties.SBB} if g.reden == relaties.WACHT_OP_SBB else set()):
            eigen = self.eigen_weigeringen.topic(ontvanger)
            if eigen is not None:
                self.producer.send(eigen, key=g.partner.encode(), value=value)

    def _partner_pseudoniem(self, g: Geparkeerd) -> str | None:
        """The deelnemer as the partner sent it (the ingress bytes), when it is a pseudonym; else what the registry
        made of it (a marker: an identifier that failed validation is never repeated)."""
        registry = g.record.get("deelnemer") if g.record is not None else g.deelnemer
        try:
            _, ingress = codec.decode(g.waarde)
        except Exception:  # noqa: BLE001 - an entry without its bytes: the marker below
            ingress = {}
        eigen = ingress.get("deelnemer")
        return str(eigen) if pseudoniemen.is_pseudoniem(eigen) else (None if registry is None else str(registry))

    def _parkeerbare_waarde(self, g: Geparkeerd) -> bytes:
        """The ingress bytes a parked entry keeps, with sealed persoonsgegevens re-encrypted under the deelnemer's
        data key: an erasure then makes the parked copy unreadable as well (bytes that do not open stay as sent)."""
        if g.record is None or not g.record.get("persoonsgegevens") or not g.record.get("deelnemer"):
            return g.waarde
        event_type, ingress = codec.decode(g.waarde)
        try:
            verzegeld = self.herversleutelaar.parkeerbaar(
                str(g.record["deelnemer"]), bytes(ingress["persoonsgegevens"])
            )
        except gegevens.Onopenbaar:
            return g.waarde
        return codec.encode(event_type, dict(ingress, persoonsgegevens=verzegeld))

    def _accept(self, g: Geparkeerd, b: Besluit, now: dt.datetime) -> list[Any]:
        assert self.producer is not None and g.record is not None
        record = relaties.zonder_verwijderden(self.staat, g.record) if g.event_type == events.TELLING else g.record
        canonical = dict(record, recorded_at=now, warnings=list(b.warnings))
        if b.volgnummer is not None:
            canonical["volgnummer"] = b.volgnummer
        for w in b.warnings:
            self.tellers.tel(WAARSCHUWINGEN, w)
        value = codec.encode(g.event_type, canonical)  # before the state changes: a failure here leaves no trace
        key = events.key(g.event_type, canonical)
        self.tellers.tel(UITKOMSTEN, "geaccepteerd")
        self.tellers.tel(metrics.CANONICAL_EVENTS, g.event_type)
        pas_toe(self.staat, g.event_type, canonical)
        if g.event_type == "DeelnemerGegevensVerwijderd":  # its data key goes once this transaction commits
            self.te_vernietigen.append(str(canonical["deelnemer"]))
            if int(g.bron.get("partition", -1)) >= 0:
                self.te_legen.add(int(g.bron["partition"]))
        # the partition kafka-python's default partitioner picks, cached per key (its murmur2 is pure Python)
        partition = None if key is None else partition_of(key, self.canonieke_partities)
        return [self.producer.send(self.topics.events, key=key, value=value, partition=partition)]

    def _gauge(self) -> None:
        per_reden: dict[str, int] = {}
        for (_partner, reden), n in self.plaats.tellingen().items():
            per_reden[reden] = per_reden.get(reden, 0) + n
        GEPARKEERD.clear()
        for reden, n in per_reden.items():
            GEPARKEERD.labels(reden).set(n)
