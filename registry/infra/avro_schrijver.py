"""A writer made for one Avro schema: Python source generated from the parsed schema, compiled once; the
counterpart of registry/infra/avro_lezer.py.

fastavro's writer walks the schema for every record and picks a union's branch by validating the value against each
branch in turn: ~17 µs an event of the registry's, paid by every partner's publisher and twice by the validator
(its reading child encodes what it read, the judge what it changed). A writer generated for one schema does the same
writes as straight-line code into one ``bytearray``.

It writes only values whose bytes it knows fastavro would give: a ``dict`` (or a subclass that keeps its ``get``,
as registry/domein/identifiers.py's ``Gecontroleerd`` does) with exactly the schema's fields (a
missing one with a default takes the default), ``None``, ``True``/``False``, an ``int`` within the type's range, a
``str``, ``bytes``, a ``float``, an enum's symbol, a ``list``, and for the logical types what fastavro's own
converters (the ones its writer calls) make of an aware datetime, a date or a UUID. For anything else (a subclass,
a naive datetime, an extra field, a tuple for a union...) it raises ``Anders`` and the caller asks fastavro, which
then writes the record or says why not. So a record is written the same either way, or refused the same way."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

import fastavro._logical_writers

from registry.infra.avro_bron import Bron, Onbekend, compileer

# record -> its bytes (after ``kop``); raises (``Anders`` or another exception) where fastavro is to decide
Schrijver = Callable[[Mapping[str, Any]], bytes]

_MIN = {"int": -(2**31), "long": -(2**63)}
_MAX = {"int": 2**31 - 1, "long": 2**63 - 1}
# per logical type: the Python types fastavro's converter turns into the type beneath (checked exactly: a
# subclass or any other value goes to fastavro). A date-time is written only when aware: fastavro reads a naive
# one in the machine's local time.
_LOGISCH_IN = {"timestamp-millis": "dt.datetime", "timestamp-micros": "dt.datetime", "date": "dt.date"}


class Anders(Exception):
    """The value is not one this writer is sure to write as fastavro does: the caller asks fastavro."""


def schrijver(
    schema: Mapping[str, Any], naam: str = "schrijf", kop: bytes = b"", negeer: Collection[str] = ()
) -> Schrijver | None:
    """A function ``record -> kop + the record's bytes`` for the parsed record ``schema``; None when the schema uses
    something it does not write. ``negeer``: keys the top record may hold that are not written (nor counted as
    extra fields): ``codec.encode_romp`` writes a record without the registry's last two fields."""
    try:
        bron, globalen = _Bron().functie(schema, naam, negeer)
    except Onbekend:
        return None
    functie: Schrijver = compileer(bron, {**globalen, "_kop": bytes(kop)}, f"<avro_schrijver {naam}>", naam)
    return functie


class _Bron(Bron):
    """Builds the source of one writer: straight-line code appending to ``o``, a local per value."""

    def __init__(self) -> None:
        super().__init__(
            {
                "Anders": Anders,
                "_M": object(),  # a field missing from the record
                "dt": dt,
                "uuid": uuid,
                "_dubbel": struct.Struct("<d").pack,
                "_enkel": struct.Struct("<f").pack,
                "_varint_bytes": _varint_bytes,
            }
        )

    def functie(self, schema: Mapping[str, Any], naam: str, negeer: Collection[str]) -> tuple[str, dict[str, Any]]:
        if schema.get("type") != "record":
            raise Onbekend("not a record")
        regels = [f"def {naam}(r):", "    if not isinstance(r, dict): raise Anders", "    o = bytearray(_kop)"]
        regels += self.velden_van(schema, "    ", "r", tuple(negeer))
        regels.append("    return bytes(o)")
        return "\n".join(regels) + "\n", self.globalen

    def primitief(self, t: Any, ind: str, x: str) -> list[str]:
        if t in _MIN:
            return [
                f"{ind}if type({x}) is not int or not {_MIN[t]} <= {x} <= {_MAX[t]}: raise Anders",
                *_varint(ind, f"({x} << 1) ^ ({x} >> 63)"),
            ]
        if t in ("string", "bytes"):
            b = self.lokaal()
            return [
                f"{ind}if type({x}) is not {'str' if t == 'string' else 'bytes'}: raise Anders",
                f"{ind}{b} = {x}.encode()" if t == "string" else f"{ind}{b} = {x}",
                *_varint(ind, f"len({b}) << 1"),
                f"{ind}o += {b}",
            ]
        if t == "null":
            return [f"{ind}if {x} is not None: raise Anders"]
        if t == "boolean":
            return [
                f"{ind}if {x} is True: o.append(1)",
                f"{ind}elif {x} is False: o.append(0)",
                f"{ind}else: raise Anders",
            ]
        if t in ("double", "float"):
            pack = "_dubbel" if t == "double" else "_enkel"
            return [f"{ind}if type({x}) is not float: raise Anders", f"{ind}o += {pack}({x})"]
        raise Onbekend(repr(t))

    def logisch(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        onder = {k: v for k, v in t.items() if k != "logicalType"}
        basis = onder.get("type")
        # fastavro's own conversion (the one its writer calls), so both write the same value
        fn = fastavro._logical_writers.LOGICAL_WRITERS.get(f"{basis}-{t['logicalType']}")
        if fn is None:  # fastavro writes an unknown logical type as the type beneath it
            return self.waarde(onder, ind, x)
        if t["logicalType"] == "uuid":
            invoer = "uuid.UUID"
        elif t["logicalType"] in _LOGISCH_IN:
            invoer = _LOGISCH_IN[t["logicalType"]]
        else:  # a logical type the registry does not use: its value as the type beneath it only
            return self.waarde(onder, ind, x)
        if invoer == "uuid.UUID" or basis not in _MIN:
            regels = [f"{ind}if type({x}) is {invoer}:", f"{ind}    {x} = {self.globaal(fn)}({x}, {self.globaal(t)})"]
            return regels + self.waarde(onder, ind, x)
        # a date or a time: its bytes, remembered per value (avro_bron.GEZIEN); the same value gives the same bytes
        # in any writer
        m, b = self.lokaal(), self.lokaal()
        binnen = ind + "        "
        berekening = [
            *([f"{binnen}if {x}.tzinfo is None: raise Anders"] if invoer == "dt.datetime" else []),
            f"{binnen}{m} = {self.globaal(fn)}({x}, {self.globaal(t)})",
            f"{binnen}if type({m}) is not int or not {_MIN[basis]} <= {m} <= {_MAX[basis]}: raise Anders",
            f"{binnen}{b} = _varint_bytes(({m} << 1) ^ ({m} >> 63))",
        ]
        geheugen = f"schrijf {basis}-{t['logicalType']}"
        return [
            f"{ind}if type({x}) is {invoer}:",
            *self.onthouden(geheugen, x, b, ind + "    ", berekening),
            f"{ind}    o += {b}",
            f"{ind}else:",
            *self.waarde(onder, ind + "    ", x),
        ]

    def record(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        return [f"{ind}if not isinstance({x}, dict): raise Anders", *self.velden_van(t, ind, x, ())]

    def velden_van(self, t: Mapping[str, Any], ind: str, x: str, negeer: tuple[str, ...]) -> list[str]:
        """The fields in order; a missing field takes its default (none: ``Anders``, fastavro says it is missing);
        a key that is no field (but those in ``negeer``) is an extra field: ``Anders``."""
        mist = self.lokaal()
        regels = [f"{ind}{mist} = 0"]
        for veld in self.velden(t):
            v = self.lokaal()
            regels.append(f"{ind}{v} = {x}.get({veld['name']!r}, _M)")
            regels.append(f"{ind}if {v} is _M:")
            if "default" in veld:
                regels.append(f"{ind}    {v} = {self.globaal(veld['default'])}; {mist} += 1")
            else:
                regels.append(f"{ind}    raise Anders")
            regels += self.waarde(veld["type"], ind, v)
        self.klaar(t)
        genegeerd = "".join(f" - ({k!r} in {x})" for k in negeer)
        return regels + [f"{ind}if len({x}) + {mist}{genegeerd} != {len(t['fields'])}: raise Anders"]

    def enum(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        index = self.lokaal()
        symbolen = self.globaal({s: i for i, s in enumerate(t["symbols"])})
        return [
            f"{ind}{index} = {symbolen}.get({x}) if type({x}) is str else None",
            f"{ind}if {index} is None: raise Anders",
            *_varint(ind, f"{index} << 1"),
        ]

    def unie(self, takken: list[Any], ind: str, x: str) -> list[str]:
        """fastavro writes a value in the first branch it validates against. Written here: None (its null branch)
        and, in a union of null and one other type, any other value as that type."""
        soorten = [tak for tak in takken if tak != "null"]
        if len(soorten) > 1 or len(takken) > 2:
            raise Onbekend("a union of more than null and one type")
        regels = []
        if "null" in takken:
            regels.append(f"{ind}if {x} is None: o.append({takken.index('null') << 1})")
        if soorten:
            tak = soorten[0]
            binnen = ind + "    " if "null" in takken else ind
            if "null" in takken:
                regels.append(f"{ind}else:")
            regels.append(f"{binnen}o.append({takken.index(tak) << 1})")
            regels += self.waarde(tak, binnen, x)
        elif "null" in takken:
            regels.append(f"{ind}else: raise Anders")
        return regels

    def blokken(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        """An array or a map: one block of all its items (when there are any), then a count of 0."""
        is_map = t["type"] == "map"
        sleutel, item = self.lokaal(), self.lokaal()
        binnen = ind + "        "
        anders = f"not isinstance({x}, dict)" if is_map else f"type({x}) is not list"
        regels = [
            f"{ind}if {anders}: raise Anders",
            f"{ind}if {x}:",
            *_varint(ind + "    ", f"len({x}) << 1"),
        ]
        if is_map:
            regels.append(f"{ind}    for {sleutel}, {item} in {x}.items():")
            regels += self.waarde("string", binnen, sleutel)
        else:
            regels.append(f"{ind}    for {item} in {x}:")
        regels += self.waarde(t["values"] if is_map else t["items"], binnen, item)
        return regels + [f"{ind}o.append(0)"]


def _varint(ind: str, zigzag: str) -> list[str]:
    """Append the varint of ``zigzag`` (an expression, >= 0: a value already zig-zagged); one byte without a loop."""
    return [
        f"{ind}z = {zigzag}",
        f"{ind}if z < 128: o.append(z)",
        f"{ind}else:",
        f"{ind}    while z > 127: o.append(z & 127 | 128); z >>= 7",
        f"{ind}    o.append(z)",
    ]


def _varint_bytes(z: int) -> bytes:
    """The varint of ``z`` (>= 0, zig-zagged already)."""
    out = bytearray()
    while z > 127:
        out.append(z & 127 | 128)
        z >>= 7
    out.append(z)
    return bytes(out)
