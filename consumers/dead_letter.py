"""The validator's output records for refusals and dead letters (JSON, bounded in size).

A dead letter never carries the whole original value: at most a capped prefix (``waarde_base64``, ``afgekapt`` when cut) plus the size,
the SHA-256 of the whole value, the partner, where it was read (topic/partition/offset) and the reason.
So a hostile record of any size becomes a small dead letter the producer always accepts.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from registry.domein.regels import Besluit

# reason codes of dead letters (``reden``)
ONLEESBAAR = "onleesbaar"  # not a decodable registry event (bad magic, unknown fingerprint, truncated Avro, ...)
TE_GROOT = "te_groot"  # larger than the ingress limit
INTERNE_FOUT = "interne_fout"  # judging the record raised an unexpected error (a bug): kept, never a crash


def bron(rec: Any) -> dict[str, Any]:
    return {"topic": rec.topic, "partition": rec.partition, "offset": rec.offset}


def j(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def rejection(event_type: str, r: Any, partner: str, b: Besluit, bron: Any, now: dt.datetime) -> bytes:
    return json.dumps(
        {
            "event_id": r.get("event_id"),
            "event_type": event_type,
            "partner": partner,
            "deelnemer": r.get("deelnemer"),
            "traject_id": r.get("traject_id"),
            "reden": b.reden,
            "melding": b.melding,
            "herstelbaar": b.herstelbaar,
            "recorded_at": now.isoformat(),
            "bron": dict(bron),
        }
    ).encode()


def parkeermelding(g: Any, partner_pseudoniem: str | None, now: dt.datetime) -> bytes:
    """What the partner reads about a submission of its own that waits (``soort: geparkeerd``), on its own topic."""
    from registry.domein.parkeren import voor_partner

    return json.dumps(
        {
            "soort": "geparkeerd",
            "event_id": g.event_id,
            "event_type": g.event_type,
            "partner": g.partner,
            "deelnemer": partner_pseudoniem,
            "reden": g.reden,
            "melding": g.melding,
            "wacht_op": list(voor_partner(g.wacht_op, g.deelnemer, partner_pseudoniem)),
            "parked_at": g.parked_at.isoformat(),
            "recorded_at": now.isoformat(),
            "bron": dict(g.bron),
        }
    ).encode()


def deadletter(rec: Any, partner: str, reden: str, error: str, now: dt.datetime, prefix_bytes: int) -> bytes:
    """A bounded dead letter: ``prefix_bytes`` of the value at most, never the whole of a large one. Only bytes that
    are no registry event keep a prefix: one that decodes (too large, or an internal error) may hold sealed
    persoonsgegevens that an erasure could not reach, so it keeps its size, hash and position only."""
    value: bytes = rec.value or b""
    prefix = value[: max(0, prefix_bytes)] if reden == ONLEESBAAR else b""
    return json.dumps(
        {
            "reden": reden,
            "fout": error[:1000],
            "partner": partner,
            "recorded_at": now.isoformat(),
            "bron": bron(rec),
            "grootte": len(value),
            "sha256": hashlib.sha256(value).hexdigest(),
            "waarde_base64": base64.b64encode(prefix).decode(),
            "afgekapt": len(prefix) < len(value),
        }
    ).encode()
