"""Values of an Avro type for property tests, as fastavro reads them back (aware UTC datetimes, dates), and the
catalogue's schema versions they are drawn for."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
