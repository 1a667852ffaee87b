"""Closed lists of reasons ("free text goes"): the ``reden`` of a revocation (PraktijkverklaringIngetrokken)
and of a retraction (AftekeningIngetrokken) is a code from ``data/intrekkingsredenen.csv``, shown with its Dutch
label. Free text could carry a name or a story about a person into an immutable log and onto a public page; a code
cannot. The wire type stays ``string`` (changing it to an Avro enum would break the schemas' compatibility); the
validator refuses any other value with ``onbekende_reden``. Pure: the list is shipped reference data.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from registry.domein.referentie import DATA

ONBEKEND = "onbekende_reden"  # the validator's reason code for a reden outside the list
OVERIG = "overig"  # every list has it; what an old free-text reden (from before the list) is shown as
EVENT_TYPES = ("PraktijkverklaringIngetrokken", "AftekeningIngetrokken")


@lru_cache(maxsize=1)
def _lijsten() -> dict[str, Mapping[str, str]]:
    lijsten: dict[str, dict[str, str]] = {t: {} for t in EVENT_TYPES}
    with (DATA / "intrekkingsredenen.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            lijsten[row["event_type"]][row["code"]] = row["label"]
    return {t: MappingProxyType(codes) for t, codes in lijsten.items()}


def codes(event_type: str) -> Mapping[str, str]:
    """code -> Dutch label of the event type's ``reden`` list, in list order."""
    return _lijsten()[event_type]


def probleem(event_type: str, waarde: object) -> str | None:
    """None when ``waarde`` is a code of the list, else the refusal text (which never repeats the value)."""
    if isinstance(waarde, str) and waarde in codes(event_type):
        return None
    return f"reden must be one of the codes {', '.join(codes(event_type))} (free text is not accepted)"


def label(event_type: str, code: str | None) -> str | None:
    """The Dutch label to show for a stored ``reden``; a value not on the list (free text recorded before the list
    existed) is shown as the label of ``overig``, never as itself."""
    if code is None:
        return None
    lijst = codes(event_type)
    return lijst.get(code, lijst[OVERIG])


def leesbaar(event_type: str, gegevens: Mapping[str, object]) -> dict[str, object]:
    """An event's fields as an API shows them: ``reden`` a code of the list (an old free-text value becomes
    ``overig``) with its Dutch label in ``reden_label``. Other event types are returned unchanged."""
    out = dict(gegevens)
    if event_type not in EVENT_TYPES or "reden" not in out:
        return out
    waarde = out["reden"]
    code = waarde if isinstance(waarde, str) and waarde in codes(event_type) else OVERIG
    out["reden"], out["reden_label"] = code, codes(event_type)[code]
    return out
