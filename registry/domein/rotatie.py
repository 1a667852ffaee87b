"""Applying a rotation of the registry pseudonym key: old canonical pseudonym -> new one. Pure.

``keys rotate-registry-pseudonym`` appends a key generation and writes ``oud,nieuw`` for every listed canonical
pseudonym (registry/domein/pseudoniemen.py: new = HMAC(new key, old)). From then on the validator and the API
compute the new form, so everything that holds an old form must follow:

* what is stored (validator state, data-key vault, read models) is rewritten once (``keys apply-registry-pseudonym``,
  registry/infra/pseudoniem_rotatie.py);
* the canonical log is immutable and keeps the old forms, so the projector maps every ``deelnemer`` of the events it
  reads with the stored mapping (``pas_toe``): a replay, or an old event projected late, lands on the new form too.

After several rotations the stored mapping maps every old form straight to the newest (``samenstellen``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from registry.domein.pseudoniemen import VELD, is_pseudoniem

KOP = "oud,nieuw"  # the header of the mapping file ``keys rotate-registry-pseudonym`` writes
_TOKEN = re.compile(r"[0-9a-f]{64}")


class MappingFout(ValueError):
    """A mapping file that is not ``oud,nieuw`` lines of two pseudonyms: says which line, never its content."""


def lees_csv(tekst: str) -> dict[str, str]:
    """The mapping of a file written by ``keys rotate-registry-pseudonym`` (header ``oud,nieuw``)."""
    regels = [r.strip() for r in tekst.splitlines() if r.strip()]
    if not regels or regels[0] != KOP:
        raise MappingFout(f"the mapping file must start with the line {KOP!r}")
    mapping: dict[str, str] = {}
    for nr, regel in enumerate(regels[1:], start=2):
        oud, _, nieuw = regel.partition(",")
        if not (is_pseudoniem(oud) and is_pseudoniem(nieuw)) or oud == nieuw:
            raise MappingFout(f"line {nr}: expected two different pseudonyms (64 lowercase hex) separated by ','")
        mapping[oud] = nieuw
    return mapping


def samenstellen(bestaand: Mapping[str, str], nieuw: Mapping[str, str]) -> dict[str, str]:
    """The stored mapping after one more rotation: every older form goes straight to the newest."""
    out = {oud: nieuw.get(tussen, tussen) for oud, tussen in bestaand.items()}
    out.update(nieuw)
    return out


def pas_toe(record: Any, mapping: Mapping[str, str]) -> Any:
    """``record`` with every ``deelnemer`` (at any depth, also in telling lists) in its newest form; the record
    itself when nothing changes (the common case: no rotation, or an event recorded after it)."""
    if not mapping:
        return record
    if isinstance(record, dict):
        out = {
            k: (mapping.get(v, v) if k == VELD and isinstance(v, str) else pas_toe(v, mapping))
            for k, v in record.items()
        }
        return record if out == record else out
    if isinstance(record, list):
        items = [pas_toe(v, mapping) for v in record]
        return record if items == record else items
    return record


def vervang_in_tekst(tekst: str, mapping: Mapping[str, str]) -> str:
    """Every mapped pseudonym inside ``tekst`` (a column value: an id, a composite key, JSON) in its newest form.
    Other 64-hex values (hashes, key ids) are left alone: only exact pseudonyms of the mapping are replaced."""
    return _TOKEN.sub(lambda m: mapping.get(m.group(0), m.group(0)), tekst)
