"""The event catalogue: every event type the registry knows, declared once.

Each ``EventSpec`` names the event type, its Avro schema (``schemas/<schema>.v<N>.avsc``),
its kind (about a person, reference data, or a telling), the Kafka key it is published
under and which partner soorten may publish it at all. Everything else that needs a list
of event types (PERSON_EVENTS, key(), the dispatch tables of the rules, the state fold and
the projections) derives from this catalogue; tests/unit/test_catalogus.py checks that
every dispatch table covers every event type here, or says it ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from registry.domein.identifiers import PARTNER_SOORTEN

EventType = Literal[
    "KandidaatAangemeld",
    "AdviesUitgebracht",
    "DeelnemerIngeschreven",
    "LeerbedrijfVastgelegd",
    "PraktijkafsprakenVastgelegd",
    "WerkprocesAfgetekend",
    "AftekeningIngetrokken",
    "PraktijkverklaringUitgegeven",
    "PraktijkverklaringIngetrokken",
    "TrajectBeeindigd",
    "UitstroomGeregistreerd",
    "TellingGemeld",
    "DeelnemerGegevensVerwijderd",
    "KwalificatiedossierVastgesteld",
    "LeerbedrijfErkend",
    "ErkenningDerdeLeerwegVerleend",
    "ReconciliatieUitgevoerd",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
# person: carries `deelnemer`; reference: data other events are checked against; telling: a count;
# registry: written by the registry itself to the canonical log, never accepted from a partner
EventKind = Literal["person", "reference", "telling", "registry"]
KeyFn = Callable[[Mapping[str, Any]], str]
# set by the validator on the canonical log; partners never send them
REGISTRY_FIELDS = frozenset({"recorded_at", "warnings", "volgnummer"})


@dataclass(frozen=True)
class EventSpec:
    name: EventType
    schema: str  # Avro record name: schemas/<schema>.v<N>.avsc
    kind: EventKind
    key: KeyFn  # Kafka key: one deelnemer's events stay in order on one partition
    # partner soorten that may publish this event at all; finer rules (whose traject) are in regels
    publishers: frozenset[str]


def _deelnemer(r: Mapping[str, Any]) -> str:
    return str(r["deelnemer"])


def _pilot(r: Mapping[str, Any]) -> str:
    return str(r["pilot"])


def _crebo(r: Mapping[str, Any]) -> str:
    return str(r["crebo"])


def _leerbedrijf(r: Mapping[str, Any]) -> str:
    return str(r["leerbedrijf_id"])


def _instelling_crebo(r: Mapping[str, Any]) -> str:
    return f"{r['mbo_instelling']}:{r['crebo']}"


def _soorten(*names: str) -> frozenset[str]:
    unknown = set(names) - set(PARTNER_SOORTEN)
    if unknown:
        raise ValueError(f"unknown partner soort(en) in the event catalogue: {sorted(unknown)}")
    return frozenset(names)


def _person(name: EventType, *publishers: str) -> EventSpec:
    return EventSpec(name, name, "person", _deelnemer, _soorten(*publishers))


def _reference(name: EventType, key: KeyFn, *publishers: str) -> EventSpec:
    return EventSpec(name, name, "reference", key, _soorten(*publishers))


# who refers candidates (KandidaatAangemeld) and may report their uitstroom
REFERRERS = _soorten("gemeente", "uwv", "rmc", "dji", "werkgever", "sw", "reintegratie", "mbo")
UITSTROOM_REFERRERS = _soorten("gemeente", "uwv", "dji", "rmc", "sw", "reintegratie")

CATALOGUE: tuple[EventSpec, ...] = (
    _person("KandidaatAangemeld", *REFERRERS),
    _person("AdviesUitgebracht", "mbo"),
    _person("DeelnemerIngeschreven", "mbo"),
    _person("LeerbedrijfVastgelegd", "mbo"),
    _person("PraktijkafsprakenVastgelegd", "mbo"),
    _person("WerkprocesAfgetekend", "mbo", "leerbedrijf"),
    _person("AftekeningIngetrokken", "mbo", "leerbedrijf"),
    _person("PraktijkverklaringUitgegeven", "mbo"),
    _person("PraktijkverklaringIngetrokken", "mbo", "sbb"),
    _person("TrajectBeeindigd", "mbo"),
    _person("UitstroomGeregistreerd", "mbo", *UITSTROOM_REFERRERS),
    # anyone may report its own count (regels checks bron_type against the soort)
    EventSpec("TellingGemeld", "TellingGemeld", "telling", _pilot, _soorten(*PARTNER_SOORTEN)),
    _person("DeelnemerGegevensVerwijderd", "mbo", "sbb"),
    _reference("KwalificatiedossierVastgesteld", _crebo, "sbb"),
    _reference("LeerbedrijfErkend", _leerbedrijf, "sbb"),
    _reference("ErkenningDerdeLeerwegVerleend", _instelling_crebo, "duo"),
    # the reconciliation job's result (consumers/reconciler.py): no partner may publish it
    EventSpec("ReconciliatieUitgevoerd", "ReconciliatieUitgevoerd", "registry", _pilot, frozenset()),
)
SPECS: dict[str, EventSpec] = {s.name: s for s in CATALOGUE}
if tuple(SPECS) != EVENT_TYPES:  # the Literal and the catalogue list the same names, once each
    raise ImportError(f"event catalogue {tuple(SPECS)} differs from EventType {EVENT_TYPES}")

ALL_EVENTS = frozenset(EVENT_TYPES)
PERSON_EVENTS = frozenset(s.name for s in CATALOGUE if s.kind == "person")
REFERENCE_EVENTS = frozenset(s.name for s in CATALOGUE if s.kind == "reference")
REGISTRY_EVENTS = frozenset(s.name for s in CATALOGUE if s.kind == "registry")
TELLING: EventType = "TellingGemeld"
RECONCILIATIE: EventType = "ReconciliatieUitgevoerd"


def key(event_type: str, record: Mapping[str, Any]) -> bytes:
    """Kafka key: the deelnemer pseudonym keeps one person's events in order on one partition."""
    spec = SPECS.get(event_type)
    if spec is None:
        raise ValueError(f"unknown event type {event_type!r}")
    return spec.key(record).encode()
