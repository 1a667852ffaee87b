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
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Connection, text

from projections import store
from projections.catalogus import ALL as PROJECTIONS
from registry.domein import referentie

LEEFTIJDSGROEPEN = ("17 jaar en jonger", "18-22 jaar", "23-27 jaar", "28-54 jaar", "55 jaar en ouder")
GESLACHTEN = ("man", "vrouw", "onbekend")
NIET_GEREGISTREERD = "Niet geregistreerd"
ONBEKEND = "Onbekend"

_DEELNEMER = ("deelnemer of a pilot at D = its FIRST inschrijving (earliest startdatum) has startdatum <= D; "
              "pilot/instelling/geslacht/leeftijd are those of that first inschrijving")
_VERKLARING = "verklaring counts at D = issued on or before D and not revoked on or before D"
_PILOTS = "all 26 pilots by pilot_nr, zeros included; no total row (sum the column)"

OVERZICHTEN: dict[str, str] = {
    "deelnemers-per-pilot": f"Deelnemers per pilot (3.2): pilot, pilot_naam, tranche, deelnemers. {_DEELNEMER}; {_PILOTS}.",
    "geslacht-per-pilot": f"Geslacht per pilot (4.2): pilot, pilot_naam, man, vrouw, onbekend. {_DEELNEMER}; {_PILOTS}.",
    "leeftijdsgroepen": ("Leeftijdsgroep at the first inschrijving (4.3): leeftijdsgroep, deelnemers; the five groups "
                         f"in age order, zeros included, no total row. {_DEELNEMER}."),
    "werkprocessen-per-verklaring": ("Werkprocessen per verklaring (5.1): aantal_werkprocessen, verklaringen; FIRST "
                                     f"verklaringen only (volgnummer 1), distinct werkprocessen; {_VERKLARING}; "
                                     "ascending aantal, only counts that occur, no total row."),
    "domeinen": (f"Mbo-domein of verklaringen (5.2): domein, verklaringen; all verklaringen (any volgnummer); "
                 f"domein of the verklaring's lowest crebo; {_VERKLARING}; by domein name, no total row."),
    "leerbedrijven-per-pilot": ("Leerbedrijven per pilot (5.3): pilot, pilot_naam, deelnemers, leerbedrijven, "
                                "leerbedrijf_onbekend; leerbedrijven = distinct leerbedrijf_id current at D on the "
                                "deelnemers' first traject (latest LeerbedrijfVastgelegd on or before D, else the "
                                "inschrijving's); leerbedrijf_onbekend = deelnemers whose first traject has none; "
                                f"{_DEELNEMER}; {_PILOTS}."),
    "verklaringen-per-pilot": ("Deelnemers with a verklaring per pilot (6.1): pilot, pilot_naam, "
                               f"deelnemers_met_verklaring (distinct deelnemers with >= 1 verklaring); {_VERKLARING}; "
                               f"pilot of the deelnemer's first inschrijving; {_PILOTS}."),
    "niveaus": ("Verklaringen by niveau (6.2): niveau, verklaringen, deelnemers_met_verklaring; niveau = highest "
                f"niveau among the verklaring's crebos; niveaus 1-4 always listed; {_VERKLARING}; no total row."),
    "instellingen": ("Deelnemers per mbo-instelling (7.2): mbo_instelling (name), deelnemers; instelling of the first "
                     f"inschrijving; only instellingen with deelnemers, by name; {_DEELNEMER}; no total row."),
    "brancheorganisaties": ("Brancheorganisaties on verklaringen (B1): brancheorganisaties (sorted, joined by ', '; "
                            f"none -> '{NIET_GEREGISTREERD}'), eerste, tweede, derde (by volgnummer 1/2/3), totaal "
                            f"(all volgnummers); {_VERKLARING}; by key, '{NIET_GEREGISTREERD}' last; no total row."),
    "kwalificaties": ("Kwalificaties of verklaringen (B2): kwalificatie (crebo, or sorted distinct crebos joined by ',' "
                      "when the werkprocessen span several), naam, niveau (highest), eerste, tweede, derde (by "
                      f"volgnummer 1/2/3), totaal (all volgnummers); {_VERKLARING}; by kwalificatie; no total row."),
}


# --- helpers ----------------------------------------------------------------------------------------------------

def _schema(conn: Connection) -> str:
    opt = conn.get_execution_options().get("praktijk_schema")
    if opt:
        return store.check_schema(str(opt))
    path = conn.execute(text("SELECT current_setting('search_path')")).scalar_one()
    for part in str(path).split(","):
        name = part.strip().strip('"')
        if name and name not in ("$user", "public", "pg_catalog") and not name.startswith("pg_"):
            try:
                return store.check_schema(name)
            except ValueError:
                continue
    return store.DEFAULT_SCHEMA


def _q(conn: Connection, statement: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    return list(conn.execute(text(store.sql(statement, _schema(conn))), dict(params or {})))


def _pilots(pilot: str | None, regio: str | None) -> list[str] | None:
    """Pilot ids allowed by the pilot and regio filters (None: no restriction)."""
    if pilot is None and regio is None:
        return None
    known = referentie.pilots()
    if regio is None:
        return [pilot] if pilot is not None else None
    return [p.pilot_id for p in known.values() if p.arbeidsmarktregio == regio and (pilot is None or p.pilot_id == pilot)]


def leeftijdsgroep(leeftijd: int) -> str:
    if leeftijd <= 17:
        return LEEFTIJDSGROEPEN[0]
    if leeftijd <= 22:
        return LEEFTIJDSGROEPEN[1]
    if leeftijd <= 27:
        return LEEFTIJDSGROEPEN[2]
    if leeftijd <= 54:
        return LEEFTIJDSGROEPEN[3]
    return LEEFTIJDSGROEPEN[4]


def kwalificatie_key(crebos: Sequence[str]) -> str:
    """The crebo, or the sorted distinct crebos joined by ','."""
    return ",".join(sorted(set(crebos)))


def instelling_naam(partner: str | None) -> str | None:
    if partner is None:
        return None
    return referentie.mbo_instellingen().get(partner, partner)


_EERSTE = """eerste AS (
    SELECT DISTINCT ON (deelnemer) deelnemer, traject_id, pilot, mbo_instelling, geslacht, leeftijd, startdatum,
           leerbedrijf_id, gemeente
    FROM {s}.inschrijvingen ORDER BY deelnemer, startdatum, occurred_at, event_id)"""


def _where(alias: str, pilots: list[str] | None, instelling: str | None, gemeente: str | None = None,
           pilot_col: str = "pilot") -> str:
    """Only the filters that apply, so no ``:param IS NULL OR ..`` reaches the planner (psycopg prepares a
    statement after 5 runs, and PostgreSQL's generic plan for such ORs is 10x slower)."""
    out = ["true"]
    if pilots is not None:
        out.append(f"{alias}.{pilot_col} = ANY(CAST(:pilots AS text[]))")
    if instelling is not None:
        out.append(f"{alias}.mbo_instelling = :instelling")
    if gemeente is not None:
        out.append(f"{alias}.gemeente = :gemeente")
    return " AND ".join(out)


def _dn(pilots: list[str] | None, instelling: str | None) -> str:
    """Deelnemers counted at :d (their first inschrijving has started), with the filters."""
    return f"{_EERSTE}, dn AS (SELECT e.* FROM eerste e WHERE e.startdatum <= :d AND {_where('e', pilots, instelling)})"


# the leerbedrijf current at :d per traject: the latest LeerbedrijfVastgelegd on or before :d
_LBV = """lbv AS (SELECT DISTINCT ON (traject_id) traject_id, leerbedrijf_id FROM {s}.leerbedrijf_vastgelegd
    WHERE occurred_on <= :d ORDER BY traject_id, occurred_at DESC, event_id DESC)"""
_VD_PLAIN = """vd AS (SELECT v.*, CAST(NULL AS text) AS pilot FROM {s}.verklaringen v
    WHERE v.issued_on <= :d AND (v.revoked_on IS NULL OR v.revoked_on > :d))"""


def _vd_joined(pilots: list[str] | None, instelling: str | None) -> str:
    return f"""{_EERSTE}, vd AS (SELECT v.*, e.pilot FROM {{s}}.verklaringen v LEFT JOIN eerste e ON e.deelnemer = v.deelnemer
    WHERE v.issued_on <= :d AND (v.revoked_on IS NULL OR v.revoked_on > :d) AND {_where('e', pilots, instelling)})"""


# niveau per crebo: kwalificaties.csv first, else the KwalificatiedossierVastgesteld
_KW_NIVEAU = """kw AS (SELECT t.crebo, t.niveau FROM unnest(CAST(:kc AS text[]), CAST(:kn AS int[])) AS t(crebo, niveau)
    UNION ALL SELECT d.crebo, d.niveau FROM {s}.dossiers d WHERE NOT (d.crebo = ANY(CAST(:kc AS text[]))))"""

_DEELNEMER_SQL = {
    "deelnemers-per-pilot": "SELECT pilot, count(*) AS n FROM dn GROUP BY pilot",
    "geslacht-per-pilot": "SELECT pilot, geslacht, count(*) AS n FROM dn GROUP BY pilot, geslacht",
    "leeftijdsgroepen": "SELECT leeftijd, count(*) AS n FROM dn GROUP BY leeftijd",
    "instellingen": "SELECT mbo_instelling, count(*) AS n FROM dn GROUP BY mbo_instelling",
    "leerbedrijven-per-pilot": """SELECT pilot, count(*) AS n, count(DISTINCT lb) AS leerbedrijven,
        count(*) FILTER (WHERE lb IS NULL) AS onbekend
        FROM (SELECT dn.pilot, COALESCE(lbv.leerbedrijf_id, dn.leerbedrijf_id) AS lb
              FROM dn LEFT JOIN lbv ON lbv.traject_id = dn.traject_id) x GROUP BY pilot""",
}
_VERKLARING_SQL = {
    "verklaringen-per-pilot": "SELECT pilot, count(DISTINCT deelnemer) AS n FROM vd WHERE pilot IS NOT NULL GROUP BY pilot",
    "werkprocessen-per-verklaring": ("SELECT aantal_werkprocessen AS k, count(*) AS n FROM vd WHERE volgnummer = 1 "
                                     "GROUP BY 1 ORDER BY 1"),
    "brancheorganisaties": ("SELECT array_to_string(brancheorganisaties, ', ') AS k, volgnummer, count(*) AS n "
                            "FROM vd GROUP BY 1, 2"),
    "kwalificaties": "SELECT crebos AS k, volgnummer, count(*) AS n FROM vd GROUP BY 1, 2",
    "domeinen": "SELECT crebos[1] AS k, count(*) AS n FROM vd GROUP BY 1",
    "niveaus": """SELECT niveau, count(*) AS n, count(DISTINCT deelnemer) AS deelnemers FROM (
        SELECT vd.verklaring_id, vd.deelnemer, max(kw.niveau) AS niveau
        FROM vd LEFT JOIN LATERAL unnest(vd.crebos) AS c(crebo) ON true LEFT JOIN kw ON kw.crebo = c.crebo
        GROUP BY vd.verklaring_id, vd.deelnemer) x GROUP BY niveau""",
}


def _kwalificaties(conn: Connection, crebos: Iterable[str]) -> dict[str, tuple[str, int | None, str]]:
    """crebo -> (naam, niveau, domein): kwalificaties.csv, else the KwalificatiedossierVastgesteld
    (the table is only read for crebos the csv does not know)."""
    csv = referentie.kwalificaties()
    out: dict[str, tuple[str, int | None, str]] = {}
    missing = sorted({c for c in crebos if c not in csv})
    if missing:
        out.update({r.crebo: (r.naam, r.niveau, r.domein) for r in _q(
            conn, "SELECT crebo, naam, niveau, domein FROM {s}.dossiers WHERE crebo = ANY(:c)", {"c": missing})})
    for k in csv.values():
        out[k.crebo] = (k.naam, k.niveau, k.domein)
    return out


def _pilot_rows(allowed: list[str] | None, seen: Iterable[str | None]) -> list[tuple[str, str, int | None]]:
    """(pilot_id, naam, tranche) for the 26 pilots by pilot_nr (restricted to ``allowed``), then any
    unknown pilot ids that occur in the data."""
    known = sorted(referentie.pilots().values(), key=lambda p: p.nr)
    rows = [(p.pilot_id, p.naam, p.tranche) for p in known if allowed is None or p.pilot_id in allowed]
    extra = sorted({s for s in seen if s is not None and s not in referentie.pilots()
                    and (allowed is None or s in allowed)})
    return rows + [(s, s, None) for s in extra]


def _volgnummer_split(rows: Iterable[tuple[str, int | None]], weight: Iterable[int] | None = None
                      ) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"eerste": 0, "tweede": 0, "derde": 0, "totaal": 0})
    names = {1: "eerste", 2: "tweede", 3: "derde"}
    weights = iter(weight) if weight is not None else None
    for key, volgnummer in rows:
        n = next(weights) if weights is not None else 1
        cell = out[key]
        if volgnummer in names:
            cell[names[volgnummer]] += n
        cell["totaal"] += n
    return out


# --- overzichten ------------------------------------------------------------------------------------------------

def overzicht(conn: Connection, naam: str, peildatum: dt.date, pilot: str | None = None,
              instelling: str | None = None, regio: str | None = None) -> list[dict[str, Any]]:
    """One of OVERZICHTEN as of ``peildatum``; KeyError for an unknown ``naam``.

    Counted by SQL (GROUP BY over the dated facts as of the peildatum); Python only labels and orders."""
    if naam not in OVERZICHTEN:
        raise KeyError(naam)
    if isinstance(peildatum, dt.datetime):
        peildatum = peildatum.date()
    allowed = _pilots(pilot, regio)
    params: dict[str, Any] = {"d": peildatum, "pilots": allowed, "instelling": instelling}
    if naam in _DEELNEMER_SQL:
        with_ = _dn(allowed, instelling) + (", " + _LBV if naam == "leerbedrijven-per-pilot" else "")
        return _deelnemer_overzicht(naam, _q(conn, f"WITH {with_} {_DEELNEMER_SQL[naam]}", params), allowed)
    joined = naam == "verklaringen-per-pilot" or allowed is not None or instelling is not None
    with_ = _vd_joined(allowed, instelling) if joined else _VD_PLAIN
    if naam == "niveaus":
        csv = referentie.kwalificaties()
        with_ += ", " + _KW_NIVEAU
        params.update(kc=list(csv), kn=[k.niveau for k in csv.values()])
    rows = _q(conn, f"WITH {with_} {_VERKLARING_SQL[naam]}", params)
    if naam == "verklaringen-per-pilot":
        per_pilot = {r.pilot: r.n for r in rows}
        return [{"pilot": pid, "pilot_naam": pnaam, "deelnemers_met_verklaring": per_pilot.get(pid, 0)}
                for pid, pnaam, _ in _pilot_rows(allowed, per_pilot)]
    if naam == "werkprocessen-per-verklaring":
        return [{"aantal_werkprocessen": r.k, "verklaringen": r.n} for r in rows]
    if naam == "brancheorganisaties":
        split = _volgnummer_split(((r.k or NIET_GEREGISTREERD, r.volgnummer) for r in rows), (r.n for r in rows))
        keys = sorted(split, key=lambda k: (k == NIET_GEREGISTREERD, k))
        return [{"brancheorganisaties": k, **split[k]} for k in keys]
    if naam == "niveaus":
        by_niveau = {r.niveau: (r.n, r.deelnemers) for r in rows}
        niveaus: list[int | None] = sorted(set(by_niveau) | {1, 2, 3, 4}, key=lambda n: (n is None, n or 0))
        return [{"niveau": n, "verklaringen": by_niveau.get(n, (0, 0))[0],
                 "deelnemers_met_verklaring": by_niveau.get(n, (0, 0))[1]} for n in niveaus]
    if naam == "domeinen":
        kw = _kwalificaties(conn, [r.k for r in rows if r.k])
        domeinen: Counter[str] = Counter()
        for r in rows:
            domeinen[kw[r.k][2] if r.k in kw else ONBEKEND] += r.n
        return [{"domein": d, "verklaringen": domeinen[d]} for d in sorted(domeinen, key=lambda d: (d == ONBEKEND, d))]
    # kwalificaties
    kw = _kwalificaties(conn, {c for r in rows for c in r.k})
    split = _volgnummer_split(((kwalificatie_key(r.k), r.volgnummer) for r in rows), (r.n for r in rows))
    out = []
    for key in sorted(split):
        crebos = key.split(",") if key else []
        out.append({"kwalificatie": key,
                    "naam": " / ".join(kw[c][0] if c in kw else ONBEKEND for c in crebos),
                    "niveau": _niveau(crebos, kw), **split[key]})
    return out


def _niveau(crebos: Sequence[str], kw: Mapping[str, tuple[str, int | None, str]]) -> int | None:
    niveaus = [n for n in (kw[c][1] for c in crebos if c in kw) if n is not None]
    return max(niveaus) if niveaus else None


def _deelnemer_overzicht(naam: str, rows: list[Any], allowed: list[str] | None) -> list[dict[str, Any]]:
    if naam == "leeftijdsgroepen":
        groups: Counter[str] = Counter()
        for r in rows:
            groups[leeftijdsgroep(r.leeftijd)] += r.n
        return [{"leeftijdsgroep": g, "deelnemers": groups[g]} for g in LEEFTIJDSGROEPEN]
    if naam == "instellingen":
        per: Counter[str] = Counter()
        for r in rows:
            per[instelling_naam(r.mbo_instelling) or ONBEKEND] += r.n
        return [{"mbo_instelling": k, "deelnemers": per[k]} for k in sorted(per, key=lambda k: (k.lower(), k))]
    by_pilot: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_pilot[r.pilot].append(r)
    out: list[dict[str, Any]] = []
    for pid, pnaam, tranche in _pilot_rows(allowed, by_pilot):
        rs = by_pilot.get(pid, [])
        row: dict[str, Any] = {"pilot": pid, "pilot_naam": pnaam}
        if naam == "deelnemers-per-pilot":
            row.update(tranche=tranche, deelnemers=sum(r.n for r in rs))
        elif naam == "geslacht-per-pilot":
            g = {r.geslacht: r.n for r in rs}
            row.update({k: g.get(k, 0) for k in GESLACHTEN})
        else:  # leerbedrijven-per-pilot
            row.update(deelnemers=sum(r.n for r in rs), leerbedrijven=sum(r.leerbedrijven for r in rs),
                       leerbedrijf_onbekend=sum(r.onbekend for r in rs))
        out.append(row)
    return out


# --- aantallen --------------------------------------------------------------------------------------------------

def _months(van: dt.date, tot: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    out = []
    y, m = van.year, van.month
    while (y, m) <= (tot.year, tot.month):
        first = dt.date(y, m, 1)
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        out.append((f"{y:04d}-{m:02d}", first, nxt - dt.timedelta(days=1)))
        y, m = nxt.year, nxt.month
    return out


_GEMEENTE = """COALESCE(i.gemeente, (SELECT a.gemeente FROM {s}.aanmeldingen a WHERE a.deelnemer = i.deelnemer
    AND a.gemeente IS NOT NULL ORDER BY a.occurred_at DESC LIMIT 1))"""
_TRAJ_ALL = """traj AS (
    SELECT t.* FROM (
        SELECT DISTINCT ON (i.traject_id) i.traject_id, i.deelnemer, i.pilot, i.mbo_instelling, i.startdatum,
               {gemeente} AS gemeente
        FROM {s}.inschrijvingen i ORDER BY i.traject_id, i.occurred_at, i.event_id) t
    WHERE {where})"""


def aantallen(conn: Connection, *, regio: str | None, pilot: str | None, gemeente: str | None,
              van: dt.date, tot: dt.date, instelling: str | None = None) -> list[dict[str, Any]]:
    """Per calendar month from van's month to tot's month (whole months):
    aangemeld (KandidaatAangemeld that month; pilot/gemeente of the aanmelding; instelling = of the deelnemer's
    first inschrijving), ingeschreven (inschrijvingen with startdatum that month), actief (trajecten started and
    not beeindigd on the month's last day), verklaringen (issued that month and not revoked by the month's last
    day), beeindigd {reden: n} and uitstroom {type: n} that month. Traject-level counts use the traject's own
    pilot, instelling and gemeente (the inschrijving's, else the deelnemer's latest aanmelding's); uitstroom those
    of the deelnemer's first traject. regio = the pilots of that arbeidsmarktregio."""
    months = _months(van, tot)
    if not months:
        return []
    allowed = _pilots(pilot, regio)
    p = {"pilots": allowed, "instelling": instelling, "gemeente": gemeente,
         "van": months[0][1], "tot": months[-1][2], "ends": [m[2] for m in months]}
    ym = "to_char({col}, 'YYYY-MM')"
    _TRAJ = _TRAJ_ALL.replace("{where}", _where("t", allowed, instelling, gemeente)).replace(
        "{gemeente}", "i.gemeente" if gemeente is None else _GEMEENTE)
    filtered = allowed is not None or instelling is not None or gemeente is not None
    aanmelding_where = _where("a", allowed, None, gemeente)
    if instelling is not None:
        aanmelding_where += (" AND EXISTS (SELECT 1 FROM eerste e WHERE e.deelnemer = a.deelnemer"
                             " AND e.mbo_instelling = :instelling)")
    out: dict[str, dict[str, Any]] = {m: {"maand": m, "aangemeld": 0, "ingeschreven": 0, "actief": 0, "verklaringen": 0,
               "beeindigd": {}, "uitstroom": {}} for m, _, _ in months}
    for r in _q(conn, f"""WITH {_EERSTE}
            SELECT {ym.format(col='a.occurred_on')} AS m, count(*) AS n FROM {{s}}.aanmeldingen a
            WHERE a.occurred_on BETWEEN :van AND :tot AND {aanmelding_where}
            GROUP BY 1""", p):
        out[r.m]["aangemeld"] = r.n
    for r in _q(conn, f"""WITH {_TRAJ}
            SELECT {ym.format(col='t.startdatum')} AS m, count(*) AS n FROM traj t
            WHERE t.startdatum BETWEEN :van AND :tot GROUP BY 1""", p):
        out[r.m]["ingeschreven"] = r.n
    for r in _q(conn, f"""WITH {_TRAJ}
            SELECT {ym.format(col='m.e')} AS m, count(t.traject_id) AS n
            FROM unnest(CAST(:ends AS date[])) AS m(e)
            LEFT JOIN traj t ON t.startdatum <= m.e AND NOT EXISTS (
                SELECT 1 FROM {{s}}.beeindigingen b WHERE b.traject_id = t.traject_id AND b.occurred_on <= m.e)
            GROUP BY m.e""", p):
        out[r.m]["actief"] = r.n
    for r in _q(conn, f"""WITH {_TRAJ}
            SELECT {ym.format(col='v.issued_on')} AS m, count(*) AS n FROM {{s}}.verklaringen v
            JOIN traj t ON t.traject_id = v.traject_id
            WHERE v.issued_on BETWEEN :van AND :tot
              AND (v.revoked_on IS NULL OR v.revoked_on > (date_trunc('month', v.issued_on) + interval '1 month' - interval '1 day')::date)
            GROUP BY 1""", p):
        out[r.m]["verklaringen"] = r.n
    for r in _q(conn, f"""WITH {_TRAJ}
            SELECT {ym.format(col='b.occurred_on')} AS m, b.reden, count(*) AS n FROM {{s}}.beeindigingen b
            JOIN traj t ON t.traject_id = b.traject_id
            WHERE b.occurred_on BETWEEN :van AND :tot GROUP BY 1, 2 ORDER BY 1, 2""", p):
        out[r.m]["beeindigd"][r.reden] = r.n
    for r in _q(conn, f"""WITH {_EERSTE}, {_TRAJ}
            SELECT {ym.format(col='u.occurred_on')} AS m, u.uitstroom, count(*) AS n FROM {{s}}.uitstroom u
            WHERE u.occurred_on BETWEEN :van AND :tot
              AND ({'false' if filtered else 'true'}
                   OR EXISTS (SELECT 1 FROM eerste e JOIN traj t ON t.traject_id = e.traject_id
                              WHERE e.deelnemer = u.deelnemer))
            GROUP BY 1, 2 ORDER BY 1, 2""", p):
        out[r.m]["uitstroom"][r.uitstroom] = r.n
    return [out[m] for m, _, _ in months]


# --- traject, tijdlijn ------------------------------------------------------------------------------------------

def _entry(r: Any) -> dict[str, Any]:
    gegevens = r.gegevens if isinstance(r.gegevens, dict) else json.loads(r.gegevens or "{}")
    return {"event_id": r.event_id, "event_type": r.event_type, "occurred_at": r.occurred_at,
            "recorded_at": r.recorded_at, "partner": r.partner, "traject_id": r.traject_id,
            "verklaring_id": r.verklaring_id, "warnings": list(r.warnings or []), "gegevens": gegevens,
            "afgewezen": False, "reden": None, "melding": None}


def _afwijzing(r: Any) -> dict[str, Any]:
    return {"event_id": r.event_id, "event_type": r.event_type, "occurred_at": None, "recorded_at": r.recorded_at,
            "partner": r.partner, "traject_id": r.traject_id, "verklaring_id": None, "warnings": [],
            "gegevens": {}, "afgewezen": True, "reden": r.reden, "melding": r.melding}


def _merge(events: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events in log order; each rejection placed before the first event recorded after it."""
    pending = sorted(rejected, key=lambda r: (r["recorded_at"] is None, r["recorded_at"] or dt.datetime.min))
    out: list[dict[str, Any]] = []
    for ev in events:
        while pending and ev["recorded_at"] is not None and pending[0]["recorded_at"] is not None \
                and pending[0]["recorded_at"] < ev["recorded_at"]:
            out.append(pending.pop(0))
        out.append(ev)
    return out + pending


_LOG_COLS = "event_id, event_type, occurred_at, recorded_at, partner, traject_id, verklaring_id, warnings, gegevens"
_REJ_COLS = "event_id, event_type, recorded_at, partner, traject_id, reden, melding"


def tijdlijn(conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
    """Every event about the deelnemer in log order, with rejected submissions (``afgewezen: true``) merged in
    by recorded_at; None when the registry knows nothing about them. No persoonsgegevens."""
    events = [_entry(r) for r in _q(conn, f"SELECT {_LOG_COLS} FROM {{s}}.event_log WHERE deelnemer = :d "
                                          "ORDER BY log_partition, log_offset", {"d": deelnemer})]
    rejected = [_afwijzing(r) for r in _q(conn, f"SELECT {_REJ_COLS} FROM {{s}}.afwijzingen WHERE deelnemer = :d "
                                                "ORDER BY recorded_at, log_partition, log_offset", {"d": deelnemer})]
    if not events and not rejected:
        return None
    return _merge(events, rejected)


def traject(conn: Connection, traject_id: str) -> dict[str, Any] | None:
    """Current state of one traject plus its full history (events in log order and rejections about it)."""
    ins = _q(conn, "SELECT deelnemer, mbo_instelling, crebo, pilot, startdatum, leerbedrijf_id FROM {s}.inschrijvingen "
                   "WHERE traject_id = :t ORDER BY occurred_at, event_id LIMIT 1", {"t": traject_id})
    events = [_entry(r) for r in _q(conn, f"""SELECT {_LOG_COLS} FROM {{s}}.event_log
        WHERE traject_id = :t OR verklaring_id IN (SELECT verklaring_id FROM {{s}}.verklaringen WHERE traject_id = :t)
        ORDER BY log_partition, log_offset""", {"t": traject_id})]
    rejected = [_afwijzing(r) for r in _q(conn, f"SELECT {_REJ_COLS} FROM {{s}}.afwijzingen WHERE traject_id = :t "
                                                "ORDER BY recorded_at, log_partition, log_offset", {"t": traject_id})]
    if not ins and not events and not rejected:
        return None
    i = ins[0] if ins else None
    lb = _q(conn, "SELECT leerbedrijf_id FROM {s}.leerbedrijf_vastgelegd WHERE traject_id = :t "
                  "ORDER BY occurred_at DESC, event_id DESC LIMIT 1", {"t": traject_id})
    end = _q(conn, "SELECT reden, occurred_on FROM {s}.beeindigingen WHERE traject_id = :t "
                   "ORDER BY occurred_at, event_id LIMIT 1", {"t": traject_id})
    signed = _q(conn, """SELECT a.crebo, a.werkproces, min(a.occurred_on) AS op, min(w.naam) AS naam
        FROM {s}.aftekeningen a LEFT JOIN {s}.dossier_werkprocessen w ON w.crebo = a.crebo AND w.werkproces = a.werkproces
        WHERE a.traject_id = :t AND a.retracted_at IS NULL GROUP BY a.crebo, a.werkproces ORDER BY 1, 2""",
                {"t": traject_id})
    verkl = _q(conn, "SELECT verklaring_id, volgnummer, issued_on, revoked_on, revoke_reden FROM {s}.verklaringen "
                     "WHERE traject_id = :t ORDER BY issued_at, volgnummer", {"t": traject_id})
    return {
        "traject_id": traject_id,
        "deelnemer": i.deelnemer if i else None,
        "mbo_instelling": i.mbo_instelling if i else None,
        "mbo_instelling_naam": instelling_naam(i.mbo_instelling) if i else None,
        "crebo": i.crebo if i else None,
        "pilot": i.pilot if i else None,
        "startdatum": i.startdatum if i else None,
        "leerbedrijf_id": lb[0].leerbedrijf_id if lb else (i.leerbedrijf_id if i else None),
        "status": "beeindigd" if end else "open",
        "reden": end[0].reden if end else None,
        "beeindigd_op": end[0].occurred_on if end else None,
        "afgetekende_werkprocessen": [{"crebo": r.crebo, "werkproces": r.werkproces, "naam": r.naam,
                                       "afgetekend_op": r.op} for r in signed],
        "verklaringen": [{"verklaring_id": r.verklaring_id, "volgnummer": r.volgnummer, "uitgegeven_op": r.issued_on,
                          "status": "ingetrokken" if r.revoked_on else "geldig", "ingetrokken_op": r.revoked_on,
                          "reden_intrekking": r.revoke_reden} for r in verkl],
        "events": _merge(events, rejected),
    }


# --- verificatie ------------------------------------------------------------------------------------------------

def verificatie(conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
    """Public check of a praktijkverklaring: no deelnemer pseudonym, no traject id, no personal data."""
    rows = _q(conn, """SELECT v.verklaring_id, v.crebos, v.brancheorganisaties, v.leerbedrijf_id, v.issued_on,
               v.revoked_on, v.revoke_reden, v.partner,
               (SELECT i.mbo_instelling FROM {s}.inschrijvingen i WHERE i.traject_id = v.traject_id
                ORDER BY i.occurred_at, i.event_id LIMIT 1) AS mbo_instelling,
               (SELECT l.naam FROM {s}.leerbedrijven l WHERE l.leerbedrijf_id = v.leerbedrijf_id) AS leerbedrijf_naam
        FROM {s}.verklaringen v WHERE v.verklaring_id = :v""", {"v": verklaring_id})
    if not rows:
        return None
    v = rows[0]
    kw = _kwalificaties(conn, v.crebos)
    wps = _q(conn, """SELECT vw.crebo, vw.werkproces, w.naam FROM {s}.verklaring_werkprocessen vw
        LEFT JOIN {s}.dossier_werkprocessen w ON w.crebo = vw.crebo AND w.werkproces = vw.werkproces
        WHERE vw.verklaring_id = :v ORDER BY vw.crebo, vw.werkproces""", {"v": verklaring_id})
    instelling = v.mbo_instelling or (v.partner if str(v.partner or "").startswith("mbo.") else None)
    return {
        "verklaring_id": v.verklaring_id,
        "status": "ingetrokken" if v.revoked_on else "geldig",
        "ingetrokken_op": v.revoked_on,
        "reden_intrekking": v.revoke_reden,
        "mbo_instelling": instelling_naam(instelling),
        "kwalificatie": kwalificatie_key(v.crebos),
        "kwalificaties": [{"crebo": c, "naam": kw[c][0] if c in kw else None, "niveau": kw[c][1] if c in kw else None}
                          for c in v.crebos],
        "werkprocessen": [{"crebo": w.crebo, "werkproces": w.werkproces, "naam": w.naam} for w in wps],
        "leerbedrijf": {"leerbedrijf_id": v.leerbedrijf_id, "naam": v.leerbedrijf_naam},
        "uitgegeven_op": v.issued_on,
        "brancheorganisaties": list(v.brancheorganisaties),
    }


# --- operations and authorisation ----------------------------------------------------------------------------------

def projection_status(conn: Connection) -> list[dict[str, Any]]:
    """One row per projection and (topic, partition): the stored next_offset and the recorded_at of the last
    applied event; a projection that has stored nothing yet gets one row with topic/partition None."""
    rows = _q(conn, "SELECT projection, topic, partition, next_offset, last_recorded_at, updated_at "
                    "FROM {s}.projection_offsets ORDER BY projection, topic, partition")
    out: list[dict[str, Any]] = []
    seen = set()
    for r in rows:
        seen.add(r.projection)
        group = PROJECTIONS[r.projection].consumer_group if r.projection in PROJECTIONS else None
        out.append({"projection": r.projection, "group": group, "topic": r.topic, "partition": r.partition,
                    "next_offset": r.next_offset, "last_recorded_at": r.last_recorded_at, "updated_at": r.updated_at})
    for name, p in PROJECTIONS.items():
        if name not in seen:
            out.append({"projection": name, "group": p.consumer_group, "topic": None, "partition": None,
                        "next_offset": None, "last_recorded_at": None, "updated_at": None})
    return out


def instelling_of_traject(conn: Connection, traject_id: str) -> str | None:
    """The mbo partner id (mbo.<id>) that enrolled the traject, or None."""
    rows = _q(conn, "SELECT mbo_instelling FROM {s}.inschrijvingen WHERE traject_id = :t "
                    "ORDER BY occurred_at, event_id LIMIT 1", {"t": traject_id})
    return rows[0].mbo_instelling if rows else None


def instellingen_of_deelnemer(conn: Connection, deelnemer: str) -> set[str]:
    """Every mbo partner id that enrolled the deelnemer or gave them an advies."""
    rows = _q(conn, "SELECT mbo_instelling FROM {s}.inschrijvingen WHERE deelnemer = :d "
                    "UNION SELECT mbo_instelling FROM {s}.adviezen WHERE deelnemer = :d AND mbo_instelling IS NOT NULL",
              {"d": deelnemer})
    return {r.mbo_instelling for r in rows}
