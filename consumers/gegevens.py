"""The validator's persoonsgegevens step (crypto-shredding).

A partner seals ``persoonsgegevens`` (naam, geboortedatum) to the registry's X25519 public key. Before an
accepted event is appended to the canonical log, the validator opens that sealed box in memory and encrypts the
object again with the deelnemer's own data key from the vault (registry/infra/gegevenskluis.py): the canonical log
carries only that ciphertext, and deleting the data key (DeelnemerGegevensVerwijderd) makes every copy unreadable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from registry.infra.gegevenskluis import Gegevenskluis

# the warning on an accepted event whose persoonsgegevens do not open (they are dropped, never copied to the log)
ONLEESBAAR = "persoonsgegevens_onleesbaar"
# what a refusal carries instead of the pseudonym of an erased deelnemer
VERWIJDERD = "verwijderd"


class Onopenbaar(ValueError):
    """Sealed persoonsgegevens that do not open with the registry's private key, or hold no JSON object."""


def lees_private_key(path: Path) -> bytes:
    """The registry's X25519 private key (hex file)."""
    from registry.infra.sleutelbestanden import read_secret_hex

    return read_secret_hex(path, "registry private key")


class Herversleutelaar:
    def __init__(self, private_key: bytes, kluis: Gegevenskluis) -> None:
        self._box = SealedBox(PrivateKey(private_key))
        self.kluis = kluis

    def __repr__(self) -> str:  # never the key
        return "Herversleutelaar(<registry private key>)"

    def open(self, sealed: bytes) -> dict[str, Any]:
        try:
            value = json.loads(self._box.decrypt(bytes(sealed)))
        except (CryptoError, ValueError, TypeError) as exc:
            raise Onopenbaar(
                f"persoonsgegevens are not sealed to the registry's public key ({type(exc).__name__})"
            ) from None
        if not isinstance(value, dict):
            raise Onopenbaar("sealed persoonsgegevens hold no JSON object")
        return value

    def herversleutel(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record`` with its sealed persoonsgegevens replaced by the deelnemer's data-key ciphertext. Already that
        ciphertext (a parked submission keeps it so, ``parkeerbaar``): unchanged."""
        sealed = record.get("persoonsgegevens")
        if not sealed:
            return dict(record)
        try:
            gegevens = self.open(sealed)
        except Onopenbaar:
            if self._al_versleuteld(str(record["deelnemer"]), bytes(sealed)):
                return dict(record)
            raise
        return dict(record, persoonsgegevens=self.kluis.versleutel(str(record["deelnemer"]), gegevens))

    def parkeerbaar(self, deelnemer: str, sealed: bytes) -> bytes:
        """What a parked copy keeps of sealed persoonsgegevens: the deelnemer's data-key ciphertext, so an erasure
        (which deletes that key) makes the parked copy unreadable too. ``Onopenbaar`` when it does not open."""
        return self.kluis.versleutel(deelnemer, self.open(sealed))

    def _al_versleuteld(self, deelnemer: str, blob: bytes) -> bool:
        from registry.infra.gegevenskluis import Onleesbaar

        try:
            return self.kluis.ontsleutel(deelnemer, blob) is not None
        except (Onleesbaar, ValueError):
            return False
