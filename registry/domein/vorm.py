"""Checks on the record alone, per event type: fields that depend on each other (an uitvalreden only with
``voortijdig_gestopt``; a verklaring names who signed it and when; agreed hours in range).

They look nothing up, so ``regels.beoordeel`` runs them right after the checks every event gets and before the
partner kind, relation and state checks: a malformed record is refused the same way whoever it is about. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from registry.domein.controles import Context, eis
from registry.domein.events import ALL_EVENTS, EventType
from registry.domein.handlers import EventHandlers
from registry.domein.telregels import AMSTERDAM

# reason codes of this module (docs/commands.md lists them)
UITVALREDEN_ONTBREEKT = "uitvalreden_ontbreekt"  # voortijdig_gestopt without an uitvalreden
UITVALREDEN_NIET_TOEGESTAAN = "uitvalreden_niet_toegestaan"  # an uitvalreden with any other reden
ONDERTEKENING_ONTBREEKT = "ondertekening_ontbreekt"  # a verklaring without ondertekend_door or ondertekend_op
ONDERTEKEND_NA_UITGIFTE = "ondertekend_na_uitgifte"  # ondertekend_op after the day the verklaring is issued
ONGELDIGE_UREN = "ongeldige_uren"  # uren_per_week outside 1..40
VOORTIJDIG = "voortijdig_gestopt"
UREN = range(1, 41)


def controleer(ctx: Context, event_type: str) -> None:
    check = _VORM.get(event_type)
    if check is not None:
        check(ctx)


def _beeindiging(ctx: Context) -> None:
    reden, uitval = ctx.r["reden"], ctx.r.get("uitvalreden")
    eis(
        uitval is not None or reden != VOORTIJDIG,
        UITVALREDEN_ONTBREEKT,
        "a traject ended with reden voortijdig_gestopt names its uitvalreden",
    )
    eis(
        uitval is None or reden == VOORTIJDIG,
        UITVALREDEN_NIET_TOEGESTAAN,
        f"an uitvalreden goes only with reden voortijdig_gestopt, not with {reden}",
    )


def _verklaring(ctx: Context) -> None:
    door, op = ctx.r.get("ondertekend_door"), ctx.r.get("ondertekend_op")
    eis(
        door is not None and op is not None,
        ONDERTEKENING_ONTBREEKT,
        "a praktijkverklaring names the praktijkopleider who signed it (ondertekend_door) and the date (ondertekend_op)",
    )
    assert isinstance(op, dt.date)
    uitgifte = _dag(ctx.r["occurred_at"])
    eis(
        op <= uitgifte,
        ONDERTEKEND_NA_UITGIFTE,
        f"ondertekend_op {op.isoformat()} is after the day the verklaring is issued ({uitgifte.isoformat()})",
    )


def _afspraken(ctx: Context) -> None:
    uren = ctx.r["uren_per_week"]
    eis(uren in UREN, ONGELDIGE_UREN, f"uren_per_week {uren} is not 1..40")


def _dag(ts: dt.datetime) -> dt.date:
    """The Dutch calendar day of a business timestamp (dates in events are Dutch days)."""
    return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).astimezone(AMSTERDAM).date()


_VORMCHECKS: dict[EventType, Callable[[Context], None]] = {
    "TrajectBeeindigd": _beeindiging,
    "PraktijkverklaringUitgegeven": _verklaring,
    "PraktijkafsprakenVastgelegd": _afspraken,
}
# keyed by the catalogue (a misspelled type fails at import); the other types have no form check of their own
_VORM: EventHandlers[Callable[[Context], None]] = EventHandlers(
    "vorm", _VORMCHECKS, ignored=ALL_EVENTS - set(_VORMCHECKS)
)
