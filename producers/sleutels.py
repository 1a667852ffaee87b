"""Key material: the pseudonymisation key (partners) and the registry's X25519 key pair.

* BSN -> deelnemer: HMAC-SHA256(pseudonym key, 9-digit BSN), hex. The raw BSN never
  leaves the producer process.
* persoonsgegevens (naam, geboortedatum) are sealed to the registry's public key
  (libsodium sealed box: X25519 + XSalsa20-Poly1305), so only the registry can read them.
* event_id (when a row has none): HMAC-SHA256(pseudonym key, "event_id" + partner + line) as a UUID, so nobody
  without the key can recover the line (which holds the BSN) from an event id; the same line gives the same id.
* Secret key files are written with mode 0600 and refused when group/others may read them
  (registry/infra/sleutelbestanden.py); no key object shows its secret in ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from nacl.public import PrivateKey, PublicKey, SealedBox

from registry.domein.identifiers import normalise_bsn
from registry.infra.sleutelbestanden import (
    SleutelFout,
    init_registry_pseudonym_key,
    read_hex,
    read_secret_hex,
    write_secret,
)

# missing, unreadable or too widely readable key files: a clear message, never a stack trace
KeyError_ = SleutelFout


def init_keys(
    pseudonym_file: Path,
    public_file: Path,
    private_file: Path,
    force: bool = False,
    signing_file: Path | None = None,
    registry_pseudonym_file: Path | None = None,
    master_file: Path | None = None,
) -> list[Path]:
    """Create missing key files (0600). Existing keys are kept unless ``force``:
    a new pseudonym key would give every deelnemer a new identity. ``signing_file``: also the registry's
    Ed25519 signing key (32-byte seed, hex) for verklaringen (registry/infra/ondertekening.py).
    ``registry_pseudonym_file``: also the registry-only pseudonym key (registry/domein/pseudoniemen.py)."""
    written: list[Path] = []
    # the master key of the data-key vault (registry/infra/gegevenskluis.py): a new one makes every stored
    # data key, and so all persoonsgegevens, unreadable, so it is kept even with ``force``
    if master_file is not None and not master_file.exists():
        _write_secret(master_file, os.urandom(32).hex())
        written.append(master_file)
    if registry_pseudonym_file is not None and init_registry_pseudonym_key(registry_pseudonym_file, force):
        written.append(registry_pseudonym_file)
    if signing_file is not None and (force or not signing_file.exists()):
        _write_secret(signing_file, os.urandom(32).hex())
        written.append(signing_file)
    if force or not pseudonym_file.exists():
        _write_secret(pseudonym_file, os.urandom(32).hex())
        written.append(pseudonym_file)
    if force or not private_file.exists():
        sk = PrivateKey.generate()
        _write_secret(private_file, bytes(sk).hex())
        public_file.parent.mkdir(parents=True, exist_ok=True)
        public_file.write_text(bytes(sk.public_key).hex() + "\n")
        written += [private_file, public_file]
    return written


_write_secret = write_secret


@dataclass(frozen=True)
class Pseudonymiser:
    key: bytes = field(repr=False)

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"

    @classmethod
    def from_file(cls, path: Path) -> Pseudonymiser:
        return cls(read_secret_hex(path, "pseudonymisation key"))

    def __call__(self, bsn: str) -> str:
        return hmac.new(self.key, normalise_bsn(bsn).encode(), hashlib.sha256).hexdigest()

    def event_id(self, partner: str, line: str) -> str:
        """A row's event id when it has none: keyed (HMAC-SHA256 over partner + line), formatted as a UUID
        (version 8, RFC 9562 custom). Without the key the line, and so the BSN in it, cannot be tried."""
        digest = hmac.new(self.key, b"event_id\0" + partner.encode() + b"\n" + line.encode(), hashlib.sha256).digest()
        raw = bytearray(digest[:16])
        raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122/9562 variant
        return str(uuid.UUID(bytes=bytes(raw)))


@dataclass(frozen=True)
class Sealer:
    public_key: bytes

    @classmethod
    def from_file(cls, path: Path) -> Sealer:
        return cls(read_hex(path, "registry public key"))

    def seal(self, persoonsgegevens: dict[str, str]) -> bytes:
        plain = json.dumps(persoonsgegevens, sort_keys=True, ensure_ascii=False).encode()
        return bytes(SealedBox(PublicKey(self.public_key)).encrypt(plain))


def open_sealed(private_key_file: Path, sealed: bytes) -> dict[str, str]:
    """Registry side: read sealed persoonsgegevens (needed only to print a verklaring)."""
    box = SealedBox(PrivateKey(read_secret_hex(private_key_file, "registry private key")))
    value = json.loads(box.decrypt(sealed))
    if not isinstance(value, dict):
        raise ValueError("sealed persoonsgegevens are not an object")
    return value
