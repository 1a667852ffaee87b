"""Read-model queries: the evaluation's overzichten, monthly aantallen, traject and
tijdlijn views, public verification, projection status, authorisation helpers.

Everything is answered "as of peildatum D" (business time: the Dutch calendar day of
``occurred_at``; ``startdatum`` for inschrijvingen) by SQL over the dated facts of the
``feiten``/``referentie``/``tijdlijn`` projections; nothing is pre-summed, so there is no
shared total to keep consistent, and any peildatum works without replaying.

Schema: the tables are read from the PostgreSQL schema named by the connection's
execution option ``praktijk_schema`` (``conn.execution_options(praktijk_schema="x")``),
else the first non-default entry of the connection's ``search_path`` (the API sets it
with ``set_config('search_path', ...)``), else ``praktijk``.

One module per concern: ``common`` (schema, filters, shared SQL), ``overzichten``,
``maandcijfers`` (aantallen), ``doorstroom`` (doorstroom_standen), ``historie`` (tijdlijn, traject), ``verklaring``
(verificatie), ``status`` (projection_status), ``autorisatie``, ``reconciliatie``
(reconciliatie_rijen, pilots_of_instelling). This package is the
``ReadQueries`` port the API calls (registry/api/ports.py), so it re-exports their names.
"""

from __future__ import annotations

from projections.queries.autorisatie import deelnemers_of_instelling, instelling_of_traject, instellingen_of_deelnemer
from projections.queries.common import kwalificatie_key
from projections.queries.document import ingetrokken_in_partitie, verklaring_document, verklaringen_met_prefix
from projections.queries.doorstroom import doorstroom_standen, nameting_kandidaten
from projections.queries.historie import tijdlijn, traject
from projections.queries.maandcijfers import aantallen
from projections.queries.onthulling import record_sleutels
from projections.queries.overzichten import OVERZICHTEN, overzicht
from projections.queries.reconciliatie import pilots_of_instelling, reconciliatie_rijen
from projections.queries.status import projection_status
from projections.queries.verklaring import verificatie
from registry.domein.telregels import leeftijdsgroep

__all__ = [
    "OVERZICHTEN",
    "aantallen",
    "deelnemers_of_instelling",
    "doorstroom_standen",
    "instelling_of_traject",
    "instellingen_of_deelnemer",
    "kwalificatie_key",
    "nameting_kandidaten",
    "leeftijdsgroep",
    "overzicht",
    "pilots_of_instelling",
    "record_sleutels",
    "projection_status",
    "reconciliatie_rijen",
    "tijdlijn",
    "traject",
    "verificatie",
]
__all__ += ["ingetrokken_in_partitie", "verklaring_document", "verklaringen_met_prefix"]  # the verklaring document
