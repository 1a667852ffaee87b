"""Two-tier pseudonyms (pure): the registry re-keys every partner-side pseudonym before anything is judged or stored.

* partner side: ``deelnemer`` = HMAC-SHA256(partner pseudonym key, BSN), hex. Every partner holds that key, so any
  partner could reverse a partner-side pseudonym by trying all BSNs.
* registry side (canonical): HMAC-SHA256(registry pseudonym key, partner pseudonym), hex (64 lowercase hex, the
  same format). The registry key never leaves the registry, so no partner can reverse a canonical pseudonym.
  After a rotation the key file holds several generations, oldest first, and the canonical pseudonym is the chain
  ``HMAC(k_n, ... HMAC(k_1, partner pseudonym))``: an old canonical pseudonym maps to the new one with the new key
  alone (``roteer``).
* a ``deelnemer`` value that is not a pseudonym (e.g. a BSN sent by a partner writing Avro itself) is replaced by
  a marker ``<ongeldig:12 hex>`` (keyed, so it cannot be reversed either) before anything is written anywhere;
  the marker still fails the identifier check, so the submission is refused with ``ongeldige_identificatie``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from registry.domein.identifiers import FIELD_CHECKS, REFERENTIEVELDEN, Fout, Gecontroleerd, referentie_fout

_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
ONGELDIG = "<ongeldig:"  # prefix of the marker that replaces an identifier failing validation
VELD = "deelnemer"  # every field of this name is re-keyed, at any depth (also TellingGemeld.deelnemers[].deelnemer)
_LET_OP = frozenset(FIELD_CHECKS) | {VELD} | REFERENTIEVELDEN  # the fields a rewrite looks at (and containers)


def stap(sleutel: bytes, pseudoniem: str) -> str:
    """One generation: HMAC-SHA256(sleutel, pseudoniem), lowercase hex."""
    return hmac.new(sleutel, pseudoniem.encode(), hashlib.sha256).hexdigest()


def canoniek(sleutels: Sequence[bytes], partner_pseudoniem: str) -> str:
    """The canonical (registry) pseudonym of a partner-side pseudonym: the chain over every key generation."""
    if not sleutels:
        raise ValueError("no registry pseudonym key")
    waarde = partner_pseudoniem
    for sleutel in sleutels:
        waarde = stap(sleutel, waarde)
    return waarde


@lru_cache(maxsize=65536)
def _canoniek_onthouden(sleutels: tuple[bytes, ...], partner_pseudoniem: str) -> str:
    """``canoniek`` remembered: a deelnemer's events come in runs (enrolment, sign-offs, verklaring) and one HMAC
    chain per event was a tenth of the validator's time. Keyed by the key generations too, so a rotation
    never meets an old answer; bounded (~20 MB)."""
    return canoniek(sleutels, partner_pseudoniem)


def marker(sleutels: Sequence[bytes], waarde: str) -> str:
    """What replaces an identifier that fails validation: keyed, short, never the value itself."""
    return ONGELDIG + hmac.new(sleutels[-1], b"ongeldig\0" + waarde.encode(), hashlib.sha256).hexdigest()[:12] + ">"


def is_pseudoniem(waarde: Any) -> bool:
    return isinstance(waarde, str) and bool(_PSEUDONYM.match(waarde))


def herschrijf(record: dict[str, Any], sleutels: Sequence[bytes]) -> Gecontroleerd:
    """A copy of ``record`` with every ``deelnemer`` (at any depth) re-keyed; a value that is not a pseudonym
    becomes a marker; ``None`` stays ``None``. Any other identifier field (``identifiers.FIELD_CHECKS``: event_id,
    traject_id, crebo, ...) whose value fails its format check becomes a marker too, so a BSN put in any
    identifier is never copied into a rejection. The record itself is not changed. Each identifier is checked once:
    the copy carries its ``identifiers.eerste_fout`` (``Gecontroleerd``), which the rules would otherwise find by
    checking every identifier again. Runs for every ingress record: one copy of the record (rewritten in place),
    its containers copied as they are walked."""
    generaties = tuple(sleutels)
    out = Gecontroleerd(record, None)
    out.fout = _herschrijf_dict(
        out,
        lambda v: _canoniek_onthouden(generaties, v) if is_pseudoniem(v) else marker(sleutels, str(v)),
        lambda v: marker(sleutels, v),
        "",
    )
    return out


def _herschrijf_dict(
    out: dict[str, Any], rekey: Callable[[Any], str], mark: Callable[[str], str], path: str
) -> Fout | None:
    """Rewrite ``out`` (a copy, so in place) and give its first bad identifier as ``identifiers.eerste_fout`` finds
    it: the same fields in the same order, a format fault before a reference fault before one inside a container.
    Values change under the iteration, keys do not."""
    eerste: Fout | None = None
    for k, v in out.items():
        fout: Fout | None = None
        if k not in _LET_OP:  # most fields: no identifier, nothing to change (a container is walked)
            if not isinstance(v, (dict, list)):
                continue
            out[k], fout = _walk(v, rekey, mark, f"{path}{k}.")
        elif k == VELD and v is not None:
            out[k] = nieuw = rekey(v)
            if nieuw.startswith(ONGELDIG):  # a canonical pseudonym always passes its check, a marker never
                fout = Fout(f"{path}{k}", k, "formaat", FIELD_CHECKS[k](nieuw) or "", nieuw)
        elif isinstance(v, str):
            check = FIELD_CHECKS.get(k)
            if check is not None and check(v) is not None:
                out[k] = nieuw = mark(v)
                fout = Fout(f"{path}{k}", k, "formaat", check(nieuw) or "", nieuw)
        elif isinstance(v, (dict, list)):
            out[k], fout = _walk(v, rekey, mark, f"{path}{k}.")
        if eerste is None:
            if k in REFERENTIEVELDEN and (fout is None or fout.path != f"{path}{k}"):
                # a format fault of this field comes first; then the reference data; then what it holds
                fout = referentie_fout(k, out[k], path) or fout
            eerste = fout
    return eerste


def _walk(value: Any, rekey: Callable[[Any], str], mark: Callable[[str], str], path: str) -> tuple[Any, Fout | None]:
    """(the re-keyed, masked copy of a container, its first bad identifier); an empty one is copied as it is, and
    only a container in a list is walked (anything else in a list holds no named identifier)."""
    if isinstance(value, dict):
        out: dict[str, Any] = dict(value)
        return out, (_herschrijf_dict(out, rekey, mark, path) if out else None)
    if isinstance(value, list):
        kopie = list(value)
        eerste: Fout | None = None
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                kopie[i], fout = _walk(v, rekey, mark, f"{path.rstrip('.')}[{i}].")
                eerste = eerste or fout
        return kopie, eerste
    return value, None


def roteer(oud: Iterable[str], nieuwe_sleutel: bytes) -> dict[str, str]:
    """Key rotation: old canonical pseudonym -> new one (= ``canoniek(oude sleutels + [nieuwe_sleutel], p)``)."""
    return {p: stap(nieuwe_sleutel, p) for p in oud if is_pseudoniem(p)}
