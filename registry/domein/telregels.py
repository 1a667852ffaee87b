"""Counting rules and the labels they produce: one place for every constant the
overzichten, the demo data and the validator share (the evaluation's vocabulary).

Pure: no I/O. The SQL in ``projections/queries`` implements these rules over the read
models; the demo data set (``registry/demo``) generates events that satisfy them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# business dates are Dutch calendar days: an event at 23:30 UTC on 31 Dec is on 1 Jan here
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# no praktijkleren event can predate the first pilots' preparations
EARLIEST = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
# PostgreSQL schema of the read models unless a command says otherwise
DEFAULT_READ_SCHEMA = "praktijk"

# overzicht 4.3: age at registration (the first inschrijving's startdatum)
LEEFTIJDSGROEPEN = ("17 jaar en jonger", "18-22 jaar", "23-27 jaar", "28-54 jaar", "55 jaar en ouder")
GESLACHTEN = ("man", "vrouw", "onbekend")
# overzicht 5.3 / 7.2: deelnemers without a known leerbedrijf or instelling
NIET_GEREGISTREERD = "Niet geregistreerd"
ONBEKEND = "Onbekend"


def leeftijdsgroep(leeftijd: int) -> str:
    """The overzicht 4.3 label of an age in whole years."""
    for bovengrens, label in zip((17, 22, 27, 54), LEEFTIJDSGROEPEN, strict=False):
        if leeftijd <= bovengrens:
            return label
    return LEEFTIJDSGROEPEN[-1]
