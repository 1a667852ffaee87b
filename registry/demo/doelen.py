"""The evaluation's tables the demo data reproduces (``registry/domein/data/evaluatie_2021.json``).

``evaluatie()`` is the transcription as published; ``doelen()`` applies every ``adjust``
of its ``notes`` (where the report contradicts itself), which is exactly what the
generated data reproduces at ``PEILDATUM``.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import lru_cache
from typing import Any

from registry.domein import referentie

PEILDATUM = date(2021, 1, 13)  # the evaluation's measurement date
LAATSTE_DAG = date(2021, 6, 30)  # last day of the activity after the peildatum
DATA_FILE = referentie.DATA / "evaluatie_2021.json"


@lru_cache(maxsize=1)
def bron() -> dict[str, Any]:
    """The parsed file, shared: callers must not modify it (``evaluatie()`` gives a copy)."""
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def evaluatie() -> dict[str, Any]:
    """The transcription of the evaluation's tables, as published (a copy)."""
    return copy.deepcopy(bron())


def doelen() -> dict[str, Any]:
    """The tables the data set reproduces at PEILDATUM: the transcription with every
    ``adjust`` of its ``notes`` applied (where the report contradicts itself)."""
    doc = evaluatie()
    for note in doc["notes"]:
        for adj in note.get("adjust", []):
            node = doc[adj["table"]]
            for key in adj["path"][:-1]:
                node = node[key]
            last = adj["path"][-1]
            if node[last] != adj["published"]:
                raise ValueError(f"note adjusts {adj['table']} {adj['path']}: published value is {node[last]!r}")
            node[last] = adj["reproduced"]
    return doc
