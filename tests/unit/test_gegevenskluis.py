"""The data-key vault's cryptography without a database (the key table itself: tests/integration/test_erasure.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.infra import gegevenskluis as gk


class _Kluis(gk.Gegevenskluis):
    """The vault with its key table in a dict (only what the crypto needs)."""

    def __init__(self, master: bytes) -> None:
        super().__init__(engine=None, master_key=master)  # type: ignore[arg-type]
        self.rij: dict[str, bytes] = {}

    def _lees(self, sid: str) -> bytes | None:
        return self._unwrap(sid, self.rij[sid]) if sid in self.rij else None

    def data_sleutel(self, deelnemer: str, maak: bool = False) -> bytes | None:
        sid = self.sleutel_id(deelnemer)
        if sid not in self.rij and maak:
            nonce = os.urandom(12)
            self.rij[sid] = nonce + self._master.encrypt(nonce, AESGCM.generate_key(bit_length=256), sid.encode())
        return self._lees(sid)

    def vernietig(self, deelnemer: str) -> bool:
        return self.rij.pop(self.sleutel_id(deelnemer), None) is not None


GEGEVENS = {"naam": "Fatma Yılmaz-de Vries", "geboortedatum": "1988-03-14"}


def test_round_trip_and_no_clear_text() -> None:
    k = _Kluis(os.urandom(32))
    blob = k.versleutel("a" * 64, GEGEVENS)
    assert b"Fatma" not in blob and b"1988" not in blob
    assert k.ontsleutel("a" * 64, blob) == GEGEVENS
    assert "a" * 64 not in k.rij  # the table is keyed by an HMAC, not by the pseudonym


def test_another_deelnemers_key_or_another_master_key_fails() -> None:
    master = os.urandom(32)
    k = _Kluis(master)
    blob = k.versleutel("a" * 64, GEGEVENS)
    k.versleutel("b" * 64, GEGEVENS)
    with pytest.raises(gk.Onleesbaar):
        k.ontsleutel("b" * 64, blob)  # moved to another deelnemer: does not open
    ander = _Kluis(os.urandom(32))
    assert ander.ontsleutel("a" * 64, blob) is None  # another master key finds no key for this deelnemer at all
    ander.rij = {ander.sleutel_id("a" * 64): k.rij[k.sleutel_id("a" * 64)]}
    with pytest.raises(gk.Onleesbaar):
        ander.ontsleutel("a" * 64, blob)  # the wrapped data key does not open under another master key
    with pytest.raises(gk.Onleesbaar):
        k.ontsleutel("a" * 64, blob[:-1] + bytes([blob[-1] ^ 1]))  # damaged


def test_a_deleted_key_makes_the_data_unreadable() -> None:
    k = _Kluis(os.urandom(32))
    blob = k.versleutel("a" * 64, GEGEVENS)
    assert k.vernietig("a" * 64)
    assert k.ontsleutel("a" * 64, blob) is None
    assert not k.vernietig("a" * 64)  # idempotent


def test_master_key_file_must_be_private_and_32_bytes(tmp_path: Path) -> None:
    p = tmp_path / "master.key"
    with pytest.raises(gk.KluisFout, match="keys init"):
        gk.lees_master_key(p)
    p.write_text(os.urandom(32).hex())
    p.chmod(0o644)
    with pytest.raises(gk.KluisFout, match="chmod 600"):
        gk.lees_master_key(p)
    p.chmod(0o600)
    assert len(gk.lees_master_key(p)) == 32
    p.write_text("abcd")
    with pytest.raises(gk.KluisFout, match="not 32"):
        gk.lees_master_key(p)
    master = os.urandom(32)
    assert master.hex() not in repr(_Kluis(master)) and repr(_Kluis(master)) == "Gegevenskluis(schema='validator')"
