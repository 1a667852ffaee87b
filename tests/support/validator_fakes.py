"""Small fakes of the validator's narrow interfaces (consumers/parkeer.py, beoordelaar.py, overdracht.py,
validator_config.py), so its collaborators are tested without Kafka or PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from kafka import TopicPartition
from kafka.structs import MemberState

from consumers.validator_config import Bevroren, ValidatorConfig
from registry.domein.parkeren import Geparkeerd
from registry.domein.regels import Besluit
from registry.domein.staat import Staat
from tests.support.pseudoniemen import REGISTRY_KEY

NU = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def config(**overrides: Any) -> ValidatorConfig:
    fields: dict[str, Any] = {"prefix": "t", "registry_pseudonym_key": REGISTRY_KEY} | overrides
    return ValidatorConfig([], "", **fields)


@dataclass
class Verzonden:
    topic: str
    key: bytes | None
    value: bytes
    partition: int | None


class FakeSender:
    """Records what is sent; a send answers a future-like object with its position."""

    def __init__(self) -> None:
        self.sent: list[Verzonden] = []

    def send(self, topic: str, *, key: bytes | None, value: bytes, partition: int | None = None) -> Any:
        self.sent.append(Verzonden(topic, key, value, partition))
        return len(self.sent)

    def naar(self, topic: str) -> list[Verzonden]:
        return [s for s in self.sent if s.topic == topic]


class FakePartnerTopics:
    """Every partner has its own rejections topic ``<prefix>.rejections.<partner>``."""

    def __init__(self, prefix: str = "t") -> None:
        self.prefix = prefix

    def topic(self, partner: str) -> str | None:
        return f"{self.prefix}.rejections.{partner}"


class FakeHerversleutelaar:
    """Seals nothing: a record with persoonsgegevens gets them marked as re-encrypted."""

    def herversleutel(self, record: Any) -> dict[str, Any]:
        return dict(record, persoonsgegevens=b"data-key:" + bytes(record["persoonsgegevens"]))

    def parkeerbaar(self, deelnemer: str, sealed: bytes) -> bytes:
        return b"data-key:" + sealed


@dataclass
class FakeParkeren:
    """The judge's view of the parking service: what it was asked to do."""

    geparkeerd: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)
    opgelost: list[tuple[str, str]] = field(default_factory=list)
    gemeld: list[tuple[str, bytes]] = field(default_factory=list)
    te_verlopen: list[tuple[Geparkeerd, Besluit]] = field(default_factory=list)

    def parkeer(self, g: Geparkeerd, b: Besluit, wacht_op: tuple[str, ...], nieuw: bool, now: dt.datetime) -> None:
        self.geparkeerd.append((g.event_id, wacht_op, nieuw))

    def los_op(self, g: Geparkeerd, uit: str, reden: str | None, now: dt.datetime, actie: str) -> None:
        self.opgelost.append((g.event_id, uit))

    def verloop(self, now: dt.datetime) -> tuple[Geparkeerd, Besluit] | None:
        return self.te_verlopen.pop(0) if self.te_verlopen else None

    def meld_partner(self, g: Geparkeerd, value: bytes) -> None:
        self.gemeld.append((g.partner, value))

    def partner_pseudoniem(self, g: Geparkeerd) -> str | None:
        return g.deelnemer


class FakeStore:
    """Snapshots in memory."""

    def __init__(self) -> None:
        self.saved: list[dict[int, int]] = []
        self.ensured = False

    def ensure(self) -> None:
        self.ensured = True

    def load(self) -> tuple[Staat, dict[int, int]]:
        return Staat(), {}

    def save(self, staat: Staat, offsets: dict[int, int]) -> None:
        self.schrijf(self.bevries(staat), offsets)

    def bevries(self, staat: Staat) -> Bevroren:
        staat.dirty.clear()
        staat.weg.clear()
        return Bevroren(None, None)

    def schrijf(self, bevroren: Bevroren, offsets: dict[int, int]) -> None:
        self.saved.append(dict(offsets))


class FakeKluis:
    def __init__(self) -> None:
        self.vernietigd: list[str] = []

    def ensure(self) -> None:
        pass

    def vernietig(self, deelnemer: str) -> bool:
        self.vernietigd.append(deelnemer)
        return True


@dataclass
class FakeParkeerstand:
    partities: int = 0
    gauges: int = 0

    def gauge(self) -> None:
        self.gauges += 1


class FakeGroupConsumer:
    """A group member's consumer: what it holds, what is paused, where it was sought."""

    def __init__(self, assigned: set[TopicPartition], paused: set[TopicPartition] | None = None) -> None:
        self.assigned = set(assigned)
        self.gepauzeerd = set(paused or ())
        self.gezocht: dict[TopicPartition, int | str] = {}
        self.state = MemberState.STABLE

    def group_metadata(self) -> Any:
        return SimpleNamespace(state=self.state)

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def paused(self) -> set[TopicPartition]:
        return set(self.gepauzeerd)

    def pause(self, *partitions: TopicPartition) -> None:
        self.gepauzeerd |= set(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.gepauzeerd -= set(partitions)

    def committed(self, partition: TopicPartition) -> int | None:
        return 7 if partition.partition == 0 else None

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.gezocht[partition] = offset

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.gezocht[tp] = "begin"

    def subscription(self) -> set[str]:
        return {tp.topic for tp in self.assigned}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1}


@dataclass
class Rec:
    """An ingress record as kafka-python hands it over."""

    value: bytes | None
    key: bytes | None = None
    topic: str = "t.ingress.mbo.albeda"
    partition: int = 0
    offset: int = 0
