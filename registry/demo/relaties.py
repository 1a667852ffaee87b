"""What the demo shows of "who may say what about whom" (registry/domein/relaties.py), published after the data set:

* a rogue inschrijving: an instelling enrols another instelling's deelnemer in another pilot, without an aanmelding
  of that deelnemer for that pilot: it parks (``geen_aanmelding``) and is refused after the park time-out;
* a shared erasure: a second instelling gives a deelnemer an advies, then the deelnemer's own instelling asks to
  erase it: the request waits for sbb's confirmation (``wacht_op_sbb``), so nothing is erased and every number the
  demo prints stays the same.

Pure: rows derived from the generated records (BSNs in clear, as a partner holds them); the pilots chosen are
outside the reconciliation table's, so its numbers are unchanged too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from registry.demo import bouwer
from registry.demo.publicatie import NS
from registry.demo.tellingen import PILOTS, ZONDER_LIJST
from registry.demo.wereld import DemoRecord

BUITEN = set(PILOTS) | set(ZONDER_LIJST.values())  # pilots of the reconciliation table: left alone
MOMENT = datetime(2021, 7, 20, 9, 0, tzinfo=UTC)  # after the data set and the refusals


def _id(naam: str) -> str:
    return str(uuid.uuid5(NS, f"relaties:{naam}"))


def _row(partner: str, event_type: str, payload: bouwer.Payload, naam: str, bsn: str) -> DemoRecord:
    return DemoRecord(partner, bouwer.inzending(event_type, payload, event_id=_id(naam), occurred_at=MOMENT, bsn=bsn))


def pogingen(records: list[DemoRecord]) -> list[DemoRecord]:
    """The rogue inschrijving and the shared erasure's two steps (advies of a second instelling, then the request)."""
    inschrijvingen = [
        r for r in records if r.record["type"] == "DeelnemerIngeschreven" and r.record["pilot"] not in BUITEN
    ]
    erkend = {
        (r.record["mbo_instelling"], r.record["crebo"])
        for r in records
        if r.record["type"] == "ErkenningDerdeLeerwegVerleend"
    }
    eerste = inschrijvingen[0].record
    a = inschrijvingen[0].partner
    instellingen = {r.partner for r in records if r.record["type"] == "DeelnemerIngeschreven"}  # with an ingress topic
    rogue = sorted(i for i, c in erkend if c == eerste["crebo"] and i != a and i in instellingen)[0]
    pilot = sorted({r.record["pilot"] for r in inschrijvingen} - {eerste["pilot"]})[0]
    payload: dict[str, Any] = bouwer.inschrijving(
        _id("traject"),
        rogue,
        eerste["crebo"],
        pilot,
        datetime(2021, 7, 19).date(),
        eerste["geslacht"],
        eerste["leeftijd"],
    )
    tweede = next(r for r in inschrijvingen if r.record["bsn"] != eerste["bsn"] and r.partner != rogue)
    return [
        _row(rogue, "DeelnemerIngeschreven", payload, "rogue-inschrijving", eerste["bsn"]),
        _row(
            rogue,
            "AdviesUitgebracht",
            bouwer.advies(rogue, "praktijkverklaring", "geen_inschrijving_geen_startkwalificatie"),
            "tweede-advies",
            tweede.record["bsn"],
        ),
        _row(
            tweede.partner,
            "DeelnemerGegevensVerwijderd",
            bouwer.verwijdering("AVG art. 17, verzoek demo"),
            "gedeelde-verwijdering",
            tweede.record["bsn"],
        ),
    ]
