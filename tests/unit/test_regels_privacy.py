""" "Free text goes": reden codes with a Dutch label and opaque references to praktijkopleiders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from registry.demo import data as demodata
from registry.domein import pseudoniemen, redenen, verwijzingen
from registry.domein.identifiers import eerste_fout
from registry.domein.regels import Besluit, beoordeel
from registry.domein.staat import Staat, pas_toe
from tests.support.builders import LB, MBO, T1, V1, P, afteken, ev, inschrijving, referentie_events, verklaring

NOW = dt.datetime(2021, 1, 13, 12, tzinfo=dt.UTC)
NAAM = "Jan de Vries"  # what a praktijkopleider's name or a free-text reden could carry into the log


def staat_met_verklaring() -> Staat:
    s = Staat()
    for event_type, record in referentie_events():
        pas_toe(s, event_type, record)
    pas_toe(s, "DeelnemerIngeschreven", inschrijving())
    pas_toe(s, "WerkprocesAfgetekend", afteken("B1-K1-W1"))
    pas_toe(s, "WerkprocesAfgetekend", afteken("B1-K1-W2"))
    pas_toe(s, "PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"]))
    return s


def judge(s: Staat, event_type: str, r: dict[str, Any]) -> Besluit:
    return beoordeel(s, event_type, r, r["partner"], NOW)


def intrekking(reden: Any) -> dict[str, Any]:
    return ev(MBO, deelnemer=P, verklaring_id=V1, reden=reden)


def terugtrekking(reden: Any) -> dict[str, Any]:
    return ev(MBO, deelnemer=P, traject_id=T1, crebo="25250", werkproces="B1-K1-W2", reden=reden)


# ---- reden: a code from a closed list ------------------------------------------------------------
@pytest.mark.parametrize(
    "event_type, maak", [("PraktijkverklaringIngetrokken", intrekking), ("AftekeningIngetrokken", terugtrekking)]
)
def test_every_code_is_accepted_and_free_text_is_refused(event_type: str, maak: Any) -> None:
    s = staat_met_verklaring()
    for code in redenen.codes(event_type):
        assert judge(s, event_type, maak(code)).geaccepteerd, code
    for vrij in (f"{NAAM} heeft gefraudeerd", "", "Overig", "afgerond"):
        b = judge(s, event_type, maak(vrij))
        assert b.reden == redenen.ONBEKEND and "overig" in b.melding
        assert vrij == "" or vrij not in b.melding  # the refusal never repeats the free text


def test_every_list_has_overig_and_dutch_labels() -> None:
    for event_type in redenen.EVENT_TYPES:
        lijst = redenen.codes(event_type)
        assert redenen.OVERIG in lijst and len(lijst) >= 4
        assert all(code.isidentifier() and code.islower() and label[0].isupper() for code, label in lijst.items())


def test_labels_never_show_free_text() -> None:
    t = "PraktijkverklaringIngetrokken"
    assert redenen.label(t, "verkeerde_deelnemer") == "Uitgegeven op de verkeerde deelnemer"
    assert redenen.label(t, f"{NAAM} heeft gefraudeerd") == "Overige reden"  # recorded before the list existed
    assert redenen.label(t, None) is None
    shown = redenen.leesbaar("AftekeningIngetrokken", {"crebo": "25250", "reden": f"door {NAAM}"})
    assert shown == {"crebo": "25250", "reden": "overig", "reden_label": "Overige reden"}
    assert redenen.leesbaar("TrajectBeeindigd", {"reden": "afgerond"}) == {"reden": "afgerond"}


# ---- opaque references -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "waarde, goed",
    [
        ("po-0042", True),
        ("po", True),
        ("opl_17.a", True),
        ("a" * 64, True),
        ("1b", True),
        (NAAM, False),
        ("jan@leerbedrijf.nl", False),
        ("PO-0042", False),
        ("p", False),
        ("a" * 65, False),
        ("-po", False),
        ("po 42", False),
        ("", False),
    ],
)
def test_reference_format(waarde: str, goed: bool) -> None:
    assert (verwijzingen.referentie(waarde) is None) == goed


def test_bad_afgetekend_door_is_refused_as_ongeldige_referentie() -> None:
    s = staat_met_verklaring()
    assert (
        judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W3") | {"afgetekend_door": "po-0042"}).reden
        != "ongeldige_referentie"
    )
    b = judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W3") | {"afgetekend_door": NAAM})
    assert b.reden == verwijzingen.ONGELDIG and "afgetekend_door" in b.melding and NAAM not in b.melding


def test_bad_praktijkopleider_is_refused_and_null_is_fine() -> None:
    s = staat_met_verklaring()
    vastgelegd = ev(MBO, deelnemer=P, traject_id=T1, leerbedrijf_id=LB)
    assert judge(s, "LeerbedrijfVastgelegd", vastgelegd | {"praktijkopleider": None}).geaccepteerd
    assert judge(s, "LeerbedrijfVastgelegd", vastgelegd | {"praktijkopleider": "po-0001"}).geaccepteerd
    b = judge(s, "LeerbedrijfVastgelegd", vastgelegd | {"praktijkopleider": "a.jansen@example.nl"})
    assert b.reden == verwijzingen.ONGELDIG and "jansen" not in b.melding


def test_a_bad_reference_becomes_a_marker_before_it_is_judged() -> None:
    """What the validator does right after decoding: the name never reaches the decision or a rejection."""
    sleutels = (b"k" * 32,)
    record = pseudoniemen.herschrijf(afteken("B1-K1-W3") | {"afgetekend_door": NAAM}, sleutels)
    assert record["afgetekend_door"].startswith(pseudoniemen.ONGELDIG) and NAAM not in repr(record)
    fout = eerste_fout(record)
    assert fout is not None and fout.veld == "afgetekend_door"
    goed = pseudoniemen.herschrijf(afteken("B1-K1-W3") | {"afgetekend_door": "po-0042"}, sleutels)
    assert goed["afgetekend_door"] == "po-0042"


def test_the_demo_emits_only_codes_and_opaque_references() -> None:
    gezien: set[str] = set()
    for dr in demodata.generate():
        r = dr.record
        if r["type"] in redenen.EVENT_TYPES:
            assert r["reden"] in redenen.codes(r["type"]), r["reden"]
            gezien.add(r["type"])
        for veld in verwijzingen.VELDEN:
            if r.get(veld) is not None:
                assert verwijzingen.referentie(r[veld]) is None, r[veld]
                gezien.add(veld)
    assert gezien == {*redenen.EVENT_TYPES, *verwijzingen.VELDEN}


def test_schema_docs_and_readme_list_exactly_the_codes_and_the_format() -> None:
    schemas = Path(__file__).resolve().parents[2] / "schemas"
    readme = (schemas / "README.md").read_text(encoding="utf-8")
    for event_type in redenen.EVENT_TYPES:
        veld = next(
            f for f in json.loads((schemas / f"{event_type}.v1.avsc").read_text())["fields"] if f["name"] == "reden"
        )
        assert veld["type"] == "string"  # the wire type is unchanged: compatible with every earlier event
        for code, label in redenen.codes(event_type).items():
            assert f"{code} ({label})" in veld["doc"] and f"| {event_type} | `{code}` | {label} |" in readme
    for schema, veld_naam in (
        ("WerkprocesAfgetekend", "afgetekend_door"),
        ("LeerbedrijfVastgelegd", "praktijkopleider"),
    ):
        veld = next(
            f for f in json.loads((schemas / f"{schema}.v1.avsc").read_text())["fields"] if f["name"] == veld_naam
        )
        assert verwijzingen.PATROON in veld["doc"] and verwijzingen.ONGELDIG in veld["doc"]
    assert f"`{verwijzingen.PATROON}`" in readme
