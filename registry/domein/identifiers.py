"""Well-formedness of the domain's identifiers. Pure; each check returns an error text or None.

Shared by the partner producer (reject before sending) and the validator (reject
what a partner sent without our producer): both walk a record with ``eerste_fout``
and word the problem their own way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from registry.domein import referentie, verwijzingen

PARTNER_SOORTEN = (
    "mbo",
    "gemeente",
    "uwv",
    "rmc",
    "dji",
    "sbb",
    "duo",
    "leerbedrijf",
    "werkgever",
    "sw",
    "reintegratie",
    "monitor",
)
_PARTNER = re.compile(r"^(?P<soort>[a-z0-9-]+)(?:\.(?P<id>[a-z0-9-]+))?$")
_CREBO = re.compile(r"^[0-9]{5}$")
_LEERBEDRIJF = re.compile(r"^[1-9][0-9]{8}$")
_GEMEENTE = re.compile(r"^GM[0-9]{4}$")
_WERKPROCES = re.compile(r"^[BP][0-9]+-K[0-9]+-W[0-9]+$")
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
_BSN = re.compile(r"^[0-9]{8,9}$")

Check = Callable[[str], "str | None"]


def normalise_bsn(value: str) -> str:
    """An 8-digit BSN gets its leading zero back (spreadsheets drop it)."""
    value = value.strip()
    return value.zfill(9) if len(value) == 8 else value


def bsn(value: str) -> str | None:
    v = normalise_bsn(value)
    if not _BSN.match(value.strip()):
        return "BSN must be 9 digits"
    if v == "000000000":
        return "BSN 000000000 is not a valid BSN"
    total = sum(int(d) * w for d, w in zip(v[:8], range(9, 1, -1), strict=False)) - int(v[8])
    if total % 11 != 0:
        return "BSN fails the elfproef (11-test)"
    return None


def partner(value: str) -> str | None:
    m = _PARTNER.match(value)
    if not m:
        return "partner must be <soort>.<id> in lowercase [a-z0-9-] (e.g. mbo.albeda, gemeente.gm0758, uwv)"
    if m["soort"] not in PARTNER_SOORTEN:
        return f"unknown partner soort {m['soort']!r}; one of {', '.join(PARTNER_SOORTEN)}"
    return None


def soort(partner_id: str) -> str:
    return partner_id.split(".", 1)[0]


def crebo(value: str) -> str | None:
    return None if _CREBO.match(value) else "crebo must be 5 digits (e.g. 25250)"


def leerbedrijf_id(value: str) -> str | None:
    return None if _LEERBEDRIJF.match(value) else "leerbedrijf_id must be 9 digits, 100000000-999999999"


def gemeente(value: str) -> str | None:
    return None if _GEMEENTE.match(value) else "gemeente must be GM followed by 4 digits (e.g. GM0363)"


def werkproces(value: str) -> str | None:
    return None if _WERKPROCES.match(value) else "werkproces must look like B1-K1-W2 or P1-K1-W1"


def pseudonym(value: str) -> str | None:
    return (
        None if _PSEUDONYM.match(value) else "deelnemer must be a pseudonym (64 lowercase hex characters), never a BSN"
    )


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def uuid_text(value: str) -> str | None:
    # a regex, not uuid.UUID(): this runs for every id of every event in the validator
    return None if _UUID.match(value) else "must be a UUID in 8-4-4-4-12 hex form (e.g. 3f1c2a9e-...)"


# field name -> check, applied wherever such a field appears (also inside arrays of records)
FIELD_CHECKS: dict[str, Check] = {
    "crebo": crebo,
    "leerbedrijf_id": leerbedrijf_id,
    "gemeente": gemeente,
    "werkproces": werkproces,
    "deelnemer": pseudonym,
    "event_id": uuid_text,
    "traject_id": uuid_text,
    "verklaring_id": uuid_text,
    "partner": partner,
    # opaque references to a praktijkopleider: a name or e-mail address never fits, and a bad value
    # is masked like any identifier (registry/domein/pseudoniemen.py) and refused as ongeldige_referentie
    **dict.fromkeys(verwijzingen.VELDEN, verwijzingen.referentie),
}


REFERENTIEVELDEN = frozenset({"mbo_instelling", "pilot"})  # fields that must be known reference data
FoutSoort = Literal["formaat", "instelling", "pilot"]


@dataclass(frozen=True)
class Fout:
    """The first bad identifier in a record. ``path`` is e.g. ``werkprocessen[0].crebo``."""

    path: str
    veld: str  # the field name, the last part of path
    soort: FoutSoort  # formaat: a FIELD_CHECKS check failed; instelling / pilot: not in the reference data
    probleem: str  # the check's text for formaat, "" otherwise
    waarde: Any


class Gecontroleerd(dict[str, Any]):
    """A record whose ``eerste_fout`` was found while it was made (registry/domein/pseudoniemen.py ``herschrijf``
    checks every identifier once, as it re-keys and masks them): ``fout`` is what ``eerste_fout`` gives it. Records
    are never changed in place; a changed copy is a plain dict again and is walked."""

    __slots__ = ("fout",)

    def __init__(self, values: dict[str, Any], fout: Fout | None) -> None:
        super().__init__(values)
        self.fout = fout


def referentie_fout(k: str, v: Any, path: str) -> Fout | None:
    """``mbo_instelling`` and ``pilot`` must be known reference data."""
    if k == "mbo_instelling" and v not in referentie.mbo_instellingen():
        return Fout(f"{path}{k}", k, "instelling", "", v)
    if k == "pilot" and v not in referentie.pilots():
        return Fout(f"{path}{k}", k, "pilot", "", v)
    return None


def eerste_fout(value: Any, path: str = "") -> Fout | None:
    """Identifier formats by field name, wherever they occur (also inside arrays of records);
    mbo_instelling and pilot must be known reference data. None when all are well-formed."""
    if type(value) is Gecontroleerd and not path:
        return value.fout
    if isinstance(value, dict):  # decoded Avro records are dicts (a typing.Mapping check is 5x slower)
        for k, v in value.items():
            check = FIELD_CHECKS.get(k)
            problem = check(v) if check and isinstance(v, str) else None
            if problem:
                return Fout(f"{path}{k}", k, "formaat", problem, v)
            if k in REFERENTIEVELDEN and (fout := referentie_fout(k, v, path)):
                return fout
            if isinstance(v, (dict, list)):  # only containers hold further identifiers
                fout = eerste_fout(v, f"{path}{k}.")
                if fout:
                    return fout
    elif isinstance(value, list):
        for i, v in enumerate(value):
            fout = eerste_fout(v, f"{path.rstrip('.')}[{i}].")
            if fout:
                return fout
    return None
