"""Avro single-object encoding over the schema registry of record (``schemas/``).

Wire format (Avro spec, "Single object encoding"): ``C3 01`` + the 8-byte
little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical
Form + the Avro binary body. Readers decode with the writer schema the
fingerprint names and resolve to the current (highest) version of that event type.

Schemas are parsed once per process (``catalogue()``); per-message work is one
dict lookup plus fastavro's binary read/write.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import fastavro._read
import fastavro.read
from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

import schemas as _schemas_package
from registry.infra.avro_lezer import Lezer, lezer
from registry.infra.avro_schrijver import Schrijver, schrijver

# Identifiers stay plain text everywhere (JSON, SQL, Kafka keys): read the uuid logical
# type back as the string that was written instead of a uuid.UUID object.
for _readers in (fastavro.read.LOGICAL_READERS, fastavro._read.LOGICAL_READERS):  # type: ignore[attr-defined]
    _readers["string-uuid"] = lambda data, *args: data

# the envelope's timestamps (timestamp-millis): a ``lean`` decode reads them as epoch milliseconds
TIJDEN = frozenset({"occurred_at", "recorded_at"})
# the last two fields of every event type: the registry's own, set when the validator accepts an event
STAART = ("recorded_at", "warnings")
_STAART_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Staart",
    "fields": [
        {"name": "recorded_at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "warnings", "type": {"type": "array", "items": "string"}},
    ],
}
_STAART_PARSED = parse_schema(_STAART_SCHEMA)
MAGIC = b"\xc3\x01"
HEADER_LEN = 10
# the .avsc files ship as package data of the top-level ``schemas`` package (also in a wheel)
SCHEMA_DIR = Path(_schemas_package.__file__).resolve().parent
_FILE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)\.v(?P<version>[0-9]+)\.avsc$")

Record = dict[str, Any]
# An upcaster turns a record of version v into one of version v+1, for changes
# Avro schema resolution cannot express (a rename, a split).
Upcaster = Callable[[Record], Record]


class DecodeError(ValueError):
    """Bytes that are not a decodable registry event (a dead letter, never a crash)."""


class EncodeError(ValueError):
    """A record that does not fit its event type's schema."""


@dataclass(frozen=True)
class SchemaVersion:
    event_type: str
    version: int
    path: Path
    parsed: Any  # fastavro parsed schema
    canonical: str
    fingerprint: bytes  # 8 bytes, as written on the wire
    # what ``decode`` reads with: ``parsed`` without the uuid logical type (the same strings: read back as written,
    # see above, without a conversion call per field) and, for a ``lean`` decode, also without the envelope's
    # timestamp types (``TIJDEN`` as epoch milliseconds: building an aware datetime was a fifth of a decode)
    reading: Any = field(default=None, repr=False, compare=False)
    lean: Any = field(default=None, repr=False, compare=False)
    # ``parsed`` without its last two fields when they are the registry's own (``STAART``): ``encode_romp``
    romp: Any = field(default=None, repr=False, compare=False)
    header: bytes = field(init=False, repr=False)  # MAGIC + fingerprint: what every encoded record starts with

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", MAGIC + self.fingerprint)  # once, not per encoded record
        if self.reading is None:
            object.__setattr__(self, "reading", self.parsed)
        if self.lean is None:
            object.__setattr__(self, "lean", self.reading)

    # readers generated for ``reading`` and ``lean`` (registry/infra/avro_lezer.py): a record of this version read
    # as this version, without fastavro's walk of the schema; None where the generator does not read the schema.
    # Made at first use (a process that decodes nothing does not pay for them)
    @cached_property
    def lezer(self) -> Lezer | None:
        return lezer(self.reading, f"lees_{self.event_type}_v{self.version}")

    @cached_property
    def lezer_lean(self) -> Lezer | None:
        return lezer(self.lean, f"lees_{self.event_type}_v{self.version}_lean")

    # writers generated for ``parsed`` and ``romp`` (registry/infra/avro_schrijver.py), the header included; made
    # at first use as the readers are
    @cached_property
    def schrijver(self) -> Schrijver | None:
        return schrijver(self.parsed, f"schrijf_{self.event_type}_v{self.version}", self.header)

    @cached_property
    def romp_schrijver(self) -> Schrijver | None:
        if self.romp is None:
            return None
        return schrijver(self.romp, f"schrijf_{self.event_type}_v{self.version}_romp", self.header, STAART)


@dataclass(eq=False)  # identity hash: cached helpers key on the catalogue object
class Catalogue:
    """fingerprint -> schema, every version kept forever; current = highest version."""

    versions: dict[str, dict[int, SchemaVersion]] = field(default_factory=dict)
    by_fingerprint: dict[bytes, SchemaVersion] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)

    @property
    def event_types(self) -> list[str]:
        return sorted(self.versions)

    # event type -> its highest version, kept by ``add`` (so add versions with ``add``, not into ``versions``)
    huidig: dict[str, SchemaVersion] = field(default_factory=dict)

    def current(self, event_type: str) -> SchemaVersion:
        try:
            return self.huidig[event_type]
        except KeyError:
            raise EncodeError(f"unknown event type {event_type!r}; known: {', '.join(self.event_types)}") from None

    def add(self, sv: SchemaVersion) -> None:
        self.versions.setdefault(sv.event_type, {})[sv.version] = sv
        self.by_fingerprint[sv.fingerprint] = sv
        versions = self.versions[sv.event_type]
        self.huidig[sv.event_type] = versions[max(versions)]

    def register_upcaster(self, event_type: str, from_version: int, fn: Upcaster) -> None:
        self.upcasters[(event_type, from_version)] = fn
        _needs_steps.cache_clear()


def load_version(path: Path) -> SchemaVersion:
    m = _FILE.match(path.name)
    if not m:
        raise ValueError(f"{path.name}: schema files are named <EventType>.v<N>.avsc")
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("name") != m["type"]:
        raise ValueError(f"{path.name}: record name {raw.get('name')!r} differs from the file name")
    parsed = parse_schema(raw)  # keeps fastavro's "parsed" hint: without it every read/write re-parses (3x slower)
    canonical = to_parsing_canonical_form(parsed)
    fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))  # fastavro gives the LE bytes in hex
    reading = parse_schema(_zonder(raw, "uuid"))
    lean = parse_schema(_zonder(_zonder(raw, "uuid"), "timestamp-millis", TIJDEN))
    romp = None
    if [f["name"] for f in raw["fields"][-2:]] == list(STAART) and _staart(raw) == _staart(_STAART_SCHEMA):
        romp = parse_schema({**raw, "name": f"{raw['name']}Romp", "fields": raw["fields"][:-2]})
    return SchemaVersion(m["type"], int(m["version"]), path, parsed, canonical, fp, reading, lean, romp)


def _staart(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(f["name"], f["type"]) for f in schema["fields"][-2:]]


def _zonder(schema: Any, logical: str, fields: Collection[str] | None = None, name: str = "") -> Any:
    """``schema`` (JSON) without the logical type ``logical`` (of the ``fields`` named only, if given): its values
    read as the Avro type beneath it. The fingerprint stays that of the full schema (writers and readers agree on
    the bytes; only what a read turns them into differs)."""
    if isinstance(schema, list):
        return [_zonder(s, logical, fields, name) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k != "logicalType" or v != logical or (fields and name not in fields)}
    if "fields" in out:
        out["fields"] = [{**f, "type": _zonder(f["type"], logical, fields, f["name"])} for f in out["fields"]]
    for key in ("items", "values"):
        if key in out:
            out[key] = _zonder(out[key], logical, fields, name)
    if "type" in out and isinstance(out["type"], (dict, list)):
        out["type"] = _zonder(out["type"], logical, fields, name)
    return out


def load_catalogue(directory: Path = SCHEMA_DIR) -> Catalogue:
    cat = Catalogue()
    for path in sorted(directory.glob("*.avsc")):
        cat.add(load_version(path))
    return cat


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The process-wide catalogue of ``schemas/``, parsed once."""
    return load_catalogue()


def encode(event_type: str, record: Mapping[str, Any], cat: Catalogue | None = None) -> bytes:
    sv = (cat or catalogue()).current(event_type)
    snel = sv.schrijver
    if snel is not None:
        try:
            return snel(record)
        except Exception:  # noqa: BLE001, S110 - a value it is not sure of: fastavro writes it or says why
            pass
    buf = io.BytesIO()
    buf.write(sv.header)
    try:
        schemaless_writer(buf, sv.parsed, record, strict_allow_default=True)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise EncodeError(f"{event_type}: {exc}") from exc
    return buf.getvalue()


def encode_romp(event_type: str, record: Mapping[str, Any], cat: Catalogue | None = None) -> bytes | None:
    """``encode(event_type, record)`` without its last two fields, the registry's own ``recorded_at`` and
    ``warnings`` (None for an event type whose schema does not end with them, or a record that does not encode):
    ``met_staart`` adds them. The validator's reading process encodes what a partner sent ahead of judging, which
    then only sets those two (consumers/voorlezer.py)."""
    sv = (cat or catalogue()).current(event_type)
    if sv.romp is None:
        return None
    snel = sv.romp_schrijver
    if snel is not None:
        try:
            return snel(record)
        except Exception:  # noqa: BLE001, S110 - as in ``encode``
            pass
    buf = io.BytesIO()
    buf.write(sv.header)
    try:
        # as strict as ``encode`` about every other field
        schemaless_writer(buf, sv.romp, {k: v for k, v in record.items() if k not in STAART}, strict_allow_default=True)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None  # ``encode`` says why, when the judge accepts it
    return buf.getvalue()


def met_staart(romp: bytes, recorded_at: Any, warnings: Collection[str]) -> bytes:
    """``romp`` (``encode_romp``) with ``recorded_at`` and ``warnings``: the bytes ``encode`` gives for the record
    with those two set. A batch shares one ``recorded_at`` and nearly every event has no warnings: the two fields'
    bytes are remembered for the last few."""
    return romp + _staart_bytes(recorded_at, tuple(warnings))


@lru_cache(maxsize=64)
def _staart_bytes(recorded_at: Any, warnings: tuple[str, ...]) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, _STAART_PARSED, {"recorded_at": recorded_at, "warnings": list(warnings)})
    return buf.getvalue()


def writer_of(data: bytes, cat: Catalogue | None = None) -> SchemaVersion:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"no bytes to decode (got {type(data).__name__})")
    if len(data) < HEADER_LEN or data[:2] != MAGIC:
        raise DecodeError("not Avro single-object encoding (missing C3 01 marker)")
    fp = data[2:HEADER_LEN]
    sv = (cat or catalogue()).by_fingerprint.get(fp if type(fp) is bytes else bytes(fp))
    if sv is None:
        raise DecodeError(f"unknown writer schema fingerprint {bytes(data[2:HEADER_LEN]).hex()}")
    return sv


def decode(data: bytes, cat: Catalogue | None = None, lean: Collection[str] = ()) -> tuple[str, Record]:
    """Return (event_type, record) resolved to the current schema version. For an event type in ``lean`` the
    envelope's timestamps (``TIJDEN``) come as epoch milliseconds (int) instead of aware datetimes, unless the
    record needs an upcaster (then as always)."""
    cat = cat or catalogue()
    writer = writer_of(data, cat)
    reader = cat.current(writer.event_type)
    mager = writer.event_type in lean
    snel = (writer.lezer_lean if mager else writer.lezer) if writer is reader else None
    if snel is not None:  # the current version, read as itself: the generated reader
        return writer.event_type, _lees(snel, writer, data)
    body = io.BytesIO(data)  # shares the bytes (no copy of the body): read from past the header
    body.seek(HEADER_LEN)
    try:
        if writer is reader:  # the current version: nothing to resolve (fastavro compares the schemas otherwise)
            record = _read(body, writer.lean if mager else writer.reading, None)
        elif writer.version == reader.version or not _needs_steps(cat, writer.event_type, writer.version):
            record = _read(body, *((writer.lean, reader.lean) if mager else (writer.reading, reader.reading)))
        else:
            record = _upcast(cat, writer, _read(body, writer.parsed, writer.parsed), reader.version)
        if body.read(1):
            raise DecodeError("trailing bytes after the Avro body")
    except DecodeError:
        raise
    except Exception as exc:  # fastavro raises many kinds on corrupt input
        raise DecodeError(f"{writer.event_type} v{writer.version}: body does not decode: {exc!r}") from exc
    return writer.event_type, record


def _lees(snel: Lezer, writer: SchemaVersion, data: bytes) -> Record:
    try:
        record, einde = snel(data if type(data) is bytes else bytes(data), HEADER_LEN)
    except Exception as exc:  # an index past the end, invalid UTF-8, a negative length, ...
        # the kind only: the message of a UnicodeDecodeError quotes the bytes
        raise DecodeError(
            f"{writer.event_type} v{writer.version}: body does not decode ({type(exc).__name__})"
        ) from exc
    if einde != len(data):
        raise DecodeError("trailing bytes after the Avro body" if einde < len(data) else "the Avro body is cut short")
    return record


def _read(body: io.BytesIO, writer: Any, reader: Any) -> Record:
    value = schemaless_reader(body, writer, reader)
    if not isinstance(value, dict):
        raise DecodeError("event body is not an Avro record")
    return value


@lru_cache(maxsize=256)
def _needs_steps(cat: Catalogue, event_type: str, version: int) -> bool:
    return any(t == event_type and v >= version for (t, v) in cat.upcasters)


def _upcast(cat: Catalogue, writer: SchemaVersion, record: Record, target: int) -> Record:
    """Walk version by version: an upcaster where one is registered, Avro resolution otherwise."""
    versions = cat.versions[writer.event_type]
    for v in range(writer.version, target):
        step = cat.upcasters.get((writer.event_type, v))
        if step is not None:
            record = step(record)
            continue
        buf = io.BytesIO()
        schemaless_writer(buf, versions[v].parsed, record)
        buf.seek(0)
        record = _read(buf, versions[v].parsed, versions[v + 1].parsed)
    return record
