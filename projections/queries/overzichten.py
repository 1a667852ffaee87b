"""The evaluation's overzichten as of a peildatum: counted by SQL (GROUP BY over the dated facts),
labelled and ordered in Python."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row

from projections.queries.common import (
    EERSTE,
    RK,
    Kwalificaties,
    allowed_pilots,
    instelling_naam,
    kwalificatie_key,
    kwalificaties,
    where,
)
from projections.queries.common import rows as query_rows
from registry.domein import referentie
from registry.domein.telregels import GESLACHTEN, LEEFTIJDSGROEPEN, NIET_GEREGISTREERD, ONBEKEND, leeftijdsgroep

_DEELNEMER = (
    "deelnemer of a pilot at D = its FIRST inschrijving (earliest startdatum) has startdatum <= D; "
    "pilot/instelling/geslacht/leeftijd are those of that first inschrijving"
)
_VERKLARING = "verklaring counts at D = issued on or before D and not revoked on or before D"
_PILOTS = "all 26 pilots by pilot_nr, zeros included; no total row (sum the column)"

OVERZICHTEN: dict[str, str] = {
    "deelnemers-per-pilot": f"Deelnemers per pilot (3.2): pilot, pilot_naam, tranche, deelnemers. {_DEELNEMER}; {_PILOTS}.",
    "geslacht-per-pilot": f"Geslacht per pilot (4.2): pilot, pilot_naam, man, vrouw, onbekend. {_DEELNEMER}; {_PILOTS}.",
    "leeftijdsgroepen": (
        "Leeftijdsgroep at the first inschrijving (4.3): leeftijdsgroep, deelnemers; the five groups "
        f"in age order, zeros included, no total row. {_DEELNEMER}."
    ),
    "werkprocessen-per-verklaring": (
        "Werkprocessen per verklaring (5.1): aantal_werkprocessen, verklaringen; FIRST "
        f"verklaringen only (volgnummer 1), distinct werkprocessen; {_VERKLARING}; "
        "ascending aantal, only counts that occur, no total row."
    ),
    "domeinen": (
        f"Mbo-domein of verklaringen (5.2): domein, verklaringen; all verklaringen (any volgnummer); "
        f"domein of the verklaring's lowest crebo; {_VERKLARING}; by domein name, no total row."
    ),
    "leerbedrijven-per-pilot": (
        "Leerbedrijven per pilot (5.3): pilot, pilot_naam, deelnemers, leerbedrijven, "
        "leerbedrijf_onbekend; leerbedrijven = distinct leerbedrijf_id current at D on the "
        "deelnemers' first traject (latest LeerbedrijfVastgelegd on or before D, else the "
        "inschrijving's); leerbedrijf_onbekend = deelnemers whose first traject has none; "
        f"{_DEELNEMER}; {_PILOTS}."
    ),
    "verklaringen-per-pilot": (
        "Deelnemers with a verklaring per pilot (6.1): pilot, pilot_naam, "
        f"deelnemers_met_verklaring (distinct deelnemers with >= 1 verklaring); {_VERKLARING}; "
        f"pilot of the deelnemer's first inschrijving; {_PILOTS}."
    ),
    "niveaus": (
        "Verklaringen by niveau (6.2): niveau, verklaringen, deelnemers_met_verklaring; niveau = highest "
        f"niveau among the verklaring's crebos; niveaus 1-4 always listed; {_VERKLARING}; no total row."
    ),
    "instellingen": (
        "Deelnemers per mbo-instelling (7.2): mbo_instelling (name), deelnemers; instelling of the first "
        f"inschrijving; only instellingen with deelnemers, by name; {_DEELNEMER}; no total row."
    ),
    "brancheorganisaties": (
        "Brancheorganisaties on verklaringen (B1): brancheorganisaties (sorted, joined by ', '; "
        f"none -> '{NIET_GEREGISTREERD}'), eerste, tweede, derde (by volgnummer 1/2/3), totaal "
        f"(all volgnummers); {_VERKLARING}; by key, '{NIET_GEREGISTREERD}' last; no total row."
    ),
    "kwalificaties": (
        "Kwalificaties of verklaringen (B2): kwalificatie (crebo, or sorted distinct crebos joined by ',' "
        "when the werkprocessen span several), naam, niveau (highest), eerste, tweede, derde (by "
        f"volgnummer 1/2/3), totaal (all volgnummers); {_VERKLARING}; by kwalificatie; no total row."
    ),
}


def _dn(pilots: list[str] | None, instelling: str | None, sleutels: bool = False) -> str:
    """Deelnemers counted at :d (their first inschrijving has started), with the filters (and their record key
    ``rk`` when ``sleutels``)."""
    rk = ", " + RK.format(s="{s}", a="e") + " AS rk" if sleutels else ""
    return (
        f"{EERSTE}, dn AS (SELECT e.*{rk} FROM eerste e WHERE e.startdatum <= :d AND {where('e', pilots, instelling)})"
    )


# the leerbedrijf current at :d per traject: the latest LeerbedrijfVastgelegd on or before :d
_LBV = """lbv AS (SELECT DISTINCT ON (traject_id) traject_id, leerbedrijf_id FROM {s}.leerbedrijf_vastgelegd
    WHERE occurred_on <= :d ORDER BY traject_id, occurred_at DESC, event_id DESC)"""


def _vd_plain(sleutels: bool = False) -> str:
    rk = ", " + RK.format(s="{s}", a="v") + " AS rk" if sleutels else ""
    return f"""vd AS (SELECT v.*, CAST(NULL AS text) AS pilot{rk} FROM {{s}}.verklaringen v
    WHERE v.issued_on <= :d AND (v.revoked_on IS NULL OR v.revoked_on > :d))"""


def _vd_joined(pilots: list[str] | None, instelling: str | None, sleutels: bool = False) -> str:
    rk = ", " + RK.format(s="{s}", a="v") + " AS rk" if sleutels else ""
    return f"""{EERSTE}, vd AS (SELECT v.*, e.pilot{rk} FROM {{s}}.verklaringen v LEFT JOIN eerste e ON e.deelnemer = v.deelnemer
    WHERE v.issued_on <= :d AND (v.revoked_on IS NULL OR v.revoked_on > :d) AND {where("e", pilots, instelling)})"""


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
    "werkprocessen-per-verklaring": (
        "SELECT aantal_werkprocessen AS k, count(*) AS n FROM vd WHERE volgnummer = 1 GROUP BY 1 ORDER BY 1"
    ),
    "brancheorganisaties": (
        "SELECT array_to_string(brancheorganisaties, ', ') AS k, volgnummer, count(*) AS n FROM vd GROUP BY 1, 2"
    ),
    "kwalificaties": "SELECT crebos AS k, volgnummer, count(*) AS n FROM vd GROUP BY 1, 2",
    "domeinen": "SELECT crebos[1] AS k, count(*) AS n FROM vd GROUP BY 1",
    "niveaus": """SELECT niveau, count(*) AS n, count(DISTINCT deelnemer) AS deelnemers FROM (
        SELECT vd.verklaring_id, vd.deelnemer, max(kw.niveau) AS niveau
        FROM vd LEFT JOIN LATERAL unnest(vd.crebos) AS c(crebo) ON true LEFT JOIN kw ON kw.crebo = c.crebo
        GROUP BY vd.verklaring_id, vd.deelnemer) x GROUP BY niveau""",
}
# the same tables with, in every count column, the sum of the record keys of the records counted (a deelnemer once
# per cell of deelnemers, a verklaring's deelnemer once per verklaring): the cell keys of registry/domein/onthulling.py.
# Column names are those of the counts, so the same labelling adds them up into the same cells.
_DEELNEMER_SLEUTEL_SQL = {
    "deelnemers-per-pilot": "SELECT pilot, sum(rk) AS n FROM dn GROUP BY pilot",
    "geslacht-per-pilot": "SELECT pilot, geslacht, sum(rk) AS n FROM dn GROUP BY pilot, geslacht",
    "leeftijdsgroepen": "SELECT leeftijd, sum(rk) AS n FROM dn GROUP BY leeftijd",
    "instellingen": "SELECT mbo_instelling, sum(rk) AS n FROM dn GROUP BY mbo_instelling",
    # leerbedrijven: keyed by the deelnemers whose leerbedrijf is known (the records behind the distinct count)
    "leerbedrijven-per-pilot": """SELECT pilot, sum(rk) AS n, COALESCE(sum(rk) FILTER (WHERE lb IS NOT NULL), 0)
        AS leerbedrijven, COALESCE(sum(rk) FILTER (WHERE lb IS NULL), 0) AS onbekend
        FROM (SELECT dn.pilot, dn.rk, COALESCE(lbv.leerbedrijf_id, dn.leerbedrijf_id) AS lb
              FROM dn LEFT JOIN lbv ON lbv.traject_id = dn.traject_id) x GROUP BY pilot""",
}
_VERKLARING_SLEUTEL_SQL = {
    "verklaringen-per-pilot": """SELECT pilot, sum(rk) AS n FROM (SELECT DISTINCT pilot, deelnemer, rk FROM vd
        WHERE pilot IS NOT NULL) x GROUP BY pilot""",
    "werkprocessen-per-verklaring": (
        "SELECT aantal_werkprocessen AS k, sum(rk) AS n FROM vd WHERE volgnummer = 1 GROUP BY 1 ORDER BY 1"
    ),
    "brancheorganisaties": (
        "SELECT array_to_string(brancheorganisaties, ', ') AS k, volgnummer, sum(rk) AS n FROM vd GROUP BY 1, 2"
    ),
    "kwalificaties": "SELECT crebos AS k, volgnummer, sum(rk) AS n FROM vd GROUP BY 1, 2",
    "domeinen": "SELECT crebos[1] AS k, sum(rk) AS n FROM vd GROUP BY 1",
    "niveaus": """SELECT niveau, sum(rk) AS n, sum(rk) FILTER (WHERE eerste) AS deelnemers FROM (
        SELECT niveau, rk, row_number() OVER (PARTITION BY niveau, deelnemer) = 1 AS eerste FROM (
            SELECT vd.verklaring_id, vd.deelnemer, vd.rk, max(kw.niveau) AS niveau
            FROM vd LEFT JOIN LATERAL unnest(vd.crebos) AS c(crebo) ON true LEFT JOIN kw ON kw.crebo = c.crebo
            GROUP BY vd.verklaring_id, vd.deelnemer, vd.rk) y) x GROUP BY niveau""",
}


def _pilot_rows(allowed: list[str] | None, seen: Iterable[str | None]) -> list[tuple[str, str, int | None]]:
    """(pilot_id, naam, tranche) for the 26 pilots by pilot_nr (restricted to ``allowed``), then any
    unknown pilot ids that occur in the data."""
    known = sorted(referentie.pilots().values(), key=lambda p: p.nr)
    rows = [(p.pilot_id, p.naam, p.tranche) for p in known if allowed is None or p.pilot_id in allowed]
    extra = sorted(
        {s for s in seen if s is not None and s not in referentie.pilots() and (allowed is None or s in allowed)}
    )
    return rows + [(s, s, None) for s in extra]


def _volgnummer_split(
    rows: Iterable[tuple[str, int | None]], weight: Iterable[int] | None = None
) -> dict[str, dict[str, int]]:
    """key -> counts per volgnummer (eerste/tweede/derde) and over all volgnummers (totaal)."""
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


def overzicht(
    conn: Connection,
    naam: str,
    peildatum: dt.date,
    pilot: str | None = None,
    instelling: str | None = None,
    regio: str | None = None,
    *,
    sleutels: bool = False,
) -> list[dict[str, Any]]:
    """One of OVERZICHTEN as of ``peildatum``; KeyError for an unknown ``naam``.

    Counted by SQL (GROUP BY over the dated facts as of the peildatum); Python only labels and orders.
    ``sleutels``: the same rows with, in each count column, the sum of the record keys of what it counts."""
    if naam not in OVERZICHTEN:
        raise KeyError(naam)
    if isinstance(peildatum, dt.datetime):
        peildatum = peildatum.date()
    allowed = allowed_pilots(pilot, regio)
    params: dict[str, Any] = {"d": peildatum, "pilots": allowed, "instelling": instelling}
    if naam in _DEELNEMER_SQL:
        with_ = _dn(allowed, instelling, sleutels) + (", " + _LBV if naam == "leerbedrijven-per-pilot" else "")
        select = (_DEELNEMER_SLEUTEL_SQL if sleutels else _DEELNEMER_SQL)[naam]
        return _deelnemer_overzicht(naam, query_rows(conn, f"WITH {with_} {select}", params), allowed)
    joined = naam == "verklaringen-per-pilot" or allowed is not None or instelling is not None
    with_ = _vd_joined(allowed, instelling, sleutels) if joined else _vd_plain(sleutels)
    if naam == "niveaus":
        csv = referentie.kwalificaties()
        with_ += ", " + _KW_NIVEAU
        params.update(kc=list(csv), kn=[k.niveau for k in csv.values()])
    rows = query_rows(conn, f"WITH {with_} {(_VERKLARING_SLEUTEL_SQL if sleutels else _VERKLARING_SQL)[naam]}", params)
    return _verklaring_overzicht(conn, naam, rows, allowed)


def _verklaring_overzicht(
    conn: Connection, naam: str, rows: list[Row[Any]], allowed: list[str] | None
) -> list[dict[str, Any]]:
    if naam == "verklaringen-per-pilot":
        per_pilot = {r.pilot: r.n for r in rows}
        return [
            {"pilot": pid, "pilot_naam": pnaam, "deelnemers_met_verklaring": per_pilot.get(pid, 0)}
            for pid, pnaam, _ in _pilot_rows(allowed, per_pilot)
        ]
    if naam == "werkprocessen-per-verklaring":
        return [{"aantal_werkprocessen": r.k, "verklaringen": r.n} for r in rows]
    if naam == "brancheorganisaties":
        split = _volgnummer_split(((r.k or NIET_GEREGISTREERD, r.volgnummer) for r in rows), (r.n for r in rows))
        keys = sorted(split, key=lambda k: (k == NIET_GEREGISTREERD, k))
        return [{"brancheorganisaties": k, **split[k]} for k in keys]
    if naam == "niveaus":
        by_niveau = {r.niveau: (r.n, r.deelnemers) for r in rows}
        niveaus: list[int | None] = sorted(set(by_niveau) | {1, 2, 3, 4}, key=lambda n: (n is None, n or 0))
        return [
            {
                "niveau": n,
                "verklaringen": by_niveau.get(n, (0, 0))[0],
                "deelnemers_met_verklaring": by_niveau.get(n, (0, 0))[1],
            }
            for n in niveaus
        ]
    if naam == "domeinen":
        kw = kwalificaties(conn, [r.k for r in rows if r.k])
        domeinen: Counter[str] = Counter()
        for r in rows:
            domeinen[kw[r.k][2] if r.k in kw else ONBEKEND] += r.n
        return [{"domein": d, "verklaringen": domeinen[d]} for d in sorted(domeinen, key=lambda d: (d == ONBEKEND, d))]
    # kwalificaties
    kw = kwalificaties(conn, {c for r in rows for c in r.k})
    split = _volgnummer_split(((kwalificatie_key(r.k), r.volgnummer) for r in rows), (r.n for r in rows))
    out = []
    for key in sorted(split):
        crebos = key.split(",") if key else []
        out.append(
            {
                "kwalificatie": key,
                "naam": " / ".join(kw[c][0] if c in kw else ONBEKEND for c in crebos),
                "niveau": _niveau(crebos, kw),
                **split[key],
            }
        )
    return out


def _niveau(crebos: Sequence[str], kw: Kwalificaties) -> int | None:
    niveaus = [n for n in (kw[c][1] for c in crebos if c in kw) if n is not None]
    return max(niveaus) if niveaus else None


def _deelnemer_overzicht(naam: str, rows: list[Row[Any]], allowed: list[str] | None) -> list[dict[str, Any]]:
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
    by_pilot: dict[str, list[Row[Any]]] = defaultdict(list)
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
            row.update(
                deelnemers=sum(r.n for r in rs),
                leerbedrijven=sum(r.leerbedrijven for r in rs),
                leerbedrijf_onbekend=sum(r.onbekend for r in rs),
            )
        out.append(row)
    return out
