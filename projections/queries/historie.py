"""The history views: a deelnemer's tijdlijn and one traject's current state with its history.
Rejected submissions (afwijzingen) are merged into the event log by recorded_at."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, Row

from projections.queries.common import instelling_naam, rows
from registry.domein import redenen


def _entry(r: Row[Any]) -> dict[str, Any]:
    gegevens = r.gegevens if isinstance(r.gegevens, dict) else json.loads(r.gegevens or "{}")
    gegevens = redenen.leesbaar(r.event_type, gegevens)  # a reden code with its label, never free text
    return {
        "event_id": r.event_id,
        "event_type": r.event_type,
        "occurred_at": r.occurred_at,
        "recorded_at": r.recorded_at,
        "partner": r.partner,
        "traject_id": r.traject_id,
        "verklaring_id": r.verklaring_id,
        "warnings": list(r.warnings or []),
        "gegevens": gegevens,
        "afgewezen": False,
        "reden": None,
        "melding": None,
    }


def _afwijzing(r: Row[Any]) -> dict[str, Any]:
    return {
        "event_id": r.event_id,
        "event_type": r.event_type,
        "occurred_at": None,
        "recorded_at": r.recorded_at,
        "partner": r.partner,
        "traject_id": r.traject_id,
        "verklaring_id": None,
        "warnings": [],
        "gegevens": {},
        "afgewezen": True,
        "reden": r.reden,
        "melding": r.melding,
    }


def _merge(events: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events in log order; each rejection placed before the first event recorded after it."""
    pending = sorted(rejected, key=lambda r: (r["recorded_at"] is None, r["recorded_at"] or dt.datetime.min))
    out: list[dict[str, Any]] = []
    for ev in events:
        while (
            pending
            and ev["recorded_at"] is not None
            and pending[0]["recorded_at"] is not None
            and pending[0]["recorded_at"] < ev["recorded_at"]
        ):
            out.append(pending.pop(0))
        out.append(ev)
    return out + pending


_LOG_COLS = "event_id, event_type, occurred_at, recorded_at, partner, traject_id, verklaring_id, warnings, gegevens"
_REJ_COLS = "event_id, event_type, recorded_at, partner, traject_id, reden, melding"


def tijdlijn(conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
    """Every event about the deelnemer in log order, with rejected submissions (``afgewezen: true``) merged in
    by recorded_at; None when the registry knows nothing about them. No persoonsgegevens. Log order is recorded_at
    first: after a pseudonym key rotation the deelnemer's later events are keyed (partitioned) differently."""
    events = [
        _entry(r)
        for r in rows(
            conn,
            f"SELECT {_LOG_COLS} FROM {{s}}.event_log WHERE deelnemer = :d "
            "ORDER BY recorded_at, log_partition, log_offset",
            {"d": deelnemer},
        )
    ]
    rejected = [
        _afwijzing(r)
        for r in rows(
            conn,
            f"SELECT {_REJ_COLS} FROM {{s}}.afwijzingen WHERE deelnemer = :d "
            "ORDER BY recorded_at, log_partition, log_offset",
            {"d": deelnemer},
        )
    ]
    if not events and not rejected:
        return None
    return _merge(events, rejected)


def traject(conn: Connection, traject_id: str) -> dict[str, Any] | None:
    """Current state of one traject plus its full history (events in log order and rejections about it)."""
    t = {"t": traject_id}
    ins = rows(
        conn,
        "SELECT deelnemer, mbo_instelling, crebo, pilot, startdatum, leerbedrijf_id FROM {s}.inschrijvingen "
        "WHERE traject_id = :t ORDER BY occurred_at, event_id LIMIT 1",
        t,
    )
    events = [
        _entry(r)
        for r in rows(
            conn,
            # two index lookups: with OR, PostgreSQL scanned the whole event_log (an OR with a sub-select takes no
            # index)
            f"""SELECT {_LOG_COLS} FROM {{s}}.event_log WHERE event_id IN (
            SELECT event_id FROM {{s}}.event_log WHERE traject_id = :t
            UNION ALL
            SELECT event_id FROM {{s}}.event_log
            WHERE verklaring_id IN (SELECT verklaring_id FROM {{s}}.verklaringen WHERE traject_id = :t))
        ORDER BY recorded_at, log_partition, log_offset""",
            t,
        )
    ]
    rejected = [
        _afwijzing(r)
        for r in rows(
            conn,
            f"SELECT {_REJ_COLS} FROM {{s}}.afwijzingen WHERE traject_id = :t "
            "ORDER BY recorded_at, log_partition, log_offset",
            t,
        )
    ]
    if not ins and not events and not rejected:
        return None
    i = ins[0] if ins else None
    lb = rows(
        conn,
        "SELECT leerbedrijf_id FROM {s}.leerbedrijf_vastgelegd WHERE traject_id = :t "
        "ORDER BY occurred_at DESC, event_id DESC LIMIT 1",
        t,
    )
    end = rows(
        conn,
        "SELECT reden, occurred_on FROM {s}.beeindigingen WHERE traject_id = :t ORDER BY occurred_at, event_id LIMIT 1",
        t,
    )
    signed = rows(
        conn,
        """SELECT a.crebo, a.werkproces, min(a.occurred_on) AS op, min(w.naam) AS naam
        FROM {s}.aftekeningen a LEFT JOIN {s}.dossier_werkprocessen w ON w.crebo = a.crebo AND w.werkproces = a.werkproces
        WHERE a.traject_id = :t AND a.retracted_at IS NULL GROUP BY a.crebo, a.werkproces ORDER BY 1, 2""",
        t,
    )
    verkl = rows(
        conn,
        "SELECT verklaring_id, volgnummer, issued_on, revoked_on, revoke_reden FROM {s}.verklaringen "
        "WHERE traject_id = :t ORDER BY issued_at, volgnummer",
        t,
    )
    return {
        "traject_id": traject_id,
        "deelnemer": i.deelnemer if i else None,
        "mbo_instelling": i.mbo_instelling if i else None,
        "mbo_instelling_naam": instelling_naam(i.mbo_instelling) if i else None,
        "crebo": i.crebo if i else None,
        "pilot": i.pilot if i else None,
        "startdatum": i.startdatum if i else None,
        "leerbedrijf_id": lb[0].leerbedrijf_id if lb else (i.leerbedrijf_id if i else None),
        "status": "beeindigd" if end else "open",
        "reden": end[0].reden if end else None,
        "beeindigd_op": end[0].occurred_on if end else None,
        "afgetekende_werkprocessen": [
            {"crebo": r.crebo, "werkproces": r.werkproces, "naam": r.naam, "afgetekend_op": r.op} for r in signed
        ],
        "verklaringen": [
            {
                "verklaring_id": r.verklaring_id,
                "volgnummer": r.volgnummer,
                "uitgegeven_op": r.issued_on,
                "status": "ingetrokken" if r.revoked_on else "geldig",
                "ingetrokken_op": r.revoked_on,
                "reden_intrekking": redenen.label("PraktijkverklaringIngetrokken", r.revoke_reden),
            }
            for r in verkl
        ],
        "events": _merge(events, rejected),
    }
