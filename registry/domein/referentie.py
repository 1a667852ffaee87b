"""Reference data shipped with the registry (copied from the evaluation's tables)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class Pilot:
    pilot_id: str
    nr: int
    naam: str
    soort: str
    tranche: int
    arbeidsmarktregio: str  # "" for the three national pilots


@dataclass(frozen=True)
class Kwalificatie:
    crebo: str
    naam: str
    niveau: int
    domein: str


@lru_cache(maxsize=1)
def pilots() -> dict[str, Pilot]:
    return {
        r["pilot_id"]: Pilot(
            r["pilot_id"], int(r["pilot_nr"]), r["pilot"], r["soort"], int(r["tranche"]), r["arbeidsmarktregio"]
        )
        for r in _rows("pilots.csv")
    }


@lru_cache(maxsize=1)
def kwalificaties() -> dict[str, Kwalificatie]:
    return {
        r["crebo"]: Kwalificatie(r["crebo"], r["naam"], int(r["niveau"]), r["domein"])
        for r in _rows("kwalificaties.csv")
    }


@lru_cache(maxsize=1)
def mbo_instellingen() -> dict[str, str]:
    """partner id (mbo.<id>) -> instelling name."""
    return {r["partner"]: r["instelling"] for r in _rows("mbo_instellingen.csv")}


@lru_cache(maxsize=1)
def arbeidsmarktregios() -> list[str]:
    return [r["arbeidsmarktregio"] for r in _rows("arbeidsmarktregios.csv")]


@lru_cache(maxsize=1)
def brancheorganisaties() -> dict[str, str]:
    return {r["afkorting"]: r["naam"] for r in _rows("brancheorganisaties.csv")}


def default_partners() -> list[str]:
    """Partners whose ingress topics exist from the start; others are added with --partner."""
    # monitor.<pilot_id>: each pilot's contact person reports that pilot's telling on its own topic
    return (
        sorted(mbo_instellingen())
        + ["sbb", "duo", "uwv", "dji", "monitor"]
        + [f"monitor.{p}" for p in sorted(pilots())]
    )
