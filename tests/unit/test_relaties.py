"""Who may say what about whom (registry/domein/relaties.py): relations through the log, no membership oracle,
erasure that needs the controller when another partner holds the deelnemer. Pure: state + event in, decision out."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from registry.demo import bouwer
from registry.domein.events import PERSON_EVENTS
from registry.domein.parkeren import Parkeerplaats, beslis, vervult
from registry.domein.regels import Besluit, beoordeel
from registry.domein.relaties import heeft_relatie, zonder_verwijderden
from registry.domein.staat import Staat, pas_toe
from tests.support.builders import MBO, T0, T1, P, aanmelding, afteken, canoniek, ev, inschrijving, referentie_events
from tests.support.relaties import event

NOW = dt.datetime(2021, 1, 13, 12, tzinfo=dt.UTC)
ROGUE = "mbo.noorderpoort"
U, E = "c" * 64, "d" * 64  # unknown; erased (P: known, enrolled at albeda, referred by gemeente.gm0599)


def erkenning(instelling: str) -> tuple[str, dict[str, Any]]:
    return "ErkenningDerdeLeerwegVerleend", ev(
        "duo", mbo_instelling=instelling, crebo="25250", vanaf=dt.date(2019, 1, 1)
    )


def wereld() -> Staat:
    s = Staat()
    for t, r in [
        *referentie_events(),
        erkenning(ROGUE),
        ("KandidaatAangemeld", aanmelding(deelnemer=P)),
        ("DeelnemerIngeschreven", inschrijving()),
        ("KandidaatAangemeld", aanmelding(deelnemer=E)),
        ("DeelnemerIngeschreven", inschrijving(deelnemer=E, traject_id=str(uuid.uuid4()))),
        ("DeelnemerGegevensVerwijderd", ev("sbb", deelnemer=E, grondslag="avg-17")),
    ]:
        pas_toe(s, t, r)
    return s


def judge(s: Staat, event_type: str, r: dict[str, Any]) -> Besluit:
    return beoordeel(s, event_type, r, r["partner"], NOW)


def zonder_ids(b: Besluit, r: dict[str, Any]) -> tuple[Any, ...]:
    """What a partner reads back, with its own ids and the deelnemer's pseudonym masked."""

    def mask(text: str) -> str:
        for value in (r.get("traject_id"), r.get("verklaring_id"), r["deelnemer"]):
            if value:
                text = text.replace(str(value), "<id>")
        return text

    return b.reden, mask(b.melding), tuple(mask(k) for k in b.wacht_op), b.warnings


PARTNERS = [
    "gemeente.gm0363",
    "uwv",
    "dji",
    "rmc",
    "werkgever",
    "sw",
    "reintegratie",
    ROGUE,
    "leerbedrijf.987654321",
    "duo",
    "monitor.rijnmond",
    "monitor",
]


@pytest.mark.parametrize("partner", PARTNERS)
@pytest.mark.parametrize("event_type", sorted(PERSON_EVENTS))
def test_unknown_known_unrelated_and_erased_unrelated_read_the_same(partner: str, event_type: str) -> None:
    s = wereld()
    assert not heeft_relatie(s, partner, P) and not heeft_relatie(s, partner, E)
    seen = set()
    for deelnemer in (U, P, E):
        r = event(event_type, partner, deelnemer)
        seen.add(zonder_ids(judge(s, event_type, r), r))
    assert len(seen) == 1, seen


def test_the_kind_is_checked_before_any_look_up() -> None:
    s = wereld()
    for deelnemer in (U, P, E):
        b = judge(s, "UitstroomGeregistreerd", event("UitstroomGeregistreerd", "leerbedrijf.987654321", deelnemer))
        assert (b.reden, b.wacht_op) == ("niet_bevoegd", ())


def test_gegevens_verwijderd_is_told_only_to_partners_with_a_relation() -> None:
    s = wereld()
    for partner, event_type in (
        ("gemeente.gm0599", "UitstroomGeregistreerd"),
        (MBO, "UitstroomGeregistreerd"),
        ("sbb", "PraktijkverklaringIngetrokken"),
    ):  # referred, enrolled, controller
        b = judge(s, event_type, event(event_type, partner, E))
        assert b.reden == "gegevens_verwijderd", partner
    assert (
        judge(s, "UitstroomGeregistreerd", event("UitstroomGeregistreerd", "gemeente.gm0363", E)).reden
        == "onbekende_deelnemer"
    )


def test_the_rogue_instelling_cannot_erase_another_instellings_deelnemer() -> None:
    s, plaats = wereld(), Parkeerplaats()
    # an inschrijving in another pilot without an aanmelding there parks (and is refused on time-out)
    rogue_in = event("DeelnemerIngeschreven", ROGUE, P)
    u = beslis(s, plaats, "DeelnemerIngeschreven", rogue_in, ROGUE, NOW)
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "geen_aanmelding", (f"aanmelding:{P}/groningen",))
    # with an aanmelding of its own for that pilot it is accepted, with the warning tweede_instelling
    eigen = event("KandidaatAangemeld", ROGUE, P)
    assert beslis(s, plaats, "KandidaatAangemeld", eigen, ROGUE, NOW).soort == "accepteer"
    assert f"aanmelding:{P}/groningen" in vervult("KandidaatAangemeld", eigen)
    pas_toe(s, "KandidaatAangemeld", eigen)
    b = judge(s, "DeelnemerIngeschreven", rogue_in)
    assert b.geaccepteerd and "tweede_instelling" in b.warnings
    pas_toe(s, "DeelnemerIngeschreven", rogue_in)
    # its erasure waits for sbb: albeda holds a traject of the same deelnemer
    wis = event("DeelnemerGegevensVerwijderd", ROGUE, P)
    u = beslis(s, plaats, "DeelnemerGegevensVerwijderd", wis, ROGUE, NOW)
    assert (u.soort, u.besluit.reden, u.wacht_op) == ("parkeer", "wacht_op_sbb", (f"verwijdering:{P}",))
    # albeda's next sign-off is accepted
    assert judge(s, "WerkprocesAfgetekend", afteken("B1-K1-W2")).geaccepteerd


def test_erasure_by_sbb_and_by_the_sole_instelling_at_once_and_a_shared_one_after_sbb() -> None:
    s = wereld()
    assert judge(s, "DeelnemerGegevensVerwijderd", event("DeelnemerGegevensVerwijderd", "sbb", P)).geaccepteerd
    assert judge(s, "DeelnemerGegevensVerwijderd", event("DeelnemerGegevensVerwijderd", MBO, P)).geaccepteerd
    # a second instelling gave an advies: albeda's request waits for sbb
    pas_toe(s, "AdviesUitgebracht", event("AdviesUitgebracht", ROGUE, P))
    wis = event("DeelnemerGegevensVerwijderd", MBO, P)
    assert judge(s, "DeelnemerGegevensVerwijderd", wis).reden == "wacht_op_sbb"
    sbb = event("DeelnemerGegevensVerwijderd", "sbb", P)
    assert judge(s, "DeelnemerGegevensVerwijderd", sbb).geaccepteerd
    assert f"verwijdering:{P}" in vervult("DeelnemerGegevensVerwijderd", sbb)
    pas_toe(s, "DeelnemerGegevensVerwijderd", sbb)
    assert judge(s, "DeelnemerGegevensVerwijderd", wis).reden == "gegevens_verwijderd"  # released: it is done


def test_a_referral_gives_no_say_over_erasure() -> None:
    s = wereld()
    pas_toe(s, "KandidaatAangemeld", event("KandidaatAangemeld", ROGUE, P))  # an mbo may refer
    assert (
        judge(s, "DeelnemerGegevensVerwijderd", event("DeelnemerGegevensVerwijderd", ROGUE, P)).reden == "niet_bevoegd"
    )


def telling(partner: str, pilot: str, lijst: list[str] | None) -> dict[str, Any]:
    payload = bouwer.telling(
        "mbo" if partner.startswith("mbo.") else "gemeente",
        pilot,
        dt.date(2021, 1, 13),
        len(lijst or []) or 3,
        None,
        [(d, "in_traject") for d in lijst or []],
    )
    return canoniek(
        "TellingGemeld", payload, event_id=str(uuid.uuid4()), occurred_at=T0, partner=partner, deelnemer=None
    )[1]


def test_person_lists_only_from_the_pilots_own_partners() -> None:
    s = wereld()
    assert judge(s, "TellingGemeld", telling(MBO, "rijnmond", [P])).geaccepteerd  # enrols in rijnmond
    assert judge(s, "TellingGemeld", telling("gemeente.gm0599", "rijnmond", [P])).geaccepteerd  # referred to rijnmond
    assert judge(s, "TellingGemeld", telling(ROGUE, "rijnmond", [P])).reden == "niet_bevoegd"
    assert judge(s, "TellingGemeld", telling("gemeente.gm0363", "rijnmond", [P])).reden == "niet_bevoegd"
    assert judge(s, "TellingGemeld", telling(ROGUE, "rijnmond", None)).geaccepteerd  # a total names no one


def test_a_telling_list_never_brings_an_erased_pseudonym_back() -> None:
    s = wereld()
    r = telling(MBO, "rijnmond", [P, E, E])
    schoon = zonder_verwijderden(s, r)
    lijst = [e["deelnemer"] for e in schoon["deelnemers"]]
    assert lijst[0] == P and E not in lijst and len(set(lijst)) == 3
    assert zonder_verwijderden(s, r) == schoon  # the same event gives the same opaque values (idempotent)


def test_relations_survive_the_state_snapshot() -> None:
    from registry.domein.staat import entity_json, load_entity

    s = wereld()
    pas_toe(s, "AdviesUitgebracht", event("AdviesUitgebracht", ROGUE, P))
    t = Staat()
    for kind, key in sorted(s.dirty):
        load_entity(t, kind, key, entity_json(s, kind, key))
    assert heeft_relatie(t, ROGUE, P) and heeft_relatie(t, MBO, E) and not heeft_relatie(t, "uwv", E)
    assert t.pilot_partners == s.pilot_partners and T1 in t.trajecten


@pytest.mark.parametrize("partner", [*PARTNERS, MBO, "gemeente.gm0599", "leerbedrijf.123456789", "sbb", "mbo"])
def test_the_relation_check_answers_as_the_set_of_relations_does(partner: str) -> None:
    """``heeft_relatie_met`` stops at the first relation it finds: the same answer as ``relaties_van``'s set, for
    a referrer, an instelling (advies, traject), a leerbedrijf named on a traject, and anyone without one."""
    from registry.domein.staat import heeft_relatie_met, relaties_van

    s = wereld()
    pas_toe(s, "AdviesUitgebracht", event("AdviesUitgebracht", ROGUE, P))
    for deelnemer in (P, E, U):
        assert heeft_relatie_met(s, partner, deelnemer) == (partner in relaties_van(s, deelnemer))
    assert heeft_relatie_met(s, "leerbedrijf.123456789", P) and heeft_relatie_met(s, ROGUE, P)


def test_erasure_is_looked_up_by_its_hash_and_nothing_erased_needs_none() -> None:
    s = Staat()
    assert not s.is_verwijderd(P) and not s.verwijderd
    s = wereld()
    assert s.is_verwijderd(E) and not s.is_verwijderd(P) and E not in str(s.verwijderd)
