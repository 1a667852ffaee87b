"""What the API does with read-model rows besides suppression (registry/api/kleine_cellen.py), peildata
(peildata.py) and CSV (csv_uitvoer.py): no personal data in verification, and the answer cache keyed by the read
models' data version.

The rows themselves come through the ``ReadQueries`` port (``ports.py``).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

# --- personal data never leaves the verification endpoint ---------------------------------------------------

_PERSONAL = re.compile(
    r"(deelnemer|pseudonym|bsn|geboorte|voornaam|achternaam|voorletters|tussenvoegsel|"
    r"persoon|adres|email|telefoon|versleuteld|encrypted|traject_id|correlation)",
    re.I,
)


def strip_personal(value: Any) -> Any:
    """Drop members whose names denote personal data (defence in depth on top of the read model)."""
    if isinstance(value, Mapping):
        return {k: strip_personal(v) for k, v in value.items() if not _PERSONAL.search(str(k))}
    if isinstance(value, list):
        return [strip_personal(v) for v in value]
    return value


# --- answer cache -----------------------------------------------------------------------------------------------

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def data_version(conn: Connection, schema: str) -> str:
    """A fingerprint of everything the read models hold: the projections write their stored offsets in the same
    transaction as their rows, so the read models changed iff some (projection, topic, partition) row of
    ``projection_offsets`` changed."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return str(
        conn.execute(
            text(
                f"SELECT md5(coalesce(string_agg(projection || '/' || topic || '/' || partition || '=' || next_offset "
                f"|| '@' || updated_at, ',' ORDER BY projection, topic, partition), '')) FROM \"{schema}\".projection_offsets"
            )
        ).scalar_one()
    )


DEFAULT_CACHE_BYTES = 32 * 1024 * 1024


def answer_bytes(rows: list[dict[str, Any]]) -> int:
    """What an answer costs in the cache, estimated from its JSON size (Python objects take a few times more; the
    bound is on this estimate, so it is the same on every platform)."""
    return len(json.dumps(rows, default=str, ensure_ascii=False, separators=(",", ":")).encode()) + 64


class AnswerCache:
    """Answers of the aggregate endpoints, keyed by their arguments and valid for one data version.

    An entry is used only while ``data_version`` is unchanged, so a cached answer is never staler than the
    read models themselves. The cache is bounded by bytes (``answer_bytes`` of every entry), not by entries:
    least recently used entries are dropped until the total is at most ``max_bytes``; an answer bigger than
    ``max_entry_bytes`` (default an eighth of ``max_bytes``) is not kept at all, so one huge answer cannot empty
    the cache (``max_bytes`` 0: no cache)."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes // 8 if max_entry_bytes is None else max_entry_bytes
        self._entries: OrderedDict[tuple[Any, ...], tuple[str, list[dict[str, Any]], int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        """The byte bound (kept under this name: ``size <= 0`` means the cache is off)."""
        return self.max_bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...], version: str, count_miss: bool = True) -> list[dict[str, Any]] | None:
        """The answer cached under ``version``, else None (``count_miss`` False: a look that a computing request
        will follow, so the miss is counted once)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                if count_miss:
                    self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple[Any, ...], version: str, rows: list[dict[str, Any]]) -> None:
        if self.max_bytes <= 0:
            return
        cost = answer_bytes(rows)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[2]
            if cost > self.max_entry_bytes:
                return
            self._entries[key] = (version, rows, cost)
            self.bytes += cost
            while self.bytes > self.max_bytes:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
