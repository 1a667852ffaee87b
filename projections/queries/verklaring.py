"""Public verification of a praktijkverklaring (no deelnemer pseudonym, no traject id, no personal data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from projections.queries.common import instelling_naam, kwalificatie_key, kwalificaties, rows
from registry.domein import redenen


def verificatie(conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
    """Public check of a praktijkverklaring: no deelnemer pseudonym, no traject id, no personal data."""
    found = rows(
        conn,
        """SELECT v.verklaring_id, v.crebos, v.brancheorganisaties, v.leerbedrijf_id, v.issued_on,
               v.revoked_on, v.revoke_reden, v.partner,
               (SELECT i.mbo_instelling FROM {s}.inschrijvingen i WHERE i.traject_id = v.traject_id
                ORDER BY i.occurred_at, i.event_id LIMIT 1) AS mbo_instelling,
               (SELECT l.naam FROM {s}.leerbedrijven l WHERE l.leerbedrijf_id = v.leerbedrijf_id) AS leerbedrijf_naam,
               (SELECT o.ondertekend_op FROM {s}.verklaring_ondertekening o WHERE o.verklaring_id = v.verklaring_id)
                 AS ondertekend_op
        FROM {s}.verklaringen v WHERE v.verklaring_id = :v""",
        {"v": verklaring_id},
    )
    if not found:
        return None
    v = found[0]
    kw = kwalificaties(conn, v.crebos)
    wps = rows(
        conn,
        """SELECT vw.crebo, vw.werkproces, w.naam FROM {s}.verklaring_werkprocessen vw
        LEFT JOIN {s}.dossier_werkprocessen w ON w.crebo = vw.crebo AND w.werkproces = vw.werkproces
        WHERE vw.verklaring_id = :v ORDER BY vw.crebo, vw.werkproces""",
        {"v": verklaring_id},
    )
    # a verklaring without an inschrijving in the log: an mbo partner that issued it is the instelling
    instelling = v.mbo_instelling or (v.partner if str(v.partner or "").startswith("mbo.") else None)
    return {
        "verklaring_id": v.verklaring_id,
        "status": "ingetrokken" if v.revoked_on else "geldig",
        "ingetrokken_op": v.revoked_on,
        "reden_intrekking": redenen.label("PraktijkverklaringIngetrokken", v.revoke_reden),  # never free text
        "mbo_instelling": instelling_naam(instelling),
        "kwalificatie": kwalificatie_key(v.crebos),
        "kwalificaties": [
            {"crebo": c, "naam": kw[c][0] if c in kw else None, "niveau": kw[c][1] if c in kw else None}
            for c in v.crebos
        ],
        "werkprocessen": [{"crebo": w.crebo, "werkproces": w.werkproces, "naam": w.naam} for w in wps],
        "leerbedrijf": {"leerbedrijf_id": v.leerbedrijf_id, "naam": v.leerbedrijf_naam},
        "uitgegeven_op": v.issued_on,
        "ondertekend_op": v.ondertekend_op,  # the date the praktijkopleider signed; never who (not in the read model)
        "brancheorganisaties": list(v.brancheorganisaties),
    }
