"""Operations: how far each projection has read (``GET /v1/status``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from projections.catalogus import ALL as PROJECTIONS
from projections.queries.common import rows


def projection_status(conn: Connection) -> list[dict[str, Any]]:
    """One row per projection and (topic, partition): the stored next_offset and the recorded_at of the last
    applied event; a projection that has stored nothing yet gets one row with topic/partition None."""
    stored = rows(
        conn,
        "SELECT projection, topic, partition, next_offset, last_recorded_at, updated_at "
        "FROM {s}.projection_offsets ORDER BY projection, topic, partition",
    )
    out: list[dict[str, Any]] = []
    seen = set()
    for r in stored:
        seen.add(r.projection)
        group = PROJECTIONS[r.projection].consumer_group if r.projection in PROJECTIONS else None
        out.append(
            {
                "projection": r.projection,
                "group": group,
                "topic": r.topic,
                "partition": r.partition,
                "next_offset": r.next_offset,
                "last_recorded_at": r.last_recorded_at,
                "updated_at": r.updated_at,
            }
        )
    for name, p in PROJECTIONS.items():
        if name not in seen:
            out.append(
                {
                    "projection": name,
                    "group": p.consumer_group,
                    "topic": None,
                    "partition": None,
                    "next_offset": None,
                    "last_recorded_at": None,
                    "updated_at": None,
                }
            )
    return out
