"""Monthly aantallen: per calendar month the aanmeldingen, inschrijvingen, active trajecten,
verklaringen, beeindigingen and uitstroom, filtered by regio, pilot, gemeente and instelling."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from projections.queries.common import EERSTE, RK, allowed_pilots, rows, where


def _months(van: dt.date, tot: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(YYYY-MM, first day, last day) of every month from van's month to tot's month."""
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


def aantallen(
    conn: Connection,
    *,
    regio: str | None,
    pilot: str | None,
    gemeente: str | None,
    van: dt.date,
    tot: dt.date,
    instelling: str | None = None,
    sleutels: bool = False,
) -> list[dict[str, Any]]:
    """Per calendar month from van's month to tot's month (whole months):
    aangemeld (KandidaatAangemeld that month; pilot/gemeente of the aanmelding; instelling = of the deelnemer's
    first inschrijving), ingeschreven (inschrijvingen with startdatum that month), actief (trajecten started and
    not beeindigd on the month's last day), verklaringen (issued that month and not revoked by the month's last
    day), beeindigd {reden: n} and uitstroom {type: n} that month. Traject-level counts use the traject's own
    pilot, instelling and gemeente (the inschrijving's, else the deelnemer's latest aanmelding's); uitstroom those
    of the deelnemer's first traject. regio = the pilots of that arbeidsmarktregio.

    ``sleutels``: the same rows with, instead of each count, the sum of the record keys of the deelnemers of the
    records it counts (the cell key method)."""
    months = _months(van, tot)

    def tel(alias: str) -> str:
        """The count of a group of rows (or their record-key sum) of the table under ``alias``."""
        if not sleutels:
            return "count(*)" if alias != "t" else "count(t.traject_id)"
        return f"COALESCE(sum({RK.format(s='{s}', a=alias)}), 0)"

    if not months:
        return []
    allowed = allowed_pilots(pilot, regio)
    p = {
        "pilots": allowed,
        "instelling": instelling,
        "gemeente": gemeente,
        "van": months[0][1],
        "tot": months[-1][2],
        "ends": [m[2] for m in months],
    }
    ym = "to_char({col}, 'YYYY-MM')"
    traj = _TRAJ_ALL.replace("{where}", where("t", allowed, instelling, gemeente)).replace(
        "{gemeente}", "i.gemeente" if gemeente is None else _GEMEENTE
    )
    filtered = allowed is not None or instelling is not None or gemeente is not None
    aanmelding_where = where("a", allowed, None, gemeente)
    if instelling is not None:
        aanmelding_where += (
            " AND EXISTS (SELECT 1 FROM eerste e WHERE e.deelnemer = a.deelnemer AND e.mbo_instelling = :instelling)"
        )
    out: dict[str, dict[str, Any]] = {
        m: {
            "maand": m,
            "aangemeld": 0,
            "ingeschreven": 0,
            "actief": 0,
            "verklaringen": 0,
            "beeindigd": {},
            "uitstroom": {},
        }
        for m, _, _ in months
    }
    for r in rows(
        conn,
        f"""WITH {EERSTE}
            SELECT {ym.format(col="a.occurred_on")} AS m, {tel("a")} AS n FROM {{s}}.aanmeldingen a
            WHERE a.occurred_on BETWEEN :van AND :tot AND {aanmelding_where}
            GROUP BY 1""",
        p,
    ):
        out[r.m]["aangemeld"] = r.n
    for r in rows(
        conn,
        f"""WITH {traj}
            SELECT {ym.format(col="t.startdatum")} AS m, {tel("t")} AS n FROM traj t
            WHERE t.startdatum BETWEEN :van AND :tot GROUP BY 1""",
        p,
    ):
        out[r.m]["ingeschreven"] = r.n
    for r in rows(
        conn,
        f"""WITH {traj}
            SELECT {ym.format(col="m.e")} AS m, {tel("t")} AS n
            FROM unnest(CAST(:ends AS date[])) AS m(e)
            LEFT JOIN traj t ON t.startdatum <= m.e AND NOT EXISTS (
                SELECT 1 FROM {{s}}.beeindigingen b WHERE b.traject_id = t.traject_id AND b.occurred_on <= m.e)
            GROUP BY m.e""",
        p,
    ):
        out[r.m]["actief"] = r.n
    for r in rows(
        conn,
        f"""WITH {traj}
            SELECT {ym.format(col="v.issued_on")} AS m, {tel("v")} AS n FROM {{s}}.verklaringen v
            JOIN traj t ON t.traject_id = v.traject_id
            WHERE v.issued_on BETWEEN :van AND :tot
              AND (v.revoked_on IS NULL OR v.revoked_on > (date_trunc('month', v.issued_on) + interval '1 month' - interval '1 day')::date)
            GROUP BY 1""",
        p,
    ):
        out[r.m]["verklaringen"] = r.n
    for r in rows(
        conn,
        f"""WITH {traj}
            SELECT {ym.format(col="b.occurred_on")} AS m, b.reden, {tel("b")} AS n FROM {{s}}.beeindigingen b
            JOIN traj t ON t.traject_id = b.traject_id
            WHERE b.occurred_on BETWEEN :van AND :tot GROUP BY 1, 2 ORDER BY 1, 2""",
        p,
    ):
        out[r.m]["beeindigd"][r.reden] = r.n
    for r in rows(
        conn,
        f"""WITH {EERSTE}, {traj}
            SELECT {ym.format(col="u.occurred_on")} AS m, u.uitstroom, {tel("u")} AS n FROM {{s}}.uitstroom u
            WHERE u.occurred_on BETWEEN :van AND :tot
              AND ({"false" if filtered else "true"}
                   OR EXISTS (SELECT 1 FROM eerste e JOIN traj t ON t.traject_id = e.traject_id
                              WHERE e.deelnemer = u.deelnemer))
            GROUP BY 1, 2 ORDER BY 1, 2""",
        p,
    ):
        out[r.m]["uitstroom"][r.uitstroom] = r.n
    return [out[m] for m, _, _ in months]
