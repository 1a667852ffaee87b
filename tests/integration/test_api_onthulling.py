"""The cell key method attacked on the demo data set.

The demo data (``registry.demo.data.generate()``, the 26 pilots of the evaluation) goes through the real producer,
validator (Kafka) and projector (PostgreSQL) under a private topic prefix and schema. An attacker who knows the
method and the p-table, but not the record keys, then combines everything publiek and regio keys may read:

* the pilot filter of every per-pilot overzicht, and the pilot cuts of national tables (that add up to the national
  table);
* complement and row/column sums: every column total that several overzichten share (the national deelnemers,
  verklaringen, ...) and the published headline numbers (national total minus the rest);
* the same count in two overzichten (deelnemers per pilot in deelnemers-per-pilot and leerbedrijven-per-pilot);
* consecutive month ends (cumulative counts only grow: each month's row bounds the next one's);
* a regio key's daily differencing of its per-pilot tables, and its reconciliatie beside its deelnemers-per-pilot.

Each attack is bound propagation over the linear relations the true values satisfy, starting from what each
published value allows (``onthulling.mogelijke_waarden``): a sound attacker (whatever it pins is disclosed). None
may pin a true cell of 1 to 4. Landelijk stays exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from projections import queries
from registry.api.app import create_app
from registry.api.audit import MemoryAuditLog
from registry.api.auth import MemoryKeyStore
from registry.diensten.onthulling import check_brancheorganisaties, is_count_column
from registry.domein import onthulling, referentie
from registry.infra import settings as settings_mod
from registry.infra.db import engine
from tests.support.demo import Wereld

PEILDATA = ("2019-06-30", "2019-12-31", "2020-06-30", "2020-12-31", "2021-01-31")
REGIOS = sorted({p.arbeidsmarktregio for p in referentie.pilots().values() if p.arbeidsmarktregio})
PER_PILOT = ("deelnemers-per-pilot", "geslacht-per-pilot", "leerbedrijven-per-pilot", "verklaringen-per-pilot")
GESLACHT = ("man", "vrouw", "onbekend")
# columns that count the same population (their column totals are one number), and the headline that shows it
POPULATIES = {
    ("deelnemers-per-pilot", "deelnemers"): "deelnemers",
    ("leerbedrijven-per-pilot", "deelnemers"): "deelnemers",
    ("leeftijdsgroepen", "deelnemers"): "deelnemers",
    ("instellingen", "deelnemers"): "deelnemers",
    ("verklaringen-per-pilot", "deelnemers_met_verklaring"): "met_een_verklaring",
    ("niveaus", "verklaringen"): "verklaringen",
    ("domeinen", "verklaringen"): "verklaringen",
    ("brancheorganisaties", "totaal"): "verklaringen",
    ("kwalificaties", "totaal"): "verklaringen",
    ("werkprocessen-per-verklaring", "verklaringen"): "eerste",
    ("brancheorganisaties", "eerste"): "eerste",
    ("kwalificaties", "eerste"): "eerste",
}


@pytest.fixture(scope="module")
def world(demo_world: Wereld, database_url: str) -> dict[str, Any]:
    """The API over the phased demo world (built once per run, tests/integration/conftest.py); nothing here writes."""
    eng = engine(database_url)
    keys = MemoryKeyStore()
    secrets = {s: keys.create(s)[1] for s in ("landelijk", "publiek", *(f"regio:{r}" for r in REGIOS))}
    s = replace(settings_mod.load(), database_url=database_url, public_peildata="maandeinde")
    app = create_app(s, queries=queries, engine=eng, keys=keys, schema=demo_world.schema, audit=MemoryAuditLog())
    return {"client": TestClient(app), "keys": secrets, "engine": eng, "schema": demo_world.schema}


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


def _counts(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({c for r in rows for c, v in r.items() if is_count_column(c, v)})


class Aanvaller:
    """Bound propagation over linear equalities sum(coef * var) = 0 between true values, every var >= 0 and, when
    published, within what its published value allows: a simple, sound attacker (what it pins is disclosed)."""

    def __init__(self) -> None:
        self.lo: dict[Any, float] = {}
        self.hi: dict[Any, float] = {}
        self.true: dict[Any, int] = {}
        self.lines: list[list[tuple[Any, int]]] = []

    def var(self, key: Any, published: int | None, true: int | None = None) -> Any:
        lo, hi = 0.0, math.inf
        if published is not None:
            kan = onthulling.mogelijke_waarden(published)
            assert kan, (key, published)  # every published value is one the p-table can give
            lo, hi = min(kan), max(kan)
        self.lo[key] = max(self.lo.get(key, 0.0), lo)
        self.hi[key] = min(self.hi.get(key, math.inf), hi)
        if true is not None:
            assert self.true.setdefault(key, true) == true, key
        return key

    def slack(self, key: Any) -> Any:
        """An unknown >= 0 (the growth of a cumulative count, a rest)."""
        return self.var(("slack", key), None)

    def line(self, terms: list[tuple[Any, int]]) -> None:
        self.lines.append(terms)

    def run(self) -> None:
        changed = True
        while changed:
            changed = False
            for terms in self.lines:
                for v, a in terms:
                    rest_lo = sum(b * (self.lo[w] if b > 0 else self.hi[w]) for w, b in terms if w != v)
                    rest_hi = sum(b * (self.hi[w] if b > 0 else self.lo[w]) for w, b in terms if w != v)
                    lo, hi = -rest_hi / a, -rest_lo / a
                    if a < 0:
                        lo, hi = hi, lo
                    lo = math.ceil(lo - 1e-9) if math.isfinite(lo) else lo
                    hi = math.floor(hi + 1e-9) if math.isfinite(hi) else hi
                    if lo > self.lo[v]:
                        self.lo[v], changed = lo, True
                    if hi < self.hi[v]:
                        self.hi[v], changed = hi, True

    def pinned_small(self) -> list[Any]:
        assert all(self.lo[k] <= t <= self.hi[k] for k, t in self.true.items())  # the truth is never ruled out
        return [k for k, t in self.true.items() if 1 <= t <= 4 and self.lo[k] == self.hi[k]]

    def small(self) -> int:
        return sum(1 for t in self.true.values() if 1 <= t <= 4)


def _kop(world: dict[str, Any], peildatum: str) -> dict[str, int]:
    """The publiek headline numbers at ``peildatum`` (the Praktijkloket's verloop, no key)."""
    kop, body = world["client"].get(f"/verloop.csv?peildatum={peildatum}").text.split("\r\n", 1)
    assert kop.startswith("# onthullingsbeheersing: methode=celsleutel")
    (rij,) = [r for r in csv.DictReader(io.StringIO(body)) if r["peildatum"] == peildatum]
    return {k: int(v) for k, v in rij.items() if k != "peildatum"}


def test_the_demo_world_has_small_cells_and_landelijk_stays_exact(world: dict[str, Any]) -> None:
    exact = _rows(world, "deelnemers-per-pilot", "2021-01-31", "landelijk")
    assert sum(r["deelnemers"] for r in exact) >= 784
    small = [
        r["pilot"]
        for d in PEILDATA
        for r in _rows(world, "deelnemers-per-pilot", d, "landelijk")
        if 1 <= r["deelnemers"] <= 4
    ]
    assert small, "the attacks below are only meaningful when some cells are small"
    body = _get(world, "/v1/overzichten/deelnemers-per-pilot?peildatum=2021-01-31", "landelijk").json()
    assert "onthullingsbeheersing" not in body
    publiek = _get(world, "/v1/overzichten/deelnemers-per-pilot?peildatum=2021-01-31", "publiek").json()
    assert publiek["onthullingsbeheersing"] == {"methode": "celsleutel", "ptable_versie": "1"}
    assert [r["deelnemers"] for r in publiek["rijen"]] != [r["deelnemers"] for r in exact]  # really perturbed


def test_every_deelnemer_has_one_random_record_key(world: dict[str, Any]) -> None:
    with world["engine"].connect() as conn:
        s = world["schema"]
        keys = dict(conn.execute(text(f'SELECT deelnemer, sleutel FROM "{s}".record_sleutels')).all())
        seen = set(conn.execute(text(f'SELECT deelnemer FROM "{s}".aanmeldingen')).scalars())
        seen |= set(conn.execute(text(f'SELECT deelnemer FROM "{s}".inschrijvingen')).scalars())
        seen |= set(conn.execute(text(f'SELECT deelnemer FROM "{s}".telling_deelnemers')).scalars())
    assert set(keys) == seen
    assert all(0 <= k <= 255 for k in keys.values())
    # drawn at random: spread over the range (16 bins of 16; ~900 keys give ~56 a bin)
    bins = [sum(1 for k in keys.values() if k // 16 == b) for b in range(16)]
    assert min(bins) > 20, bins


def test_a_pilot_filter_shows_the_row_of_the_full_table(world: dict[str, Any]) -> None:
    for d in PEILDATA[-2:]:
        for naam in PER_PILOT:
            full = {r["pilot"]: r for r in _rows(world, naam, d, "publiek")}
            for pilot, row in full.items():
                assert _rows(world, naam, d, "publiek", f"&pilot={pilot}") == [row], (naam, d, pilot)


def _attack_tables(aanval: Aanvaller, world: dict[str, Any], d: str, scope: str, cut: str = "") -> None:
    """Every overzicht at ``d`` as ``scope`` sees it, with the relations between them."""
    for naam in sorted(queries.OVERZICHTEN):
        exact = _rows(world, naam, d, "landelijk", cut)
        shown = _rows(world, naam, d, scope)
        if naam == "brancheorganisaties":  # publiek shows only reference-list names (others merged): same keys
            exact = check_brancheorganisaties(exact)
        assert [_label(naam, r) for r in shown] == [_label(naam, r) for r in exact], naam
        for col in _counts(exact):
            terms = []
            for e, s in zip(exact, shown, strict=True):
                assert not 1 <= s[col] <= 4, (naam, col, s)
                # deelnemers per pilot is one quantity (one set of persons) wherever it is shown
                key = ("D", e["pilot"]) if col == "deelnemers" and "pilot" in e else (naam, _label(naam, e), col)
                terms.append((aanval.var(key, s[col], e[col]), 1))
            populatie = POPULATIES.get((naam, col), f"{naam}.{col}")
            total = aanval.var(("T", populatie), None, sum(e[col] for e in exact))
            aanval.line([*terms, (total, -1)])
        if naam == "geslacht-per-pilot":
            for e in exact:
                aanval.line([((naam, e["pilot"], c), 1) for c in GESLACHT] + [(("D", e["pilot"]), -1)])


def test_complement_row_and_column_sums_and_the_headline_pin_nothing(world: dict[str, Any]) -> None:
    for d in PEILDATA:
        aanval = Aanvaller()
        _attack_tables(aanval, world, d, "publiek")
        for label, waarde in _kop(world, d).items():  # national total minus the rest
            aanval.var(("T", label.replace(" ", "_")), waarde)
        aanval.run()
        assert aanval.small() > 0 and aanval.pinned_small() == [], d


def test_the_same_count_in_two_overzichten_is_the_same_number(world: dict[str, Any]) -> None:
    d = PEILDATA[-1]
    deelnemers = {r["pilot"]: r["deelnemers"] for r in _rows(world, "deelnemers-per-pilot", d, "publiek")}
    leerbedrijven = {r["pilot"]: r["deelnemers"] for r in _rows(world, "leerbedrijven-per-pilot", d, "publiek")}
    assert deelnemers == leerbedrijven
    for regio in REGIOS:  # and in every scope: a regio sees its pilots' cells as publiek does
        for r in _rows(world, "deelnemers-per-pilot", d, f"regio:{regio}"):
            assert r["deelnemers"] == deelnemers[r["pilot"]], (regio, r)


def test_pilot_cuts_of_national_tables_pin_nothing(world: dict[str, Any]) -> None:
    d = PEILDATA[-1]
    aanval = Aanvaller()
    _attack_tables(aanval, world, d, "publiek")
    for naam in ("leeftijdsgroepen", "niveaus"):
        national = _rows(world, naam, d, "landelijk")
        delen: dict[tuple[str, str], list[tuple[Any, int]]] = {}
        for pilot in referentie.pilots():
            exact = _rows(world, naam, d, "landelijk", f"&pilot={pilot}")
            shown = _rows(world, naam, d, "publiek", f"&pilot={pilot}")
            for e, s in zip(exact, shown, strict=True):
                for col in _counts(exact):
                    key = (naam, _label(naam, e), col, pilot)
                    delen.setdefault((_label(naam, e), col), []).append((aanval.var(key, s[col], e[col]), 1))
        for e in national:
            for col in _counts(national):
                # the pilots' cuts add up to the national cell (a rest: deelnemers of no listed pilot)
                rest = aanval.slack((naam, _label(naam, e), col))
                aanval.line([*delen[(_label(naam, e), col)], (rest, 1), ((naam, _label(naam, e), col), -1)])
    aanval.run()
    assert aanval.small() > 0 and aanval.pinned_small() == []


def _maandeinden(van: dt.date, tot: dt.date) -> list[str]:
    out, d = [], van
    while d <= tot:
        volgende = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append((volgende - dt.timedelta(days=1)).isoformat())
        d = volgende
    return out


def _reeks(aanval: Aanvaller, world: dict[str, Any], data: list[str], scope: str, cut: str) -> None:
    """deelnemers-per-pilot and geslacht-per-pilot at each date: row sums, and each cell at least its value at the
    date before (the counts are cumulative)."""
    vorige: dict[tuple[str, str], Any] = {}
    for d in data:
        for naam, cols in (("deelnemers-per-pilot", ("deelnemers",)), ("geslacht-per-pilot", GESLACHT)):
            exact = {r["pilot"]: r for r in _rows(world, naam, d, "landelijk", cut)}
            for s in _rows(world, naam, d, scope):
                for col in cols:
                    key = (d, s["pilot"], col)
                    aanval.var(key, s[col], exact[s["pilot"]][col])
                    if (s["pilot"], col) in vorige:
                        groei = aanval.slack(key)
                        aanval.line([(key, 1), (vorige[(s["pilot"], col)], -1), (groei, -1)])
                    vorige[(s["pilot"], col)] = key
                if naam == "geslacht-per-pilot":
                    aanval.line([((d, s["pilot"], c), 1) for c in GESLACHT] + [((d, s["pilot"], "deelnemers"), -1)])


def test_consecutive_month_ends_pin_nothing(world: dict[str, Any]) -> None:
    aanval = Aanvaller()
    _reeks(aanval, world, _maandeinden(dt.date(2018, 9, 1), dt.date(2021, 1, 31)), "publiek", "")
    aanval.run()
    assert aanval.small() > 0 and aanval.pinned_small() == []


def _klein_begin(world: dict[str, Any]) -> tuple[str, dt.date]:
    """The region and month in which one of its pilots first has deelnemers, and no more than four."""
    for d in _maandeinden(dt.date(2018, 1, 1), dt.date(2021, 1, 31)):
        for r in _rows(world, "deelnemers-per-pilot", d, "landelijk"):
            regio = referentie.pilots()[r["pilot"]].arbeidsmarktregio
            if regio and 1 <= r["deelnemers"] <= 4:
                return regio, dt.date.fromisoformat(d).replace(day=1)
    raise AssertionError("no pilot of a region starts small")


def test_regio_daily_differencing_pins_nothing(world: dict[str, Any]) -> None:
    regio, begin = _klein_begin(world)
    dagen = [(begin + dt.timedelta(days=i)).isoformat() for i in range(28)]
    aanval = Aanvaller()
    _reeks(aanval, world, dagen, f"regio:{regio}", f"&regio={quote(regio)}")
    aanval.run()
    groei = sum(
        1
        for (d, pilot, col), t in aanval.true.items()
        if d != dagen[0] and t != aanval.true[(dagen[dagen.index(d) - 1], pilot, col)]
    )
    assert groei > 0, "enrolments on some of these days: something to difference"
    assert aanval.small() > 0 and aanval.pinned_small() == []


def test_regio_reconciliatie_and_aantallen_are_perturbed_like_its_overzichten(world: dict[str, Any]) -> None:
    d = "2021-01-13"
    klein = 0
    for regio in REGIOS:
        scope = f"regio:{regio}"
        deelnemers = {r["pilot"]: r["deelnemers"] for r in _rows(world, "deelnemers-per-pilot", d, scope)}
        body = _get(world, f"/v1/reconciliatie?peildatum={d}", scope).json()
        assert body["onthullingsbeheersing"]["methode"] == "celsleutel"
        exact = {r["pilot"]: r for r in _get(world, f"/v1/reconciliatie?peildatum={d}", "landelijk").json()["rijen"]}
        for rij in body["rijen"]:
            # the register is the pilot's deelnemers-per-pilot cell: the same published value, nothing to play off
            assert rij["register"] == deelnemers[rij["pilot"]], (regio, rij["pilot"])
            klein += 1 <= exact[rij["pilot"]]["register"] <= 4
            for b, e in zip(rij["bronnen"], exact[rij["pilot"]]["bronnen"], strict=True):
                for c, n in e["categorieen"].items():
                    klein += 1 <= n <= 4
                    assert not 1 <= b["categorieen"][c] <= 4 and (n == 0) <= (b["categorieen"][c] == 0)
        aantallen = _get(world, "/v1/aantallen?van=2019-01-01&tot=2020-12-31", scope).json()
        precies = _get(world, f"/v1/aantallen?van=2019-01-01&tot=2020-12-31&regio={quote(regio)}", "landelijk").json()
        assert aantallen["onthullingsbeheersing"]["ptable_versie"] == "1" and "onthullingsbeheersing" not in precies
        for m, e in zip(aantallen["maanden"], precies["maanden"], strict=True):
            for col in ("aangemeld", "ingeschreven", "actief", "verklaringen"):
                assert not 1 <= m[col] <= 4 and abs(m[col] - e[col]) <= 5, (regio, m["maand"], col)
    assert klein > 0, "the demo's reconciliations hold small registers or categories"


UITKERINGEN = ("participatiewet", "ww", "wajong", "wia", "nug", "geen", "onbekend")


def test_doorstroom_cuts_pin_nothing_and_a_regio_sees_what_publiek_sees(world: dict[str, Any]) -> None:
    url = "/v1/doorstroom?cohort=2019&peildatum=2020-12-31"
    aanval = Aanvaller()

    def stappen(extra: str, naam: str) -> list[tuple[Any, int]]:
        shown = _get(world, url + extra, "publiek").json()
        exact = _get(world, url + extra, "landelijk").json()["stappen"]
        assert shown["onthullingsbeheersing"]["methode"] == "celsleutel"
        return [
            (aanval.var((naam, e["stap"]), s["deelnemers"], e["deelnemers"]), 1)
            for s, e in zip(shown["stappen"], exact, strict=True)
        ]

    totaal = stappen("", "alle")
    delen = [stappen(f"&uitkering={u}", u) for u in UITKERINGEN]
    for i, (t, _) in enumerate(totaal):  # the uitkeringen partition the cohort: national minus the rest
        aanval.line([deel[i] for deel in delen] + [(t, -1)])
    aanval.run()
    assert aanval.small() > 0 and aanval.pinned_small() == []
    regio = _get(world, url, "regio:Groningen").json()
    publiek = _get(world, url + "&pilot=groningen", "publiek").json()
    assert regio["stappen"] == publiek["stappen"] and regio["beeindiging"] == publiek["beeindiging"]


def test_the_utility_report_over_the_demo_world(world: dict[str, Any]) -> None:
    from typer.testing import CliRunner

    from registry.cli.main import app
    from registry.diensten import bruikbaarheid

    r = CliRunner().invoke(app, ["onthulling", "rapport", "--schema", world["schema"]])
    assert r.exit_code == 0, r.output
    with world["engine"].connect() as conn:
        c = conn.execution_options(praktijk_schema=world["schema"])
        verwacht = bruikbaarheid.rapport(queries, c, dt.date(2018, 1, 1), dt.date(2021, 1, 31))  # type: ignore[arg-type]
    assert r.output.split() == verwacht.regel().split()  # (wrapped to the terminal's width)
    # every publiek cell at every month end; the method's promises hold over all of them
    assert verwacht.maandeinden == 37 and verwacht.cellen > 10_000 and verwacht.klein > 0
    assert verwacht.max_afwijking <= 5 and 0 < verwacht.aandeel_veranderd < 0.6 and verwacht.gemiddelde_afwijking < 1
    assert (
        CliRunner().invoke(app, ["onthulling", "rapport", "--van", "2021-02-01", "--tot", "2021-01-31"]).exit_code == 2
    )
