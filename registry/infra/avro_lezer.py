"""A reader made for one Avro schema: Python source generated from the parsed schema, compiled once.

fastavro's reader walks the schema for every record: per field a dispatch on the type's name, a look at its logical
type, an ``options`` dict, and a method call on the file object for every byte of a varint. Per event that was about
as much as kafka-python's fetch and the staging row together. A reader generated for one schema does the same
reads as straight-line code over the bytes (a varint of one byte, the common case, in three steps). It reads what
the registry's schemas use (records, enums, arrays, maps, unions, the primitive types and fastavro's logical
readers); for a schema with anything else ``lezer`` gives None and ``codec`` keeps fastavro.

Strict on malformed input: a length or count below zero, an enum or union index out of range, invalid UTF-8, bytes
missing or left over all raise (``codec`` makes each a ``DecodeError``)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

import fastavro._read

from registry.infra.avro_bron import Bron, Onbekend, compileer

# (data, start) -> (record, the position after it): past the end of ``data`` when bytes were missing
Lezer = Callable[[bytes, int], tuple[dict[str, Any], int]]


def lezer(schema: Mapping[str, Any], naam: str = "lees") -> Lezer | None:
    """A function ``(data, start) -> (record, end)`` reading one record of the parsed ``schema`` at ``data[start:]``
    (``end`` past ``len(data)``: the bytes ended inside it); None when the schema uses something it does not read."""
    try:
        bron, globalen = _Bron().functie(schema, naam)
    except Onbekend:
        return None
    functie: Lezer = compileer(bron, globalen, f"<avro_lezer {naam}>", naam)
    return functie


class _Bron(Bron):
    """Builds the source of one reader: straight-line code, a local per value."""

    def __init__(self) -> None:
        super().__init__({"_dubbel": struct.Struct("<d").unpack_from, "_enkel": struct.Struct("<f").unpack_from})

    def functie(self, schema: Mapping[str, Any], naam: str) -> tuple[str, dict[str, Any]]:
        if schema.get("type") != "record":
            raise Onbekend("not a record")
        regels = [f"def {naam}(d, p):"]
        regels += self.waarde(schema, "    ", "r")
        regels.append("    return r, p")
        return "\n".join(regels) + "\n", self.globalen

    def primitief(self, t: Any, ind: str, doel: str) -> list[str]:
        if t in ("int", "long"):
            return _varint(ind, doel)
        if t in ("string", "bytes"):
            # a length of one byte, the common case, read straight: ``b & 129`` is 0 for 0..127 when even (>= 0)
            lengte, einde = self.lokaal(), self.lokaal()
            lees = ".decode()" if t == "string" else ""
            binnen = ind + "    "
            return [
                f"{ind}b = d[p]",
                f"{ind}if not b & 129:",
                f"{binnen}{einde} = p + 1 + (b >> 1)",
                f"{binnen}{doel} = d[p + 1:{einde}]{lees}; p = {einde}",
                f"{ind}else:",
                f"{binnen}p += 1",
                *_varint_rest(binnen, lengte),
                f"{binnen}if {lengte} < 0: raise ValueError('negative length')",
                f"{binnen}{doel} = d[p:p + {lengte}]{lees}; p += {lengte}",
            ]
        if t == "null":
            return [f"{ind}{doel} = None"]
        if t == "boolean":
            return [f"{ind}{doel} = d[p] != 0; p += 1"]
        if t == "double":
            return [f"{ind}{doel} = _dubbel(d, p)[0]; p += 8"]
        if t == "float":
            return [f"{ind}{doel} = _enkel(d, p)[0]; p += 4"]
        raise Onbekend(repr(t))

    def logisch(self, t: Mapping[str, Any], ind: str, doel: str) -> list[str]:
        # fastavro's own conversion (the one its reader would call), so both give the same value
        fn = fastavro._read.LOGICAL_READERS.get(f"{t['type']}-{t['logicalType']}")  # type: ignore[attr-defined]
        onder = {k: v for k, v in t.items() if k != "logicalType"}
        if fn is None:  # fastavro reads an unknown logical type as the type beneath it
            return self.waarde(onder, ind, doel)
        naam = f"_logisch{len(self.globalen)}"
        self.globalen[naam] = fn
        self.globalen[naam + "_schema"] = t
        ruw = self.lokaal()
        omzetten = f"{naam}({ruw}, {naam}_schema, None)"
        if t["type"] not in ("int", "long"):
            return self.waarde(onder, ind, ruw) + [f"{ind}{doel} = {omzetten}"]
        # a time or date from an int: the value, remembered per int (avro_bron.GEZIEN)
        geheugen = f"lees {t['logicalType']}"
        return self.waarde(onder, ind, ruw) + self.onthouden(
            geheugen, ruw, doel, ind, [f"{ind}    {doel} = {omzetten}"]
        )

    def record(self, t: Mapping[str, Any], ind: str, doel: str) -> list[str]:
        regels, paren = [], []
        for veld in self.velden(t):
            lokaal = self.lokaal()
            regels += self.waarde(veld["type"], ind, lokaal)
            paren.append(f"{veld['name']!r}: {lokaal}")
        self.klaar(t)
        return regels + [f"{ind}{doel} = {{{', '.join(paren)}}}"]

    def enum(self, t: Mapping[str, Any], ind: str, doel: str) -> list[str]:
        index = self.lokaal()
        symbolen = tuple(t["symbols"])
        return _varint(ind, index) + [
            f"{ind}if not 0 <= {index} < {len(symbolen)}: raise ValueError('enum index out of range')",
            f"{ind}{doel} = {symbolen!r}[{index}]",
        ]

    def unie(self, takken: list[Any], ind: str, doel: str) -> list[str]:
        index = self.lokaal()
        regels = _varint(ind, index)
        for i, tak in enumerate(takken):
            regels.append(f"{ind}{'if' if i == 0 else 'elif'} {index} == {i}:")
            regels += self.waarde(tak, ind + "    ", doel)
        return regels + [f"{ind}else:", f"{ind}    raise ValueError('union index out of range')"]

    def blokken(self, t: Mapping[str, Any], ind: str, doel: str) -> list[str]:
        """An array or a map: blocks of a count each (a negative count is followed by the block's size in bytes),
        until a count of 0."""
        is_map = t["type"] == "map"
        aantal, uit, sleutel, item = self.lokaal(), self.lokaal(), self.lokaal(), self.lokaal()
        binnen = ind + "        "
        regels = [f"{ind}{uit} = {{}}" if is_map else f"{ind}{uit} = []", *_varint(ind, aantal)]
        regels += [f"{ind}while {aantal}:", f"{ind}    if {aantal} < 0:"]
        regels += _varint(ind + "        ", "_grootte")
        regels += [f"{ind}        {aantal} = -{aantal}", f"{ind}    for _ in range({aantal}):"]
        if is_map:
            regels += self.waarde("string", binnen, sleutel)
            regels += self.waarde(t["values"], binnen, item)
            regels.append(f"{binnen}{uit}[{sleutel}] = {item}")
        else:
            regels += self.waarde(t["items"], binnen, item)
            regels.append(f"{binnen}{uit}.append({item})")
        regels += _varint(ind + "    ", aantal)
        return regels + [f"{ind}{doel} = {uit}"]


def _varint(ind: str, doel: str) -> list[str]:
    """A zig-zag varint (Avro's int and long) at ``p`` into ``doel``; one byte without a loop."""
    return [
        f"{ind}b = d[p]; p += 1",
        f"{ind}if b < 128:",
        f"{ind}    {doel} = (b >> 1) ^ -(b & 1)",
        f"{ind}else:",
        *_varint_rest(ind + "    ", doel),
    ]


def _varint_rest(ind: str, doel: str) -> list[str]:
    """The rest of a varint whose first byte ``b`` (>= 128 or not) was read and ``p`` moved past it."""
    return [
        f"{ind}n = b & 127; s = 7",
        f"{ind}while b >= 128:",
        f"{ind}    b = d[p]; p += 1; n |= (b & 127) << s; s += 7",
        f"{ind}if s > 70: raise ValueError('varint too long')",
        f"{ind}{doel} = (n >> 1) ^ -(n & 1)",
    ]
