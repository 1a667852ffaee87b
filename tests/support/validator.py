"""Shared helpers for validator integration tests: a private topic set, publishing, reading back."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from consumers.validator import Validator, ValidatorConfig
from producers.publisher import Publisher
from producers.sleutels import init_keys
from registry.bootstrap import build_validator
from registry.demo import bouwer
from registry.domein.parkeren import DEFAULT_TIMEOUT, Parkeerplaats, vouw_alles
from registry.infra import codec, topics
from registry.infra.kafka import client_config
from registry.infra.topics import Topics
from tests.support.pseudoniemen import REGISTRY_KEY, canoniek  # noqa: F401 (re-exported for the tests)

PARTNERS = ["sbb", "duo", "mbo.albeda", "mbo.roc-top", "gemeente.gm0599", "leerbedrijf.123456789"]


def make_topics(bootstrap: str, prefix: str, partners: list[str] = PARTNERS, partitions: int = 6) -> Topics:
    topics.create([bootstrap], partitions, partners, prefix)
    return Topics(prefix)


def met_aanmeldingen(items: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """``items`` with, before each inschrijving whose deelnemer the items do not refer to its pilot first, the
    instelling's own aanmelding (an mbo may refer; registry/domein/relaties.py: an inschrijving needs one). Its
    event id derives from the inschrijving's, so publishing the same items again adds nothing."""
    out: list[tuple[str, dict[str, Any]]] = []
    aangemeld: set[tuple[str, str]] = set()
    for event_type, record in items:
        if event_type == "KandidaatAangemeld":
            aangemeld.add((record["deelnemer"], record["pilot"]))
        elif event_type == "DeelnemerIngeschreven" and (record["deelnemer"], record["pilot"]) not in aangemeld:
            aangemeld.add((record["deelnemer"], record["pilot"]))
            out.append(
                (
                    "KandidaatAangemeld",
                    {
                        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "aanmelding:" + record["event_id"])),
                        "occurred_at": record["occurred_at"],
                        "partner": record["partner"],
                        "deelnemer": record["deelnemer"],
                        "recorded_at": None,
                        "warnings": [],
                        "persoonsgegevens": None,
                        **bouwer.aanmelding(record["pilot"], "mbo", "a", None, False),
                    },
                )
            )
        out.append((event_type, record))
    return out


def publish(bootstrap: str, prefix: str, items: Iterable[tuple[str, dict[str, Any]]], aanmelden: bool = True) -> int:
    """Publish each item as its partner. ``aanmelden``: add the aanmeldingen inschrijvingen need
    (``met_aanmeldingen``); off for a test of that rule itself."""
    by_partner: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for event_type, record in met_aanmeldingen(items) if aanmelden else items:
        by_partner.setdefault(record["partner"], []).append((event_type, record))
    n = 0
    for partner, batch in by_partner.items():
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            n += pub.publish_batch(batch)
    return n


def validator(
    bootstrap: str,
    database_url: str,
    prefix: str,
    park_timeout: dt.timedelta = DEFAULT_TIMEOUT,
    clock: Callable[[], dt.datetime] | None = None,
    keydir: Path | None = None,
) -> Validator:
    """``keydir``: where the registry's private key (``registry.key``) and the vault's master key (``master.key``,
    created when missing) are; default: a new key set in a temporary folder, removed once the validator has read it
    (it reads its keys when it is built)."""
    if keydir is None:
        with tempfile.TemporaryDirectory(prefix="praktijk-keys-") as tmp:
            return validator(bootstrap, database_url, prefix, park_timeout, clock, Path(tmp))
    init_keys(
        keydir / "pseudonym.key", keydir / "registry.pub", keydir / "registry.key", master_file=keydir / "master.key"
    )
    cfg = ValidatorConfig(
        [bootstrap],
        database_url,
        group=f"{prefix}-validator",
        prefix=prefix,
        schema=f"{prefix}_validator",
        park_timeout=park_timeout,
        registry_pseudonym_key=REGISTRY_KEY,
        private_key_file=keydir / "registry.key",
        master_key_file=keydir / "master.key",
    )
    v = build_validator(cfg, clock=clock)
    v.start()
    return v


def drain(v: Validator) -> int:
    return v.drain()


def read_topic(bootstrap: str, topic: str) -> list[Any]:
    return topics.read_all([bootstrap], topic)


def read_uncommitted(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` up to the end offsets it has now, read_uncommitted (an aborted or still open write
    shows too): for a login that may read the topic, what an idle-timed consumer sees, without the idle wait."""
    consumer = KafkaConsumer(**client_config([bootstrap]), group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return [r for _tp, records in topics.batches_to_end(consumer, tps) for r in records]
    finally:
        consumer.close()


def canonical(bootstrap: str, t: Topics) -> list[tuple[str, dict[str, Any]]]:
    return [codec.decode(r.value) for r in read_topic(bootstrap, t.events)]


def rejections(bootstrap: str, t: Topics) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_topic(bootstrap, t.rejections)]


def deadletters(bootstrap: str, t: Topics) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_topic(bootstrap, t.deadletter)]


def parked(bootstrap: str, t: Topics) -> Parkeerplaats:
    """The parked set as the fold of the committed parked topic."""
    return vouw_alles(json.loads(r.value) for r in read_topic(bootstrap, t.parked))
