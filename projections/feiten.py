"""Projection ``feiten``: the dated facts the overzichten are computed from.

One row per business fact with its dates (``occurred_at`` + its Dutch calendar
day ``occurred_on``; ``startdatum`` for inschrijvingen). Nothing is summed here:
every overzicht is a SQL query over these rows "as of peildatum D" at query time
(projections/queries.py), so rows are only inserted (keyed on event_id) or
guarded-updated (revocation, retraction), which is idempotent and commutative.
No persoonsgegevens are stored: the encrypted bytes are dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from projections.model import (
    AT,
    ENVELOP,
    ON,
    Bulk,
    Change,
    Message,
    Projection,
    bulk_insert,
    business_date,
    insert,
    jsonable,
)
from registry.domein.events import REFERENCE_EVENTS
from registry.domein.handlers import EventHandlers

TABLES: dict[str, str] = {
    "aanmeldingen": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, pilot text, aanmelder_type text, doelgroep text,
        gemeente text, werkend boolean, partner text, occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "adviezen": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, mbo_instelling text, advies text, duo_check text,
        startkwalificatie_verouderd boolean, partner text, occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "inschrijvingen": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, traject_id text NOT NULL, pilot text NOT NULL,
        mbo_instelling text NOT NULL, crebo text NOT NULL, leertraject text, startdatum date NOT NULL,
        leerbedrijf_id text, geslacht text NOT NULL, leeftijd integer NOT NULL, gemeente text, pok_datum date,
        partner text, occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "leerbedrijf_vastgelegd": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, traject_id text NOT NULL, leerbedrijf_id text NOT NULL,
        partner text, occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "aftekeningen": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, traject_id text NOT NULL, crebo text NOT NULL,
        werkproces text NOT NULL, partner text, occurred_at timestamptz NOT NULL, occurred_on date NOT NULL,
        retracted_at timestamptz, retracted_on date, retract_reden text)""",
    "verklaringen": """(
        verklaring_id text PRIMARY KEY, event_id text NOT NULL UNIQUE, deelnemer text NOT NULL,
        traject_id text NOT NULL, volgnummer integer, leerbedrijf_id text, brancheorganisaties text[] NOT NULL,
        crebos text[] NOT NULL, aantal_werkprocessen integer NOT NULL, partner text,
        issued_at timestamptz NOT NULL, issued_on date NOT NULL,
        revoked_at timestamptz, revoked_on date, revoke_reden text)""",
    "verklaring_werkprocessen": """(
        verklaring_id text NOT NULL, crebo text NOT NULL, werkproces text NOT NULL,
        PRIMARY KEY (verklaring_id, crebo, werkproces))""",
    "beeindigingen": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, traject_id text NOT NULL, reden text NOT NULL,
        partner text, occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "uitstroom": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, uitstroom text NOT NULL,
        partner text, occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    # the doorstroom's fields of later event versions, in tables of their own (the older tables keep their shape, so
    # a read model built before them stays valid): joined on event_id / verklaring_id
    "aanmelding_kenmerken": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, uitkering text NOT NULL, nieuwkomer boolean NOT NULL)""",
    "uitval": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, traject_id text NOT NULL, uitvalreden text NOT NULL)""",
    "uitstroom_metingen": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, peilmoment text NOT NULL, uitstroom text NOT NULL,
        contract text, uitkering_na text NOT NULL, partner text,
        occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "verklaring_ondertekening": """(verklaring_id text PRIMARY KEY, ondertekend_op date NOT NULL)""",
    "praktijkafspraken": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, traject_id text NOT NULL, geplande_einddatum date NOT NULL,
        uren_per_week integer NOT NULL, werkprocessen jsonb NOT NULL, partner text,
        occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "tellingen": """(
        event_id text PRIMARY KEY, partner text, bron_type text, pilot text NOT NULL, peildatum date NOT NULL,
        aantal_deelnemers integer NOT NULL, aantal_verklaringen integer,
        occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "telling_deelnemers": """(
        event_id text NOT NULL, deelnemer text NOT NULL, status text NOT NULL, PRIMARY KEY (event_id, deelnemer))""",
    # every reconciliation run (history); the latest per (pilot, peildatum) is the current result
    "reconciliaties": """(
        event_id text PRIMARY KEY, pilot text NOT NULL, peildatum date NOT NULL, register integer NOT NULL,
        gereconcilieerd integer NOT NULL, bronnen jsonb NOT NULL,
        occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
    "verwijderingen": """(
        event_id text PRIMARY KEY, deelnemer text NOT NULL, grondslag text,
        occurred_at timestamptz NOT NULL, occurred_on date NOT NULL)""",
}

# the record key of each deelnemer for the cell key method (registry/domein/onthulling.py): drawn at random by
# PostgreSQL the first time the deelnemer is seen (an aanmelding, an inschrijving, a source's list), never derived from the pseudonym, kept over replays (``behouden``)
BEHOUDEN: dict[str, str] = {
    "record_sleutels": "(deelnemer text PRIMARY KEY, sleutel smallint NOT NULL CHECK (sleutel BETWEEN 0 AND 255))"
}
_RECORD_SLEUTEL = (
    "INSERT INTO {s}.record_sleutels (deelnemer, sleutel) VALUES (:deelnemer, floor(random() * 256)::smallint) "
    "ON CONFLICT (deelnemer) DO NOTHING"
)
# ... for a batch's run of them at once: a deelnemer listed twice gets one key (DO NOTHING skips the second, as it
# does row by row), one draw each
_RECORD_SLEUTELS_SAMEN = (
    "INSERT INTO {s}.record_sleutels (deelnemer, sleutel) "
    "SELECT r.deelnemer, floor(random() * 256)::smallint FROM jsonb_to_recordset(CAST(:rijen AS jsonb)) AS r(deelnemer text) "
    "ON CONFLICT (deelnemer) DO NOTHING"
)
# an erasure moves the key to the replacement value (so every published number stays as it was); a replay that
# drew a key for the replacement value anew leaves the live one, and the pseudonym's row goes
_RECORD_SLEUTEL_WIS = (
    "DELETE FROM {s}.record_sleutels WHERE deelnemer = :oud "
    "AND EXISTS (SELECT 1 FROM {s}.record_sleutels WHERE deelnemer = :nieuw)"
)
# a read model projected before the record keys existed: its deelnemers get theirs when a projector starts (the
# table still empty); a no-op from then on
_RECORD_SLEUTELS_VULLEN = """INSERT INTO {s}.record_sleutels (deelnemer, sleutel)
    SELECT d.deelnemer, floor(random() * 256)::smallint
    FROM (SELECT deelnemer FROM {s}.aanmeldingen UNION SELECT deelnemer FROM {s}.inschrijvingen
          UNION SELECT deelnemer FROM {s}.telling_deelnemers) d
    WHERE NOT EXISTS (SELECT 1 FROM {s}.record_sleutels)
    ON CONFLICT (deelnemer) DO NOTHING"""
_RECORD_SLEUTEL_VERHUIS = "UPDATE {s}.record_sleutels SET deelnemer = :nieuw WHERE deelnemer = :oud"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS inschrijvingen_eerste ON {s}.inschrijvingen (deelnemer, startdatum, occurred_at, event_id)",
    "CREATE INDEX IF NOT EXISTS inschrijvingen_traject ON {s}.inschrijvingen (traject_id)",
    "CREATE INDEX IF NOT EXISTS inschrijvingen_start ON {s}.inschrijvingen (startdatum)",
    "CREATE INDEX IF NOT EXISTS aanmeldingen_on ON {s}.aanmeldingen (occurred_on)",
    "CREATE INDEX IF NOT EXISTS aanmeldingen_deelnemer ON {s}.aanmeldingen (deelnemer, occurred_at)",
    "CREATE INDEX IF NOT EXISTS adviezen_deelnemer ON {s}.adviezen (deelnemer)",
    "CREATE INDEX IF NOT EXISTS leerbedrijf_vastgelegd_traject ON {s}.leerbedrijf_vastgelegd (traject_id, occurred_on)",
    "CREATE INDEX IF NOT EXISTS aftekeningen_traject ON {s}.aftekeningen (traject_id, crebo, werkproces)",
    "CREATE INDEX IF NOT EXISTS verklaringen_issued ON {s}.verklaringen (issued_on)",
    "CREATE INDEX IF NOT EXISTS verklaringen_deelnemer ON {s}.verklaringen (deelnemer)",
    "CREATE INDEX IF NOT EXISTS verklaringen_traject ON {s}.verklaringen (traject_id)",
    "CREATE INDEX IF NOT EXISTS beeindigingen_traject ON {s}.beeindigingen (traject_id, occurred_on)",
    "CREATE INDEX IF NOT EXISTS beeindigingen_on ON {s}.beeindigingen (occurred_on)",
    # the doorstroom's last ending per deelnemer
    "CREATE INDEX IF NOT EXISTS beeindigingen_deelnemer ON {s}.beeindigingen (deelnemer, occurred_at)",
    "CREATE INDEX IF NOT EXISTS uitstroom_on ON {s}.uitstroom (occurred_on)",
    "CREATE INDEX IF NOT EXISTS uitstroom_metingen_deelnemer ON {s}.uitstroom_metingen (deelnemer, peilmoment)",
    "CREATE INDEX IF NOT EXISTS praktijkafspraken_traject ON {s}.praktijkafspraken (traject_id, occurred_at)",
    "CREATE INDEX IF NOT EXISTS tellingen_pilot ON {s}.tellingen (pilot, peildatum)",
    "CREATE INDEX IF NOT EXISTS reconciliaties_pilot ON {s}.reconciliaties (pilot, peildatum, occurred_at)",
]

_REVOKE = (
    "UPDATE {s}.verklaringen SET revoked_at = :revoked_at, revoked_on = :revoked_on, revoke_reden = :reden "
    "WHERE verklaring_id = :verklaring_id AND (revoked_at IS NULL OR revoked_at > :revoked_at)"
)
# a retraction retracts the sign-off(s) of that werkproces given before it and not yet retracted;
# a later new sign-off stays (applying the retraction twice changes nothing)
_RETRACT = (
    "UPDATE {s}.aftekeningen SET retracted_at = :retracted_at, retracted_on = :retracted_on, "
    "retract_reden = :reden WHERE traject_id = :traject_id AND crebo = :crebo AND werkproces = :werkproces "
    "AND retracted_at IS NULL AND occurred_at <= :retracted_at"
)


Record = Mapping[str, Any]
# b: the columns every fact row has (event_id, occurred_at, occurred_on)
Feit = Callable[[Record, dict[str, Any]], list[Change]]


def _base(r: Record) -> dict[str, Any]:
    return {
        "event_id": str(r["event_id"]),
        "occurred_at": r["occurred_at"],
        "occurred_on": business_date(r["occurred_at"]),
    }


def record_sleutel(deelnemer: str) -> Change:
    """The deelnemer's record key, drawn if they have none yet."""
    return Change(_RECORD_SLEUTEL, {"deelnemer": deelnemer}, samen=_RECORD_SLEUTELS_SAMEN)


def _aanmelding(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        record_sleutel(r["deelnemer"]),
        insert(
            "aanmeldingen",
            {
                **b,
                "deelnemer": r["deelnemer"],
                "pilot": r["pilot"],
                "aanmelder_type": r["aanmelder_type"],
                "doelgroep": r["doelgroep"],
                "gemeente": r.get("gemeente"),
                "werkend": r["werkend"],
                "partner": r["partner"],
            },
            ["event_id"],
        ),
        insert(
            "aanmelding_kenmerken",
            {
                "event_id": b["event_id"],
                "deelnemer": r["deelnemer"],
                "uitkering": r.get("uitkering") or "onbekend",
                "nieuwkomer": bool(r.get("nieuwkomer")),
            },
            ["event_id"],
        ),
    ]


def _advies(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        insert(
            "adviezen",
            {
                **b,
                "deelnemer": r["deelnemer"],
                "mbo_instelling": r["mbo_instelling"],
                "advies": r["advies"],
                "duo_check": r["duo_check"],
                "startkwalificatie_verouderd": r["startkwalificatie_verouderd"],
                "partner": r["partner"],
            },
            ["event_id"],
        )
    ]


def _inschrijving(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        record_sleutel(r["deelnemer"]),
        insert(
            "inschrijvingen",
            {
                **b,
                "deelnemer": r["deelnemer"],
                "traject_id": str(r["traject_id"]),
                "pilot": r["pilot"],
                "mbo_instelling": r["mbo_instelling"],
                "crebo": r["crebo"],
                "leertraject": r["leertraject"],
                "startdatum": r["startdatum"],
                "leerbedrijf_id": r.get("leerbedrijf_id"),
                "geslacht": r["geslacht"],
                "leeftijd": r["leeftijd"],
                "gemeente": r.get("gemeente"),
                "pok_datum": r.get("pok_datum"),
                "partner": r["partner"],
            },
            ["event_id"],
        ),
    ]


def _leerbedrijf(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        insert(
            "leerbedrijf_vastgelegd",
            {
                **b,
                "deelnemer": r["deelnemer"],
                "traject_id": str(r["traject_id"]),
                "leerbedrijf_id": r["leerbedrijf_id"],
                "partner": r["partner"],
            },
            ["event_id"],
        )
    ]


def _aftekening(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        insert(
            "aftekeningen",
            {
                **b,
                "deelnemer": r["deelnemer"],
                "traject_id": str(r["traject_id"]),
                "crebo": r["crebo"],
                "werkproces": r["werkproces"],
                "partner": r["partner"],
            },
            ["event_id"],
        )
    ]


def _aftekening_ingetrokken(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        Change(
            _RETRACT,
            {
                "traject_id": str(r["traject_id"]),
                "crebo": r["crebo"],
                "werkproces": r["werkproces"],
                "retracted_at": b["occurred_at"],
                "retracted_on": b["occurred_on"],
                "reden": r["reden"],
            },
        )
    ]


def _verklaring(r: Record, b: dict[str, Any]) -> list[Change]:
    vid = str(r["verklaring_id"])
    wps = sorted({(w["crebo"], w["werkproces"]) for w in r["werkprocessen"]})
    row = {
        "verklaring_id": vid,
        "event_id": b["event_id"],
        "deelnemer": r["deelnemer"],
        "traject_id": str(r["traject_id"]),
        "volgnummer": r.get("volgnummer"),
        "leerbedrijf_id": r.get("leerbedrijf_id"),
        "brancheorganisaties": sorted(set(r["brancheorganisaties"])),
        "crebos": sorted({c for c, _ in wps}),
        "aantal_werkprocessen": len(wps),
        "partner": r["partner"],
        "issued_at": b["occurred_at"],
        "issued_on": b["occurred_on"],
    }
    out = [insert("verklaringen", row, ["verklaring_id"])]
    if r.get("ondertekend_op") is not None:  # the date only: the praktijkopleider's reference stays in the log
        out.append(
            insert(
                "verklaring_ondertekening",
                {"verklaring_id": vid, "ondertekend_op": r["ondertekend_op"]},
                ["verklaring_id"],
            )
        )
    out += [
        insert(
            "verklaring_werkprocessen",
            {"verklaring_id": vid, "crebo": c, "werkproces": w},
            ["verklaring_id", "crebo", "werkproces"],
        )
        for c, w in wps
    ]
    return out


def _verklaring_ingetrokken(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        Change(
            _REVOKE,
            {
                "verklaring_id": str(r["verklaring_id"]),
                "revoked_at": b["occurred_at"],
                "revoked_on": b["occurred_on"],
                "reden": r["reden"],
            },
        )
    ]


def _beeindiging(r: Record, b: dict[str, Any]) -> list[Change]:
    out = [
        insert(
            "beeindigingen",
            {
                **b,
                "deelnemer": r["deelnemer"],
                "traject_id": str(r["traject_id"]),
                "reden": r["reden"],
                "partner": r["partner"],
            },
            ["event_id"],
        )
    ]
    if r.get("uitvalreden") is not None:
        uitval = {
            "event_id": b["event_id"],
            "deelnemer": r["deelnemer"],
            "traject_id": str(r["traject_id"]),
            "uitvalreden": r["uitvalreden"],
        }
        out.append(insert("uitval", uitval, ["event_id"]))
    return out


def _afspraken(r: Record, b: dict[str, Any]) -> list[Change]:
    wps = [{"crebo": w["crebo"], "werkproces": w["werkproces"]} for w in r["werkprocessen"]]
    row = {
        **b,
        "deelnemer": r["deelnemer"],
        "traject_id": str(r["traject_id"]),
        "geplande_einddatum": r["geplande_einddatum"],
        "uren_per_week": r["uren_per_week"],
        "werkprocessen": json.dumps(wps),
        "partner": r["partner"],
    }
    return [insert("praktijkafspraken", row, ["event_id"])]


def _uitstroom(r: Record, b: dict[str, Any]) -> list[Change]:
    meting = {
        **b,
        "deelnemer": r["deelnemer"],
        "peilmoment": r.get("peilmoment") or "einde",
        "uitstroom": r["uitstroom"],
        "contract": r.get("contract"),
        "uitkering_na": r.get("uitkering_na") or "onbekend",
        "partner": r["partner"],
    }
    return [
        insert(
            "uitstroom",
            {**b, "deelnemer": r["deelnemer"], "uitstroom": r["uitstroom"], "partner": r["partner"]},
            ["event_id"],
        ),
        insert("uitstroom_metingen", meting, ["event_id"]),
    ]


def _telling(r: Record, b: dict[str, Any]) -> list[Change]:
    out = [
        insert(
            "tellingen",
            {
                **b,
                "partner": r["partner"],
                "bron_type": r["bron_type"],
                "pilot": r["pilot"],
                "peildatum": r["peildatum"],
                "aantal_deelnemers": r["aantal_deelnemers"],
                "aantal_verklaringen": r.get("aantal_verklaringen"),
            },
            ["event_id"],
        )
    ]
    seen: set[str] = set()
    for d in r.get("deelnemers") or []:
        if d["deelnemer"] not in seen:
            seen.add(d["deelnemer"])
            # a person a source lists gets a record key too: the reconciliation's categories of persons the
            # register does not know are perturbed by the cell key method like the rest
            out.append(record_sleutel(d["deelnemer"]))
            out.append(
                insert(
                    "telling_deelnemers",
                    {"event_id": b["event_id"], "deelnemer": d["deelnemer"], "status": d["status"]},
                    ["event_id", "deelnemer"],
                )
            )
    return out


def _reconciliatie(r: Record, b: dict[str, Any]) -> list[Change]:
    return [
        insert(
            "reconciliaties",
            {
                **b,
                "pilot": r["pilot"],
                "peildatum": r["peildatum"],
                "register": r["register"],
                "gereconcilieerd": r["gereconcilieerd"],
                "bronnen": json.dumps(jsonable(r["bronnen"]), sort_keys=True),
            },
            ["event_id"],
        )
    ]


# the tables with a deelnemer column: an erasure replaces the pseudonym in each (their rows stay counted)
PERSOON_TABELLEN = (
    "aanmeldingen",
    "adviezen",
    "inschrijvingen",
    "leerbedrijf_vastgelegd",
    "aftekeningen",
    "verklaringen",
    "beeindigingen",
    "uitstroom",
    "telling_deelnemers",
    "aanmelding_kenmerken",
    "uitval",
    "uitstroom_metingen",
    "praktijkafspraken",
)


def vervanger(erasure_event_id: str) -> str:
    """What an erased deelnemer's pseudonym becomes in the read models: one opaque value per erasure, so every
    relation between that person's facts (and so every count, distinct or not) stays exactly as it was, while
    nothing in the read models names the pseudonym any more."""
    return "verwijderd-" + hashlib.sha256(b"verwijderd|" + erasure_event_id.encode()).hexdigest()[:32]


def _verwijdering(r: Record, b: dict[str, Any]) -> list[Change]:
    # erasure: every fact stays counted, under a replacement value instead of the pseudonym; the
    # erasure itself is a fact (the verklaring document answers 410 on it)
    nieuw = vervanger(b["event_id"])
    out = [
        Change(
            f"UPDATE {{s}}.{t} SET deelnemer = :nieuw WHERE deelnemer = :oud", {"nieuw": nieuw, "oud": r["deelnemer"]}
        )
        for t in PERSOON_TABELLEN
    ]
    oud_nieuw = {"nieuw": nieuw, "oud": r["deelnemer"]}
    out += [Change(_RECORD_SLEUTEL_WIS, oud_nieuw), Change(_RECORD_SLEUTEL_VERHUIS, oud_nieuw)]
    return out + [insert("verwijderingen", {**b, "deelnemer": nieuw, "grondslag": r.get("grondslag")}, ["event_id"])]


# one fact builder per event type (tests/unit/test_catalogus.py checks every catalogue type is
# here or in IGNORED)
_FEITEN: EventHandlers[Feit] = EventHandlers(
    "feiten",
    {
        "KandidaatAangemeld": _aanmelding,
        "AdviesUitgebracht": _advies,
        "DeelnemerIngeschreven": _inschrijving,
        "LeerbedrijfVastgelegd": _leerbedrijf,
        "PraktijkafsprakenVastgelegd": _afspraken,
        "WerkprocesAfgetekend": _aftekening,
        "AftekeningIngetrokken": _aftekening_ingetrokken,
        "PraktijkverklaringUitgegeven": _verklaring,
        "PraktijkverklaringIngetrokken": _verklaring_ingetrokken,
        "TrajectBeeindigd": _beeindiging,
        "UitstroomGeregistreerd": _uitstroom,
        "TellingGemeld": _telling,
        "DeelnemerGegevensVerwijderd": _verwijdering,
        "ReconciliatieUitgevoerd": _reconciliatie,
    },
    ignored=REFERENCE_EVENTS,  # reference data is not a dated fact: the referentie projection keeps it
)
HANDLED = _FEITEN.handled
IGNORED = _FEITEN.ignored


def apply(msg: Message) -> list[Change]:
    feit = _FEITEN.get(msg.event_type) if msg.kind == "events" else None
    return feit(msg.record, _base(msg.record)) if feit else []


def _t(field: str) -> str:
    """A text field of the record in SQL: an envelope field is a staging column, the rest is in ``r``."""
    return field if field in ENVELOP else f"r->>'{field}'"


def _feit(**columns: str) -> dict[str, str]:
    """The columns of a fact row: event_id, occurred_at/on and ``columns`` (SQL over the record ``r``)."""
    return {"event_id": _t("event_id"), **columns, "occurred_at": AT, "occurred_on": ON}


def _is(event_type: str) -> str:
    return f"event_type = '{event_type}'"


def _of(*names: str) -> dict[str, str]:
    return {n: _t(n) for n in names}


# "x or 'default'": Python's ``or`` also replaces an empty text
def _or(field: str, default: str) -> str:
    return f"COALESCE(NULLIF(r->>'{field}', ''), '{default}')"


_WPS = "jsonb_array_elements(r->'werkprocessen')"
# Python sorts text by code point; so does the "C" collation (UTF-8 bytes), whatever the database's collation
_VERKLARING = {
    "verklaring_id": _t("verklaring_id"),
    "event_id": _t("event_id"),
    **_of("deelnemer", "traject_id"),
    "volgnummer": "(r->>'volgnummer')::integer",
    "leerbedrijf_id": _t("leerbedrijf_id"),
    "brancheorganisaties": 'ARRAY(SELECT DISTINCT x COLLATE "C" FROM '
    "jsonb_array_elements_text(r->'brancheorganisaties') x ORDER BY 1)",
    "crebos": f"ARRAY(SELECT DISTINCT w->>'crebo' COLLATE \"C\" FROM {_WPS} w ORDER BY 1)",
    "aantal_werkprocessen": f"(SELECT count(*) FROM (SELECT DISTINCT w->>'crebo', w->>'werkproces' FROM {_WPS} w) d)",
    "partner": _t("partner"),
    "issued_at": AT,
    "issued_on": ON,
}
_AFSPRAKEN_WPS = (
    "COALESCE((SELECT jsonb_agg(jsonb_build_object('crebo', w->'crebo', 'werkproces', w->'werkproces') ORDER BY i) "
    "FROM jsonb_array_elements(r->'werkprocessen') WITH ORDINALITY AS x(w, i)), '[]'::jsonb)"
)

# what the updates of ``apply`` look rows up by (an erasure: deelnemer; a retraction: traject); a rebuild keeps these
# while it loads and creates the others at the end
_OPZOEKEN = ("_deelnemer ON", "inschrijvingen_eerste ON", "aftekeningen_traject ON")

# the batch's revocations and retractions, after its inserts (as the live path runs its updates), each as the events
# one by one in log order would leave the rows: a revocation keeps the earliest revocation (ties: the first in the
# log); a sign-off not yet retracted is retracted by the first retraction in the log of its werkproces dated at or
# after it. They touch other columns than an erasure and look rows up by other columns, so they commute with it.
_BULK_REVOKE = (
    "UPDATE {s}.verklaringen v SET revoked_at = x.at, revoked_on = x.op, revoke_reden = x.reden FROM ("
    f"SELECT DISTINCT ON (verklaring_id) verklaring_id, {AT} AS at, {ON} AS op, r->>'reden' AS reden "
    "FROM (SELECT *, rec AS r FROM {b} WHERE event_type = 'PraktijkverklaringIngetrokken') e "
    "ORDER BY verklaring_id, occurred_at, part, off) x "
    "WHERE v.verklaring_id = x.verklaring_id AND (v.revoked_at IS NULL OR v.revoked_at > x.at)"
)
_BULK_RETRACT = (
    "UPDATE {s}.aftekeningen a SET retracted_at = x.at, retracted_on = x.op, retract_reden = x.reden FROM ("
    "SELECT DISTINCT ON (t.event_id) t.event_id, i.at, i.op, i.reden FROM ("
    f"SELECT traject_id, r->>'crebo' AS crebo, r->>'werkproces' AS werkproces, {AT} AS at, {ON} AS op, "
    "r->>'reden' AS reden, part, off FROM (SELECT *, rec AS r FROM {b} WHERE event_type = 'AftekeningIngetrokken') e"
    ") i JOIN {s}.aftekeningen t ON t.traject_id = i.traject_id AND t.crebo = i.crebo AND t.werkproces = i.werkproces "
    "WHERE t.retracted_at IS NULL AND t.occurred_at <= i.at ORDER BY t.event_id, i.part, i.off) x "
    "WHERE a.event_id = x.event_id"
)

# the set-based path of the frequent facts and of revocations and retractions; the rare ones (erasures, tellingen,
# reconciliaties) go through ``apply`` after these, as in the live path
BULK = Bulk(
    types=frozenset(
        {
            "KandidaatAangemeld",
            "AdviesUitgebracht",
            "DeelnemerIngeschreven",
            "LeerbedrijfVastgelegd",
            "PraktijkafsprakenVastgelegd",
            "WerkprocesAfgetekend",
            "PraktijkverklaringUitgegeven",
            "TrajectBeeindigd",
            "UitstroomGeregistreerd",
            "PraktijkverklaringIngetrokken",
            "AftekeningIngetrokken",
        }
    ),
    statements=(
        # the record key of every deelnemer an aanmelding or inschrijving names, drawn if they have none yet (as
        # ``record_sleutel`` one by one)
        "INSERT INTO {s}.record_sleutels (deelnemer, sleutel) SELECT deelnemer, floor(random() * 256)::smallint "
        "FROM {b} WHERE event_type IN ('KandidaatAangemeld', 'DeelnemerIngeschreven') "
        "ON CONFLICT (deelnemer) DO NOTHING",
        bulk_insert(
            "aanmeldingen",
            _feit(
                **_of("deelnemer", "pilot", "aanmelder_type", "doelgroep", "gemeente"),
                werkend="(r->>'werkend')::boolean",
                partner=_t("partner"),
            ),
            ["event_id"],
            _is("KandidaatAangemeld"),
        ),
        bulk_insert(
            "aanmelding_kenmerken",
            {
                **_of("event_id", "deelnemer"),
                "uitkering": _or("uitkering", "onbekend"),
                "nieuwkomer": "COALESCE((r->>'nieuwkomer')::boolean, false)",
            },
            ["event_id"],
            _is("KandidaatAangemeld"),
        ),
        bulk_insert(
            "adviezen",
            _feit(
                **_of("deelnemer", "mbo_instelling", "advies", "duo_check"),
                startkwalificatie_verouderd="(r->>'startkwalificatie_verouderd')::boolean",
                partner=_t("partner"),
            ),
            ["event_id"],
            _is("AdviesUitgebracht"),
        ),
        bulk_insert(
            "inschrijvingen",
            _feit(
                **_of("deelnemer", "traject_id", "pilot", "mbo_instelling", "crebo", "leertraject"),
                startdatum="(r->>'startdatum')::date",
                **_of("leerbedrijf_id", "geslacht"),
                leeftijd="(r->>'leeftijd')::integer",
                gemeente=_t("gemeente"),
                pok_datum="(r->>'pok_datum')::date",
                partner=_t("partner"),
            ),
            ["event_id"],
            _is("DeelnemerIngeschreven"),
        ),
        bulk_insert(
            "leerbedrijf_vastgelegd",
            _feit(**_of("deelnemer", "traject_id", "leerbedrijf_id", "partner")),
            ["event_id"],
            _is("LeerbedrijfVastgelegd"),
        ),
        bulk_insert(
            "praktijkafspraken",
            _feit(
                **_of("deelnemer", "traject_id"),
                geplande_einddatum="(r->>'geplande_einddatum')::date",
                uren_per_week="(r->>'uren_per_week')::integer",
                werkprocessen=_AFSPRAKEN_WPS,
                partner=_t("partner"),
            ),
            ["event_id"],
            _is("PraktijkafsprakenVastgelegd"),
        ),
        bulk_insert(
            "aftekeningen",
            _feit(**_of("deelnemer", "traject_id", "crebo", "werkproces", "partner")),
            ["event_id"],
            _is("WerkprocesAfgetekend"),
        ),
        # a verklaring issued again under the same id: the first one stays (log order), as one by one
        bulk_insert("verklaringen", _VERKLARING, ["verklaring_id"], _is("PraktijkverklaringUitgegeven"), order=True),
        bulk_insert(
            "verklaring_ondertekening",
            {"verklaring_id": _t("verklaring_id"), "ondertekend_op": "(r->>'ondertekend_op')::date"},
            ["verklaring_id"],
            _is("PraktijkverklaringUitgegeven") + " AND rec->>'ondertekend_op' IS NOT NULL",
            order=True,
        ),
        bulk_insert(
            "verklaring_werkprocessen",
            {"verklaring_id": _t("verklaring_id"), "crebo": "w->>'crebo'", "werkproces": "w->>'werkproces'"},
            ["verklaring_id", "crebo", "werkproces"],
            _is("PraktijkverklaringUitgegeven"),
            source=f"CROSS JOIN LATERAL {_WPS} w",
        ),
        bulk_insert(
            "beeindigingen",
            _feit(**_of("deelnemer", "traject_id", "reden", "partner")),
            ["event_id"],
            _is("TrajectBeeindigd"),
        ),
        bulk_insert(
            "uitval",
            _of("event_id", "deelnemer", "traject_id", "uitvalreden"),
            ["event_id"],
            _is("TrajectBeeindigd") + " AND rec->>'uitvalreden' IS NOT NULL",
        ),
        bulk_insert(
            "uitstroom",
            _feit(**_of("deelnemer", "uitstroom", "partner")),
            ["event_id"],
            _is("UitstroomGeregistreerd"),
        ),
        bulk_insert(
            "uitstroom_metingen",
            _feit(
                deelnemer=_t("deelnemer"),
                peilmoment=_or("peilmoment", "einde"),
                uitstroom=_t("uitstroom"),
                contract=_t("contract"),
                uitkering_na=_or("uitkering_na", "onbekend"),
                partner=_t("partner"),
            ),
            ["event_id"],
            _is("UitstroomGeregistreerd"),
        ),
        _BULK_REVOKE,
        _BULK_RETRACT,
    ),
    deferred_indexes=tuple(i for i in INDEXES if not any(k in i for k in _OPZOEKEN)),
)

PROJECTION = Projection(
    name="feiten",
    description="Dated facts per deelnemer/traject/verklaring; the overzichten and aantallen query them.",
    kinds=("events",),
    tables=TABLES,
    indexes=INDEXES,
    apply=apply,
    ignored=IGNORED,
    behouden=BEHOUDEN,
    vullen=(_RECORD_SLEUTELS_VULLEN,),
    bulk=BULK,
)
