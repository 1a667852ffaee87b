"""Who may say what about whom, end to end on the real broker and database: the rogue instelling of the report
cannot erase another instelling's deelnemer; erasure by sbb, by the sole instelling, and a shared one that waits for
sbb; and what a partner reads back (its own rejections topic, `parked --as`) is the same for an unknown, a
known-but-unrelated and an erased deelnemer, with its own pseudonym, never the registry's."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from registry.cli.validator import parked_for_partner, read_rejections
from registry.infra.topics import Topics
from tests.integration.test_validator import reference
from tests.support import validator as h
from tests.support.builders import LB, MBO, aanmelding, afteken, ev, inschrijving
from tests.support.relaties import event

ROGUE, GEMEENTE, SBB = "mbo.noorderpoort", "gemeente.gm0599", "sbb"
TWEEDE = "mbo.roc-top"  # a second instelling that refers before it enrols
PROBES = [GEMEENTE.replace("0599", "0363"), ROGUE, "leerbedrijf.987654321", "uwv"]
PARTNERS = sorted({"duo", SBB, MBO, GEMEENTE, TWEEDE, f"leerbedrijf.{LB}", *PROBES})
P, U, E = "a" * 64, "c" * 64, "d" * 64  # known (albeda), unknown, erased (albeda's, erased by sbb)


def _setup(kafka_bootstrap: str, database_url: str, unique: str) -> tuple[Topics, Any]:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix, PARTNERS)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    erkenningen = [
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=i, crebo="25250", vanaf=dt.date(2019, 1, 1)))
        for i in (ROGUE, TWEEDE)
    ]
    h.publish(kafka_bootstrap, prefix, [*reference()[:3], *erkenningen])
    h.drain(v)
    h.publish(
        kafka_bootstrap,
        prefix,
        [
            ("KandidaatAangemeld", aanmelding(GEMEENTE, deelnemer=P)),
            ("DeelnemerIngeschreven", inschrijving(deelnemer=P)),
            ("KandidaatAangemeld", aanmelding(GEMEENTE, deelnemer=E)),
            ("DeelnemerIngeschreven", inschrijving(deelnemer=E, traject_id=str(uuid.uuid4()))),
        ],
        aanmelden=False,
    )
    h.drain(v)
    h.publish(kafka_bootstrap, prefix, [("DeelnemerGegevensVerwijderd", ev(SBB, deelnemer=E, grondslag="avg-17"))])
    h.drain(v)
    return t, v


def test_the_rogue_instelling_cannot_destroy_another_instellings_deelnemer(
    kafka_bootstrap: str, database_url: str, unique: str
) -> None:
    t, v = _setup(kafka_bootstrap, database_url, unique)
    try:
        # the report's scenario: the rogue enrols P in another pilot (no aanmelding there), then asks to erase P:
        # both wait (the inschrijving for an aanmelding, the erasure behind it); P stays intact
        inschr, wis = event("DeelnemerIngeschreven", ROGUE, P), event("DeelnemerGegevensVerwijderd", ROGUE, P)
        h.publish(
            kafka_bootstrap,
            t.prefix,
            [("DeelnemerIngeschreven", inschr), ("DeelnemerGegevensVerwijderd", wis)],
            aanmelden=False,
        )
        h.drain(v)
        # a second instelling that refers P itself first is enrolled (warning tweede_instelling); its erasure waits
        # for sbb, since albeda holds P too
        eigen, inschr2, wis2 = (
            event(et, TWEEDE, P, pilot="twente")
            for et in ("KandidaatAangemeld", "DeelnemerIngeschreven", "DeelnemerGegevensVerwijderd")
        )
        h.publish(
            kafka_bootstrap,
            t.prefix,
            [("KandidaatAangemeld", eigen), ("DeelnemerIngeschreven", inschr2), ("DeelnemerGegevensVerwijderd", wis2)],
            aanmelden=False,
        )
        h.drain(v)
        tekenen = afteken("B1-K1-W2", deelnemer=P)
        h.publish(kafka_bootstrap, t.prefix, [("WerkprocesAfgetekend", tekenen)])
        h.drain(v)
    finally:
        v.close()
    canon = {r["event_id"]: (et, r) for et, r in h.canonical(kafka_bootstrap, t)}
    assert tekenen["event_id"] in canon  # albeda's sign-off: accepted, P intact
    assert inschr["event_id"] not in canon and wis["event_id"] not in canon and wis2["event_id"] not in canon
    assert inschr2["event_id"] in canon and "tweede_instelling" in canon[inschr2["event_id"]][1]["warnings"]
    assert not h.rejections(kafka_bootstrap, t)  # nothing refused yet: it waits (refused after the time-out)
    wacht = {g.event_id: g for g in h.parked(kafka_bootstrap, t).entries.values()}
    assert (wacht[inschr["event_id"]].reden, wacht[inschr["event_id"]].wacht_op) == (
        "geen_aanmelding",
        (f"aanmelding:{h.canoniek(P)}/groningen",),
    )
    assert wacht[wis["event_id"]].wacht_op == (f"na:{inschr['event_id']}",)
    assert (wacht[wis2["event_id"]].reden, wacht[wis2["event_id"]].wacht_op) == (
        "wacht_op_sbb",
        (f"verwijdering:{h.canoniek(P)}",),
    )
    # the rogue reads what waits with its own pseudonym; sbb sees the erasure waiting for its confirmation
    bij_rogue = parked_for_partner([kafka_bootstrap], t.prefix, ROGUE, own_topic=True)
    assert [(r["event_id"], r["wacht_op"]) for r in bij_rogue] == [
        (inschr["event_id"], [f"aanmelding:{P}/groningen"]),
        (wis["event_id"], [f"na:{inschr['event_id']}"]),
    ]
    bij_sbb = parked_for_partner([kafka_bootstrap], t.prefix, SBB, own_topic=True)
    assert [(r["event_id"], r["reden"], r["wacht_op"]) for r in bij_sbb] == [
        (wis2["event_id"], "wacht_op_sbb", [f"verwijdering:{P}"])
    ]
    assert [r["wacht_op"] for r in parked_for_partner([kafka_bootstrap], t.prefix, SBB, own_topic=False)] == [
        [f"verwijdering:{P}"]
    ]


def test_a_shared_erasure_waits_for_sbb_and_then_erases(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    t, v = _setup(kafka_bootstrap, database_url, unique)
    try:
        advies = event("AdviesUitgebracht", ROGUE, P)  # a second instelling holds P: albeda alone may not erase
        wis = ev(MBO, deelnemer=P, grondslag="avg-17")
        h.publish(
            kafka_bootstrap,
            t.prefix,
            [("AdviesUitgebracht", advies), ("DeelnemerGegevensVerwijderd", wis)],
            aanmelden=False,
        )
        h.drain(v)
        assert [g.reden for g in v.plaats.entries.values()] == ["wacht_op_sbb"]
        assert not v.staat.is_verwijderd(h.canoniek(P))
        h.publish(
            kafka_bootstrap, t.prefix, [("DeelnemerGegevensVerwijderd", ev(SBB, deelnemer=P, grondslag="avg-17"))]
        )
        h.drain(v)
        assert v.staat.is_verwijderd(h.canoniek(P)) and len(v.plaats) == 0
        na = afteken("B1-K1-W3", deelnemer=P)
        h.publish(kafka_bootstrap, t.prefix, [("WerkprocesAfgetekend", na)])
        h.drain(v)
    finally:
        v.close()
    redenen = {
        w["event_id"]: w["reden"] for w in read_rejections([kafka_bootstrap], t.prefix, MBO, None, own_topic=True)
    }
    assert redenen[wis["event_id"]] == "gegevens_verwijderd"  # erased on sbb's confirmation; albeda is told
    assert redenen[na["event_id"]] == "gegevens_verwijderd"
    canon = [(et, r["partner"]) for et, r in h.canonical(kafka_bootstrap, t) if et == "DeelnemerGegevensVerwijderd"]
    assert canon == [("DeelnemerGegevensVerwijderd", SBB), ("DeelnemerGegevensVerwijderd", SBB)]  # E's, then P's


def _masked(record: dict[str, Any], ids: dict[str, str]) -> str:
    """A record a partner read, with what differs by design masked: its own ids, times and the deelnemer."""
    text = json.dumps(record, sort_keys=True)
    for value, mask in ids.items():
        text = text.replace(value, mask)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)  # its own ids
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.+Z-]+", "<tijd>", text)


def test_unknown_known_and_erased_read_back_the_same(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    t, v = _setup(kafka_bootstrap, database_url, unique)
    # each probe while the partner has no relation yet: the types that create one (aanmelding, advies,
    # inschrijving) go last, in a batch of their own
    gewoon = [
        "LeerbedrijfVastgelegd",
        "WerkprocesAfgetekend",
        "AftekeningIngetrokken",
        "PraktijkverklaringUitgegeven",
        "PraktijkverklaringIngetrokken",
        "TrajectBeeindigd",
        "UitstroomGeregistreerd",
        "DeelnemerGegevensVerwijderd",
    ]
    scheppend = ["KandidaatAangemeld", "AdviesUitgebracht", "DeelnemerIngeschreven"]
    types = gewoon + scheppend
    sent: dict[tuple[str, str, str], dict[str, Any]] = {}
    try:
        for batch in (gewoon, scheppend):
            items = []
            for partner in PROBES:
                for event_type in batch:
                    for deelnemer in (U, P, E):
                        sent[(partner, event_type, deelnemer)] = r = event(event_type, partner, deelnemer)
                        items.append((event_type, r))
            h.publish(kafka_bootstrap, t.prefix, items, aanmelden=False)
            h.drain(v)
    finally:
        v.close()
    registry_forms = {h.canoniek(d) for d in (U, P, E)}
    for partner in PROBES:
        eigen = [json.loads(r.value) for r in h.read_topic(kafka_bootstrap, t.rejections_of(partner))]
        wachtend = parked_for_partner([kafka_bootstrap], t.prefix, partner, own_topic=True)
        assert not any(f in json.dumps(eigen) + json.dumps(wachtend) for f in registry_forms)  # never the registry's
        for event_type in types:
            gezien = set()
            for deelnemer in (U, P, E):
                r = sent[(partner, event_type, deelnemer)]
                ids = {str(x): f"<{k}>" for k, x in r.items() if k in ("event_id", "traject_id", "verklaring_id") and x}
                ids[deelnemer] = "<deelnemer>"
                mine = [dict(x, bron=None) for x in eigen if x.get("event_id") == r["event_id"]]
                parked = [
                    dict(x, bron=None) for x in wachtend if x["event_id"] == r["event_id"]
                ]  # bron: its own offset
                gezien.add((tuple(_masked(x, ids) for x in mine), tuple(_masked(x, ids) for x in parked)))
            assert len(gezien) == 1, (partner, event_type, "\n".join(str(g) for g in gezien))
