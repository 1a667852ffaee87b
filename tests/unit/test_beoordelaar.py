"""The validator's judge (consumers/beoordelaar.py) with small fakes of its collaborators: no Kafka, no database."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

import pytest

from consumers import beoordelaar as beoordelaar_mod
from consumers.beoordelaar import Beoordelaar
from consumers.records import decode_message
from consumers.validator_config import Memory
from consumers.voorlezer import lees
from registry.demo import bouwer
from registry.domein import pseudoniemen, regels
from registry.domein.staat import pas_toe
from registry.infra import codec, metrics
from registry.infra.topics import Topics
from tests.support.builders import MBO, aanmelding, afteken, ev, inschrijving, referentie_events, verklaring
from tests.support.validator import met_aanmeldingen
from tests.support.validator_fakes import (
    NU,
    FakeHerversleutelaar,
    FakeParkeren,
    FakeSender,
    Rec,
    config,
)

T = Topics("t")
MARKER = "MARKER-7f3e-record-content"


def judge(max_record_bytes: int = 256 * 1024) -> tuple[Beoordelaar, FakeSender, FakeParkeren, Memory]:
    memory, sender, parkeren = Memory(), FakeSender(), FakeParkeren()
    b = Beoordelaar(config(max_record_bytes=max_record_bytes), T, memory, sender, parkeren, FakeHerversleutelaar())
    b.canonieke_partities = (0, 1, 2)
    return b, sender, parkeren, memory


def met_referentie(memory: Memory) -> None:
    for event_type, record in referentie_events():
        pas_toe(memory.staat, event_type, record)


def rec(event_type: str, record: dict[str, Any], partner: str = MBO) -> Rec:
    return Rec(codec.encode(event_type, record), topic=T.ingress(partner))


def dead(sender: FakeSender) -> list[dict[str, Any]]:
    return [json.loads(s.value) for s in sender.naar(T.deadletter)]


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_an_acceptable_event_goes_to_the_canonical_log_and_into_the_state() -> None:
    b, sender, parkeren, memory = judge()
    dossier = referentie_events()[0]
    futures = b.handle(rec(*dossier, partner="sbb"), "sbb", NU)
    [sent] = sender.naar(T.events)
    assert futures == [1] and sent.partition in (0, 1, 2)
    assert codec.decode(sent.value)[1]["event_id"] == dossier[1]["event_id"]
    assert dossier[1]["event_id"] in memory.staat.event_ids and parkeren.geparkeerd == []
    assert b.handle(rec(*dossier, partner="sbb"), "sbb", NU) == [] and len(sender.naar(T.events)) == 1  # duplicate


def test_a_refusal_goes_to_the_rejections_topic_and_to_the_partner_never_to_the_log() -> None:
    b, sender, parkeren, _ = judge()
    before = sample("praktijk_rejections_total", {"reden": "niet_bevoegd"})
    event_type, dossier = referentie_events()[0]
    b.handle(rec(event_type, dict(dossier, partner=MBO), partner=MBO), MBO, NU)  # only sbb may publish a dossier
    [refusal] = [json.loads(s.value) for s in sender.naar(T.rejections)]
    assert refusal["reden"] == "niet_bevoegd" and sender.naar(T.events) == []
    assert [p for p, _ in parkeren.gemeld] == [MBO]
    assert sample("praktijk_rejections_total", {"reden": "niet_bevoegd"}) == before + 1


def test_an_event_that_waits_for_another_is_handed_to_the_parking_service() -> None:
    b, sender, parkeren, _ = judge()
    ins = inschrijving()
    b.handle(rec("DeelnemerIngeschreven", ins), MBO, NU)
    [(event_id, wacht_op, nieuw)] = parkeren.geparkeerd
    assert event_id == ins["event_id"] and nieuw and wacht_op and sender.sent == []


def test_bytes_that_are_no_event_and_a_record_too_large_are_dead_letters() -> None:
    b, sender, _, _ = judge(max_record_bytes=2048)
    b.handle(Rec(b"not avro at all"), MBO, NU)
    b.handle(Rec(b"x" * 4096), MBO, NU)
    assert [d["reden"] for d in dead(sender)] == ["onleesbaar", "te_groot"]


def test_a_broken_rule_is_an_internal_error_never_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that raises (here: a KeyError, as a typo in a field name would) must not tell the partner its
    submission is wrong: the record becomes an ``interne_fout`` dead letter and is counted."""

    def kapot(ctx: Any) -> None:
        raise KeyError("deelnemr")

    monkeypatch.setitem(regels._REGELS._handlers, "KandidaatAangemeld", kapot)
    b, sender, parkeren, memory = judge()
    met_referentie(memory)
    before = sample("praktijk_validator_deadletters_total", {"reden": "interne_fout"})
    b.handle(rec("KandidaatAangemeld", aanmelding()), "gemeente.gm0599", NU)
    assert sender.naar(T.rejections) == [] and parkeren.gemeld == [] and sender.naar(T.events) == []
    [d] = dead(sender)
    assert (d["reden"], d["fout"]) == ("interne_fout", "RegelFout")
    assert sample("praktijk_validator_deadletters_total", {"reden": "interne_fout"}) == before + 1


def test_the_rules_raise_a_rule_error_instead_of_returning_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def kapot(ctx: Any) -> None:
        raise KeyError("deelnemr")

    monkeypatch.setitem(regels._REGELS._handlers, "KandidaatAangemeld", kapot)
    from registry.domein.staat import Staat

    with pytest.raises(regels.RegelFout, match="KandidaatAangemeld failed \\(KeyError\\)") as exc:
        regels.beoordeel(Staat(), "KandidaatAangemeld", aanmelding(), "gemeente.gm0599", NU)
    assert isinstance(exc.value.__cause__, KeyError)


def test_no_log_line_holds_record_content_on_any_failure_path(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A record carrying a marker goes through every failure path of the judge (and the projector's decoding); the
    marker appears in no log line: neither an exception's message nor a traceback is logged."""
    caplog.set_level(logging.DEBUG)
    b, sender, _, memory = judge(max_record_bytes=4096)
    met_referentie(memory)
    gemeld = aanmelding()
    gemeld["pilot"] = MARKER  # an unknown pilot: refused, with the marker in the refusal's melding
    b.handle(rec("KandidaatAangemeld", gemeld), "gemeente.gm0599", NU)
    b.handle(Rec(MARKER.encode() * 200), MBO, NU)  # too large
    b.handle(Rec(b"\x00" + MARKER.encode()), MBO, NU)  # undecodable

    def kapot(ctx: Any) -> None:
        raise KeyError(MARKER)

    monkeypatch.setitem(regels._REGELS._handlers, "KandidaatAangemeld", kapot)
    b.handle(rec("KandidaatAangemeld", aanmelding()), "gemeente.gm0599", NU)  # a rule's bug

    def stuk(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"judging failed on {MARKER}")

    monkeypatch.setattr(beoordelaar_mod, "beslis", stuk)
    b.handle(rec("KandidaatAangemeld", aanmelding()), "gemeente.gm0599", NU)  # any other bug while judging

    def vreemd(value: bytes, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"hostile bytes {MARKER}")

    monkeypatch.setattr(codec, "decode", vreemd)
    b.handle(Rec(b"\x00\x01"), MBO, NU)  # bytes that trip the reader in a way it does not wrap
    decode_message("events", 0, 1, MARKER.encode())  # the projector skips what does not decode
    decode_message("rejections", 0, 2, b"\xff" + MARKER.encode())

    reden = [d["reden"] for d in dead(sender)]
    assert reden == ["te_groot", "onleesbaar", "interne_fout", "interne_fout", "onleesbaar"]
    assert any(MARKER in json.loads(s.value)["melding"] for s in sender.naar(T.rejections))  # the path was taken
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "internal error judging" in logged and "skipping undecodable" in logged
    assert MARKER not in logged and not any(r.exc_info for r in caplog.records)
    assert MARKER not in caplog.text


def test_the_counters_of_a_batch_are_added_when_it_ends() -> None:
    b, _, _, _ = judge()
    before = sample("praktijk_validator_submissions_total", {"uitkomst": "geaccepteerd"})
    b.handle(rec(*referentie_events()[0], partner="sbb"), "sbb", NU)
    assert sample("praktijk_validator_submissions_total", {"uitkomst": "geaccepteerd"}) == before
    b.tellers.leeg()
    assert sample("praktijk_validator_submissions_total", {"uitkomst": "geaccepteerd"}) == before + 1
    assert metrics.SUBMISSIONS is not None


def test_the_batch_list_refuses_a_record_the_producer_would_refuse_and_the_judge_dead_letters_it() -> None:
    """The writer thread sends a judged batch later; a record over the producer's size limit must fail at once, in
    the judge, as one record's ``interne_fout``, not later as the whole batch's failed commit."""
    from kafka.errors import MessageSizeTooLargeError

    from consumers.schrijver import Zendlijst

    lijst = Zendlijst(max_bytes=100)
    with pytest.raises(MessageSizeTooLargeError):
        lijst.send("t.events", key=b"k", value=b"x" * 100)
    lijst.send("t.events", key=b"k", value=b"x" * 99)
    assert [len(value) for _, _, value, _ in lijst.neem()] == [99]

    class TeGrootVoorDeLog(FakeSender):
        def send(self, topic: str, *, key: bytes | None, value: bytes, partition: int | None = None) -> Any:
            if topic == T.events:
                raise MessageSizeTooLargeError("over the limit")
            return super().send(topic, key=key, value=value, partition=partition)

    sender = TeGrootVoorDeLog()
    b = Beoordelaar(config(), T, Memory(), sender, FakeParkeren(), FakeHerversleutelaar())
    b.canonieke_partities = (0, 1, 2)
    b.handle(rec(*referentie_events()[0], partner="sbb"), "sbb", NU)
    assert [d["reden"] for d in dead(sender)] == ["interne_fout"] and sender.naar(T.events) == []


def dossiers(n: int) -> list[tuple[str, dict[str, Any]]]:
    """Per deelnemer: inschrijving, three sign-offs (one twice: a duplicate), a verklaring and one sign-off too many
    (refused)."""
    wps = ["B1-K1-W1", "B1-K1-W2", "B1-K1-W3"]
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        p, traject = f"{i:064x}", str(uuid.uuid4())
        aftekeningen = [("WerkprocesAfgetekend", afteken(w, deelnemer=p, traject_id=traject)) for w in wps]
        out += [
            ("DeelnemerIngeschreven", inschrijving(deelnemer=p, traject_id=traject, leeftijd=20 + i)),
            *aftekeningen,
        ]
        out += [aftekeningen[0], ("PraktijkverklaringUitgegeven", verklaring(wps, deelnemer=p, traject_id=traject))]
        out.append(("WerkprocesAfgetekend", afteken("B9-K9-W9", deelnemer=p, traject_id=traject)))
    return out


def test_an_event_read_ahead_is_sent_as_the_same_bytes_as_one_read_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reading process encodes what a partner sent ahead (consumers/voorlezer.py, ``romp``); the judge then adds
    only the registry's ``recorded_at`` and ``warnings``. Over a plausible log (verklaringen with their volgnummer,
    persoonsgegevens sealed again, warnings, refusals, a telling whose erased entry the judge replaces) everything
    sent is byte for byte what reading in place sends, and most accepted events did use the bytes read ahead."""
    eerste, tweede = f"{0:064x}", f"{1:064x}"
    telling = bouwer.telling(
        "gemeente", "rijnmond", dt.date(2021, 1, 13), 2, deelnemers=[(eerste, "in_traject"), (tweede, "in_traject")]
    )
    events = met_aanmeldingen(dossiers(40)) + [
        ("KandidaatAangemeld", aanmelding(deelnemer=eerste)),  # the gemeente's own: it may count them
        ("KandidaatAangemeld", aanmelding(deelnemer=tweede)),
        ("DeelnemerGegevensVerwijderd", ev("sbb", deelnemer=eerste, grondslag="AVG art. 17")),
        ("TellingGemeld", ev("gemeente.gm0599", **telling)),  # the erased deelnemer's entry: replaced by the judge
    ]
    in_place, sender_a, _, memory_a = judge()
    ahead, sender_b, _, memory_b = judge()
    for memory in (memory_a, memory_b):
        met_referentie(memory)
    volledig = []
    echt_encode = codec.encode
    for event_type, record in events:
        r = rec(event_type, record, partner=record["partner"])
        in_place.handle(r, record["partner"], NU)
        gelezen = lees(r.value, r.key, 256 * 1024, config().registry_pseudonym_key, romp=True)
        monkeypatch.setattr(codec, "encode", lambda et, c, *a: volledig.append(et) or echt_encode(et, c, *a))
        ahead.handle(r, record["partner"], NU, gelezen)
        monkeypatch.setattr(codec, "encode", echt_encode)
    assert [(s.topic, s.key, s.value, s.partition) for s in sender_b.sent] == [
        (s.topic, s.key, s.value, s.partition) for s in sender_a.sent
    ]
    geaccepteerd = sender_a.naar(T.events)
    assert len(geaccepteerd) > 100 and len(volledig) < len(geaccepteerd) / 2
    assert any(codec.decode(s.value)[1]["warnings"] for s in geaccepteerd)  # the path with warnings was taken
    assert "PraktijkverklaringUitgegeven" in volledig  # its volgnummer is the registry's: encoded in full
    geteld = codec.decode(geaccepteerd[-1].value)[1]  # the telling: accepted, its list changed, encoded in full
    assert geteld["bron_type"] == "gemeente" and "TellingGemeld" in volledig
    sleutels = config().registry_pseudonym_key
    assert [
        d["deelnemer"] == pseudoniemen.canoniek(sleutels, p)
        for d, p in zip(geteld["deelnemers"], (eerste, tweede), strict=True)
    ] == [False, True]
