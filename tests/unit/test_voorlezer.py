"""Reading ingress records before they are judged (consumers/voorlezer.py): what one record becomes, and the reading
process giving exactly what reading in place gives, in order, part after part. No Kafka, no database: the child is a
real process on a real pipe."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers import voorlezer
from consumers.voorlezer import FOUT, KLEIN, OK, ONLEESBAAR, TE_GROOT, Gelezen, TerPlekke, Voorleesproces, lees
from registry.domein import pseudoniemen
from registry.infra import codec
from tests.support.builders import MBO, aanmelding, inschrijving, verklaring
from tests.support.processen import verdwijnt
from tests.support.validator_fakes import Rec

SLEUTELS = (b"k" * 32,)
LIMIET = 4096


def goed(i: int) -> Rec:
    record = aanmelding() if i % 2 else inschrijving(partner=MBO)
    return Rec(codec.encode("KandidaatAangemeld" if i % 2 else "DeelnemerIngeschreven", record), offset=i)


def gemengd(n: int) -> list[Rec]:
    """Good records with a too large, an undecodable and an empty one in between."""
    out = []
    for i in range(n):
        slecht = {7: b"x" * (LIMIET + 1), 13: b"\x00not avro", 29: None}.get(i % 41)
        out.append(Rec(slecht, offset=i) if i % 41 in (7, 13, 29) else goed(i))
    return out


def zonder_romp(gelezen: Iterator[Gelezen]) -> list[Gelezen]:
    """What the child read, without the body bytes it encoded ahead (reading in place leaves them out)."""
    return [(soort, a, b, None) for soort, a, b, _ in gelezen]


@pytest.fixture(scope="module")
def proces() -> Iterator[Voorleesproces]:
    p = Voorleesproces(LIMIET, SLEUTELS, os.getpid())
    yield p
    p.close()


def test_a_record_is_read_decoded_and_re_keyed() -> None:
    record = aanmelding()
    soort, event_type, gelezen, romp = lees(codec.encode("KandidaatAangemeld", record), None, LIMIET, SLEUTELS)
    assert (soort, event_type, romp) == (OK, "KandidaatAangemeld", None)
    assert gelezen["deelnemer"] == pseudoniemen.canoniek(SLEUTELS, record["deelnemer"]) != record["deelnemer"]
    assert gelezen == pseudoniemen.herschrijf(codec.decode(codec.encode("KandidaatAangemeld", record))[1], SLEUTELS)


def test_bytes_that_are_too_large_or_do_not_decode_say_why() -> None:
    assert lees(b"x" * 10, b"k" * (LIMIET - 9), LIMIET, SLEUTELS) == (TE_GROOT, LIMIET + 1, None, None)
    assert lees(None, None, LIMIET, SLEUTELS) == (ONLEESBAAR, "no bytes to decode (got NoneType)", None, None)
    soort, waarom, _, _ = lees(b"\x00abc", None, LIMIET, SLEUTELS)
    assert soort == ONLEESBAAR and "C3 01" in waarom


def test_a_bug_while_re_keying_gives_its_type_and_place_never_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def stuk(*args: Any) -> Any:
        raise KeyError("record content")

    monkeypatch.setattr(pseudoniemen, "herschrijf", stuk)
    soort, event_type, (type_, waar), _ = lees(goed(1).value, None, LIMIET, SLEUTELS, romp=True)
    assert (soort, event_type, type_) == (FOUT, "KandidaatAangemeld", "KeyError")
    assert waar.startswith("test_voorlezer.py:") and "record content" not in waar


def test_the_reading_process_gives_what_reading_in_place_gives_in_order(proces: Voorleesproces) -> None:
    records = gemengd(537)  # several parts, the last one short
    in_place = list(TerPlekke(LIMIET, SLEUTELS).lees_alles(records))
    assert zonder_romp(proces.lees_alles(records)) == in_place
    assert {g[0] for g in in_place} == {OK, TE_GROOT, ONLEESBAAR}


def test_the_reading_process_encodes_what_it_read_ahead(proces: Voorleesproces) -> None:
    """Its body bytes (``codec.encode_romp``) of the re-keyed record: what the judge sends if it accepts it as is."""
    gelezen = list(proces.lees_alles(gemengd(KLEIN * 2)))
    goede = [g for g in gelezen if g[0] == OK]
    assert goede and all(g[3] == codec.encode_romp(g[1], g[2]) is not None for g in goede)
    assert all(g[3] is None for g in gelezen if g[0] != OK)


def test_no_body_is_encoded_ahead_for_a_record_the_judge_always_encodes_again() -> None:
    """A verklaring gets its volgnummer from the judge, sealed persoonsgegevens are sealed again: their bodies
    read ahead would be thrown away."""
    for event_type, record in [
        ("PraktijkverklaringUitgegeven", verklaring(["B1-K1-W1"])),
        ("KandidaatAangemeld", dict(aanmelding(), persoonsgegevens=b"\x01verzegeld")),
    ]:
        soort, _, gelezen, romp = lees(codec.encode(event_type, record), None, LIMIET, SLEUTELS, romp=True)
        assert (soort, romp) == (OK, None) and codec.encode_romp(event_type, gelezen) is not None
    soort, _, gelezen, romp = lees(codec.encode("KandidaatAangemeld", aanmelding()), None, LIMIET, SLEUTELS, romp=True)
    assert (soort, romp) == (OK, codec.encode_romp("KandidaatAangemeld", gelezen))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 40), st.binary(max_size=40)), max_size=3 * KLEIN))
def test_any_mix_of_records_reads_the_same_in_the_child(proces: Voorleesproces, mix: list[Any]) -> None:
    records = [goed(x) if isinstance(x, int) else Rec(x) for x in mix]
    assert zonder_romp(proces.lees_alles(records)) == list(TerPlekke(LIMIET, SLEUTELS).lees_alles(records))


def test_a_poll_abandoned_halfway_leaves_the_pipe_in_step(proces: Voorleesproces) -> None:
    eerste = proces.lees_alles(gemengd(600))
    for _ in range(30):
        next(eerste)
    eerste.close()  # an exception in the judge's loop: the parts still on their way are taken off the pipe
    records = gemengd(300)[::-1]
    assert zonder_romp(proces.lees_alles(records)) == list(TerPlekke(LIMIET, SLEUTELS).lees_alles(records))


def test_a_small_poll_is_read_in_place_without_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    p = Voorleesproces(LIMIET, SLEUTELS, os.getpid())
    p.conn.close()  # a poll that used the pipe would fail now
    assert [g[0] for g in p.lees_alles(gemengd(KLEIN - 1))][:3] == [OK, OK, OK]
    p.proces.kill()
    p.proces.wait()


def test_a_reading_process_that_died_fails_the_batch_clearly() -> None:
    p = Voorleesproces(LIMIET, SLEUTELS, os.getpid())
    os.kill(p.proces.pid, signal.SIGKILL)
    p.proces.wait()
    with pytest.raises(RuntimeError, match="the reading process ended"):
        list(p.lees_alles(gemengd(KLEIN * 3)))
    p.close()


def test_close_ends_the_child() -> None:
    p = Voorleesproces(LIMIET, SLEUTELS, os.getpid())
    assert len(list(p.lees_alles(gemengd(KLEIN * 2)))) == KLEIN * 2
    p.close()
    assert verdwijnt(p.proces.pid, 5.0) and p.proces.returncode == 0


def test_parts_are_small_first_then_larger() -> None:
    """The judge waits only for the first part of a poll: it is the small one."""
    assert voorlezer.EERSTE < voorlezer.DEEL and KLEIN >= voorlezer.EERSTE
