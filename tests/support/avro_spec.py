"""CRC-64-AVRO (the schema fingerprint) computed straight from the Avro specification, independently of fastavro
and of registry.infra.codec, so the tests can pin their values and byte order."""

from __future__ import annotations

EMPTY = 0xC15D213AA4D7A795


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _table()


def crc64(data: bytes) -> int:
    """The fingerprint as the specification's 64-bit number."""
    fp = EMPTY
    for b in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ b) & 0xFF]
    return fp


def spec_fingerprint(data: bytes) -> bytes:
    """The fingerprint as the 8 bytes of the single-object encoding (little-endian)."""
    return crc64(data).to_bytes(8, "little")
