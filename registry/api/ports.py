"""The port through which the API reads the read models.

The API never imports the projections: the composition root (``registry.cli.api``) passes the query module
(``projections.queries``) to ``create_app(queries=...)``, and unit tests pass an in-memory stand-in. A module
satisfies this protocol structurally through its module-level functions and ``OVERZICHTEN`` table.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, Protocol

from sqlalchemy import Connection

from registry.domein.reconciliatie import PilotRij


class ReadQueries(Protocol):
    """The read-model queries the endpoints call (all read-only, on the request's connection)."""

    OVERZICHTEN: dict[str, str]  # overzicht name -> one-line description (columns and rules)

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
        """The rows of overzicht ``naam`` as of ``peildatum``; KeyError for an unknown name. ``sleutels``: in each
        count column the sum of the record keys of what it counts instead (the cell key method)."""
        ...

    def aantallen(
        self,
        conn: Connection,
        *,
        regio: str | None,
        pilot: str | None,
        gemeente: str | None,
        van: date,
        tot: date,
        instelling: str | None = None,
        sleutels: bool = False,
    ) -> list[dict[str, Any]]:
        """One row per month from ``van`` to ``tot`` (``sleutels``: record-key sums instead of counts)."""
        ...

    def doorstroom_standen(
        self,
        conn: Connection,
        *,
        van: date,
        tot: date,
        peildatum: date,
        pilots: list[str] | None = None,
        doelgroep: str | None = None,
        uitkering: str | None = None,
        aanmelder_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """One row per deelnemer whose first aanmelding falls in ``van``..``tot`` and matches the filters: its
        position at ``peildatum`` (the fields of ``registry.domein.doorstroom.Stand``)."""
        ...

    def traject(self, conn: Connection, traject_id: str) -> dict[str, Any] | None:
        """The traject's state and events, or None when unknown."""
        ...

    def tijdlijn(self, conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
        """Every event of the deelnemer (refused submissions marked), or None when unknown."""
        ...

    def verificatie(self, conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
        """The public facts of a verklaring, or None when unknown."""
        ...

    def projection_status(self, conn: Connection) -> list[dict[str, Any]]:
        """The stored offsets of every projection (see ``status.projection_offsets``)."""
        ...

    def instelling_of_traject(self, conn: Connection, traject_id: str) -> str | None:
        """The mbo-instelling of a traject (for scope checks), or None when unknown."""
        ...

    def deelnemers_of_instelling(self, conn: Connection, instelling: str) -> set[str]:
        """The pseudonyms the mbo-instelling enrolled (its relation with them, as the read models hold it)."""
        ...

    def instellingen_of_deelnemer(self, conn: Connection, deelnemer: str) -> set[str]:
        """The mbo-instellingen the deelnemer has a traject at (empty when unknown)."""
        ...

    def reconciliatie_rijen(
        self, conn: Connection, peildatum: date, pilot: str | None = None, *, venster_dagen: int, personen: bool = False
    ) -> list[PilotRij]:
        """The reconciliation at ``peildatum``: one row per pilot with a registered deelnemer at D or a telling
        within ``venster_dagen`` days of D (only ``pilot`` when given), sources sorted by partner; ``personen``
        fills each source's pseudonyms per category."""
        ...

    def record_sleutels(self, conn: Connection, deelnemers: Collection[str]) -> dict[str, int]:
        """deelnemer -> record key of the cell key method, for the deelnemers the registry has seen."""
        ...

    def pilots_of_instelling(self, conn: Connection, instelling: str) -> set[str]:
        """The pilot ids in which the mbo-instelling (partner id) has at least one inschrijving."""
        ...

    def verklaring_document(self, conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
        """The facts of a verklaring for its document and credential (``verificatie`` plus kerntaken, deelnemer
        pseudonym, instelling id, volgnummer, ``verwijderd_op``, its own log position and the log positions of
        the events with sealed persoonsgegevens), or None when unknown. Never persoonsgegevens themselves."""
        ...

    def verklaringen_met_prefix(self, conn: Connection, prefix: str) -> list[str]:
        """At most two verklaring ids starting with ``prefix`` (what a short code PV-XXXX-XXXX-XXXX stands for)."""
        ...

    def ingetrokken_in_partitie(self, conn: Connection, partitie: int) -> tuple[set[int], int]:
        """The log offsets of the revoked verklaringen on one partition of the canonical log, and the highest
        offset of any verklaring there (-1: none): one status list per partition."""
        ...
