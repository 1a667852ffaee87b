"""The validator's parking service (consumers/parkeer.py) with small fakes: what it sends, to whom, and the gauge."""

from __future__ import annotations

import datetime as dt
import json

from prometheus_client import REGISTRY

from consumers.parkeer import Parkeerdienst
from consumers.validator_config import Memory
from registry.domein.parkeren import Geparkeerd
from registry.domein.regels import Besluit
from registry.domein.relaties import WACHT_OP_SBB
from registry.infra.topics import Topics
from tests.support.validator_fakes import NU, FakeHerversleutelaar, FakePartnerTopics, FakeSender

T = Topics("t")


def dienst() -> tuple[Parkeerdienst, FakeSender, Memory]:
    memory, sender = Memory(), FakeSender()
    p = Parkeerdienst(T, memory, sender, FakePartnerTopics(), FakeHerversleutelaar(), dt.timedelta(days=7))
    p.partities = 4
    return p, sender, memory


def _g(event_id: str = "e1", partition: int = 6, reden: str = "onbekend_dossier") -> Geparkeerd:
    return Geparkeerd(
        event_id,
        "DeelnemerIngeschreven",
        "mbo.a",
        "p" * 64,
        0,
        (),
        "",
        "",
        NU,
        b"",
        b"k",
        {"topic": "t.ingress.mbo.a", "partition": partition, "offset": 1},
        {"event_id": event_id, "deelnemer": "p" * 64},
    )


def test_a_new_arrival_is_parked_on_the_partition_of_its_ingress_partition_and_told_to_its_partner() -> None:
    p, sender, memory = dienst()
    p.parkeer(_g(), Besluit("onbekend_dossier", "no dossier"), ("dossier:1",), True, NU)
    [geparkeerd] = sender.naar(T.parked)
    assert geparkeerd.partition == 6 % 4 and json.loads(geparkeerd.value)["wacht_op"] == ["dossier:1"]
    [melding] = sender.naar("t.rejections.mbo.a")
    assert json.loads(melding.value)["soort"] == "geparkeerd"
    assert memory.plaats.entries["e1"].wacht_op == ("dossier:1",)


def test_a_parked_one_that_waits_for_the_same_is_not_parked_again() -> None:
    p, sender, memory = dienst()
    p.parkeer(_g(), Besluit("onbekend_dossier", "x"), ("dossier:1",), True, NU)
    sender.sent.clear()
    p.parkeer(memory.plaats.entries["e1"], Besluit("onbekend_dossier", "x"), ("dossier:1",), False, NU)
    assert sender.sent == []
    p.parkeer(memory.plaats.entries["e1"], Besluit("onbekend_dossier", "x"), ("dossier:2",), False, NU)
    assert len(sender.naar(T.parked)) == 1


def test_an_erasure_that_waits_for_sbb_is_told_to_sbb_too() -> None:
    p, sender, _ = dienst()
    p.parkeer(_g(), Besluit(WACHT_OP_SBB, "x"), ("verwijdering:x",), True, NU)
    assert {s.topic for s in sender.sent} == {T.parked, "t.rejections.mbo.a", "t.rejections.sbb"}


def test_an_entry_parked_too_long_is_ended_and_refused_with_its_reason() -> None:
    p, sender, memory = dienst()
    p.parkeer(_g(), Besluit("onbekend_dossier", "no dossier"), ("dossier:1",), True, NU)
    assert p.verloop(NU + dt.timedelta(days=1)) is None
    g, b = p.verloop(NU + dt.timedelta(days=8)) or (None, None)
    assert g is not None and b is not None and b.reden == "onbekend_dossier" and "still waiting" in b.melding
    assert len(memory.plaats) == 0 and json.loads(sender.naar(T.parked)[-1].value)["soort"] == "opgelost"


def test_the_gauge_counts_what_waits_per_reason() -> None:
    p, _, _ = dienst()
    p.parkeer(_g("a"), Besluit("onbekend_dossier", "x"), ("dossier:1",), True, NU)
    p.parkeer(_g("b"), Besluit("onbekend_traject", "x"), ("traject:1",), True, NU)
    p.gauge()
    assert REGISTRY.get_sample_value("praktijk_parked_events", {"reden": "onbekend_dossier"}) == 1
    p.los_op(_g("b"), "geaccepteerd", None, NU, "vrijgegeven")
    p.gauge()
    assert REGISTRY.get_sample_value("praktijk_parked_events", {"reden": "onbekend_traject"}) is None
