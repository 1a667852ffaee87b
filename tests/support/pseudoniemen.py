"""The registry pseudonym key of the test validators, and the canonical form of a partner-side pseudonym.

Tests that publish ``deelnemer`` P (partner side) find ``canoniek(P)`` in the canonical log, read models and API.
"""

from __future__ import annotations

from pathlib import Path

from registry.domein import pseudoniemen
from registry.infra.sleutelbestanden import write_secret

REGISTRY_KEY: tuple[bytes, ...] = (b"test-registry-pseudonym-key-0001",)


def canoniek(partner_pseudoniem: str) -> str:
    return pseudoniemen.canoniek(REGISTRY_KEY, partner_pseudoniem)


def key_file(directory: Path) -> Path:
    """A registry pseudonym key file (0600) holding ``REGISTRY_KEY``, for an API or CLI under test."""
    path = directory / "registry-pseudonym.key"
    write_secret(path, "\n".join(k.hex() for k in REGISTRY_KEY))
    return path
