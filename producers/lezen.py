"""Bounded reading of partner files: lines streamed with a size limit, JSON nesting checked before parsing.

Pure (no Kafka). Nothing here reads a whole file or a whole over-long line into memory, and nothing
recurses on the input, so a hostile file ends in a ``file:line: field: reason``, never in a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from registry.domein.events import SPECS
from registry.infra import codec
from registry.infra.topics import INGRESS_MAX_BYTES

_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 64 * 1024
# bytes Kafka adds to a record batch of one record (batch header 61, record framing) plus a margin
RECORD_OVERHEAD = 128


@dataclass(frozen=True)
class Grenzen:
    """The importer's limits (settings PRAKTIJK_IMPORT_MAX_LINE_BYTES, _IMPORT_MAX_CELL_BYTES, _MAX_INGRESS_BYTES)."""

    max_line_bytes: int = 1024 * 1024
    max_cell_bytes: int = 128 * 1024
    max_record_bytes: int = INGRESS_MAX_BYTES  # the encoded record plus its key and framing


@dataclass(frozen=True)
class Regel:
    """One physical line: ``text`` (without the line break), or ``fout`` when it is too long or not UTF-8."""

    nummer: int
    text: str
    fout: str | None = None


def regels(path: Path, max_line_bytes: int) -> Iterator[Regel]:
    """Every physical line (blank ones too), read at most ``max_line_bytes`` + 1 bytes at a time."""
    with path.open("rb") as fh:
        nummer = 0
        while True:
            chunk = fh.readline(max_line_bytes + 1)
            if not chunk:
                return
            nummer += 1
            if nummer == 1 and chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
            inhoud = chunk[:-1] if chunk.endswith(b"\n") else chunk
            if len(inhoud) > max_line_bytes:
                size = len(chunk)
                while not chunk.endswith(b"\n"):  # skip the rest of the line without keeping it
                    chunk = fh.readline(_SKIP_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                size -= 1 if chunk.endswith(b"\n") else 0
                yield Regel(
                    nummer,
                    "",
                    f"line of {size} bytes is longer than the limit of {max_line_bytes} bytes "
                    "(PRAKTIJK_IMPORT_MAX_LINE_BYTES)",
                )
                continue
            try:
                text = inhoud.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Regel(nummer, "", f"not UTF-8 text (byte {exc.start + 1} of the line)")
                continue
            yield Regel(nummer, text.rstrip("\r"))


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_KEY_BEFORE = re.compile(r'"((?:[^"\\]|\\.){0,100})"\s*:\s*$')


def te_diep(text: str, grens: int) -> str | None:
    """The top-level field whose JSON value nests deeper than ``grens`` levels (the row itself is level 1),
    ``"-"`` when that is not a field, None when the nesting is within ``grens``. Linear, no recursion."""
    blanked = _STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)
    diepte, veld = 0, "-"
    for m in _BRACKET.finditer(blanked):
        if m.group() in "[{":
            diepte += 1
            if diepte == 2:
                k = _KEY_BEFORE.search(text, max(0, m.start() - 300), m.start())
                veld = k.group(1) if k else "-"
            if diepte > grens:
                return veld
        else:
            diepte -= 1
    return None


def schema_diepte(t: Any) -> int:
    """How many JSON levels (objects, arrays) a value of Avro type ``t`` has."""
    if isinstance(t, list):
        return max((schema_diepte(x) for x in t), default=0)
    if isinstance(t, dict):
        soort = t.get("type")
        if soort == "record":
            return 1 + max((schema_diepte(f["type"]) for f in t["fields"]), default=0)
        if soort == "array":
            return 1 + schema_diepte(t["items"])
        if soort == "map":
            return 1 + schema_diepte(t["values"])
        if isinstance(soort, (dict, list)):
            return schema_diepte(soort)
    return 0


@lru_cache(maxsize=4)
def max_diepte(cat: codec.Catalogue) -> int:
    """The deepest JSON nesting any event a partner may publish needs (a row object is level 1)."""
    return max(schema_diepte(cat.current(t).parsed) for t in cat.event_types if SPECS[t].kind != "registry")
