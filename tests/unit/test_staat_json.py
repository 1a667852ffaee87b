"""The validator state's JSON (registry.domein.staat.entity_json) is what dataclasses.asdict gave, and loads back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from registry.domein.staat import Deelnemer, Staat, Traject, Verklaring, entity_json, load_entity


def _staat() -> Staat:
    s = Staat()
    s.trajecten["t1"] = Traject(
        "t1",
        "p1",
        "mbo.a",
        "25250",
        dt.date(2021, 1, 4),
        "LB1",
        False,
        {("25250", "B1-K1-W2"), ("25250", "B1-K1-W1")},
        dt.datetime(2021, 5, 1, 12, tzinfo=dt.UTC),
    )
    s.trajecten["t2"] = Traject("t2", "p1", "mbo.a", "25250", dt.date(2021, 2, 1))
    s.verklaringen["v1"] = Verklaring("v1", "p1", "t1", "mbo.a", {("25250", "B1-K1-W1")}, 3, True)
    s.deelnemers["p1"] = Deelnemer("p1", True, {"gemeente.x", "uwv"}, ["t1", "t2"], ["v1"])
    return s


def _asdict_json(obj: Any) -> Any:
    """The JSON the adapter wrote before entity_json was written out by hand."""
    d = dataclasses.asdict(obj)
    for k, v in d.items():
        if isinstance(v, set):
            d[k] = sorted(v)
        elif isinstance(v, (dt.date, dt.datetime)):
            d[k] = v.isoformat()
    return json.loads(json.dumps(d))


def test_entity_json_equals_asdict_and_round_trips() -> None:
    s = _staat()
    for kind, key, obj in [
        ("traject", "t1", s.trajecten["t1"]),
        ("traject", "t2", s.trajecten["t2"]),
        ("verklaring", "v1", s.verklaringen["v1"]),
        ("deelnemer", "p1", s.deelnemers["p1"]),
    ]:
        data = json.loads(json.dumps(entity_json(s, kind, key)))
        assert data == _asdict_json(obj)
        loaded = Staat()
        load_entity(loaded, kind, key, data)
        tables: dict[str, dict[str, Any]] = {
            "traject": loaded.trajecten,
            "verklaring": loaded.verklaringen,
            "deelnemer": loaded.deelnemers,
        }
        assert tables[kind][key] == obj
