"""The reconciliation table as the CLI (``praktijkregister reconcile``) and the demo print it."""

from __future__ import annotations

import datetime as dt

from rich.table import Table

from registry.domein.reconciliatie import TABEL_KOPPEN, PilotRij, tabel_cellen


def tabel(rijen: list[PilotRij], peildatum: dt.date) -> Table:
    t = Table(*TABEL_KOPPEN, title=f"Reconciliatie per pilot, peildatum {peildatum.isoformat()}")
    for cellen in tabel_cellen(rijen):
        t.add_row(*cellen)
    return t
