"""Small cells that stay small, attacked on the demo data set.

The demo data (``registry.demo.data.generate()``, the 26 pilots of the evaluation) goes through the real producer,
validator (Kafka) and projector (PostgreSQL) under a private topic prefix and schema. A ``publiek`` caller then
tries every recovery the issue names, and recovers no hidden cell:

* filter: ``?pilot=X`` of a per-pilot overzicht must equal row X of the full table (never re-suppressed alone);
* complement and cross-table sums: a linear attacker who knows every column total (the national totals that
  deelnemers-per-pilot, leeftijdsgroepen, instellingen and the headline numbers share) and that geslacht per pilot
  sums to the pilot's deelnemers (also shown in leerbedrijven-per-pilot) narrows every hidden cell to an interval
  by bound propagation; no hidden count of 1..4 may end up pinned to its value;
* date bisection: publiek gets only month ends of completed months; every other day is 400.

A ``regio:`` caller (its own tables hold person-sized cells) gets the same suppression on its region's complete
tables: the filter and sum attacks above, run per arbeidsmarktregio, recover nothing either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from registry.api.kleine_cellen import (
    PER_PILOT,
    SMALL_CELL_MAX,
    SMALL_CELL_MIN,
    TOTAL_COLUMNS,
    check_brancheorganisaties,
    is_count_column,
)

from consumers import projector
from projections import queries
from registry.api.app import create_app
from registry.api.audit import MemoryAuditLog
from registry.api.auth import MemoryKeyStore
from registry.demo import data as demodata
from registry.demo import run
from registry.domein import referentie
from registry.infra import settings as settings_mod
from registry.infra.db import engine
from tests.support.demo import demo_keys, publish_in_phases
from tests.support.opruimen import ruim_op

PEILDATA = ("2019-06-30", "2019-12-31", "2020-06-30", "2020-12-31", "2021-01-31")
REGIOS = sorted({p.arbeidsmarktregio for p in referentie.pilots().values() if p.arbeidsmarktregio})
# what a regio key sees besides its tables: the headline numbers of its region (a total of 1..4 suppressed)
HEADLINE = {
    ("deelnemers-per-pilot", "deelnemers"),
    ("verklaringen-per-pilot", "deelnemers_met_verklaring"),
    ("niveaus", "verklaringen"),
}


@pytest.fixture(scope="module")
def world(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    import uuid

    unique = uuid.uuid4().hex[:10]
    pseudo, sealer = demo_keys(tmp_path_factory.mktemp("keys"))
    records = run._route(demodata.generate())
    prefix, schema = f"t{unique}k", f"t{unique}k_read"
    t = publish_in_phases(kafka_bootstrap, database_url, prefix, records, pseudo, sealer)
    projector.project(
        projector.RunnerConfig(kafka_bootstrap, database_url, schema, t.events, t.rejections), ["all"], once=True
    )
    eng = engine(database_url)
    keys = MemoryKeyStore()
    secrets = {s: keys.create(s)[1] for s in ("landelijk", "publiek", *(f"regio:{r}" for r in REGIOS))}
    s = replace(settings_mod.load(), database_url=database_url, public_peildata="maandeinde")
    app = create_app(s, queries=queries, engine=eng, keys=keys, schema=schema, audit=MemoryAuditLog())
    try:
        yield {"client": TestClient(app), "keys": secrets}
    finally:
        ruim_op(eng, kafka_bootstrap, prefix, schema)


def _get(world: dict[str, Any], url: str, scope: str) -> Any:
    return world["client"].get(url, headers={"Authorization": f"Bearer {world['keys'][scope]}"})


def _rows(world: dict[str, Any], naam: str, peildatum: str, scope: str, extra: str = "") -> list[dict[str, Any]]:
    resp = _get(world, f"/v1/overzichten/{naam}?peildatum={peildatum}{extra}", scope)
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = resp.json()["rijen"]
    return rows


def _label(naam: str, row: dict[str, Any]) -> str:
    for c in (
        "pilot",
        "leeftijdsgroep",
        "mbo_instelling",
        "domein",
        "kwalificatie",
        "brancheorganisaties",
        "niveau",
        "aantal_werkprocessen",
    ):
        if c in row:
            return str(row[c])
    raise AssertionError(f"{naam}: no label in {row}")


def test_the_demo_world_has_small_cells_to_protect(world: dict[str, Any]) -> None:
    exact = _rows(world, "deelnemers-per-pilot", "2021-01-31", "landelijk")
    assert sum(r["deelnemers"] for r in exact) >= 784
    small = [
        r["pilot"]
        for d in PEILDATA
        for r in _rows(world, "deelnemers-per-pilot", d, "landelijk")
        if SMALL_CELL_MIN <= r["deelnemers"] <= SMALL_CELL_MAX
    ]
    assert small, "the attack below is only meaningful when some cells are small"


def test_a_filter_recovers_nothing(world: dict[str, Any]) -> None:
    for d in PEILDATA:
        for naam in sorted(PER_PILOT):
            full = {r["pilot"]: r for r in _rows(world, naam, d, "publiek")}
            for pilot, row in full.items():
                assert _rows(world, naam, d, "publiek", f"&pilot={pilot}") == [row], (naam, d, pilot)
        # a national table cut by pilot would be a second table to difference against: refused
        assert (
            _get(world, f"/v1/overzichten/leeftijdsgroepen?peildatum={d}&pilot=rijnmond", "publiek").status_code == 403
        )


class Attack:
    """Bound propagation over linear equalities sum(coef * var) = constant, vars >= 0 (a simple, sound attacker:
    whatever it pins is really disclosed)."""

    def __init__(self) -> None:
        self.lo: dict[Any, float] = {}
        self.hi: dict[Any, float] = {}
        self.true: dict[Any, int] = {}
        self.lines: list[tuple[list[tuple[Any, int]], int]] = []

    def var(self, key: Any, shown: int | None, true: int) -> Any:
        self.true[key] = true
        if shown is not None:
            assert shown == true, key  # a published number is always exact
            self.lo[key] = self.hi[key] = shown
        elif key not in self.lo or self.lo[key] != self.hi[key]:
            self.lo.setdefault(key, 0)
            self.hi.setdefault(key, float("inf"))
        return key

    def line(self, terms: list[tuple[Any, int]], constant: int) -> None:
        self.lines.append((terms, constant))

    def run(self) -> None:
        changed = True
        while changed:
            changed = False
            for terms, c in self.lines:
                for v, a in terms:
                    rest_lo = sum(b * (self.lo[w] if b > 0 else self.hi[w]) for w, b in terms if w != v)
                    rest_hi = sum(b * (self.hi[w] if b > 0 else self.lo[w]) for w, b in terms if w != v)
                    lo, hi = (c - rest_hi) / a, (c - rest_lo) / a
                    if a < 0:
                        lo, hi = hi, lo
                    if lo > self.lo[v] + 1e-9:
                        self.lo[v], changed = lo, True
                    if hi < self.hi[v] - 1e-9:
                        self.hi[v], changed = hi, True

    def pinned_small(self) -> list[Any]:
        return [k for k, t in self.true.items() if SMALL_CELL_MIN <= t <= SMALL_CELL_MAX and self.lo[k] == self.hi[k]]


def _primary_only(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a naive publisher shows: only the counts 1..4 hidden (the attacker below must beat this)."""
    return [
        {c: None if is_count_column(c, v) and SMALL_CELL_MIN <= v <= SMALL_CELL_MAX else v for c, v in r.items()}
        for r in rows
    ]


def _attack(world: dict[str, Any], d: str, naive: bool = False, regio: str | None = None) -> tuple[Attack, int]:
    """``regio``: attack that region's tables as its own ``regio:`` key sees them."""
    hidden_small = 0
    attack = Attack()
    scope, cut = ("publiek", "") if regio is None else (f"regio:{regio}", f"&regio={quote(regio)}")
    for naam in sorted(queries.OVERZICHTEN):
        exact = _rows(world, naam, d, "landelijk", cut)
        shown = _primary_only(exact) if naive else _rows(world, naam, d, scope)
        if naam == "brancheorganisaties":  # publiek shows only reference-list names (others merged): same keys
            exact = check_brancheorganisaties(exact)
            shown = _primary_only(exact) if naive else shown
        assert [_label(naam, r) for r in shown] == [_label(naam, r) for r in exact], naam
        cols = sorted({c for r in exact for c, v in r.items() if is_count_column(c, v)} - TOTAL_COLUMNS)
        for col in cols:
            terms = []
            for e, s in zip(exact, shown, strict=False):
                # deelnemers per pilot is one quantity wherever it is shown
                key = ("D", e["pilot"]) if col == "deelnemers" and "pilot" in e else (naam, _label(naam, e), col)
                terms.append((attack.var(key, s[col], e[col]), 1))
                hidden_small += s[col] is None and SMALL_CELL_MIN <= e[col] <= SMALL_CELL_MAX
            total = sum(e[col] for e in exact)
            if regio is None:
                attack.line(terms, total)  # every column total: published elsewhere (the national numbers)
            else:
                # a region's column totals are unknowns, one per population (same column name, same total), known
                # where the region's headline shows them
                shown_total = (
                    None if (naam, col) not in HEADLINE or SMALL_CELL_MIN <= total <= SMALL_CELL_MAX else total
                )
                attack.line(terms + [(attack.var(("T", col, total), shown_total, total), -1)], 0)
        if naam == "geslacht-per-pilot":
            for e in exact:
                key = ("D", e["pilot"])
                if key in attack.true:
                    attack.line([((naam, e["pilot"], c), 1) for c in ("man", "onbekend", "vrouw")] + [(key, -1)], 0)
    attack.run()
    return attack, hidden_small


def test_complement_and_cross_table_sums_recover_nothing(world: dict[str, Any]) -> None:
    naive_pinned = 0
    for d in PEILDATA:
        attack, hidden_small = _attack(world, d)
        assert hidden_small > 0 and attack.pinned_small() == [], d
        naive_pinned += len(_attack(world, d, naive=True)[0].pinned_small())
    assert naive_pinned > 0  # the same attacker against primary suppression alone does recover cells


def test_date_bisection_gets_month_ends_only(world: dict[str, Any]) -> None:
    day = dt.date(2020, 6, 1)
    answered = []
    while day <= dt.date(2020, 7, 31):
        resp = _get(world, f"/v1/overzichten/deelnemers-per-pilot?peildatum={day}", "publiek")
        assert resp.status_code in (200, 400), resp.text
        if resp.status_code == 200:
            answered.append(day)
        else:
            assert set(resp.json()["valid_values"]) <= {"2020-05-31", "2020-06-30", "2020-07-31"}
        day += dt.timedelta(days=1)
    assert answered == [dt.date(2020, 6, 30), dt.date(2020, 7, 31)]


def test_regio_tables_hide_person_sized_cells_and_a_filter_recovers_nothing(world: dict[str, Any]) -> None:
    d = PEILDATA[-1]
    hidden = 0
    for regio in REGIOS:
        scope = f"regio:{regio}"
        for naam in sorted(queries.OVERZICHTEN):
            exact = _rows(world, naam, d, "landelijk", f"&regio={quote(regio)}")
            shown = _rows(world, naam, d, scope)
            assert len(shown) == len(exact), (regio, naam)
            for e, s in zip(exact, shown, strict=False):
                for c, v in e.items():
                    if is_count_column(c, v):
                        assert s[c] is None or not SMALL_CELL_MIN <= s[c] <= SMALL_CELL_MAX, (regio, naam, c)
                        assert s[c] is None or s[c] == v
                        hidden += s[c] is None and SMALL_CELL_MIN <= v <= SMALL_CELL_MAX
        for naam in sorted(PER_PILOT):
            for row in _rows(world, naam, d, scope):
                assert _rows(world, naam, d, scope, f"&pilot={row['pilot']}") == [row], (regio, naam)
        eigen = next(p for p, x in referentie.pilots().items() if x.arbeidsmarktregio == regio)
        assert _get(world, f"/v1/overzichten/niveaus?peildatum={d}&pilot={eigen}", scope).status_code == 403
        assert _get(world, f"/v1/overzichten/niveaus?peildatum={d}&instelling=mbo.albeda", scope).status_code == 403
    assert hidden > 0, "the regio tables of the demo hold person-sized cells to protect"


def test_regio_complement_and_sums_recover_nothing(world: dict[str, Any]) -> None:
    hidden = 0
    for regio in REGIOS:
        attack, n = _attack(world, PEILDATA[2], regio=regio)
        hidden += n
        assert attack.pinned_small() == [], (regio, attack.pinned_small())
    assert hidden > 0
