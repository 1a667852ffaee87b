"""The reconciliation as the CLI (``praktijkregister reconcile``) and the demo print it: the table for people, and
flat rows (one per pilot and source) for ``--format csv|json``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from registry.domein.reconciliatie import CATEGORIEEN, TABEL_KOPPEN, PilotRij, tabel_cellen

BRON_VELDEN = ("partner", "bron_type", "telling_peildatum", "gemeld", "verschil")


def tabel(rijen: list[PilotRij], peildatum: dt.date) -> Table:
    t = Table(*TABEL_KOPPEN, title=f"Reconciliatie per pilot, peildatum {peildatum.isoformat()}")
    for cellen in tabel_cellen(rijen):
        t.add_row(*cellen)
    return t


@dataclass(frozen=True)
class ReconciliatieRegel:
    """One source's telling beside the register of its pilot; a pilot without a telling has one row whose source
    fields are empty (None). The category fields are ``reconciliatie.CATEGORIEEN``, in that order."""

    pilot: str
    peildatum: str
    register: int
    gereconcilieerd: int
    partner: str | None
    bron_type: str | None
    telling_peildatum: str | None
    gemeld: int | None
    verschil: int | None
    overeenkomend: int | None
    dubbel_in_bron: int | None
    boris_vermoeden: int | None
    alleen_in_register: int | None
    andere_pilot: int | None
    buiten_peildatum: int | None
    aangemeld_niet_gestart: int | None
    niet_geregistreerd: int | None
    onverklaard: int | None


def regels(rijen: list[PilotRij]) -> list[ReconciliatieRegel]:
    out = []
    for rij in rijen:
        kop: dict[str, Any] = {
            "pilot": rij.pilot,
            "peildatum": rij.peildatum.isoformat(),
            "register": rij.register,
            "gereconcilieerd": rij.gereconcilieerd,
        }
        if not rij.bronnen:
            leeg: dict[str, Any] = dict.fromkeys(BRON_VELDEN + CATEGORIEEN)
            out.append(ReconciliatieRegel(**kop, **leeg))
        for b in rij.bronnen:
            bron: dict[str, Any] = {
                "partner": b.partner,
                "bron_type": b.bron_type,
                "telling_peildatum": b.telling_peildatum.isoformat(),
                "gemeld": b.gemeld,
                "verschil": b.verschil,
            }
            categorieen: dict[str, Any] = b.categorieen
            out.append(ReconciliatieRegel(**kop, **bron, **categorieen))
    return out
