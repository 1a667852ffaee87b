"""ops/benchmarks/herstel.py (``./ops/drill``), the pure parts: what counts as the RTO, how the report reads, and
the component URLs taken from `db roles`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ops"))

from benchmarks import herstel  # noqa: E402


def oefening() -> herstel.Oefening:
    seconden = dict(zip(herstel.STAPPEN, [3.0, 0.5, 20.0, 1.5, 40.0, 9.0], strict=True))
    return herstel.Oefening(
        events=600_004,
        deelnemers=100_000,
        rijen={"drill_validator.entiteit": 250_000, "drill_validator.data_sleutels": 100_000},
        backup_bytes=52_000_000,
        seconden=seconden,
        opbouw=120.0,
    )


def test_the_rto_is_the_recovery_not_the_backup_nor_the_check() -> None:
    assert oefening().rto == 0.5 + 20.0 + 1.5 + 40.0


def test_the_report_gives_every_step_the_sizes_and_the_rto() -> None:
    tekst = herstel.verslag(oefening())
    assert "600,004 events (100,000 deelnemers)" in tekst
    assert "entiteit 250,000, data_sleutels 100,000" in tekst
    assert all(f"| `{stap}` |" in tekst for stap in herstel.STAPPEN)
    assert "RTO (create database + restore + db roles + replay all) = 62.0 s" in tekst
    assert "replay 15,000 events/s" in tekst


def test_the_urls_come_from_the_export_lines_of_db_roles() -> None:
    uit = (
        "roles drill_owner, drill_projector ready\n"
        "export PRAKTIJK_DATABASE_URL_PROJECTOR='postgresql+psycopg://p:s@h:1/d'\n"
        "export PRAKTIJK_DATABASE_URL_API=postgresql+psycopg://a:t@h:1/d\n"
    )
    assert herstel._urls(uit) == {
        "PROJECTOR": "postgresql+psycopg://p:s@h:1/d",
        "API": "postgresql+psycopg://a:t@h:1/d",
    }
