"""The demo's doorstroom additions: the data set's own records stay exactly as they were (content and order), the
new fields and events come in plausible shares, and the registry accepts all of them."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from registry.demo import data
from registry.demo import doorstroom as demo_doorstroom
from registry.demo.doorstroom_tabel import tabellen
from registry.demo.wereld import DemoRecord
from registry.domein.doorstroom import Cohort, bereken
from tests.support.doorstroom import D, hand_world

NIEUW = {"uitkering", "nieuwkomer", "contract", "uitkering_na"}


def _nieuw(r: dict[str, Any]) -> bool:
    return r["type"] == "PraktijkafsprakenVastgelegd" or r.get("peilmoment") in ("zes_maanden", "twaalf_maanden")


@pytest.fixture(scope="module")
def records() -> list[DemoRecord]:
    return data.generate(2021)


def test_the_data_sets_own_records_stay_as_they_were(
    records: list[DemoRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_doorstroom, "aanvulling", lambda w: [])
    zonder = data.generate(2021)

    def kern(rs: list[DemoRecord]) -> list[tuple[str, dict[str, Any]]]:
        return [(r.partner, {k: v for k, v in r.record.items() if k not in NIEUW | {"event_id"}}) for r in rs]

    assert kern([r for r in records if not _nieuw(r.record)]) == kern(zonder)
    assert len(records) > len(zonder)


def test_plausible_shares(records: list[DemoRecord]) -> None:
    rows = [r.record for r in records]
    trajecten = {r["traject_id"] for r in rows if r["type"] == "DeelnemerIngeschreven"}
    afspraken = {r["traject_id"] for r in rows if r["type"] == "PraktijkafsprakenVastgelegd"}
    assert afspraken <= trajecten and len(afspraken) >= 0.75 * len(trajecten)  # most trajecten
    peil = Counter(r["peilmoment"] for r in rows if r["type"] == "UitstroomGeregistreerd")
    assert peil["einde"] > peil["zes_maanden"] > peil["twaalf_maanden"] > 10  # follow-ups for part of them
    gestopt = [r for r in rows if r["type"] == "TrajectBeeindigd" and r["reden"] == "voortijdig_gestopt"]
    assert all(r.get("uitvalreden") for r in gestopt) and len({r["uitvalreden"] for r in gestopt}) >= 5
    assert not any(r.get("uitvalreden") for r in rows if r["type"] == "TrajectBeeindigd" and r not in gestopt)
    uitkering = Counter(r["uitkering"] for r in rows if r["type"] == "KandidaatAangemeld")
    assert len(uitkering) >= 5 and uitkering["onbekend"] < 0.5 * sum(uitkering.values())
    verklaringen = [r for r in rows if r["type"] == "PraktijkverklaringUitgegeven"]
    assert all(r["ondertekend_door"] and r["ondertekend_op"] <= r["occurred_at"][:10] for r in verklaringen)
    werk = [r for r in rows if r["type"] == "UitstroomGeregistreerd" and r["uitstroom"] == "betaald_werk"]
    assert sum(r.get("contract") is not None for r in werk) >= 0.8 * len(werk)


def test_the_demo_tables_show_the_computation() -> None:
    d = bereken(hand_world(), Cohort.parse("2019"), D)
    trechter, tijden, einde, uitstroom = tabellen(d, "2019", D)
    assert [c.header for c in trechter.columns] == ["stap", "deelnemers", "conversie"]
    assert list(trechter.columns[1].cells) == ["6", "2", "4", "1", "2"]
    assert list(trechter.columns[2].cells) == ["", "0.333", "0.667", "0.167", "0.333"]
    assert list(tijden.columns[3].cells) == ["31", "245"]
    assert list(einde.columns[1].cells) == ["", "", "motivatie"] and einde.row_count == 3
    assert uitstroom.row_count == 3
