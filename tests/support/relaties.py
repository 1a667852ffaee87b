"""Submissions a partner could send about any deelnemer, with ids of its own: the probes of the relation tests
(a probe knows no one's traject or verklaring ids)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from registry.demo import bouwer
from tests.support.builders import LB, MBO, T0, canoniek


def event(event_type: str, partner: str, deelnemer: str, pilot: str = "groningen") -> dict[str, Any]:
    """A submission by ``partner`` about ``deelnemer`` with ids of its own (a probe knows no one's traject ids)."""
    tid, vid = str(uuid.uuid4()), str(uuid.uuid4())
    instelling = partner if partner.startswith("mbo.") else MBO
    payloads: dict[str, Callable[[], bouwer.Payload]] = {
        "KandidaatAangemeld": lambda: bouwer.aanmelding(pilot, "gemeente", "a", None, False),
        "AdviesUitgebracht": lambda: bouwer.advies(
            instelling, "praktijkverklaring", "geen_inschrijving_geen_startkwalificatie"
        ),
        "DeelnemerIngeschreven": lambda: bouwer.inschrijving(
            tid, instelling, "25250", pilot, dt.date(2020, 6, 1), "vrouw", 30
        ),
        "LeerbedrijfVastgelegd": lambda: bouwer.leerbedrijf_vastgelegd(tid, LB),
        "PraktijkafsprakenVastgelegd": lambda: bouwer.praktijkafspraken(
            tid, [("25250", "B1-K1-W1")], dt.date(2021, 6, 1), 24
        ),
        "WerkprocesAfgetekend": lambda: bouwer.aftekening(tid, "25250", "B1-K1-W1", "po-1"),
        "AftekeningIngetrokken": lambda: bouwer.aftekening_ingetrokken(
            tid, "25250", "B1-K1-W1", "administratieve_fout"
        ),
        "PraktijkverklaringUitgegeven": lambda: bouwer.verklaring(
            tid, vid, [("25250", "B1-K1-W1")], LB, ondertekend_door="po-1", ondertekend_op=T0.date()
        ),
        "PraktijkverklaringIngetrokken": lambda: bouwer.verklaring_ingetrokken(vid, "administratieve_fout"),
        "TrajectBeeindigd": lambda: bouwer.beeindiging(tid, "afgerond"),
        "UitstroomGeregistreerd": lambda: bouwer.uitstroom("betaald_werk"),
        "DeelnemerGegevensVerwijderd": lambda: bouwer.verwijdering("avg-17"),
    }
    return canoniek(
        event_type,
        payloads[event_type](),
        event_id=str(uuid.uuid4()),
        occurred_at=T0,
        partner=partner,
        deelnemer=deelnemer,
    )[1]
