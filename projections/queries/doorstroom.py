"""The doorstroom's positions from the read models: one row per deelnemer of a cohort at a peildatum, with the
fields of ``registry.domein.doorstroom.Stand`` (that module defines them over canonical events, and aggregates the
rows; a property test holds the two equal on random logs).

Dates are the ``occurred_on`` Dutch days the feiten projection stores; ``startdatum`` as given. Ties between
events at the same instant are broken by ``event_id`` in byte order (``COLLATE "C"``), as Python compares text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from projections.queries.common import rows

_STANDEN = """
WITH eerste AS (
    SELECT DISTINCT ON (a.deelnemer) a.deelnemer, a.occurred_on, a.pilot, a.doelgroep, a.aanmelder_type,
           COALESCE(k.uitkering, 'onbekend') AS uitkering
    FROM {s}.aanmeldingen a LEFT JOIN {s}.aanmelding_kenmerken k ON k.event_id = a.event_id
    WHERE a.occurred_on <= :d
    ORDER BY a.deelnemer, a.occurred_at, a.event_id COLLATE "C"),
cohort AS (SELECT * FROM eerste e WHERE e.occurred_on BETWEEN :van AND :tot AND {filters}),
trajecten AS (
    SELECT i.deelnemer, i.traject_id, i.startdatum,
           EXISTS (SELECT 1 FROM {s}.beeindigingen b WHERE b.traject_id = i.traject_id AND b.occurred_on <= :d)
             AS geeindigd
    FROM {s}.inschrijvingen i JOIN cohort c ON c.deelnemer = i.deelnemer
    WHERE i.occurred_on <= :d)
SELECT c.deelnemer, c.occurred_on AS aangemeld_op, c.pilot, c.doelgroep, c.uitkering, c.aanmelder_type,
    EXISTS (SELECT 1 FROM {s}.adviezen x WHERE x.deelnemer = c.deelnemer AND x.occurred_on <= :d) AS advies,
    (SELECT min(t.startdatum) FROM trajecten t WHERE t.deelnemer = c.deelnemer AND t.startdatum <= :d)
      AS eerste_start,
    (SELECT v.issued_on FROM {s}.verklaringen v
     WHERE v.deelnemer = c.deelnemer AND v.issued_on <= :d AND (v.revoked_on IS NULL OR v.revoked_on > :d)
     ORDER BY v.issued_at, v.event_id COLLATE "C" LIMIT 1) AS eerste_verklaring,
    (EXISTS (SELECT 1 FROM trajecten t WHERE t.deelnemer = c.deelnemer AND t.startdatum <= :d)
     AND NOT EXISTS (SELECT 1 FROM trajecten t WHERE t.deelnemer = c.deelnemer AND NOT t.geeindigd)) AS beeindigd,
    (SELECT jsonb_build_object('reden', b.reden, 'uitvalreden', u.uitvalreden)
     FROM {s}.beeindigingen b LEFT JOIN {s}.uitval u ON u.event_id = b.event_id
     WHERE b.deelnemer = c.deelnemer AND b.occurred_on <= :d
     ORDER BY b.occurred_at DESC, b.event_id COLLATE "C" DESC LIMIT 1) AS laatste_einde,
    (SELECT jsonb_object_agg(m.peilmoment, jsonb_build_object(
                'uitstroom', m.uitstroom, 'contract', m.contract, 'uitkering_na', m.uitkering_na))
     FROM (SELECT DISTINCT ON (m.peilmoment) m.peilmoment, m.uitstroom, m.contract, m.uitkering_na
           FROM {s}.uitstroom_metingen m WHERE m.deelnemer = c.deelnemer AND m.occurred_on <= :d
           ORDER BY m.peilmoment, m.occurred_at DESC, m.event_id COLLATE "C" DESC) m) AS uitstroom
FROM cohort c
ORDER BY c.deelnemer COLLATE "C"
"""


def doorstroom_standen(
    conn: Connection,
    *,
    van: dt.date,
    tot: dt.date,
    peildatum: dt.date,
    pilots: list[str] | None = None,
    doelgroep: str | None = None,
    uitkering: str | None = None,
    aanmelder_type: str | None = None,
) -> list[dict[str, Any]]:
    """The deelnemers whose first aanmelding (on or before ``peildatum``) falls in ``van``..``tot`` and matches the
    filters, each with its position at ``peildatum`` (``laatste_einde`` and ``uitstroom`` as JSON objects)."""
    filters: list[str] = ["true"]
    params: dict[str, Any] = {"d": peildatum, "van": van, "tot": tot}
    for column, value in (("doelgroep", doelgroep), ("uitkering", uitkering), ("aanmelder_type", aanmelder_type)):
        if value is not None:  # only the filters that apply (see common.where)
            filters.append(f"e.{column} = :{column}")
            params[column] = value
    if pilots is not None:
        filters.append("e.pilot = ANY(CAST(:pilots AS text[]))")
        params["pilots"] = pilots
    statement = _STANDEN.replace("{filters}", " AND ".join(filters))
    return [dict(r._mapping) for r in rows(conn, statement, params)]


_KANDIDATEN = """
WITH eigen AS (
    SELECT deelnemer FROM {s}.aanmeldingen WHERE partner = :partner AND occurred_on <= :d
    UNION
    SELECT deelnemer FROM {s}.inschrijvingen WHERE mbo_instelling = :partner AND occurred_on <= :d)
SELECT e.deelnemer,
    (SELECT max(b.occurred_on) FROM {s}.beeindigingen b WHERE b.deelnemer = e.deelnemer AND b.occurred_on <= :d)
      AS einde,
    ARRAY(SELECT DISTINCT m.peilmoment FROM {s}.uitstroom_metingen m
          WHERE m.deelnemer = e.deelnemer AND m.occurred_on <= :d ORDER BY 1) AS peilmomenten
FROM eigen e
WHERE EXISTS (SELECT 1 FROM {s}.beeindigingen b WHERE b.deelnemer = e.deelnemer AND b.occurred_on <= :d)
ORDER BY e.deelnemer COLLATE "C"
"""


def nameting_kandidaten(conn: Connection, partner: str, peildatum: dt.date) -> list[dict[str, Any]]:
    """The deelnemers ``partner`` referred (its KandidaatAangemeld) or enrolled (its inschrijving) with an ended
    traject on or before ``peildatum``: the day of the last ending and the peilmomenten with uitstroom registered."""
    return [dict(r._mapping) for r in rows(conn, _KANDIDATEN, {"partner": partner, "d": peildatum})]
