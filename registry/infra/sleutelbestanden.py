"""Secret key files: written with mode 0600, refused when group or others may read them, never printed.

Also the registry-only pseudonym key (``PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE``): one hex key per line, oldest
generation first (``keys rotate-registry-pseudonym`` appends one); see registry/domein/pseudoniemen.py.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.domein import pseudoniemen


class SleutelFout(RuntimeError):
    """Missing, unreadable or too widely readable key file: a clear message, never a stack trace."""


def write_secret(path: Path, text: str) -> None:
    """Write (or replace) a secret file with mode 0600, also when it existed with wider permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a key folder it creates: the owner's only
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")


def prive_map(path: Path) -> Path:
    """A folder only its owner may enter (0700), also when it existed more open: for keys and for files that hold
    persoonsgegevens (the demo's sample verklaring)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def check_mode(path: Path, what: str) -> None:
    """Refuse a secret file that group or others may read or write (chmod 600 fixes it)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise SleutelFout(
            f"{what} not found at {path}: run `praktijkregister keys init` (or set PRAKTIJK_KEYS_DIR)"
        ) from None
    if mode & 0o077:
        raise SleutelFout(f"{what} at {path} has mode {mode:04o}: group or others may read it; run `chmod 600 {path}`")


def read_hex(path: Path, what: str, fout: type[Exception] = SleutelFout) -> bytes:
    """A key file that is not secret (a public key, or one whose mode its reader does not check): hex text.
    ``fout``: the error to raise when it is missing or not hex (its module's own ``SleutelFout``)."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        raise fout(f"{what} not found at {path}: run `praktijkregister keys init` (or set PRAKTIJK_KEYS_DIR)") from None
    except ValueError:
        raise fout(f"{what} at {path} is not hex text") from None


def read_secret_lines(path: Path, what: str) -> list[bytes]:
    """The hex keys of a secret file (one per line), after checking its mode."""
    check_mode(path, what)
    try:
        keys = [bytes.fromhex(line.strip()) for line in path.read_text().splitlines() if line.strip()]
    except ValueError:
        raise SleutelFout(f"{what} at {path} is not hex text") from None
    except OSError as exc:
        raise SleutelFout(f"{what} at {path} cannot be read: {exc.strerror}") from None
    if not keys:
        raise SleutelFout(f"{what} at {path} is empty")
    return keys


def read_secret_hex(path: Path, what: str) -> bytes:
    keys = read_secret_lines(path, what)
    if len(keys) != 1:
        raise SleutelFout(f"{what} at {path} holds {len(keys)} keys, expected one")
    return keys[0]


@dataclass(frozen=True)
class RegistryPseudoniemSleutel:
    """The registry-only pseudonym key: every generation, oldest first. ``repr`` never shows them."""

    generaties: tuple[bytes, ...] = field(repr=False)

    def __repr__(self) -> str:
        return f"RegistryPseudoniemSleutel(generaties={len(self.generaties)}, secret=<hidden>)"

    @classmethod
    def from_file(cls, path: Path) -> RegistryPseudoniemSleutel:
        return cls(tuple(read_secret_lines(path, "registry pseudonym key")))

    def canoniek(self, partner_pseudoniem: str) -> str:
        return pseudoniemen.canoniek(self.generaties, partner_pseudoniem)

    def herschrijf(self, record: dict[str, Any]) -> dict[str, Any]:
        return pseudoniemen.herschrijf(record, self.generaties)


def init_registry_pseudonym_key(path: Path, force: bool = False) -> bool:
    """Create the registry pseudonym key (one generation) when missing; True when written."""
    if path.exists() and not force:
        return False
    write_secret(path, os.urandom(32).hex())
    return True


def roteer(path: Path, oud: Iterable[str]) -> dict[str, str]:
    """Append a new key generation to the registry pseudonym key file and return old -> new canonical pseudonym
    for ``oud``. The file is rewritten whole (0600) only after the mapping is computed."""
    huidig = RegistryPseudoniemSleutel.from_file(path)
    nieuw = os.urandom(32)
    mapping = pseudoniemen.roteer(oud, nieuw)
    write_secret(path, "\n".join(k.hex() for k in (*huidig.generaties, nieuw)))
    return mapping
