"""The formats of every path and query parameter, declared once: FastAPI enforces them (an invalid value is a 400
problem+json before any query runs, so no NUL byte or year 10000 ever reaches PostgreSQL or ``datetime``) and the
OpenAPI schema publishes them (``pattern`` / ``enum``), so clients and fuzzers know what is valid. A path
parameter of the wrong format names nothing: 404; a query parameter: 400 (``problems.py``).

* ``traject_id``, ``verklaring_id``: UUIDs (Avro ``logicalType: uuid`` in ``schemas/``); the public verification
  page also takes the printed short code ``PV-XXXX-XXXX-XXXX``.
* ``pseudonym``: 64 lowercase hex characters (the keyed pseudonym of a BSN).
* dates: ``YYYY-MM-DD`` from 1990-01-01 to 2100-12-31 (the registry's business dates).
* ``gemeente``: a CBS code, ``GM`` and 4 digits; ``pilot``, ``regio``, ``instelling``, ``partner``: an id or name of
  letters, digits, spaces and ``. , ' / ( ) & -`` (unknown ones: 400 in the query, 404 in the path, with ``valid_values``).
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import re
from datetime import date
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, WithJsonSchema

from registry.api.auth import canonical_instelling, canonical_regio
from registry.api.problems import ProblemError
from registry.domein import referentie
from registry.domein.doorstroom import Cohort

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
KORTE_CODE_PATTERN = r"^[Pp][Vv]-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}$"
VERKLARING_OF_CODE_PATTERN = (
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[Pp][Vv]-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4})$"
)
PSEUDONYM_PATTERN = r"^[0-9a-f]{64}$"
GEMEENTE_PATTERN = r"^[Gg][Mm][0-9]{4}$"
NAAM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 .,'/()&-]{0,79}$"  # a pilot/regio/instelling id or display name
PARTNER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"  # a partner id: gemeente.gm0014, uwv, monitor.rijnmond

EERSTE_DATUM = date(1990, 1, 1)
LAATSTE_DATUM = date(2100, 12, 31)
DATE_PATTERN = r"^(199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DATE_RANGE = f"{EERSTE_DATUM.isoformat()}..{LAATSTE_DATUM.isoformat()}"
# a doorstroom cohort: a year of the registry's range, or one quarter of it (``cohort_param``)
COHORT_PATTERN = r"^(199[0-9]|20[0-9]{2}|2100)(-Q[1-4])?$"


def in_range(d: date) -> date:
    """The date when it is a business date the registry can hold; ValueError (without the value) otherwise."""
    if not EERSTE_DATUM <= d <= LAATSTE_DATUM:
        raise ValueError(f"date outside {DATE_RANGE}")
    return d


# A calendar date within the registry's range; in OpenAPI: string, format date, a pattern that bounds the year.
Datum = Annotated[
    date, AfterValidator(in_range), WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN})
]

TrajectId = Annotated[
    str,
    Path(pattern=UUID_PATTERN, description="The traject's UUID.", examples=["22222222-2222-4222-8222-222222222222"]),
]
VerklaringId = Annotated[
    str,
    Path(pattern=UUID_PATTERN, description="The verklaring's UUID.", examples=["44444444-4444-4444-8444-444444444444"]),
]
# The page for people checks the format itself (``geldig_id_of_code``) so a wrong one gets its HTML 404 page; the
# pattern is declared for clients and fuzzers.
VerklaringOfCode = Annotated[
    str,
    Path(
        description="The verklaring's UUID or its printed short code PV-XXXX-XXXX-XXXX.",
        json_schema_extra={"pattern": VERKLARING_OF_CODE_PATTERN, "maxLength": 36},
    ),
]


def geldig_id_of_code(value: str) -> bool:
    """Whether ``value`` is a verklaring UUID or a short code (``VERKLARING_OF_CODE_PATTERN``)."""
    return len(value) <= 36 and re.fullmatch(VERKLARING_OF_CODE_PATTERN, value) is not None


Pseudonym = Annotated[
    str,
    Path(
        pattern=PSEUDONYM_PATTERN,
        min_length=64,
        max_length=64,
        description="The deelnemer's pseudonym: 64 lowercase hex characters.",
    ),
]

PilotQuery = Annotated[
    str | None,
    Query(
        pattern=NAAM_PATTERN,
        max_length=80,
        description="pilot_id or name, e.g. rijnmond (unknown: 400 with valid_values)",
    ),
]
RegioQuery = Annotated[
    str | None,
    Query(
        pattern=NAAM_PATTERN,
        max_length=80,
        description="arbeidsmarktregio, e.g. Rijnmond (unknown: 400 with valid_values)",
    ),
]
InstellingQuery = Annotated[
    str | None,
    Query(
        pattern=NAAM_PATTERN,
        max_length=80,
        description="mbo partner id or name, e.g. mbo.albeda (unknown: 400 with valid_values)",
    ),
]
GemeenteQuery = Annotated[str | None, Query(pattern=GEMEENTE_PATTERN, description="CBS gemeentecode, e.g. GM0363")]


def cohort_param(text: str) -> Cohort:
    """A doorstroom cohort (YYYY or YYYY-Qn) within the registry's years; ValueError (without the value) otherwise."""
    cohort = Cohort.parse(text.strip())
    if not EERSTE_DATUM.year <= cohort.jaar <= LAATSTE_DATUM.year:
        raise ValueError(f"cohort outside {EERSTE_DATUM.year}..{LAATSTE_DATUM.year}")
    return cohort


# --- canonical values: an id or name as the reference data spell it --------------------------------------------


def find_pilot(value: str) -> str | None:
    """The pilot_id for a pilot id or name (case, spaces and punctuation ignored), or None when unknown."""
    folded = re.sub(r"[^a-z0-9]", "", value.casefold())
    for pid, p in referentie.pilots().items():
        if folded in (re.sub(r"[^a-z0-9]", "", pid), re.sub(r"[^a-z0-9]", "", p.naam.casefold())):
            return pid
    return None


def canonical_pilot(value: str, status: int = 400) -> str:
    """The pilot_id for a pilot id or name; ``status`` (400 for a query parameter, 404 for a path
    segment) with the valid pilot ids when unknown."""
    pid = find_pilot(value)
    if pid is None:
        raise ProblemError(
            status,
            "invalid-parameter" if status == 400 else "not-found",
            f"unknown pilot {value!r}",
            parameter="pilot",
            valid_values=sorted(referentie.pilots()),
        )
    return pid


def regio_param(value: str) -> str:
    """The arbeidsmarktregio as spelled in the reference data; 400 when unknown."""
    regio = canonical_regio(value)
    if regio is None:
        raise ProblemError(
            400,
            "invalid-parameter",
            f"unknown arbeidsmarktregio {value!r}",
            parameter="regio",
            valid_values=referentie.arbeidsmarktregios(),
        )
    return regio


def instelling_param(value: str) -> str:
    """The mbo partner id for a partner id or name; 400 when unknown."""
    inst = canonical_instelling(value)
    if inst is None:
        raise ProblemError(
            400,
            "invalid-parameter",
            f"unknown mbo-instelling {value!r}",
            parameter="instelling",
            valid_values=sorted(referentie.mbo_instellingen()),
        )
    return inst
