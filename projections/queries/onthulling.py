"""The record keys of the cell key method (registry/domein/onthulling.py) of given deelnemers."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection

from projections.queries.common import rows


def record_sleutels(conn: Connection, deelnemers: Collection[str]) -> dict[str, int]:
    """deelnemer -> record key, for those of ``deelnemers`` the registry has seen (others have none)."""
    if not deelnemers:
        return {}
    return {
        str(r.deelnemer): int(r.sleutel)
        for r in rows(
            conn,
            "SELECT deelnemer, sleutel FROM {s}.record_sleutels WHERE deelnemer = ANY(CAST(:d AS text[]))",
            {"d": sorted(set(deelnemers))},
        )
    }
