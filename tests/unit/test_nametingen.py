"""praktijkregister nametingen: which 6- and 12-month follow-ups are due, and the command's table."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from typer.testing import CliRunner

from registry.cli import main as cli_main
from registry.cli import nametingen as cli
from registry.domein.doorstroom import nametingen_open, plus_maanden


@pytest.mark.parametrize(
    "dag, maanden, verwacht",
    [
        (dt.date(2020, 1, 15), 6, dt.date(2020, 7, 15)),
        (dt.date(2020, 8, 31), 6, dt.date(2021, 2, 28)),  # a shorter month: its last day
        (dt.date(2019, 8, 31), 6, dt.date(2020, 2, 29)),
        (dt.date(2020, 12, 1), 12, dt.date(2021, 12, 1)),
        (dt.date(2020, 7, 31), 12, dt.date(2021, 7, 31)),
    ],
)
def test_plus_maanden(dag: dt.date, maanden: int, verwacht: dt.date) -> None:
    assert plus_maanden(dag, maanden) == verwacht


def test_due_when_the_date_has_come_and_nothing_is_registered() -> None:
    einde = dt.date(2020, 3, 1)
    assert nametingen_open(einde, [], dt.date(2020, 8, 31)) == []
    assert nametingen_open(einde, [], dt.date(2020, 9, 1)) == [("zes_maanden", dt.date(2020, 9, 1))]
    assert nametingen_open(einde, ["einde"], dt.date(2021, 3, 1)) == [
        ("zes_maanden", dt.date(2020, 9, 1)),
        ("twaalf_maanden", dt.date(2021, 3, 1)),
    ]
    assert nametingen_open(einde, ["zes_maanden"], dt.date(2021, 3, 1)) == [("twaalf_maanden", dt.date(2021, 3, 1))]
    assert nametingen_open(einde, ["zes_maanden", "twaalf_maanden"], dt.date(2022, 1, 1)) == []


KANDIDATEN = [
    {"deelnemer": "r" * 64, "einde": dt.date(2020, 3, 1), "peilmomenten": ["einde"]},
    {"deelnemer": "s" * 64, "einde": dt.date(2020, 5, 1), "peilmomenten": ["twaalf_maanden"]},
    {"deelnemer": "t" * 64, "einde": dt.date(2021, 1, 1), "peilmomenten": []},
]


def test_rows_by_the_partners_own_pseudonym_in_due_order() -> None:
    rijen = cli.open_nametingen(KANDIDATEN, {"r" * 64: "p" * 64}, dt.date(2021, 6, 1))
    assert [(r["deelnemer"], r["peilmoment"], r["vervalt"]) for r in rijen] == [
        ("p" * 64, "zes_maanden", dt.date(2020, 9, 1)),
        (cli.NIET_IN_INGRESS, "zes_maanden", dt.date(2020, 11, 1)),
        ("p" * 64, "twaalf_maanden", dt.date(2021, 3, 1)),
    ]
    assert all("r" * 64 not in str(r) for r in rijen)  # never the registry pseudonym


def test_the_command_prints_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    gevraagd: dict[str, Any] = {}

    def kandidaten(s: Any, schema: str, partner: str, peildatum: dt.date) -> list[dict[str, Any]]:
        gevraagd.update(schema=schema, partner=partner, peildatum=peildatum)
        return KANDIDATEN

    monkeypatch.setattr(cli, "lees_kandidaten", kandidaten)
    monkeypatch.setattr(cli, "eigen_pseudoniemen", lambda s, prefix, partner: {"r" * 64: "p" * 64})
    result = CliRunner().invoke(cli_main.app, ["nametingen", "--as", "gemeente.gm0599", "--peildatum", "2021-06-01"])
    assert result.exit_code == 0, result.output
    assert "3 nameting(en) due for gemeente.gm0599 on 2021-06-01" in result.output
    assert "p" * 64 in result.output and "2020-09-01" in result.output
    assert gevraagd == {"schema": "praktijk", "partner": "gemeente.gm0599", "peildatum": dt.date(2021, 6, 1)}


@pytest.mark.parametrize("args", [["--as", "Gemeente X"], ["--as", "uwv", "--peildatum", "13-01-2021"]])
def test_bad_input_is_a_usage_error(args: list[str]) -> None:
    assert CliRunner().invoke(cli_main.app, ["nametingen", *args]).exit_code == 2
