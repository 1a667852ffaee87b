"""Registry events built in code: the one set of event builders for the demo, the tests
and the benchmarks. Pure: dicts in, dicts out; no I/O.

An event has two shapes, and every builder here serves both:

* the *payload* functions (``inschrijving``, ``aftekening``, ...) give the fields of one
  event type that a partner reports, in the order of ``schemas/<Type>.v<N>.avsc``, without
  the envelope and without the person (partners send ``bsn``, the log holds ``deelnemer``);
* ``inzending`` wraps a payload as a partner's JSON-lines row (``praktijkregister publish``):
  ``type`` first, ``bsn``, dates as ``YYYY-MM-DD``, absent fields left out;
* ``canoniek`` wraps a payload as the validator appends it to the canonical log: every
  schema field present, ``partner``, ``deelnemer``, ``recorded_at``, ``warnings`` and, where
  the schema has them, ``persoonsgegevens`` and ``volgnummer``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from registry.domein.events import PERSON_EVENTS

Event = tuple[str, dict[str, Any]]
Payload = dict[str, Any]
# (kerntaak code, kerntaak naam, ((werkproces code, werkproces naam), ...))
Kerntaak = tuple[str, str, Sequence[tuple[str, str]]]

# fields the partner's client derives (persoonsgegevens from naam + geboortedatum) or the
# validator sets (volgnummer): in the canonical record only
_PERSOONSGEGEVENS = frozenset({"KandidaatAangemeld", "DeelnemerIngeschreven"})
_VOLGNUMMER = frozenset({"PraktijkverklaringUitgegeven"})


# ---- payloads: person events ---------------------------------------------------------------------
def aanmelding(
    pilot: str,
    aanmelder_type: str,
    doelgroep: str,
    gemeente: str | None,
    werkend: bool,
    *,
    uitkering: str = "onbekend",
    nieuwkomer: bool = False,
) -> Payload:
    return {
        "pilot": pilot,
        "aanmelder_type": aanmelder_type,
        "doelgroep": doelgroep,
        "gemeente": gemeente,
        "werkend": werkend,
        "uitkering": uitkering,
        "nieuwkomer": nieuwkomer,
    }


def advies(mbo_instelling: str, advies: str, duo_check: str, startkwalificatie_verouderd: bool = False) -> Payload:
    return {
        "mbo_instelling": mbo_instelling,
        "advies": advies,
        "duo_check": duo_check,
        "startkwalificatie_verouderd": startkwalificatie_verouderd,
    }


def inschrijving(
    traject_id: str,
    mbo_instelling: str,
    crebo: str,
    pilot: str,
    startdatum: dt.date,
    geslacht: str,
    leeftijd: int,
    *,
    leerbedrijf_id: str | None = None,
    gemeente: str | None = None,
    leertraject: str = "OVO",
    pok_datum: dt.date | None = None,
) -> Payload:
    return {
        "traject_id": traject_id,
        "mbo_instelling": mbo_instelling,
        "crebo": crebo,
        "leertraject": leertraject,
        "pilot": pilot,
        "startdatum": startdatum,
        "leerbedrijf_id": leerbedrijf_id,
        "geslacht": geslacht,
        "leeftijd": leeftijd,
        "gemeente": gemeente,
        "pok_datum": pok_datum,
    }


def leerbedrijf_vastgelegd(traject_id: str, leerbedrijf_id: str, praktijkopleider: str | None = None) -> Payload:
    return {"traject_id": traject_id, "leerbedrijf_id": leerbedrijf_id, "praktijkopleider": praktijkopleider}


def praktijkafspraken(
    traject_id: str, werkprocessen: Sequence[tuple[str, str]], geplande_einddatum: dt.date, uren_per_week: int
) -> Payload:
    """``werkprocessen`` as (crebo, werkproces) pairs."""
    return {
        "traject_id": traject_id,
        "werkprocessen": [{"crebo": c, "werkproces": w} for c, w in werkprocessen],
        "geplande_einddatum": geplande_einddatum,
        "uren_per_week": uren_per_week,
    }


def aftekening(traject_id: str, crebo: str, werkproces: str, afgetekend_door: str) -> Payload:
    return {"traject_id": traject_id, "crebo": crebo, "werkproces": werkproces, "afgetekend_door": afgetekend_door}


def aftekening_ingetrokken(traject_id: str, crebo: str, werkproces: str, reden: str) -> Payload:
    return {"traject_id": traject_id, "crebo": crebo, "werkproces": werkproces, "reden": reden}


def verklaring(
    traject_id: str,
    verklaring_id: str,
    werkprocessen: Sequence[tuple[str, str]],
    leerbedrijf_id: str,
    brancheorganisaties: Sequence[str] = (),
    *,
    ondertekend_door: str | None,
    ondertekend_op: dt.date | None,
) -> Payload:
    """``werkprocessen`` as (crebo, werkproces) pairs; who signed it and when are required by the registry (None
    only to build a refused or an older verklaring)."""
    return {
        "traject_id": traject_id,
        "verklaring_id": verklaring_id,
        "werkprocessen": [{"crebo": c, "werkproces": w} for c, w in werkprocessen],
        "leerbedrijf_id": leerbedrijf_id,
        "brancheorganisaties": list(brancheorganisaties),
        "ondertekend_door": ondertekend_door,
        "ondertekend_op": ondertekend_op,
    }


def verklaring_ingetrokken(verklaring_id: str, reden: str) -> Payload:
    return {"verklaring_id": verklaring_id, "reden": reden}


def beeindiging(traject_id: str, reden: str, uitvalreden: str | None = None) -> Payload:
    """``uitvalreden``: required with ``voortijdig_gestopt``, None with any other reden."""
    return {"traject_id": traject_id, "reden": reden, "uitvalreden": uitvalreden}


def uitstroom(
    uitstroom: str, peilmoment: str = "einde", contract: str | None = None, uitkering_na: str = "onbekend"
) -> Payload:
    return {"uitstroom": uitstroom, "peilmoment": peilmoment, "contract": contract, "uitkering_na": uitkering_na}


def verwijdering(grondslag: str) -> Payload:
    return {"grondslag": grondslag}


# ---- payloads: reference data and tellingen ------------------------------------------------------
def dossier(crebo: str, naam: str, niveau: int, domein: str, kerntaken: Sequence[Kerntaak]) -> Payload:
    return {
        "crebo": crebo,
        "naam": naam,
        "niveau": niveau,
        "domein": domein,
        "kerntaken": [
            {"code": code, "naam": titel, "werkprocessen": [{"code": c, "naam": n} for c, n in wps]}
            for code, titel, wps in kerntaken
        ],
    }


def leerbedrijf_erkend(leerbedrijf_id: str, naam: str, crebos: Sequence[str]) -> Payload:
    return {"leerbedrijf_id": leerbedrijf_id, "naam": naam, "crebos": list(crebos)}


def erkenning(mbo_instelling: str, crebo: str, vanaf: dt.date) -> Payload:
    return {"mbo_instelling": mbo_instelling, "crebo": crebo, "vanaf": vanaf}


def telling(
    bron_type: str,
    pilot: str,
    peildatum: dt.date,
    aantal_deelnemers: int,
    aantal_verklaringen: int | None = None,
    deelnemers: Sequence[tuple[str, str]] = (),
) -> Payload:
    """``deelnemers`` as (pseudonym, status) pairs; none: the field is null."""
    return {
        "bron_type": bron_type,
        "pilot": pilot,
        "peildatum": peildatum,
        "aantal_deelnemers": aantal_deelnemers,
        "aantal_verklaringen": aantal_verklaringen,
        "deelnemers": [{"deelnemer": d, "status": s} for d, s in deelnemers] or None,
    }


# ---- the two shapes ------------------------------------------------------------------------------
def inzending(
    event_type: str,
    payload: Payload,
    *,
    event_id: str,
    occurred_at: dt.datetime,
    bsn: str | None = None,
    naam: str | None = None,
    geboortedatum: dt.date | None = None,
) -> dict[str, Any]:
    """A partner's JSON-lines row. ``naam`` and ``geboortedatum`` go in clear: the client seals them."""
    if (bsn is None) == (event_type in PERSON_EVENTS):
        raise ValueError(f"{event_type}: a bsn is needed exactly for person events")
    row: dict[str, Any] = {"type": event_type, "event_id": event_id, "occurred_at": occurred_at.isoformat()}
    if bsn is not None:
        row["bsn"] = bsn
    # a dossier's or leerbedrijf's ``naam`` is an ordinary field; a person's is persoonsgegevens
    persoon = {k: v for k, v in (("naam", naam), ("geboortedatum", geboortedatum)) if v is not None}
    if persoon and event_type not in _PERSOONSGEGEVENS:
        raise ValueError(f"{event_type} carries no persoonsgegevens")
    for name, value in (payload | persoon).items():
        if value is not None:  # optional fields may be left out
            row[name] = value.isoformat() if isinstance(value, dt.date) else value
    return row


def canoniek(
    event_type: str,
    payload: Payload,
    *,
    event_id: str,
    occurred_at: dt.datetime,
    partner: str,
    deelnemer: str | None = None,
    recorded_at: dt.datetime | None = None,
    warnings: Sequence[str] = (),
    persoonsgegevens: bytes | None = None,
    volgnummer: int | None = None,
) -> Event:
    """The record as the validator appends it to the canonical log (what the codec encodes)."""
    if (deelnemer is None) == (event_type in PERSON_EVENTS):
        raise ValueError(f"{event_type}: a deelnemer is needed exactly for person events")
    record: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "partner": partner,
        "recorded_at": recorded_at,
        "warnings": list(warnings),
    }
    if deelnemer is not None:
        record["deelnemer"] = deelnemer
    record |= payload
    if event_type in _PERSOONSGEGEVENS:
        record["persoonsgegevens"] = persoonsgegevens
    if event_type in _VOLGNUMMER:
        record["volgnummer"] = volgnummer
    return event_type, record
