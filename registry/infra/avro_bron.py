"""What the generated Avro reader and writer (registry/infra/avro_lezer.py, avro_schrijver.py) share: a builder of
Python source that walks a parsed schema once, type by type, and the step that compiles that source."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import count
from typing import Any

PRIMITIEF = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

# what a generated function remembers of a date or time (a batch's events share recorded_at, a deelnemer's events
# their dates): per name (the reader's and the writer's per logical type) one memory shared by every function,
# emptied when it holds GEZIEN_MAX values (the values are immutable)
GEZIEN: dict[str, dict[Any, Any]] = {}
GEZIEN_MAX = 4096


class Onbekend(Exception):
    """A schema construct the generator does not handle (the caller keeps fastavro)."""


class Bron:
    """Walks a parsed schema: ``waarde`` dispatches each type to the subclass's ``primitief``, ``logisch``,
    ``record``, ``enum``, ``unie`` or ``blokken`` (an array or a map), each giving lines of source for one value in
    the local ``x``; a named type's reference is generated as the type it names."""

    def __init__(self, globalen: Mapping[str, Any]) -> None:
        self.nummers = count()
        self.benoemd: dict[str, Any] = {}  # full name -> schema, for references to named types
        self.bezig: set[str] = set()  # records being generated: a reference to one is a recursive type
        self.globalen: dict[str, Any] = dict(globalen)  # what the generated function refers to by name

    def lokaal(self) -> str:
        return f"v{next(self.nummers)}"

    def globaal(self, waarde: Any) -> str:
        naam = f"_g{len(self.globalen)}"
        self.globalen[naam] = waarde
        return naam

    def waarde(self, t: Any, ind: str, x: str) -> list[str]:
        if isinstance(t, str) and t in self.benoemd:
            if t in self.bezig:
                raise Onbekend(f"recursive type {t}")
            return self.waarde(self.benoemd[t], ind, x)
        if isinstance(t, list):
            return self.unie(t, ind, x)
        if isinstance(t, Mapping):
            if "logicalType" in t:
                return self.logisch(t, ind, x)
            soort = t.get("type")
            if soort in PRIMITIEF:
                return self.waarde(soort, ind, x)
            if soort == "record":
                return self.record(t, ind, x)
            if soort == "enum":
                self.benoemd[t["name"]] = t
                return self.enum(t, ind, x)
            if soort in ("array", "map"):
                return self.blokken(t, ind, x)
            raise Onbekend(str(soort))
        return self.primitief(t, ind, x)

    def onthouden(self, naam: str, sleutel: str, doel: str, ind: str, berekening: list[str]) -> list[str]:
        """Lines that set ``doel`` to what the memory ``naam`` holds for ``sleutel``, else run ``berekening``
        (lines that set ``doel``) and remember it."""
        g = self.globaal(GEZIEN.setdefault(naam, {}))
        return [
            f"{ind}{doel} = {g}.get({sleutel})",
            f"{ind}if {doel} is None:",
            *berekening,
            f"{ind}    if len({g}) >= {GEZIEN_MAX}: {g}.clear()",
            f"{ind}    {g}[{sleutel}] = {doel}",
        ]

    def velden(self, t: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """A record's fields, the record known by its name from here on (a recursive reference: ``Onbekend``)."""
        self.benoemd[t["name"]] = t
        self.bezig.add(t["name"])
        return list(t["fields"])

    def klaar(self, t: Mapping[str, Any]) -> None:
        """The record's fields are generated: a later reference to it is no longer recursive."""
        self.bezig.discard(t["name"])

    def primitief(self, t: Any, ind: str, x: str) -> list[str]:
        raise Onbekend(repr(t))

    def logisch(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        raise Onbekend(str(t.get("logicalType")))

    def record(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        raise Onbekend("record")

    def enum(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        raise Onbekend("enum")

    def unie(self, takken: list[Any], ind: str, x: str) -> list[str]:
        raise Onbekend("union")

    def blokken(self, t: Mapping[str, Any], ind: str, x: str) -> list[str]:
        raise Onbekend(str(t.get("type")))


def compileer(bron: str, globalen: Mapping[str, Any], titel: str, naam: str) -> Callable[..., Any]:
    """The function ``naam`` of the generated ``bron`` (``titel`` names it in a traceback)."""
    ns: dict[str, Any] = dict(globalen)
    exec(compile(bron, titel, "exec"), ns)  # noqa: S102 - source generated from the registry's own schemas
    functie: Callable[..., Any] = ns[naam]
    return functie
