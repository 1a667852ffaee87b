"""Values of an Avro type for property tests, as fastavro reads them back (aware UTC datetimes, dates), and the
catalogue's schema versions they are drawn for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fastavro import parse_schema
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from registry.infra import codec

CAT = codec.catalogue()
# every (event type, version) the catalogue holds: the generated readers and writers are tested on each
VERSIES = sorted((sv.event_type, sv.version) for sv in CAT.by_fingerprint.values())
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def strategy_for(typ: Any, named: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Values of the (parsed) Avro type ``typ``; ``named``: the named types seen so far, for references."""
    named = {} if named is None else named
    if isinstance(typ, list):
        return st.one_of(*[strategy_for(t, named) for t in typ])
    if isinstance(typ, str) and typ in named:
        return strategy_for(named[typ], named)
    if isinstance(typ, dict):
        logical, kind = typ.get("logicalType"), typ.get("type")
        if "name" in typ and kind in ("record", "enum"):
            named[typ["name"]] = typ
        if logical == "timestamp-millis":
            return st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
                lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=dt.UTC)
            )
        if logical == "date":
            return st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 1, 1))
        if logical == "uuid":
            return st.uuids().map(str)
        if kind == "enum":
            return st.sampled_from(typ["symbols"])
        if kind == "array":
            return st.lists(strategy_for(typ["items"], named), max_size=3)
        if kind == "map":
            return st.dictionaries(st.text(max_size=8), strategy_for(typ["values"], named), max_size=3)
        if kind == "record":
            return st.fixed_dictionaries({f["name"]: strategy_for(f["type"], named) for f in typ["fields"]})
        return strategy_for(kind, named)
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(width=32, allow_nan=False),
        "double": st.floats(allow_nan=False),
        "string": st.text(max_size=80),  # over 63 characters: a length of two bytes
        "bytes": st.binary(max_size=80),
    }[typ]


def alles(kenmerk: list[str], binnen: Sequence[dict[str, Any]] = (), extra: Sequence[dict[str, Any]] = ()) -> Any:
    """A parsed record schema with what the registry's schemas do not use, or use once: an enum and a reference to
    it, a map, floats, bytes, a nested record and an array of it. ``kenmerk``: the union of the map's values;
    ``binnen`` and ``extra``: more fields of the nested record and of the record (after the others)."""
    return parse_schema(
        {
            "type": "record",
            "name": "Alles",
            "namespace": "t",
            "fields": [
                {"name": "soort", "type": {"type": "enum", "name": "Soort", "symbols": ["a", "b", "c"]}},
                {"name": "nog_een", "type": "t.Soort"},  # a reference to a named type defined above
                {"name": "kenmerken", "type": {"type": "map", "values": kenmerk}},
                {"name": "getal", "type": "double"},
                {"name": "klein", "type": "float"},
                {"name": "ruw", "type": "bytes"},
                {"name": "vlag", "type": "boolean"},
                {"name": "telling", "type": "int"},
                {
                    "name": "binnen",
                    "type": {
                        "type": "record",
                        "name": "Binnen",
                        "fields": [
                            {"name": "lijst", "type": {"type": "array", "items": "long"}},
                            {"name": "dag", "type": ["null", {"type": "int", "logicalType": "date"}]},
                            *binnen,
                        ],
                    },
                },
                {"name": "meer", "type": {"type": "array", "items": "t.Binnen"}},
                *extra,
            ],
        }
    )
