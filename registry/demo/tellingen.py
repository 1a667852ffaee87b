"""The partners' own counts (TellingGemeld) for the demo's reconciliation.

In the pilots the Monitor, the gemeenten, UWV and the schools each counted differently
(seed 001, 3.3 and 6.1). These tellingen reproduce those causes on the demo data set, so
the reconciliation table at the peildatum has something to explain:

* the pilot's contact person (``monitor.<pilot>``, with a list) counts candidates whose
  traject had not started, people who enrolled only after the peildatum, and leaves out
  Boris-route pupils the school registered;
* an mbo-instelling (with a list) lists one person twice, one who is registered under
  another pilot, and two people it enrolled but never registered (``in_traject``: they
  raise the reconciled count);
* a gemeente and UWV report totals only (the difference stays ``onverklaard``).

Pure: the rows are derived from the generated records (BSNs in clear, as a partner holds
them; the producer pseudonymises them like every other ``bsn``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from registry.demo.wereld import DemoRecord
from registry.domein import identifiers

PILOTS = ("groningen", "rijnmond", "twente")  # pilots with a monitor list and an mbo list
ZONDER_LIJST = {"gemeente": "rijnmond", "uwv": "groningen"}  # sources that report totals only


@dataclass
class _Pilot:
    registered: dict[str, int] = field(default_factory=dict)  # bsn -> leeftijd at the first inschrijving
    instelling: dict[str, str] = field(default_factory=dict)  # bsn -> instelling of the first inschrijving
    later: list[str] = field(default_factory=list)  # first inschrijving in this pilot after D
    aangemeld: list[str] = field(default_factory=list)  # referred for this pilot, never enrolled
    gemeenten: dict[str, int] = field(default_factory=dict)  # referring gemeente partner -> referrals


def _index(records: Iterable[DemoRecord], peildatum: dt.date) -> dict[str, _Pilot]:
    eerste: dict[str, dict[str, Any]] = {}
    aanmelding: dict[str, tuple[str, str]] = {}
    for r in records:
        row = r.record
        if row["type"] == "DeelnemerIngeschreven":
            known = eerste.get(row["bsn"])
            if known is None or row["startdatum"] < known["startdatum"]:
                eerste[row["bsn"]] = row
        elif row["type"] == "KandidaatAangemeld":
            aanmelding.setdefault(row["bsn"], (row["pilot"], r.partner))
    pilots: dict[str, _Pilot] = {}
    for bsn, row in eerste.items():
        p = pilots.setdefault(row["pilot"], _Pilot())
        if dt.date.fromisoformat(row["startdatum"]) <= peildatum:
            p.registered[bsn], p.instelling[bsn] = int(row["leeftijd"]), row["mbo_instelling"]
        else:
            p.later.append(bsn)
    for bsn, (pilot, partner) in aanmelding.items():
        p = pilots.setdefault(pilot, _Pilot())
        if partner.startswith("gemeente."):
            p.gemeenten[partner] = p.gemeenten.get(partner, 0) + 1
        if bsn not in eerste:
            p.aangemeld.append(bsn)
    return pilots


def _onbekende_bsns(bekend: set[str], aantal: int) -> list[str]:
    """Valid BSNs (elfproef) that the demo data never uses: people nobody registered."""
    out: list[str] = []
    kandidaat = 999_000_000
    while len(out) < aantal:
        kandidaat += 1
        value = str(kandidaat)
        if value not in bekend and identifiers.bsn(value) is None:
            out.append(value)
    return out


def _telling(
    partner: str,
    bron_type: str,
    pilot: str,
    peildatum: dt.date,
    event_id: str,
    aantal: int,
    lijst: list[tuple[str, str]] | None,
) -> DemoRecord:
    row: dict[str, Any] = {
        "type": "TellingGemeld",
        "event_id": event_id,
        "occurred_at": f"{(peildatum + dt.timedelta(days=1)).isoformat()}T09:00:00+00:00",
        "bron_type": bron_type,
        "pilot": pilot,
        "peildatum": peildatum.isoformat(),
        "aantal_deelnemers": aantal,
    }
    if lijst is not None:
        row["deelnemers"] = [{"bsn": bsn, "status": status} for bsn, status in lijst]
    return DemoRecord(partner, row)


def tellingen(records: list[DemoRecord], peildatum: dt.date) -> list[DemoRecord]:
    """TellingGemeld rows of monitor, mbo, gemeente and UWV partners at ``peildatum``."""
    pilots = _index(records, peildatum)
    bekend = {r.record["bsn"] for r in records if "bsn" in r.record}
    nieuw = iter(_onbekende_bsns(bekend, 2 * len(PILOTS)))
    out: list[DemoRecord] = []
    for nr, pilot in enumerate(PILOTS):
        p = pilots[pilot]
        # the monitor: everyone it follows, also candidates not started and late enrolments; no Boris pupils
        monitor = [(b, "in_traject") for b, age in sorted(p.registered.items()) if age >= 18]
        monitor += [(b, "aangemeld") for b in sorted(p.aangemeld)[:3]] + [
            (b, "in_traject") for b in sorted(p.later)[:2]
        ]
        out.append(
            _telling(
                f"monitor.{pilot}",
                "monitor",
                pilot,
                peildatum - dt.timedelta(days=13),
                f"7e111a00-0000-4000-8000-{nr:012d}",
                len(monitor),
                monitor,
            )
        )
        # the largest instelling: its own deelnemers, one twice, one of another pilot, two it never registered
        instelling = max(sorted(set(p.instelling.values())), key=list(p.instelling.values()).count)
        eigen = sorted(b for b, i in p.instelling.items() if i == instelling)
        ander = sorted(next(q for name, q in sorted(pilots.items()) if name != pilot and q.registered).registered)[0]
        mbo = [(b, "in_traject") for b in eigen] + [(eigen[0], "in_traject"), (ander, "in_traject")]
        mbo += [(next(nieuw), "in_traject"), (next(nieuw), "in_traject")]
        out.append(_telling(instelling, "mbo", pilot, peildatum, f"7e111a00-0000-4000-8001-{nr:012d}", len(mbo), mbo))
    gemeente_pilot = pilots[ZONDER_LIJST["gemeente"]]
    gemeente, referrals = max(sorted(gemeente_pilot.gemeenten.items()), key=lambda kv: kv[1])
    out.append(
        _telling(
            gemeente,
            "gemeente",
            ZONDER_LIJST["gemeente"],
            peildatum,
            "7e111a00-0000-4000-8002-000000000000",
            referrals,
            None,
        )
    )
    uwv_pilot = ZONDER_LIJST["uwv"]
    out.append(
        _telling(
            "uwv",
            "uwv",
            uwv_pilot,
            peildatum - dt.timedelta(days=20),
            "7e111a00-0000-4000-8003-000000000000",
            max(1, len(pilots[uwv_pilot].registered) - 5),
            None,
        )
    )
    return out
