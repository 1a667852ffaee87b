"""Projection ``tijdlijn``: the event history per deelnemer/traject in log order,
plus the rejected submissions about them (from ``praktijkleren.rejections``).

Stores the key fields of each event as JSON, never the encrypted persoonsgegevens.
Keyed on event_id (events) and on the rejection record's partition/offset.
"""

from __future__ import annotations

import json
from typing import Any

from projections.feiten import vervanger
from projections.model import (
    ENVELOP,
    Bulk,
    Change,
    Message,
    Projection,
    as_timestamp,
    bulk_insert,
    insert,
    json_value,
    jsonable,
    opt,
)
from registry.domein.events import ALL_EVENTS

TABLES: dict[str, str] = {
    "event_log": """(
        event_id text PRIMARY KEY, log_partition integer NOT NULL, log_offset bigint NOT NULL,
        event_type text NOT NULL, deelnemer text, traject_id text, verklaring_id text, partner text,
        occurred_at timestamptz, recorded_at timestamptz, warnings text[] NOT NULL, gegevens jsonb NOT NULL)""",
    "afwijzingen": """(
        log_partition integer NOT NULL, log_offset bigint NOT NULL, event_id text, event_type text,
        partner text, deelnemer text, traject_id text, reden text, melding text, recorded_at timestamptz,
        bron jsonb, PRIMARY KEY (log_partition, log_offset))""",
}
INDEXES = [
    "CREATE INDEX IF NOT EXISTS event_log_deelnemer ON {s}.event_log (deelnemer, log_partition, log_offset)",
    # partial: most events have no verklaring_id (~9 in 10) or no traject_id (~1 in 5), and every lookup is by a
    # value (10,000 rows into a copy of event_log: 56-61 against 65-67 ms). A read model made with the full indexes
    # keeps them (same names) until a replay rebuilds it
    "CREATE INDEX IF NOT EXISTS event_log_traject ON {s}.event_log (traject_id) WHERE traject_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS event_log_verklaring ON {s}.event_log (verklaring_id) WHERE verklaring_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS afwijzingen_deelnemer ON {s}.afwijzingen (deelnemer)",
    "CREATE INDEX IF NOT EXISTS afwijzingen_traject ON {s}.afwijzingen (traject_id)",
]
# envelope fields are columns; persoonsgegevens is never stored
_NOT_IN_GEGEVENS = ENVELOP

# every event type becomes an event_log row the same way (key fields as columns, the rest as
# jsonb), so there is no per-type table here; tests/unit/test_catalogus.py reads these two
HANDLED = ALL_EVENTS
IGNORED: frozenset[str] = frozenset()


def apply(msg: Message) -> list[Change]:
    r = msg.record
    if msg.kind == "rejections":
        bron = r.get("bron")
        return [
            insert(
                "afwijzingen",
                {
                    "log_partition": msg.partition,
                    "log_offset": msg.offset,
                    "event_id": opt(r.get("event_id")),
                    "event_type": opt(r.get("event_type")),
                    "partner": opt(r.get("partner")),
                    "deelnemer": opt(r.get("deelnemer")),
                    "traject_id": opt(r.get("traject_id")),
                    "reden": opt(r.get("reden")),
                    "melding": opt(r.get("melding")),
                    "recorded_at": as_timestamp(r.get("recorded_at")),
                    "bron": json.dumps(jsonable(bron)) if isinstance(bron, dict) else None,
                },
                ["log_partition", "log_offset"],
            )
        ]
    if msg.event_type == "DeelnemerGegevensVerwijderd":
        return _verwijdering(msg, r)
    gegevens = {k: v for k, v in r.items() if k not in _NOT_IN_GEGEVENS}
    return [
        insert(
            "event_log",
            {
                "event_id": str(r["event_id"]),
                "log_partition": msg.partition,
                "log_offset": msg.offset,
                "event_type": msg.event_type,
                "deelnemer": opt(r.get("deelnemer")),
                "traject_id": opt(r.get("traject_id")),
                "verklaring_id": opt(r.get("verklaring_id")),
                "partner": opt(r.get("partner")),
                "occurred_at": r.get("occurred_at"),
                "recorded_at": r.get("recorded_at"),
                "warnings": list(r.get("warnings") or []),
                "gegevens": json.dumps(gegevens, sort_keys=True, default=json_value),
            },
            ["event_id"],
        )
    ]


# erasure: the person's history and refusals go; a verklaring's row stays without the pseudonym and its
# content, because its log position is the credential's index in the status list (a revoked one must stay revoked)
_WIS_HISTORIE = "DELETE FROM {s}.event_log WHERE deelnemer = :oud AND event_type <> 'PraktijkverklaringUitgegeven'"
_WIS_VERKLARINGEN = (
    "UPDATE {s}.event_log SET deelnemer = :nieuw, gegevens = '{}'::jsonb "
    "WHERE deelnemer = :oud AND event_type = 'PraktijkverklaringUitgegeven'"
)
_WIS_AFWIJZINGEN = "DELETE FROM {s}.afwijzingen WHERE deelnemer = :oud"


def _verwijdering(msg: Message, r: Any) -> list[Change]:
    oud, nieuw = str(r["deelnemer"]), vervanger(str(r["event_id"]))
    return [
        Change(_WIS_HISTORIE, {"oud": oud}),
        Change(_WIS_VERKLARINGEN, {"oud": oud, "nieuw": nieuw}),
        Change(_WIS_AFWIJZINGEN, {"oud": oud}),
        insert(
            "event_log",
            {
                "event_id": str(r["event_id"]),
                "log_partition": msg.partition,
                "log_offset": msg.offset,
                "event_type": msg.event_type,
                "deelnemer": nieuw,
                "traject_id": None,
                "verklaring_id": None,
                "partner": opt(r.get("partner")),
                "occurred_at": r.get("occurred_at"),
                "recorded_at": r.get("recorded_at"),
                "warnings": list(r.get("warnings") or []),
                "gegevens": "{}",
            },
            ["event_id"],
        ),
    ]


_ERASURE = "DeelnemerGegevensVerwijderd"
# every event but an erasure (which deletes, so it goes through ``apply`` after these): key fields as columns, the
# rest of the record (as ``_json_value`` writes it into the staging table) as gegevens
BULK = Bulk(
    types=ALL_EVENTS - {_ERASURE},
    statements=(
        bulk_insert(
            "event_log",
            {
                "event_id": "event_id",
                "log_partition": "part",
                "log_offset": "off",
                **{c: c for c in ("event_type", "deelnemer", "traject_id", "verklaring_id", "partner")},
                "occurred_at": "occurred_at",
                "recorded_at": "recorded_at",
                "warnings": "COALESCE(warnings, '{}'::text[])",
                "gegevens": "rec",  # the staging row's rest of the record is exactly what gegevens keeps
            },
            ["event_id"],
            f"event_type <> '{_ERASURE}'",
        ),
    ),
    # an erasure looks rows up by deelnemer; a rebuild creates the other indexes at the end
    deferred_indexes=tuple(i for i in INDEXES if "_deelnemer ON" not in i),
)

PROJECTION = Projection(
    name="tijdlijn",
    description="Event history per deelnemer and traject (log order) plus rejected submissions.",
    kinds=("events", "rejections"),
    tables=TABLES,
    indexes=INDEXES,
    apply=apply,
    bulk=BULK,
)
