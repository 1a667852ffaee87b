"""Natural batching (consumers/bundel.py): a batch collects while the previous one commits, up to a poll's worth;
two judged polls become one transaction (consumers/schrijver.samen)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from consumers.bundel import verder_bundelen
from consumers.schrijver import Oordeel, Zendlijst


@given(verzameld=st.integers(0, 10_000), grens=st.integers(1, 10_000), vorige_klaar=st.booleans())
def test_collecting_goes_on_only_while_the_previous_batch_commits_and_the_batch_is_not_full(
    verzameld: int, grens: int, vorige_klaar: bool
) -> None:
    verder = verder_bundelen(verzameld, grens, vorige_klaar)
    if vorige_klaar or verzameld >= grens:
        assert not verder
    else:
        assert verder


def test_a_batch_collects_while_the_previous_one_commits() -> None:
    assert verder_bundelen(0, 2000, vorige_klaar=False)
    assert verder_bundelen(1999, 2000, vorige_klaar=False)
    assert not verder_bundelen(2000, 2000, vorige_klaar=False)  # full: a poll's worth, as a loop behind reads
    assert not verder_bundelen(5, 2000, vorige_klaar=True)  # the commit is done: the next one starts at once


def _oordeel(offset: int, n: int, groep: object, vernietig: list[str], legen: set[int]) -> Oordeel:
    tp = TopicPartition("t.ingress.sbb", offset % 2)
    lijst = Zendlijst()
    eigen = [lijst.send("t.events", key=None, value=f"{offset}-{i}".encode()) for i in range(n)]
    return Oordeel(
        lijst.neem(),
        {tp: OffsetAndMetadata(offset, "", -1)},
        groep,
        n,
        eigen,
        vernietig,
        legen,
    )


def test_two_judged_polls_become_one_batch_in_judging_order_with_the_later_offsets() -> None:
    from consumers.schrijver import samen

    groep = object()
    a = _oordeel(4, 2, groep, ["d1"], {1})
    b = _oordeel(6, 3, groep, ["d2"], {2})  # the same partition as ``a``, further on
    c = _oordeel(7, 1, None, [], set())  # another partition
    ab = samen(samen(a, b), c)
    assert [z[2] for z in ab.zendingen] == [z[2] for z in a.zendingen + b.zendingen + c.zendingen]
    assert ab.eigen == a.eigen + b.eigen + c.eigen
    assert {tp.partition: o.offset for tp, o in ab.offsets.items()} == {0: 6, 1: 7}
    assert ab.n == 6 and ab.groep is groep
    assert ab.te_vernietigen == ["d1", "d2"] and ab.te_legen == {1, 2}
