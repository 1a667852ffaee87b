"""The projections the runner knows, by name (one process runs them on one shared consumer: consumers/projector.py).

Tables (all in one PostgreSQL schema, default ``praktijk``; ``{s}`` in the SQL):

* ``projection_offsets(projection, topic, partition, next_offset, last_recorded_at, updated_at)`` - written
  in the same transaction as the rows; the runner resumes from it.
* ``referentie`` (events topic): ``dossiers(crebo, naam, niveau, domein)``, ``dossier_werkprocessen(crebo,
  werkproces, naam, kerntaak)``, ``leerbedrijven(leerbedrijf_id, naam, crebos)``, ``erkenningen(mbo_instelling,
  crebo, vanaf)`` - last writer (by occurred_at) wins.
* ``feiten`` (events topic), dated facts keyed on event_id (``occurred_on`` = Dutch day of occurred_at):
  ``aanmeldingen``, ``adviezen``, ``inschrijvingen`` (startdatum, pilot, instelling, crebo, leerbedrijf_id,
  geslacht, leeftijd, gemeente), ``leerbedrijf_vastgelegd``, ``aftekeningen`` (+ retracted_at/on),
  ``verklaringen`` (volgnummer, crebos, aantal_werkprocessen, brancheorganisaties, issued_at/on, revoked_at/on,
  revoke_reden), ``verklaring_werkprocessen``, ``beeindigingen``, ``uitstroom``, ``tellingen``,
  ``telling_deelnemers``, ``verwijderingen``; the doorstroom's later fields in tables of their own:
  ``aanmelding_kenmerken`` (uitkering, nieuwkomer), ``uitval`` (uitvalreden), ``uitstroom_metingen`` (peilmoment,
  contract, uitkering_na), ``verklaring_ondertekening`` (the date only), ``praktijkafspraken``.
* ``tijdlijn`` (events + rejections topics): ``event_log`` (every event: partition/offset, type, deelnemer,
  traject_id, verklaring_id, occurred_at, recorded_at, warnings, key fields as jsonb - never persoonsgegevens)
  and ``afwijzingen`` (rejections, keyed on their own partition/offset).
"""

from __future__ import annotations

from projections import feiten, referentie, tijdlijn
from projections.model import Projection

ALL: dict[str, Projection] = {p.name: p for p in (referentie.PROJECTION, feiten.PROJECTION, tijdlijn.PROJECTION)}


def select(name: str) -> list[Projection]:
    """``all`` or one projection name; ValueError for an unknown name."""
    if name == "all":
        return list(ALL.values())
    try:
        return [ALL[name]]
    except KeyError:
        raise ValueError(f"unknown projection {name!r}; known: all, {', '.join(ALL)}") from None
