"""The cell key method at the API: publiek counts perturbed from their cells' key sums, the same cell the same number
under any filter, landelijk exact and without ``onthullingsbeheersing``, only published peildata for publiek, CSV
cells a spreadsheet will not run, brancheorganisaties only from the reference list."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.csv_uitvoer import neutralise
from registry.api.peildata import is_published, latest_published, nearest_published
from registry.diensten.onthulling import check_brancheorganisaties
from registry.domein.onthulling import verstoor
from registry.infra import settings as settings_mod
from tests.support.api import assert_problem, get

M = "2021-01-31"  # a published peildatum (month end, long ago)
PILOTS = {"rijnmond": 3, "twente": 40, "drenthe": 0, "groningen": 12, "flevoland": 25}
GESLACHT = {
    "rijnmond": (2, 1, 0),
    "twente": (20, 20, 0),
    "drenthe": (0, 0, 0),
    "groningen": (6, 6, 0),
    "flevoland": (10, 15, 0),
}


def _ident(row: dict[str, Any]) -> int:
    """A number that tells a stand-in row from the others (whatever the filter)."""
    return sum(map(ord, str(row.get("pilot") or row.get("brancheorganisaties") or row.get("kwalificatie"))))


class Fake:
    OVERZICHTEN = {
        "deelnemers-per-pilot": "d",
        "geslacht-per-pilot": "g",
        "kwalificaties": "k",
        "brancheorganisaties": "b",
    }

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def overzicht(
        self,
        conn: Connection,
        naam: str,
        peildatum: date,
        pilot: str | None = None,
        instelling: str | None = None,
        regio: str | None = None,
        *,
        sleutels: bool = False,
    ) -> list[dict[str, Any]]:
        self.calls.append((naam, pilot))
        rows = self._rows(naam, pilot)
        if not sleutels:
            return rows
        # a stand-in for the record-key sums: any number per cell, the same for the same cell
        return [
            {
                c: v * 37 + _ident(r) if isinstance(v, int) and c not in ("niveau", "tranche") else v
                for c, v in r.items()
            }
            for r in rows
        ]

    def _rows(self, naam: str, pilot: str | None) -> list[dict[str, Any]]:
        keep = [p for p in PILOTS if pilot is None or p == pilot]
        if naam == "deelnemers-per-pilot":
            return [{"pilot": p, "pilot_naam": p.title(), "tranche": 1, "deelnemers": PILOTS[p]} for p in keep]
        if naam == "geslacht-per-pilot":
            return [
                {
                    "pilot": p,
                    "pilot_naam": p.title(),
                    "man": GESLACHT[p][0],
                    "vrouw": GESLACHT[p][1],
                    "onbekend": GESLACHT[p][2],
                }
                for p in keep
            ]
        if naam == "kwalificaties":
            return [
                {
                    "kwalificatie": "25250",
                    "naam": '=HYPERLINK("http://x")',
                    "niveau": 1,
                    "eerste": 30,
                    "tweede": 0,
                    "derde": 0,
                    "totaal": 30,
                }
            ]
        if naam == "brancheorganisaties":
            return [
                {"brancheorganisaties": "ActiZ, VGN", "eerste": 20, "tweede": 0, "derde": 0, "totaal": 20},
                {"brancheorganisaties": "Jan Jansen", "eerste": 6, "tweede": 0, "derde": 0, "totaal": 6},
                {"brancheorganisaties": "=cmd|' /C calc'!A0", "eerste": 7, "tweede": 0, "derde": 0, "totaal": 7},
            ]
        raise KeyError(naam)


@pytest.fixture()
def env() -> dict[str, Any]:
    store = MemoryKeyStore()
    keys = {s: store.create(s)[1] for s in ("landelijk", "publiek")}
    rm = Fake()
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=rm)  # type: ignore[arg-type]
    return {"client": TestClient(app), "keys": keys, "rm": rm}


def _rows(env: dict[str, Any], naam: str, extra: str = "", scope: str = "publiek") -> list[dict[str, Any]]:
    resp = get(env, f"/v1/overzichten/{naam}?peildatum={M}{extra}", scope)
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = resp.json()["rijen"]
    return rows


def test_publiek_counts_are_perturbed_by_their_cell_keys(env: dict[str, Any]) -> None:
    full = {r["pilot"]: r for r in _rows(env, "deelnemers-per-pilot")}
    exact = {r["pilot"]: r for r in _rows(env, "deelnemers-per-pilot", scope="landelijk")}
    for pilot in PILOTS:
        assert full[pilot]["deelnemers"] == verstoor(PILOTS[pilot], PILOTS[pilot] * 37 + _ident({"pilot": pilot}))
        assert exact[pilot]["deelnemers"] == PILOTS[pilot]
        assert full[pilot]["tranche"] == 1  # a dimension, never perturbed
    assert all(isinstance(r["deelnemers"], int) and not 1 <= r["deelnemers"] <= 4 for r in full.values())
    assert full["drenthe"]["deelnemers"] == 0  # nobody: nothing to perturb


def test_a_filter_shows_the_row_of_the_full_table(env: dict[str, Any]) -> None:
    full = {r["pilot"]: r for r in _rows(env, "deelnemers-per-pilot")}
    for pilot in PILOTS:
        (only,) = _rows(env, "deelnemers-per-pilot", f"&pilot={pilot}")
        assert only == full[pilot]
    # a national table cut by pilot is answered (perturbed): no suppression pattern to difference against
    assert get(env, f"/v1/overzichten/kwalificaties?peildatum={M}&pilot=rijnmond", "publiek").status_code == 200


def test_publiek_answers_say_how_they_are_perturbed_and_landelijk_stays_as_it_was(env: dict[str, Any]) -> None:
    publiek = get(env, f"/v1/overzichten/deelnemers-per-pilot?peildatum={M}", "publiek").json()
    assert publiek["onthullingsbeheersing"] == {"methode": "celsleutel", "ptable_versie": "1"}
    landelijk = get(env, f"/v1/overzichten/deelnemers-per-pilot?peildatum={M}", "landelijk").json()
    assert set(landelijk) == {"naam", "peildatum", "rijen"}
    assert all(set(r) == {"pilot", "pilot_naam", "tranche", "deelnemers"} for r in landelijk["rijen"])
    text = get(env, f"/v1/overzichten/deelnemers-per-pilot?peildatum={M}&format=csv", "publiek").text
    assert text.splitlines()[0] == "# onthullingsbeheersing: methode=celsleutel; ptable_versie=1"
    assert text.splitlines()[1] == "pilot,pilot_naam,tranche,deelnemers"
    exact = get(env, f"/v1/overzichten/deelnemers-per-pilot?peildatum={M}&format=csv", "landelijk").text
    assert exact.splitlines()[0] == "pilot,pilot_naam,tranche,deelnemers"
    spec = env["client"].get("/openapi.json").json()
    assert spec["info"]["x-disclosure-control"]["ptable_versie"] == "1"
    assert spec["info"]["x-disclosure-control"]["drempel"] == 5


def test_publiek_only_on_published_peildata(env: dict[str, Any]) -> None:
    body = assert_problem(get(env, "/v1/overzichten/deelnemers-per-pilot?peildatum=2021-01-13", "publiek"), 400)
    assert body["parameter"] == "peildatum" and body["valid_values"] == ["2020-12-31", "2021-01-31"]
    ahead = date.today().replace(day=28).isoformat()  # this month: not a completed month
    assert assert_problem(get(env, f"/v1/overzichten/deelnemers-per-pilot?peildatum={ahead}", "publiek"), 400)[
        "valid_values"
    ] == [latest_published("maandeinde", date.today()).isoformat()]
    assert get(env, "/v1/overzichten/deelnemers-per-pilot?peildatum=2021-01-13", "landelijk").status_code == 200


def test_peildata_rules() -> None:
    today = date(2026, 11, 30)
    assert latest_published("maandeinde", today) == date(2026, 10, 31)
    assert latest_published("kwartaaleinde", today) == date(2026, 9, 30)
    assert is_published(date(2024, 2, 29), "maandeinde", today) and not is_published(
        date(2024, 2, 28), "maandeinde", today
    )
    assert not is_published(date(2026, 11, 30), "maandeinde", today)  # the current month is not complete
    assert not is_published(date(2024, 2, 29), "kwartaaleinde", today) and is_published(
        date(2024, 3, 31), "kwartaaleinde", today
    )
    assert nearest_published(date(2024, 5, 15), "kwartaaleinde", today) == [date(2024, 3, 31), date(2024, 6, 30)]
    assert is_published(date(2026, 11, 29), "dag", today) and not is_published(today, "dag", today)


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAKTIJK_PUBLIC_PEILDATA", "kwartaaleinde")
    assert settings_mod.load().public_peildata == "kwartaaleinde"
    monkeypatch.setenv("PRAKTIJK_PUBLIC_PEILDATA", "elke dag")
    with pytest.raises(ValueError, match="PRAKTIJK_PUBLIC_PEILDATA"):
        settings_mod.load()
    monkeypatch.delenv("PRAKTIJK_PUBLIC_PEILDATA")
    store = MemoryKeyStore()
    _, key = store.create("publiek")
    app = create_app(
        replace(settings_mod.load(), public_peildata="kwartaaleinde"),
        connect_database=False,
        keys=store,
        queries=Fake(),
    )  # type: ignore[arg-type]
    c = TestClient(app)
    h = {"Authorization": f"Bearer {key}"}
    assert c.get(f"/v1/overzichten/deelnemers-per-pilot?peildatum={M}", headers=h).status_code == 400
    assert c.get("/v1/overzichten/deelnemers-per-pilot?peildatum=2021-03-31", headers=h).status_code == 200


def test_csv_cells_are_neutralised(env: dict[str, Any]) -> None:
    assert neutralise("=1+1") == "'=1+1" and neutralise("+31") == "'+31" and neutralise("-2") == "'-2"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise("\tx") == "' x" and neutralise("a\r\nb") == "a  b"
    assert neutralise("Albeda") == "Albeda"
    text = get(env, f"/v1/overzichten/kwalificaties?peildatum={M}&format=csv", "landelijk").text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["naam"] == '\'=HYPERLINK("http://x")' and row["eerste"] == "30"


def test_brancheorganisaties_only_from_the_reference_list(env: dict[str, Any]) -> None:
    rows = _rows(env, "brancheorganisaties")
    assert [r["brancheorganisaties"] for r in rows] == ["ActiZ, VGN", "overig (niet in de referentielijst)"]
    # Jan Jansen and the formula, added up under one key, with their key sums
    sommen = 6 * 37 + _ident({"pilot": "Jan Jansen"}) + 7 * 37 + _ident({"pilot": "=cmd|' /C calc'!A0"})
    assert rows[1]["totaal"] == verstoor(13, sommen)
    assert "Jan Jansen" not in get(env, f"/v1/overzichten/brancheorganisaties?peildatum={M}&format=csv", "publiek").text
    merged = check_brancheorganisaties(
        [
            {"brancheorganisaties": "ActiZ, SBB", "eerste": 1, "totaal": 1},
            {"brancheorganisaties": "Niet geregistreerd", "eerste": 5, "totaal": 5},
        ]
    )
    assert [r["brancheorganisaties"] for r in merged] == [
        "ActiZ, overig (niet in de referentielijst)",
        "Niet geregistreerd",
    ]
