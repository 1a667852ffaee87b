"""Reconciliation of deelnemersaantallen as of peildatum D, set-based in SQL.

For every pilot with a registered deelnemer at D or a telling near D: the register count
(the ``deelnemers-per-pilot`` rule: the pilot of the deelnemer's FIRST inschrijving, started on
or before D), each partner's chosen TellingGemeld, and per source the category counts (and, when
asked, the pseudonyms) of registry/domein/reconciliatie. One statement, one snapshot; no Python
loop per person (Python only assembles one row per pilot and source).

Where the facts come from:

* ``inschrijvingen``, ``aanmeldingen``, ``adviezen``, ``tellingen``, ``telling_deelnemers`` (feiten);
* ``event_log`` (tijdlijn), when present, for what ``telling_deelnemers`` cannot hold: the list
  with its duplicate entries (dubbel_in_bron, gemeld), null vs. empty list, and ``recorded_at``/
  offset for ties between tellingen with the same peildatum. Without it (or before the tijdlijn
  projection has the event) a list counts as its distinct entries.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, text

from projections import store
from registry.domein import referentie
from registry.domein.reconciliatie import (
    BORIS_LEEFTIJD,
    CATEGORIEEN,
    VENSTER_DAGEN,
    BronResultaat,
    PilotRij,
    sluit,
    zonder_lijst,
)
from registry.infra.db import table_exists

_EERSTE = """eerste AS (
    SELECT DISTINCT ON (deelnemer) deelnemer, pilot, leeftijd, startdatum
    FROM {s}.inschrijvingen ORDER BY deelnemer, startdatum, occurred_at, event_id),
reg AS (SELECT deelnemer, pilot, leeftijd FROM eerste WHERE startdatum <= :d)"""

# candidate tellingen within the window; per (pilot, partner) the latest peildatum wins, then the latest recorded
_GEKOZEN = """kandidaat AS (
    SELECT t.event_id, t.partner, t.bron_type, t.pilot, t.peildatum, t.aantal_deelnemers, t.occurred_at,
           {el_order} FROM {s}.tellingen t {el_join}
    WHERE t.peildatum BETWEEN CAST(:d AS date) - CAST(:w AS integer) AND CAST(:d AS date) + CAST(:w AS integer)
      {pilot_filter}),
gekozen AS (
    SELECT DISTINCT ON (pilot, partner) * FROM kandidaat
    ORDER BY pilot, partner, peildatum DESC, recorded_at DESC NULLS LAST, log_offset DESC NULLS LAST,
             occurred_at DESC, event_id DESC),
uniek AS (SELECT td.event_id, count(*) AS n FROM {s}.telling_deelnemers td JOIN gekozen g USING (event_id)
          GROUP BY td.event_id)"""

_BRON_MET_LOG = """bron AS (
    SELECT g.*, COALESCE(jsonb_typeof(el.gegevens -> 'deelnemers') = 'array', u.n IS NOT NULL) AS heeft_lijst,
           COALESCE(u.n, 0) AS uniek,
           COALESCE(CASE WHEN jsonb_typeof(el.gegevens -> 'deelnemers') = 'array'
                         THEN jsonb_array_length(el.gegevens -> 'deelnemers') END, u.n, 0) AS lengte
    FROM gekozen g LEFT JOIN uniek u USING (event_id) LEFT JOIN {s}.event_log el USING (event_id)),
dubbel AS (
    SELECT b.event_id, x.deelnemer, count(*) - 1 AS n
    FROM bron b JOIN {s}.event_log el USING (event_id)
    CROSS JOIN LATERAL jsonb_to_recordset(CASE WHEN jsonb_typeof(el.gegevens -> 'deelnemers') = 'array'
        THEN el.gegevens -> 'deelnemers' ELSE '[]'::jsonb END) AS x(deelnemer text, status text)
    WHERE b.heeft_lijst AND b.lengte > b.uniek
    GROUP BY b.event_id, x.deelnemer HAVING count(*) > 1)"""

_BRON_ZONDER_LOG = """bron AS (
    SELECT g.*, u.n IS NOT NULL AS heeft_lijst, COALESCE(u.n, 0) AS uniek, COALESCE(u.n, 0) AS lengte
    FROM gekozen g LEFT JOIN uniek u USING (event_id)),
dubbel AS (SELECT CAST(NULL AS text) AS event_id, CAST(NULL AS text) AS deelnemer, CAST(0 AS bigint) AS n
           WHERE false)"""

# every list entry and every registered person of a source with a list, in exactly one category
_ALLES = """later AS (SELECT DISTINCT deelnemer, pilot FROM {s}.inschrijvingen WHERE startdatum > :d),
bekend AS (SELECT deelnemer FROM {s}.aanmeldingen UNION SELECT deelnemer FROM {s}.adviezen),
lijst AS (
    SELECT b.event_id, td.deelnemer, td.status,
           CASE WHEN r.pilot = b.pilot THEN 'overeenkomend'
                WHEN r.deelnemer IS NOT NULL THEN 'andere_pilot'
                WHEN l.deelnemer IS NOT NULL THEN 'buiten_peildatum'
                WHEN e.deelnemer IS NULL AND k.deelnemer IS NOT NULL THEN 'aangemeld_niet_gestart'
                ELSE 'niet_geregistreerd' END AS categorie
    FROM bron b JOIN {s}.telling_deelnemers td ON td.event_id = b.event_id
    LEFT JOIN reg r ON r.deelnemer = td.deelnemer
    LEFT JOIN later l ON l.deelnemer = td.deelnemer AND l.pilot = b.pilot
    LEFT JOIN eerste e ON e.deelnemer = td.deelnemer
    LEFT JOIN bekend k ON k.deelnemer = td.deelnemer
    WHERE b.heeft_lijst),
alleen AS (
    SELECT b.event_id, r.deelnemer, CAST(NULL AS text) AS status,
           CASE WHEN r.leeftijd < :boris THEN 'boris_vermoeden' ELSE 'alleen_in_register' END AS categorie
    FROM bron b JOIN reg r ON r.pilot = b.pilot
    WHERE b.heeft_lijst AND NOT EXISTS (
        SELECT 1 FROM {s}.telling_deelnemers td WHERE td.event_id = b.event_id AND td.deelnemer = r.deelnemer)),
alles AS (
    SELECT event_id, deelnemer, status, categorie FROM lijst
    UNION ALL SELECT event_id, deelnemer, status, categorie FROM alleen
    UNION ALL SELECT d.event_id, d.deelnemer, CAST(NULL AS text), 'dubbel_in_bron'
              FROM dubbel d CROSS JOIN LATERAL generate_series(1, d.n)),
per_categorie AS (
    SELECT event_id, categorie, count(*) AS n, {personen} AS personen FROM alles GROUP BY event_id, categorie),
per_bron AS (
    SELECT event_id, jsonb_object_agg(categorie, n) AS aantallen, jsonb_object_agg(categorie, personen) AS personen
    FROM per_categorie GROUP BY event_id),
onbekend AS (
    SELECT event_id, array_agg(DISTINCT deelnemer) AS personen FROM lijst
    WHERE categorie = 'niet_geregistreerd' AND status = :in_traject GROUP BY event_id),
reg_n AS (SELECT pilot, count(*) AS n FROM reg {reg_filter} GROUP BY pilot),
pilots AS (SELECT pilot FROM reg_n UNION SELECT pilot FROM bron)"""

_SELECT = """SELECT p.pilot, COALESCE(rn.n, 0) AS register, b.event_id, b.partner, b.bron_type, b.peildatum,
       b.aantal_deelnemers, b.heeft_lijst, b.lengte, pb.aantallen, pb.personen, o.personen AS onbekend
FROM pilots p LEFT JOIN reg_n rn ON rn.pilot = p.pilot LEFT JOIN bron b ON b.pilot = p.pilot
LEFT JOIN per_bron pb ON pb.event_id = b.event_id LEFT JOIN onbekend o ON o.event_id = b.event_id
ORDER BY p.pilot, b.partner"""


def statement(schema: str, *, pilot: bool, event_log: bool, personen: bool) -> str:
    """The reconciliation SQL for a schema (``pilot``: restrict to :pilot; ``event_log``: use tijdlijn's log)."""
    gekozen = _GEKOZEN.format(
        s="{s}",
        el_order="el.recorded_at, el.log_offset"
        if event_log
        else "CAST(NULL AS timestamptz) AS recorded_at, CAST(NULL AS bigint) AS log_offset",
        el_join="LEFT JOIN {s}.event_log el ON el.event_id = t.event_id" if event_log else "",
        pilot_filter="AND t.pilot = :pilot" if pilot else "",
    )
    alles = _ALLES.format(
        s="{s}",
        personen="array_agg(deelnemer ORDER BY deelnemer)" if personen else "CAST(NULL AS text[])",
        reg_filter="WHERE pilot = :pilot" if pilot else "",
    )
    bron = _BRON_MET_LOG if event_log else _BRON_ZONDER_LOG
    return store.sql(f"WITH {_EERSTE},\n{gekozen},\n{bron},\n{alles}\n{_SELECT}", schema)


def has_event_log(conn: Connection, schema: str) -> bool:
    return table_exists(conn, f'"{store.check_schema(schema)}".event_log')


def rijen(
    conn: Connection,
    schema: str,
    peildatum: dt.date,
    pilot: str | None = None,
    *,
    venster_dagen: int = VENSTER_DAGEN,
    personen: bool = False,
) -> list[PilotRij]:
    """The reconciliation at ``peildatum``: one row per pilot with a registered deelnemer at D or a telling
    within ``venster_dagen`` of D (only ``pilot`` when given), in pilot_nr order; ``personen`` adds the
    pseudonyms per category (large for big lists)."""
    if isinstance(peildatum, dt.datetime):
        peildatum = peildatum.date()
    sql = statement(schema, pilot=pilot is not None, event_log=has_event_log(conn, schema), personen=personen)
    params = {"d": peildatum, "w": venster_dagen, "pilot": pilot, "boris": BORIS_LEEFTIJD, "in_traject": "in_traject"}
    per_pilot: dict[str, tuple[int, list[BronResultaat]]] = {}
    for r in conn.execute(text(sql), params):
        register, bronnen = per_pilot.setdefault(r.pilot, (int(r.register), []))
        if r.event_id is not None:
            bronnen.append(_bron(r, register, personen))
    order = {p.pilot_id: p.nr for p in referentie.pilots().values()}
    return [
        PilotRij(p, peildatum, register, tuple(sorted(bronnen, key=lambda b: b.partner)))
        for p, (register, bronnen) in sorted(per_pilot.items(), key=lambda kv: (order.get(kv[0], 10**6), kv[0]))
    ]


def _bron(r: Any, register: int, met_personen: bool) -> BronResultaat:
    partner, bron_type, event_id = str(r.partner or ""), str(r.bron_type or ""), str(r.event_id)
    if not r.heeft_lijst:
        return zonder_lijst(partner, bron_type, event_id, r.peildatum, int(r.aantal_deelnemers), register)
    aantallen = {c: int(_json(r.aantallen).get(c, 0)) for c in CATEGORIEEN}
    lijsten = _json(r.personen)
    personen = {c: tuple(cast(Sequence[str], lijsten.get(c) or ())) for c in CATEGORIEEN} if met_personen else {}
    uitkomst = BronResultaat(
        partner,
        bron_type,
        event_id,
        r.peildatum,
        int(r.lengte),
        register,
        aantallen,
        personen,
        frozenset(r.onbekend or ()),
    )
    if not sluit(uitkomst.gemeld, register, uitkomst.aantallen):
        # the list in event_log and telling_deelnemers disagree: a read-model fault, not a result to publish
        raise ValueError(f"reconciliation of telling {event_id} does not close: {uitkomst.vergelijking}")
    return uitkomst


def _json(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    return cast(Mapping[str, Any], json.loads(value) if isinstance(value, str) else value)
