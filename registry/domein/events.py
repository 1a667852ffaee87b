"""The event catalogue's vocabulary: which events exist, which are about a person,
which are reference data, and the Kafka key each is published under."""
from __future__ import annotations

from typing import Any, Mapping

PERSON_EVENTS = frozenset({
    "KandidaatAangemeld", "AdviesUitgebracht", "DeelnemerIngeschreven", "LeerbedrijfVastgelegd",
    "WerkprocesAfgetekend", "AftekeningIngetrokken", "PraktijkverklaringUitgegeven",
    "PraktijkverklaringIngetrokken", "TrajectBeeindigd", "UitstroomGeregistreerd", "DeelnemerGegevensVerwijderd",
})
REFERENCE_EVENTS = frozenset({"KwalificatiedossierVastgesteld", "LeerbedrijfErkend", "ErkenningDerdeLeerwegVerleend"})
TELLING = "TellingGemeld"
ALL_EVENTS = PERSON_EVENTS | REFERENCE_EVENTS | {TELLING}
# set by the validator on the canonical log; partners never send them
REGISTRY_FIELDS = frozenset({"recorded_at", "warnings", "volgnummer"})


def key(event_type: str, record: Mapping[str, Any]) -> bytes:
    """Kafka key: the deelnemer pseudonym keeps one person's events in order on one partition."""
    if event_type in PERSON_EVENTS:
        k = record["deelnemer"]
    elif event_type == TELLING:
        k = record["pilot"]
    elif event_type == "KwalificatiedossierVastgesteld":
        k = record["crebo"]
    elif event_type == "LeerbedrijfErkend":
        k = record["leerbedrijf_id"]
    elif event_type == "ErkenningDerdeLeerwegVerleend":
        k = f"{record['mbo_instelling']}:{record['crebo']}"
    else:
        raise ValueError(f"unknown event type {event_type!r}")
    return str(k).encode()
