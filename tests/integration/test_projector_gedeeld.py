"""One consumer for every projection of a process: each record is decoded once, a projection that is
behind the others (added later, replayed alone) catches up while the others skip what they already have, and the
result equals projecting everything from scratch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text

from consumers import projector, records, replay
from projections import store
from tests.integration.test_projector import Setup, hand_log, setup, snapshot  # noqa: F401 (the fixture)


def test_one_decode_per_record_for_all_projections(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[tuple[str, int, int]] = []
    real = records.decode_message

    def counting(kind: Any, partition: int, offset: int, value: bytes | None, lean: Any = ()) -> Any:
        decoded.append((kind, partition, offset))
        return real(kind, partition, offset, value, lean)

    monkeypatch.setattr(records, "decode_message", counting)
    stats = {st.projection: st for st in projector.project(setup.config, once=True)}
    assert len(decoded) == len(set(decoded)) == len(hand_log()) + 1  # the events and the one rejection, once each
    assert {n: st.consumed for n, st in stats.items()} == {
        "referentie": len(hand_log()),
        "feiten": len(hand_log()),
        "tijdlijn": len(hand_log()) + 1,
    }


def test_a_projection_behind_the_others_catches_up_on_the_shared_consumer(setup: Setup, unique: str) -> None:
    first = {st.projection: st.consumed for st in projector.project(setup.config, ["feiten"], once=True)}
    assert first == {"feiten": len(hand_log())}
    later = {st.projection: st.consumed for st in projector.project(setup.config, once=True)}
    assert later == {"referentie": len(hand_log()), "feiten": 0, "tijdlijn": len(hand_log()) + 1}  # feiten skipped

    with setup.engine.begin() as c:  # tijdlijn set back to the start, as after adding it anew
        c.execute(text(store.sql("DELETE FROM {s}.projection_offsets WHERE projection = 'tijdlijn'", setup.schema)))
        c.execute(text(store.sql("TRUNCATE {s}.event_log, {s}.afwijzingen", setup.schema)))
    again = {st.projection: st.consumed for st in projector.project(setup.config, once=True)}
    assert again == {"referentie": 0, "feiten": 0, "tijdlijn": len(hand_log()) + 1}

    single = f"t_fresh_{unique}"
    try:
        projector.project(replace(setup.config, schema=single), once=True)
        with setup.engine.connect() as c:
            assert snapshot(c, setup.schema) == snapshot(c, single)
    finally:
        setup.drop(single)


def test_replay_of_one_projection_leaves_the_others_and_the_live_runner_goes_on(setup: Setup) -> None:
    projector.project(setup.config, once=True)
    with setup.engine.connect() as c:
        live = snapshot(c, setup.schema)
    [st] = replay.replay(setup.config, ["referentie"], progress=False)
    assert (st.projection, st.consumed) == ("referentie", len(hand_log()))
    after = {s.projection: s.consumed for s in projector.project(setup.config, once=True)}
    assert after == {"referentie": 0, "feiten": 0, "tijdlijn": 0}
    with setup.engine.connect() as c:
        assert snapshot(c, setup.schema) == live
