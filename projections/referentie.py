"""Projection ``referentie``: reference data from the log (dossiers and their
werkprocessen, erkende leerbedrijven, erkenningen derde leerweg).

Keyed on the reference id; a newer version (by business time) replaces an older
one whatever order they are applied in (``ON CONFLICT .. DO UPDATE .. WHERE
newer``), so applying twice or out of order gives the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from projections.model import Change, Message, Projection, insert
from registry.domein.events import PERSON_EVENTS, REGISTRY_EVENTS, TELLING
from registry.domein.handlers import EventHandlers

TABLES: dict[str, str] = {
    "dossiers": """(
        crebo text PRIMARY KEY, naam text NOT NULL, niveau integer NOT NULL, domein text NOT NULL,
        occurred_at timestamptz NOT NULL, event_id text NOT NULL)""",
    "dossier_werkprocessen": """(
        crebo text NOT NULL, werkproces text NOT NULL, naam text NOT NULL, kerntaak text NOT NULL,
        kerntaak_naam text NOT NULL, occurred_at timestamptz NOT NULL, PRIMARY KEY (crebo, werkproces))""",
    "leerbedrijven": """(
        leerbedrijf_id text PRIMARY KEY, naam text NOT NULL, crebos text[] NOT NULL,
        occurred_at timestamptz NOT NULL, event_id text NOT NULL)""",
    "erkenningen": """(
        mbo_instelling text NOT NULL, crebo text NOT NULL, vanaf date NOT NULL,
        occurred_at timestamptz NOT NULL, event_id text NOT NULL, PRIMARY KEY (mbo_instelling, crebo))""",
}
INDEXES: list[str] = []


Record = Mapping[str, Any]


def _dossier(r: Record) -> list[Change]:
    at, eid = r["occurred_at"], str(r["event_id"])
    out = [
        insert(
            "dossiers",
            {
                "crebo": r["crebo"],
                "naam": r["naam"],
                "niveau": r["niveau"],
                "domein": r["domein"],
                "occurred_at": at,
                "event_id": eid,
            },
            ["crebo"],
            ["naam", "niveau", "domein", "occurred_at", "event_id"],
            newer_than="occurred_at",
        )
    ]
    for kt in r["kerntaken"]:
        for wp in kt["werkprocessen"]:
            out.append(
                insert(
                    "dossier_werkprocessen",
                    {
                        "crebo": r["crebo"],
                        "werkproces": wp["code"],
                        "naam": wp["naam"],
                        "kerntaak": kt["code"],
                        "kerntaak_naam": kt["naam"],
                        "occurred_at": at,
                    },
                    ["crebo", "werkproces"],
                    ["naam", "kerntaak", "kerntaak_naam", "occurred_at"],
                    newer_than="occurred_at",
                )
            )
    return out


def _leerbedrijf(r: Record) -> list[Change]:
    return [
        insert(
            "leerbedrijven",
            {
                "leerbedrijf_id": r["leerbedrijf_id"],
                "naam": r["naam"],
                "crebos": sorted(set(r["crebos"])),
                "occurred_at": r["occurred_at"],
                "event_id": str(r["event_id"]),
            },
            ["leerbedrijf_id"],
            ["naam", "crebos", "occurred_at", "event_id"],
            newer_than="occurred_at",
        )
    ]


def _erkenning(r: Record) -> list[Change]:
    return [
        insert(
            "erkenningen",
            {
                "mbo_instelling": r["mbo_instelling"],
                "crebo": r["crebo"],
                "vanaf": r["vanaf"],
                "occurred_at": r["occurred_at"],
                "event_id": str(r["event_id"]),
            },
            ["mbo_instelling", "crebo"],
            ["vanaf", "occurred_at", "event_id"],
            newer_than="occurred_at",
        )
    ]


# tests/unit/test_catalogus.py checks every catalogue event type is here or in IGNORED
_REFERENTIE: EventHandlers[Callable[[Record], list[Change]]] = EventHandlers(
    "referentie",
    {
        "KwalificatiedossierVastgesteld": _dossier,
        "LeerbedrijfErkend": _leerbedrijf,
        "ErkenningDerdeLeerwegVerleend": _erkenning,
    },
    ignored=PERSON_EVENTS | REGISTRY_EVENTS | {TELLING},  # facts about deelnemers and tellingen are feiten's
)
HANDLED = _REFERENTIE.handled
IGNORED = _REFERENTIE.ignored


def apply(msg: Message) -> list[Change]:
    handler = _REFERENTIE.get(msg.event_type) if msg.kind == "events" else None
    return handler(msg.record) if handler else []


PROJECTION = Projection(
    name="referentie",
    description="Reference data: kwalificatiedossiers + werkprocessen, erkende leerbedrijven, erkenningen.",
    kinds=("events",),
    tables=TABLES,
    indexes=INDEXES,
    apply=apply,
    ignored=IGNORED,
)
