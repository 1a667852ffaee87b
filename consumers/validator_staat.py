"""The validator's configuration and its state in PostgreSQL (one JSON row per entity, plus canonical offsets)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from registry.domein import parkeren
from registry.domein.staat import Staat, entity_json, load_entity

# ingress records larger than this are dead-lettered (PRAKTIJK_MAX_INGRESS_BYTES; the ingress topics' max.message.bytes)
DEFAULT_MAX_RECORD_BYTES = 256 * 1024
# a dead letter keeps at most this many bytes of the original value (PRAKTIJK_DEADLETTER_PREFIX_BYTES)
DEFAULT_DEADLETTER_PREFIX_BYTES = 4 * 1024


@dataclass(frozen=True)
class ValidatorConfig:
    bootstrap: list[str]
    database_url: str
    group: str = "praktijkregister-validator"
    prefix: str = "praktijkleren"
    schema: str = "validator"
    max_poll_records: int = 2000
    park_timeout: dt.timedelta = parkeren.DEFAULT_TIMEOUT
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    deadletter_prefix_bytes: int = DEFAULT_DEADLETTER_PREFIX_BYTES
    # issue 12: the registry-only pseudonym key generations (oldest first; PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE).
    # Required: every deelnemer is re-keyed with it right after decoding (registry/domein/pseudoniemen.py).
    registry_pseudonym_key: tuple[bytes, ...] = field(default=(), repr=False)
    # issue 12 erasure: the registry's X25519 private key (opens the partner-sealed persoonsgegevens) and the master
    # key of the data-key vault (registry/infra/gegevenskluis.py, table in ``schema``); None: from the settings
    private_key_file: Path | None = None
    master_key_file: Path | None = None


class StateStore:
    """The validator's state in PostgreSQL: one JSON row per entity, plus canonical offsets."""

    def __init__(self, engine: Engine, schema: str) -> None:
        self.engine, self.schema = engine, schema

    def ensure(self) -> None:
        with self.engine.begin() as c:
            c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            c.execute(text(f'CREATE TABLE IF NOT EXISTS "{self.schema}".entiteit '
                           "(soort text NOT NULL, id text NOT NULL, data jsonb, PRIMARY KEY (soort, id))"))
            c.execute(text(f'CREATE TABLE IF NOT EXISTS "{self.schema}".canoniek_offset '
                           "(partitie int PRIMARY KEY, volgende bigint NOT NULL)"))

    def load(self) -> tuple[Staat, dict[int, int]]:
        staat = Staat()
        with self.engine.connect() as c:
            for soort, key, data in c.execute(text(f'SELECT soort, id, data FROM "{self.schema}".entiteit')):
                load_entity(staat, soort, key, data)
            offsets = {p: o for p, o in c.execute(text(f'SELECT partitie, volgende FROM "{self.schema}".canoniek_offset'))}
        return staat, offsets

    def save(self, staat: Staat, offsets: dict[int, int]) -> None:
        rows = [{"s": k, "i": i, "d": _json(entity_json(staat, k, i))} for k, i in staat.dirty]
        with self.engine.begin() as c:
            if staat.weg:  # entities an erasure removed (registry.domein.staat)
                c.execute(text(f'DELETE FROM "{self.schema}".entiteit WHERE soort = :s AND id = :i'),
                          [{"s": k, "i": i} for k, i in sorted(staat.weg)])
            if rows:
                c.execute(text(f'INSERT INTO "{self.schema}".entiteit (soort, id, data) VALUES (:s, :i, CAST(:d AS jsonb)) '
                               "ON CONFLICT (soort, id) DO UPDATE SET data = EXCLUDED.data"), rows)
            if offsets:
                c.execute(text(f'INSERT INTO "{self.schema}".canoniek_offset (partitie, volgende) VALUES (:p, :o) '
                               "ON CONFLICT (partitie) DO UPDATE SET volgende = GREATEST(canoniek_offset.volgende, EXCLUDED.volgende)"),
                          [{"p": p, "o": o} for p, o in offsets.items()])
        staat.dirty.clear()
        staat.weg.clear()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)
