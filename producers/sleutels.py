"""Key material: the pseudonymisation key (partners) and the registry's X25519 key pair.

* BSN -> deelnemer: HMAC-SHA256(pseudonym key, 9-digit BSN), hex. The raw BSN never
  leaves the producer process.
* persoonsgegevens (naam, geboortedatum) are sealed to the registry's public key
  (libsodium sealed box: X25519 + XSalsa20-Poly1305), so only the registry can read them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey, PublicKey, SealedBox

from registry.domein.identifiers import normalise_bsn


class KeyError_(RuntimeError):
    """Missing or unreadable key files: a clear message, never a stack trace."""


def init_keys(pseudonym_file: Path, public_file: Path, private_file: Path, force: bool = False,
              signing_file: Path | None = None) -> list[Path]:
    """Create missing key files (0600). Existing keys are kept unless ``force``:
    a new pseudonym key would give every deelnemer a new identity. ``signing_file``: also the registry's
    Ed25519 signing key (32-byte seed, hex) for verklaringen (registry/infra/ondertekening.py)."""
    written: list[Path] = []
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


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")


def _read_hex(path: Path, what: str) -> bytes:
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        raise KeyError_(f"{what} not found at {path}: run `praktijkregister keys init` (or set PRAKTIJK_KEYS_DIR)") from None
    except ValueError:
        raise KeyError_(f"{what} at {path} is not hex text") from None


@dataclass(frozen=True)
class Pseudonymiser:
    key: bytes

    @classmethod
    def from_file(cls, path: Path) -> "Pseudonymiser":
        return cls(_read_hex(path, "pseudonymisation key"))

    def __call__(self, bsn: str) -> str:
        return hmac.new(self.key, normalise_bsn(bsn).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Sealer:
    public_key: bytes

    @classmethod
    def from_file(cls, path: Path) -> "Sealer":
        return cls(_read_hex(path, "registry public key"))

    def seal(self, persoonsgegevens: dict[str, str]) -> bytes:
        plain = json.dumps(persoonsgegevens, sort_keys=True, ensure_ascii=False).encode()
        return bytes(SealedBox(PublicKey(self.public_key)).encrypt(plain))


def open_sealed(private_key_file: Path, sealed: bytes) -> dict[str, str]:
    """Registry side: read sealed persoonsgegevens (needed only to print a verklaring)."""
    box = SealedBox(PrivateKey(_read_hex(private_key_file, "registry private key")))
    value = json.loads(box.decrypt(sealed))
    if not isinstance(value, dict):
        raise ValueError("sealed persoonsgegevens are not an object")
    return value
