"""The validator's state snapshot (consumers/validator_config.py): one set-based statement per kind of write, and
what is saved loads back exactly (event ids with SQL NULL data, erased entities deleted, offsets only forward)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import text

from consumers.validator_config import StateStore
from registry.domein.staat import Deelnemer, Staat, Traject, Verklaring, pas_toe
from registry.infra.db import engine as make_engine


def test_save_and_load_round_trip(database_url: str) -> None:
    schema = f"t{uuid.uuid4().hex[:10]}_validator"
    eng = make_engine(database_url)
    store = StateStore(eng, schema)
    store.ensure()
    try:
        s = Staat()
        s.trajecten["t1"] = Traject(
            "t1", "p1", "mbo.a", "25250", dt.date(2021, 1, 4), "LB1", afgetekend={("25250", "B1-K1-W1")}
        )
        s.verklaringen["v1"] = Verklaring("v1", "p1", "t1", "mbo.a", {("25250", "B1-K1-W1")}, 1)
        s.deelnemers["p1"] = Deelnemer("p1", trajecten=["t1"], verklaringen=["v1"])
        s.deelnemers["p2"] = Deelnemer("p2", advies=True)
        s.dossiers["25250"] = {"B1-K1-W1", "B1-K1-W2"}
        s.erkenningen[("mbo.a", "25250")] = dt.date(2019, 1, 1)
        s.event_ids.add("e1")
        s.dirty |= {
            ("traject", "t1"),
            ("verklaring", "v1"),
            ("deelnemer", "p1"),
            ("deelnemer", "p2"),
            ("dossier", "25250"),
            ("erkenning", "mbo.a|25250"),
            ("event", "e1"),
        }
        store.save(s, {0: 5, 3: 7})
        assert not s.dirty

        loaded, offsets = store.load()
        assert offsets == {0: 5, 3: 7}
        for attr in ("trajecten", "verklaringen", "deelnemers", "dossiers", "erkenningen", "event_ids"):
            assert getattr(loaded, attr) == getattr(s, attr), attr
        with eng.connect() as c:
            assert c.execute(text(f"SELECT data IS NULL FROM \"{schema}\".entiteit WHERE soort = 'event'")).scalar_one()

        # an erasure deletes p2's row; an older offset never moves a stored one back
        pas_toe(loaded, "DeelnemerGegevensVerwijderd", {"event_id": "e2", "deelnemer": "p2"})
        store.save(loaded, {0: 3, 3: 9})
        again, offsets = store.load()
        assert "p2" not in again.deelnemers and "p1" in again.deelnemers and again.is_verwijderd("p2")
        assert offsets == {0: 5, 3: 9}
    finally:
        with eng.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
