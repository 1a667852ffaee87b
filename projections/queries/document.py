"""The facts of one praktijkverklaring for its printed document and its signed credential, the verklaringen a
short code stands for, and the revocations per partition of the canonical log (the status list).

No persoonsgegevens are read here: ``persoonsgegevens_posities`` are the log positions (partition, offset) of the
events that carry the sealed naam/geboortedatum (the traject's DeelnemerIngeschreven first, then the deelnemer's
KandidaatAangemeld, newest first); the API reads and opens them from the canonical log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from projections.queries.common import rows
from projections.queries.verklaring import verificatie
from registry.domein import referentie


def verklaring_document(conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
    """The public facts (as ``verificatie``) plus what the document and credential need; None when unknown."""
    publiek = verificatie(conn, verklaring_id)
    if publiek is None:
        return None
    v = rows(
        conn,
        """SELECT v.deelnemer, v.traject_id, v.volgnummer, v.issued_at, v.revoked_at, v.partner,
               (SELECT i.mbo_instelling FROM {s}.inschrijvingen i WHERE i.traject_id = v.traject_id
                ORDER BY i.occurred_at, i.event_id LIMIT 1) AS mbo_instelling,
               (SELECT min(w.occurred_on) FROM {s}.verwijderingen w WHERE w.deelnemer = v.deelnemer) AS verwijderd_op,
               (SELECT e.log_partition FROM {s}.event_log e WHERE e.event_id = v.event_id) AS log_partition,
               (SELECT e.log_offset FROM {s}.event_log e WHERE e.event_id = v.event_id) AS log_offset
        FROM {s}.verklaringen v WHERE v.verklaring_id = :v""",
        {"v": verklaring_id},
    )[0]
    wps = {
        (w.crebo, w.werkproces): w
        for w in rows(
            conn,
            """SELECT vw.crebo, vw.werkproces, w.kerntaak, w.kerntaak_naam
        FROM {s}.verklaring_werkprocessen vw
        LEFT JOIN {s}.dossier_werkprocessen w ON w.crebo = vw.crebo AND w.werkproces = vw.werkproces
        WHERE vw.verklaring_id = :v""",
            {"v": verklaring_id},
        )
    }
    werkprocessen = []
    for w in publiek["werkprocessen"]:
        extra = wps.get((w["crebo"], w["werkproces"]))
        werkprocessen.append(
            {
                **w,
                "kerntaak": extra.kerntaak if extra else None,
                "kerntaak_naam": extra.kerntaak_naam if extra else None,
            }
        )
    leerbedrijf = dict(publiek["leerbedrijf"])
    if not leerbedrijf.get("leerbedrijf_id"):  # not on the verklaring: the traject's latest, else its inschrijving's
        found = rows(
            conn,
            """SELECT lb.leerbedrijf_id, l.naam FROM (
                SELECT leerbedrijf_id, occurred_at, 1 AS bron FROM {s}.leerbedrijf_vastgelegd WHERE traject_id = :t
                UNION ALL SELECT leerbedrijf_id, occurred_at, 0 FROM {s}.inschrijvingen
                WHERE traject_id = :t AND leerbedrijf_id IS NOT NULL) lb
            LEFT JOIN {s}.leerbedrijven l ON l.leerbedrijf_id = lb.leerbedrijf_id
            ORDER BY lb.bron DESC, lb.occurred_at DESC LIMIT 1""",
            {"t": v.traject_id},
        )
        if found:
            leerbedrijf = {"leerbedrijf_id": found[0].leerbedrijf_id, "naam": found[0].naam}
    posities = rows(
        conn,
        """SELECT log_partition, log_offset FROM {s}.event_log
        WHERE (event_type = 'DeelnemerIngeschreven' AND traject_id = :t)
           OR (event_type = 'KandidaatAangemeld' AND deelnemer = :d)
        ORDER BY (event_type = 'DeelnemerIngeschreven') DESC, occurred_at DESC, log_offset DESC""",
        {"t": v.traject_id, "d": v.deelnemer},
    )
    branches = referentie.brancheorganisaties()
    instelling = v.mbo_instelling or (v.partner if str(v.partner or "").startswith("mbo.") else None)
    return {
        **publiek,
        "werkprocessen": werkprocessen,
        "leerbedrijf": leerbedrijf,
        "brancheorganisatie_namen": [branches.get(b, b) for b in publiek["brancheorganisaties"]],
        "mbo_instelling_id": instelling,
        "deelnemer": v.deelnemer,
        "traject_id": v.traject_id,
        "volgnummer": v.volgnummer,
        "uitgegeven_om": v.issued_at,
        "verwijderd_op": v.verwijderd_op,
        "log_positie": None if v.log_partition is None else (v.log_partition, v.log_offset),
        "persoonsgegevens_posities": [(p.log_partition, p.log_offset) for p in posities],
    }


def verklaringen_met_prefix(conn: Connection, prefix: str) -> list[str]:
    """The verklaring ids starting with ``prefix`` (a short code's ``xxxxxxxx-xxxx``), at most two."""
    return [
        r.verklaring_id
        for r in rows(
            conn,
            """SELECT verklaring_id FROM {s}.verklaringen
        WHERE verklaring_id LIKE :p ORDER BY verklaring_id LIMIT 2""",
            {"p": prefix.replace("%", "").replace("_", "") + "%"},
        )
    ]


def ingetrokken_in_partitie(conn: Connection, partitie: int) -> tuple[set[int], int]:
    """(log offsets of the revoked verklaringen issued on ``partitie`` of the canonical log, the highest offset of
    any verklaring there or -1): the bits and the length of that partition's status list."""
    found = rows(
        conn,
        """SELECT e.log_offset, v.revoked_at IS NOT NULL AS ingetrokken FROM {s}.verklaringen v
        JOIN {s}.event_log e ON e.event_id = v.event_id WHERE e.log_partition = :p""",
        {"p": partitie},
    )
    return {r.log_offset for r in found if r.ingetrokken}, max((r.log_offset for r in found), default=-1)
