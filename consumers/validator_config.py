"""The validator's configuration and its state in PostgreSQL (one JSON row per entity, plus canonical offsets)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text

from registry.domein import parkeren
from registry.domein.parkeren import Parkeerplaats
from registry.domein.staat import Staat, entity_json, load_entity
from registry.infra.db import create_schema
from registry.infra.topics import INGRESS_RETENTION_DAYS

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
    # of the ingress and dead-letter topics, when the validator creates the parked topic set (PRAKTIJK_INGRESS_...)
    ingress_retention_days: int = INGRESS_RETENTION_DAYS
    # the registry-only pseudonym key generations (oldest first; PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE).
    # Required: every deelnemer is re-keyed with it right after decoding (registry/domein/pseudoniemen.py).
    registry_pseudonym_key: tuple[bytes, ...] = field(default=(), repr=False)
    # erasure: the registry's X25519 private key (opens the partner-sealed persoonsgegevens) and the master
    # key of the data-key vault (registry/infra/gegevenskluis.py, table in ``schema``); registry/bootstrap.py fills
    # them from the settings
    private_key_file: Path | None = None
    master_key_file: Path | None = None


@dataclass
class Memory:
    """What the validator holds in memory, shared by its collaborators (judge, parking, hand-over): the state fold,
    the parked set, and the parked event ids to judge again. A fenced transaction replaces the fold and the parked
    set (``Overdracht.herstel``); every collaborator reads them through this one object, so none keeps a stale one."""

    staat: Staat = field(default_factory=Staat)
    plaats: Parkeerplaats = field(default_factory=Parkeerplaats)
    opnieuw: set[str] = field(default_factory=set)  # parked event ids to judge again (a dependency may have come)


class Snapshots(Protocol):
    """Where the state fold and the canonical offsets it covers are kept (``StateStore``)."""

    def ensure(self) -> None: ...

    def load(self) -> tuple[Staat, dict[int, int]]: ...

    def save(self, staat: Staat, offsets: dict[int, int]) -> None: ...

    def bevries(self, staat: Staat) -> Bevroren: ...

    def schrijf(self, bevroren: Bevroren, offsets: dict[int, int]) -> None: ...


@dataclass(frozen=True)
class Bevroren:
    """What a snapshot writes, taken from the state at one moment (JSON text): ``schrijf`` may run in another
    thread while the state changes on."""

    weg: str | None  # [[soort, id], ...] of entities an erasure removed
    rijen: str | None  # [[soort, id, data], ...] of entities that changed


@dataclass(frozen=True)
class Vooraf:
    """A snapshot frozen while the batch it waits for commits (``Validator._bevries_vooraf``), with the state's
    record of changes the freeze took from it."""

    bevroren: Bevroren
    dirty: set[tuple[str, str]]
    weg: set[tuple[str, str]]

    def terug(self, staat: Staat) -> None:
        """The commit failed and the state goes on (it is not rebuilt): the next snapshot takes these changes."""
        staat.dirty |= self.dirty
        staat.weg |= self.weg


class StateStore:
    """The validator's state in PostgreSQL: one JSON row per entity, plus canonical offsets."""

    def __init__(self, engine: Engine, schema: str) -> None:
        self.engine, self.schema = engine, schema

    def ensure(self) -> None:
        with self.engine.begin() as c:
            create_schema(c, self.schema)
            c.execute(
                text(
                    f'CREATE TABLE IF NOT EXISTS "{self.schema}".entiteit '
                    "(soort text NOT NULL, id text NOT NULL, data jsonb, PRIMARY KEY (soort, id))"
                )
            )
            c.execute(
                text(
                    f'CREATE TABLE IF NOT EXISTS "{self.schema}".canoniek_offset '
                    "(partitie int PRIMARY KEY, volgende bigint NOT NULL)"
                )
            )

    def load(self) -> tuple[Staat, dict[int, int]]:
        staat = Staat()
        with self.engine.connect() as c:
            for soort, key, data in c.execute(text(f'SELECT soort, id, data FROM "{self.schema}".entiteit')):
                load_entity(staat, soort, key, data)
            rows = c.execute(text(f'SELECT partitie, volgende FROM "{self.schema}".canoniek_offset'))
            # not dict(rows): a result has keys() (its column names), so dict() would treat it as a mapping
            offsets = {int(p): int(o) for p, o in rows}
        return staat, offsets

    def save(self, staat: Staat, offsets: dict[int, int]) -> None:
        """The changed entities and the offsets they cover, in one database transaction."""
        self.schrijf(self.bevries(staat), offsets)

    def bevries(self, staat: Staat) -> Bevroren:
        """The entities changed (and removed) since the last snapshot, as JSON, and the state's record of them
        cleared. The rows travel as ONE JSON array parameter: json.dumps is C, while psycopg adapts a Python list to
        a PostgreSQL array element by element (that cost more than the statement itself)."""
        weg = json.dumps(sorted(staat.weg)) if staat.weg else None
        # in no particular order: one writer per snapshot schema takes the rows' locks, and sorting a second's
        # worth of (kind, id) pairs cost ~0.5 µs a row on the loop's thread
        rijen = json.dumps([[k, i, entity_json(staat, k, i)] for k, i in staat.dirty]) if staat.dirty else None
        staat.dirty.clear()
        staat.weg.clear()
        return Bevroren(weg, rijen)

    def schrijf(self, bevroren: Bevroren, offsets: dict[int, int]) -> None:
        """A frozen snapshot and the offsets it covers, in one transaction of at most three statements: each kind
        of write goes as ONE set-based statement, whatever the batch size."""
        with self.engine.begin() as c:
            if bevroren.weg:  # entities an erasure removed (registry.domein.staat)
                c.execute(
                    text(
                        f'DELETE FROM "{self.schema}".entiteit e USING jsonb_array_elements(CAST(:rows AS jsonb)) '
                        "AS w WHERE e.soort = w->>0 AND e.id = w->>1"
                    ),
                    {"rows": bevroren.weg},
                )
            if bevroren.rijen:
                # a JSON null (an event id's row) is stored as SQL NULL, as before
                c.execute(
                    text(
                        f'INSERT INTO "{self.schema}".entiteit (soort, id, data) '
                        "SELECT r->>0, r->>1, NULLIF(r->2, 'null'::jsonb) "
                        "FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r "
                        "ON CONFLICT (soort, id) DO UPDATE SET data = EXCLUDED.data"
                    ),
                    {"rows": bevroren.rijen},
                )
            if offsets:
                c.execute(
                    text(
                        f'INSERT INTO "{self.schema}".canoniek_offset (partitie, volgende) VALUES (:p, :o) '
                        "ON CONFLICT (partitie) DO UPDATE SET volgende = GREATEST(canoniek_offset.volgende, EXCLUDED.volgende)"
                    ),
                    [{"p": p, "o": o} for p, o in offsets.items()],
                )
