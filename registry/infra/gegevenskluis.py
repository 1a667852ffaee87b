"""The data-key vault (``gegevenskluis``): one AES-256-GCM data key per deelnemer, for crypto-shredding.

The validator opens the partner-sealed ``persoonsgegevens`` and re-encrypts them with the deelnemer's data key
(``versleutel``), so the canonical log carries only that ciphertext. Erasure (``DeelnemerGegevensVerwijderd``)
deletes the key (``vernietig``): every copy of the ciphertext in the immutable log is unreadable from then on.

* The data keys live in the PostgreSQL table ``<schema>.data_sleutels`` (schema: the validator's state schema),
  each wrapped (AES-256-GCM) under the master key of ``PRAKTIJK_MASTER_KEY_FILE`` (``keys init``, mode 0600,
  never in the repository or the database).
* A row is keyed by ``HMAC-SHA256(master key, pseudonym)``: the table holds no pseudonym.
* Ciphertext: ``0x01 | nonce (12) | AES-GCM(data key, JSON, aad = key id)``, so a ciphertext moved to another
  deelnemer does not open.
* Creating a key is idempotent (``INSERT .. ON CONFLICT DO NOTHING``, then read back): the validator creates it
  before its Kafka transaction commits; a key whose event was never committed is harmless.

The validator writes (create, delete); the API only reads (``SELECT``, registry/infra/rollen.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, text

from registry.infra.db import create_schema

TABLE = "data_sleutels"
VERSIE = b"\x01"
_NONCE = 12
# also used by registry/infra/rollen.py, which creates the table for the validator role when missing
TABLE_DDL = "(sleutel_id text PRIMARY KEY, sleutel bytea NOT NULL, aangemaakt timestamptz NOT NULL DEFAULT now())"


def maak_tabel(conn: Connection, schema: str) -> None:
    """The vault's schema and table when missing (also ``restore``, before it copies the stored keys back)."""
    create_schema(conn, schema)
    conn.execute(text(f'CREATE TABLE IF NOT EXISTS "{schema}".{TABLE} {TABLE_DDL}'))


class KluisFout(RuntimeError):
    """The master key is missing, unreadable or too widely readable: a one-line message naming the file."""


class Onleesbaar(ValueError):
    """A ciphertext that does not open with this deelnemer's key (another key, damaged, another deelnemer)."""


def lees_master_key(path: Path) -> bytes:
    """The 32-byte master key from its hex file; refused when the file is readable by group or others."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        raw = path.read_text().strip()
    except FileNotFoundError:
        raise KluisFout(
            f"master key not found at {path}: run `praktijkregister keys init` (or set PRAKTIJK_MASTER_KEY_FILE)"
        ) from None
    except OSError as exc:
        raise KluisFout(f"master key at {path} is unreadable: {type(exc).__name__}") from None
    if mode & 0o077:
        raise KluisFout(f"master key at {path} has mode {mode:o}: it must be readable by its owner only (chmod 600)")
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        raise KluisFout(f"master key at {path} is not hex text") from None
    if len(key) != 32:
        raise KluisFout(f"master key at {path} is {len(key)} bytes, not 32")
    return key


class Gegevenskluis:
    """Per-deelnemer data keys in PostgreSQL, wrapped under the master key."""

    def __init__(self, engine: Engine, master_key: bytes, schema: str = "validator") -> None:
        if len(master_key) != 32:
            raise KluisFout("the master key must be 32 bytes")
        self.engine, self.schema = engine, schema
        self._master = AESGCM(master_key)
        self._mac_key = hashlib.sha256(b"praktijkregister-kluis-id|" + master_key).digest()
        self._cache: dict[str, bytes] = {}  # sleutel_id -> data key (the validator's own process only)

    @classmethod
    def from_file(cls, engine: Engine, path: Path, schema: str = "validator") -> Gegevenskluis:
        return cls(engine, lees_master_key(path), schema)

    def __repr__(self) -> str:  # never the keys
        return f"Gegevenskluis(schema={self.schema!r})"

    @property
    def _table(self) -> str:
        return f'"{self.schema}".{TABLE}'

    def ensure(self) -> None:
        with self.engine.begin() as c:
            maak_tabel(c, self.schema)

    def sleutel_id(self, deelnemer: str) -> str:
        return hmac.new(self._mac_key, deelnemer.encode(), hashlib.sha256).hexdigest()

    # ---- keys --------------------------------------------------------------------------------------
    def _unwrap(self, sid: str, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], sid.encode())
        except InvalidTag:
            raise Onleesbaar("the data key does not open with this master key") from None

    def _lees(self, sid: str) -> bytes | None:
        with self.engine.connect() as c:
            wrapped = c.execute(text(f"SELECT sleutel FROM {self._table} WHERE sleutel_id = :i"), {"i": sid}).scalar()
        return None if wrapped is None else self._unwrap(sid, bytes(wrapped))

    def data_sleutel(self, deelnemer: str, maak: bool = False) -> bytes | None:
        """The deelnemer's data key; ``maak``: create it when missing (idempotent, committed at once)."""
        sid = self.sleutel_id(deelnemer)
        if sid in self._cache:
            return self._cache[sid]
        key = self._lees(sid)
        if key is None and maak:
            nonce, new = os.urandom(_NONCE), AESGCM.generate_key(bit_length=256)
            wrapped = nonce + self._master.encrypt(nonce, new, sid.encode())
            with self.engine.begin() as c:
                c.execute(
                    text(
                        f"INSERT INTO {self._table} (sleutel_id, sleutel) VALUES (:i, :k) "
                        "ON CONFLICT (sleutel_id) DO NOTHING"
                    ),
                    {"i": sid, "k": wrapped},
                )
            key = self._lees(sid)  # a concurrent creator's key wins: read back what is stored
        if key is not None and maak:
            self._cache[sid] = key
        return key

    def vernietig(self, deelnemer: str) -> bool:
        """Delete the deelnemer's data key (idempotent); True when a key was deleted."""
        sid = self.sleutel_id(deelnemer)
        self._cache.pop(sid, None)
        with self.engine.begin() as c:
            return bool(c.execute(text(f"DELETE FROM {self._table} WHERE sleutel_id = :i"), {"i": sid}).rowcount)

    # ---- data --------------------------------------------------------------------------------------
    def versleutel(self, deelnemer: str, gegevens: Mapping[str, Any]) -> bytes:
        """``gegevens`` (JSON object) encrypted with the deelnemer's data key (created when missing)."""
        key = self.data_sleutel(deelnemer, maak=True)
        assert key is not None
        nonce = os.urandom(_NONCE)
        plain = json.dumps(dict(gegevens), sort_keys=True, ensure_ascii=False).encode()
        return VERSIE + nonce + AESGCM(key).encrypt(nonce, plain, self.sleutel_id(deelnemer).encode())

    def ontsleutel(self, deelnemer: str, blob: bytes, huidig: str | None = None) -> dict[str, Any] | None:
        """The decrypted object, or None when the deelnemer's key is gone (erased). ``Onleesbaar`` when the bytes do
        not open with the key there is. ``huidig``: the deelnemer's pseudonym now, when ``deelnemer`` (the one in the
        event) is an older form from before a pseudonym key rotation: the key is filed under the current form
        (``verhuis``), the ciphertext stays bound to the form it was written for."""
        key = self.data_sleutel(huidig or deelnemer)
        if key is None:
            return None
        return ontsleutel_met(key, self.sleutel_id(deelnemer), blob)

    def verhuis(self, conn: Connection, mapping: Mapping[str, str]) -> int:
        """Pseudonym key rotation: file each data key under the new pseudonym (re-wrapped, since the wrapping is bound
        to the row id), in the caller's transaction; the old row goes, so an erasure of the new form destroys the
        one key. Refused (``KluisFout``) when a new form already has a key of its own: that would split the
        deelnemer's data. Returns how many keys moved."""
        rows = {str(i): bytes(k) for i, k in conn.execute(text(f"SELECT sleutel_id, sleutel FROM {self._table}"))}
        moved = 0
        for oud, nieuw in mapping.items():
            sid_oud, sid_nieuw = self.sleutel_id(oud), self.sleutel_id(nieuw)
            if sid_oud not in rows:
                continue
            if sid_nieuw in rows:
                raise KluisFout(
                    "a new pseudonym already has a data key: apply the mapping before the validator runs "
                    "with the new key generation"
                )
            key, nonce = self._unwrap(sid_oud, rows[sid_oud]), os.urandom(_NONCE)
            conn.execute(
                text(f"INSERT INTO {self._table} (sleutel_id, sleutel) VALUES (:i, :k)"),
                {"i": sid_nieuw, "k": nonce + self._master.encrypt(nonce, key, sid_nieuw.encode())},
            )
            conn.execute(text(f"DELETE FROM {self._table} WHERE sleutel_id = :i"), {"i": sid_oud})
            moved += 1
        self._cache.clear()
        return moved


def ontsleutel_met(key: bytes, sleutel_id: str, blob: bytes) -> dict[str, Any]:
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != VERSIE:
        raise Onleesbaar("not a ciphertext of the data-key vault")
    try:
        value = json.loads(AESGCM(key).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], sleutel_id.encode()))
    except (InvalidTag, ValueError):
        raise Onleesbaar("the ciphertext does not open with this deelnemer's data key") from None
    if not isinstance(value, dict):
        raise Onleesbaar("the ciphertext holds no JSON object")
    return value
