"""The API's side of two-tier pseudonyms: a partner asks about its own deelnemer with the pseudonym it
knows (partner side); the read models hold registry pseudonyms only. ``vormen`` gives the forms to look up, the
mapped one first: HMAC(registry key, given) (registry/domein/pseudoniemen.py), then the given value as a registry
pseudonym itself (what landelijk sees in the API's answers). Both forms are accepted for every scope that may read
the tijdlijn; the access checks apply to the registry pseudonym that was found.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from registry.infra.sleutelbestanden import RegistryPseudoniemSleutel, SleutelFout


@lru_cache(maxsize=4)
def _sleutel(path: str, mtime_ns: int) -> RegistryPseudoniemSleutel:
    return RegistryPseudoniemSleutel.from_file(Path(path))


def sleutel(path: Path) -> RegistryPseudoniemSleutel | None:
    """The registry pseudonym key (re-read when the file changes, e.g. after a rotation); None when absent."""
    try:
        return _sleutel(str(path), os.stat(path).st_mtime_ns)
    except (OSError, SleutelFout):
        return None


def vormen(path: Path, pseudoniem: str) -> list[str]:
    """The registry pseudonyms ``pseudoniem`` may stand for: mapped from the partner side first, then as given."""
    s = sleutel(path)
    return ([s.canoniek(pseudoniem)] if s is not None else []) + [pseudoniem]
