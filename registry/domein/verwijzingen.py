"""Opaque references to people outside the registry: ``afgetekend_door`` (WerkprocesAfgetekend),
``praktijkopleider`` (LeerbedrijfVastgelegd) and ``ondertekend_door`` (PraktijkverklaringUitgegeven) name a praktijkopleider by an id the partner keeps, never by a name or
an e-mail address, because whatever is accepted stays in the immutable canonical log.

Format: 2-64 characters, lowercase letters, digits and ``. _ -``, starting with a letter or digit (``po-0042``,
``opl_17``, ``a1b2c3``). No capitals, spaces or ``@``, so a written-out name ("Jan de Vries") or an e-mail address
never fits. A format cannot tell ``jdevries`` from ``po-0042``: partners are asked to use ids that mean nothing
outside their own systems. Pure.
"""

from __future__ import annotations

import re

ONGELDIG = "ongeldige_referentie"  # the validator's reason code
VELDEN = (
    "afgetekend_door",
    "praktijkopleider",
    "ondertekend_door",
)  # the fields that hold such a reference, in any event type
PATROON = r"^[a-z0-9][a-z0-9._-]{1,63}$"
_REFERENTIE = re.compile(PATROON)


def referentie(value: str) -> str | None:
    """None for a well-formed opaque reference, else the problem (which never repeats the value)."""
    if _REFERENTIE.match(value):
        return None
    return (
        "must be an opaque reference: 2-64 of lowercase a-z, 0-9, '.', '_', '-', starting with a letter or "
        "digit (e.g. po-0042); never a name or e-mail address"
    )
