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
from tests.support.builders import LB, MBO, T1, aanmelding, afteken, ev, inschrijving
from tests.unit.test_relaties import event

ROGUE, GEMEENTE, SBB = "mbo.noorderpoort", "gemeente.gm0599", "sbb"
PROBES = [GEMEENTE.replace("0599", "0363"), ROGUE, "leerbedrijf.987654321", "uwv"]
PARTNERS = sorted({"duo", SBB, MBO, GEMEENTE, f"leerbedrijf.{LB}", *PROBES})
P, U, E = "a" * 64, "c" * 64, "d" * 64  # known (albeda), unknown, erased (albeda's, erased by sbb)


def _setup(kafka_bootstrap: str, database_url: str, unique: str) -> tuple[Topics, Any]:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix, PARTNERS)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    erkenning = ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=ROGUE, crebo="25250", vanaf=dt.date(2019, 1, 1)))
    h.publish(kafka_bootstrap, prefix, [*reference()[:3], erkenning])
    h.drain(v)
    h.publish(kafka_bootstrap, prefix, [
        ("KandidaatAangemeld", aanmelding(GEMEENTE, deelnemer=P)), ("DeelnemerIngeschreven", inschrijving(deelnemer=P)),
        ("KandidaatAangemeld", aanmelding(GEMEENTE, deelnemer=E)),
        ("DeelnemerIngeschreven", inschrijving(deelnemer=E, traject_id=str(uuid.uuid4())))], aanmelden=False)
    h.drain(v)
    h.publish(kafka_bootstrap, prefix, [("DeelnemerGegevensVerwijderd", ev(SBB, deelnemer=E, grondslag="avg-17"))])
    h.drain(v)
    return t, v


def test_the_rogue_instelling_cannot_destroy_another_instellings_deelnemer(
        kafka_bootstrap: str, database_url: str, unique: str) -> None:
    t, v = _setup(kafka_bootstrap, database_url, unique)
    try:
        # the rogue enrols P in another pilot without an aanmelding there (parks), then asks to erase P
        inschr, wis = event("DeelnemerIngeschreven", ROGUE, P), event("DeelnemerGegevensVerwijderd", ROGUE, P)
        h.publish(kafka_bootstrap, t.prefix, [("DeelnemerIngeschreven", inschr), ("DeelnemerGegevensVerwijderd", wis)],
                  aanmelden=False)
        h.drain(v)
        # with an aanmelding of its own it is enrolled (warning tweede_instelling); its erasure waits for sbb
        eigen = event("KandidaatAangemeld", ROGUE, P)
        h.publish(kafka_bootstrap, t.prefix, [("KandidaatAangemeld", eigen)], aanmelden=False)
        h.drain(v)
        tekenen = afteken("B1-K1-W2", deelnemer=P)
        h.publish(kafka_bootstrap, t.prefix, [("WerkprocesAfgetekend", tekenen)])
        h.drain(v)
    finally:
        v.close()
    canon = {r["event_id"]: (et, r) for et, r in h.canonical(kafka_bootstrap, t)}
    assert tekenen["event_id"] in canon  # albeda's sign-off: accepted, P intact
    assert inschr["event_id"] in canon and "tweede_instelling" in canon[inschr["event_id"]][1]["warnings"]
    assert wis["event_id"] not in canon
    assert not [w for w in h.rejections(kafka_bootstrap, t) if w["event_id"] in (tekenen["event_id"], wis["event_id"])]
    wacht = {g.event_id: g for g in h.parked(kafka_bootstrap, t).entries.values()}
    assert (wacht[wis["event_id"]].reden, wacht[wis["event_id"]].wacht_op) == ("wacht_op_sbb", (f"verwijdering:{h.canoniek(P)}",))
    # sbb sees it waiting for its confirmation, with the partner pseudonym (never the registry's)
    bij_sbb = parked_for_partner([kafka_bootstrap], t.prefix, SBB, own_topic=True)
    assert [(r["event_id"], r["reden"], r["wacht_op"]) for r in bij_sbb] == [(wis["event_id"], "wacht_op_sbb",
                                                                              [f"verwijdering:{P}"])]
    assert parked_for_partner([kafka_bootstrap], t.prefix, SBB, own_topic=False)[0]["wacht_op"] == [f"verwijdering:{P}"]


def test_a_shared_erasure_waits_for_sbb_and_then_erases(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    t, v = _setup(kafka_bootstrap, database_url, unique)
    try:
        advies = event("AdviesUitgebracht", ROGUE, P)  # a second instelling holds P: albeda alone may not erase
        wis = ev(MBO, deelnemer=P, grondslag="avg-17")
        h.publish(kafka_bootstrap, t.prefix, [("AdviesUitgebracht", advies), ("DeelnemerGegevensVerwijderd", wis)],
                  aanmelden=False)
        h.drain(v)
        assert [g.reden for g in v.plaats.entries.values()] == ["wacht_op_sbb"]
        assert not v.staat.is_verwijderd(h.canoniek(P))
        h.publish(kafka_bootstrap, t.prefix, [("DeelnemerGegevensVerwijderd", ev(SBB, deelnemer=P, grondslag="avg-17"))])
        h.drain(v)
        assert v.staat.is_verwijderd(h.canoniek(P)) and len(v.plaats) == 0
        na = afteken("B1-K1-W3", deelnemer=P)
        h.publish(kafka_bootstrap, t.prefix, [("WerkprocesAfgetekend", na)])
        h.drain(v)
    finally:
        v.close()
    redenen = {w["event_id"]: w["reden"] for w in read_rejections([kafka_bootstrap], t.prefix, MBO, None, own_topic=True)}
    assert redenen[wis["event_id"]] == "gegevens_verwijderd"  # erased on sbb's confirmation; albeda is told
    assert redenen[na["event_id"]] == "gegevens_verwijderd"
    canon = [(et, r["partner"]) for et, r in h.canonical(kafka_bootstrap, t) if et == "DeelnemerGegevensVerwijderd"]
    assert canon == [("DeelnemerGegevensVerwijderd", SBB), ("DeelnemerGegevensVerwijderd", SBB)]  # E's, then P's


def _masked(record: dict[str, Any], ids: dict[str, str]) -> str:
    """A record a partner read, with what differs by design masked: its own ids, times and the deelnemer."""
    text = json.dumps(record, sort_keys=True)
    for value, mask in ids.items():
        text = text.replace(value, mask)
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.+Z-]+", "<tijd>", text)


def test_unknown_known_and_erased_read_back_the_same(kafka_bootstrap: str, database_url: str, unique: str) -> None:
    t, v = _setup(kafka_bootstrap, database_url, unique)
    # each probe while the partner has no relation yet: the types that create one (aanmelding, advies,
    # inschrijving) go last, in a batch of their own
    gewoon = ["LeerbedrijfVastgelegd", "WerkprocesAfgetekend", "AftekeningIngetrokken", "PraktijkverklaringUitgegeven",
              "PraktijkverklaringIngetrokken", "TrajectBeeindigd", "UitstroomGeregistreerd", "DeelnemerGegevensVerwijderd"]
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
                parked = [x for x in wachtend if x["event_id"] == r["event_id"]]
                gezien.add((tuple(_masked(x, ids) for x in mine), tuple(_masked(x, ids) for x in parked)))
            assert len(gezien) == 1, (partner, event_type, gezien)
