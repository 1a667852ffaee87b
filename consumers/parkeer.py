"""The validator's parking service (registry.domein.parkeren over Kafka sends).

What waits for another event is parked: a ``geparkeerd`` record on ``<prefix>.parked`` (in the poll's transaction),
and a notice on the partner's own topic. When it is judged again, its ``opgelost`` marker ends it; when it waited
longer than the time-out, it is refused with its reason. The parked set itself (``Parkeerplaats``) lives in the
validator's ``Memory``, shared with the judge and the hand-over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol

from consumers import dead_letter, gegevens
from consumers.validator_config import Memory
from registry.domein import parkeren, pseudoniemen, relaties
from registry.domein.parkeren import Geparkeerd, voor_partner
from registry.domein.regels import Besluit
from registry.infra import codec, metrics
from registry.infra.topics import Topics


class Sender(Protocol):
    """The open transaction's producer: what the validator's collaborators send in it."""

    def send(self, topic: str, *, key: bytes | None, value: bytes, partition: int | None = None) -> Any: ...


class PartnerTopics(Protocol):
    """``<prefix>.rejections.<partner>`` when it exists (consumers/eigen_weigeringen.py)."""

    def topic(self, partner: str) -> str | None: ...


class Herversleutelen(Protocol):
    """Sealed persoonsgegevens -> the deelnemer's data key (consumers/gegevens.py)."""

    def herversleutel(self, record: Any) -> dict[str, Any]: ...

    def parkeerbaar(self, deelnemer: str, sealed: bytes) -> bytes: ...


class Parkeerdienst:
    """Parks, releases and expires submissions; tells the partner what it sent that waits and how that ended."""

    def __init__(
        self,
        topics: Topics,
        memory: Memory,
        sender: Sender,
        partner_topics: PartnerTopics,
        herversleutelaar: Herversleutelen,
        park_timeout: dt.timedelta,
    ) -> None:
        self.topics, self.memory, self.sender = topics, memory, sender
        self.partner_topics, self.herversleutelaar, self.park_timeout = partner_topics, herversleutelaar, park_timeout
        self.partities = 0  # the parked topic's partition count (set once the topic is known)

    def partitie(self, g: Geparkeerd) -> int | None:
        """The parked topic's partition of ``g``: its ingress partition, so its owner finds it there."""
        _, partition = g.ingress
        return partition % self.partities if partition >= 0 and self.partities else None

    def parkeer(self, g: Geparkeerd, b: Besluit, wacht_op: tuple[str, ...], nieuw: bool, now: dt.datetime) -> None:
        """Park ``g`` (a new arrival when ``nieuw``) on ``wacht_op``; a parked one that waits for something else now
        is parked again, one that waits for the same is left as it is."""
        herparkeerd = dataclasses.replace(g, wacht_op=wacht_op, reden=b.reden or "", melding=b.melding)
        if nieuw:
            herparkeerd = dataclasses.replace(herparkeerd, waarde=self._parkeerbare_waarde(g))
        if nieuw or herparkeerd.wacht_op != g.wacht_op or herparkeerd.reden != g.reden:
            self.sender.send(
                self.topics.parked, key=g.key, value=dead_letter.j(herparkeerd.to_json()), partition=self.partitie(g)
            )
            self.meld_partner(herparkeerd, dead_letter.parkeermelding(herparkeerd, self.partner_pseudoniem(g), now))
        if nieuw:
            metrics.SUBMISSIONS.labels("geparkeerd").inc()
            metrics.PARKING_ACTIONS.labels("geparkeerd").inc()
        self.memory.plaats.zet(herparkeerd)

    def los_op(self, g: Geparkeerd, uit: str, reden: str | None, now: dt.datetime, actie: str) -> None:
        """End a parked entry (``uit``: geaccepteerd | geweigerd) with its ``opgelost`` marker."""
        einde = dead_letter.j(parkeren.opgelost(g, uit, reden, now))
        self.sender.send(self.topics.parked, key=g.key, value=einde, partition=self.partitie(g))
        self.meld_partner(g, einde)
        self.memory.plaats.verwijder(g.event_id, uit)
        metrics.PARKING_ACTIONS.labels(actie).inc()

    def verloop(self, now: dt.datetime) -> tuple[Geparkeerd, Besluit] | None:
        """The oldest entry parked longer than the time-out, ended, with the refusal it gets; None: none."""
        verlopen = self.memory.plaats.verlopen(now, self.park_timeout)
        if not verlopen:
            return None
        g = verlopen[0]
        wacht = voor_partner(g.wacht_op, g.deelnemer, self.partner_pseudoniem(g))
        b = Besluit(g.reden, f"still waiting for {', '.join(wacht)} after {self.park_timeout}: {g.melding}")
        self.los_op(g, "geweigerd", g.reden, now, "verlopen")
        return g, b

    def meld_partner(self, g: Geparkeerd, value: bytes) -> None:
        """To the partner's own topic, the one it may read: its refusals, and what it sent that waits (and how that
        ended), always with its own pseudonym, never the registry's. An erasure that waits for sbb's confirmation is
        told to sbb too (sbb has a relation with every deelnemer)."""
        for ontvanger in {g.partner} | ({relaties.SBB} if g.reden == relaties.WACHT_OP_SBB else set()):
            eigen = self.partner_topics.topic(ontvanger)
            if eigen is not None:
                self.sender.send(eigen, key=g.partner.encode(), value=value)

    def partner_pseudoniem(self, g: Geparkeerd) -> str | None:
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

    def gauge(self) -> None:
        """``praktijk_parked_events{reden}``: what waits now."""
        per_reden: dict[str, int] = {}
        for (_partner, reden), n in self.memory.plaats.tellingen().items():
            per_reden[reden] = per_reden.get(reden, 0) + n
        metrics.PARKED.clear()
        for reden, n in per_reden.items():
            metrics.PARKED.labels(reden).set(n)
