"""The API's documentation texts (OpenAPI description, tags) and the problem+json touch-up of the schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from registry.api import problems
from registry.domein import onthulling

COUNTING_RULES = """
**Counting rules** (every overzicht is computed from the events alone, as of the *peildatum* D, business time):

* A **deelnemer of a pilot at D** has a `DeelnemerIngeschreven` for that pilot with `startdatum <= D`; each
  deelnemer counts once, for the pilot (and mbo-instelling, geslacht, leeftijd) of their *first* inschrijving
  (earliest startdatum), when that startdatum <= D.
* **leeftijdsgroep** = age at the first inschrijving: `17 jaar en jonger`, `18-22 jaar`, `23-27 jaar`,
  `28-54 jaar`, `55 jaar en ouder`.
* A **verklaring counts at D** when it was issued on or before D and not revoked at D; its **volgnummer**
  (1st/2nd/3rd verklaring of the deelnemer) is the one assigned by the validator.
* **kwalificatie** key of a verklaring = its crebo, or the sorted crebos joined by `,` when its werkprocessen come
  from several kwalificaties; **niveau** = the highest niveau among them; **domein** = the mbo-domein of the
  lowest crebo.
* **brancheorganisaties** key = the sorted brancheorganisaties joined by `, `; none -> `Niet geregistreerd`.
* **leerbedrijven per pilot** = distinct `leerbedrijf_id` on the first traject of each deelnemer at D;
  deelnemers without a known leerbedrijf are counted apart.
""".strip()

PRIVACY_RULE = """
**Disclosure control: the cell key method** (scope `publiek`, and `regio:` for its region; landelijk and
instelling see exact counts). Every count a publiek or regio answer shows (overzichten, headline numbers,
`/v1/aantallen` and `/v1/reconciliatie` for regio, the web pages) is *afgerond/verstoord* the way statistics offices
publish tables cut many ways (the ONS method of the 2021 Census):

1. *Record keys:* every deelnemer has a random integer 0..255, drawn once when the registry first sees them and
   kept with its state (never derived from the pseudonym).
2. *Cell key:* the sum of the record keys of the records a cell counts, modulo 256 (a verklaring counts with its
   deelnemer's key).
3. *Perturbation:* published value = true value + the p-table's entry for (min(value, 7), cell key). The p-table
   (`x-disclosure-control` in the OpenAPI document) publishes no value from 1 to 4: a true 1..4 becomes 0 or 5,
   a true 0 stays 0, from 7 on the change is -2..+2; every row is unbiased. The same persons in a cell give the
   same published value in every overzicht, filter, scope and peildatum, so differencing tables, months, regions
   or scopes against each other finds only noise.
4. *Totals* (a `totaal` column, the headline numbers, the register of a reconciliation) are cells of their own,
   perturbed from their own records: they need not equal the sum of the perturbed cells. The regio web page's
   totals per region are the sums of the perturbed cells shown.
5. *Published peildata only:* `publiek` may ask only the last day of a completed month (setting
   `PRAKTIJK_PUBLIC_PEILDATA`: `maandeinde` (default), `kwartaaleinde`, or `dag` = any day before today);
   another date is 400 with the nearest valid ones in `valid_values`.
6. *brancheorganisaties* are checked against the reference list; any other name is counted under
   `overig (niet in de referentielijst)`.

A publiek or regio JSON answer carries `"onthullingsbeheersing": {"methode": "celsleutel", "ptable_versie": "1"}`;
its CSV starts with the line `# onthullingsbeheersing: methode=celsleutel; ptable_versie=1` before the header.
Every count is an integer (no `null`, no `<5`). Dimension columns (niveau, tranche, aantal_werkprocessen, ...)
are never perturbed. A `regio:` key may narrow its overzichten by pilot (by instelling: 403). In every CSV export
(all scopes) a text cell starting with `= + - @` or a control character gets a leading `'`, and other control
characters become spaces.
""".strip()

RECONCILIATIE_RULES = """
**Reconciliation rules**: per pilot, the **register** count at D (deelnemers-per-pilot rule: the pilot of the
deelnemer's first inschrijving, started on or before D) next to each partner's own count: per partner the
`TellingGemeld` for the pilot with a peildatum within the window around D (`PRAKTIJK_RECONCILE_WINDOW_DAYS`,
default 31 days; the latest peildatum wins, then the latest recorded). Every list entry and every registered
person falls in exactly one category, checked in this order: `overeenkomend` (registered here, listed),
`dubbel_in_bron` (second and later entries of one person), `boris_vermoeden` / `alleen_in_register` (registered,
not listed; under 18 at inschrijving / otherwise), `andere_pilot` (registered under another pilot),
`buiten_peildatum` (inschrijving for this pilot after D), `aangemeld_niet_gestart` (aanmelding or advies, no
inschrijving), `niet_geregistreerd` (unknown), `onverklaard` (a source without a list: its whole difference).
So every source closes: `gemeld - register = (dubbel_in_bron + andere_pilot + buiten_peildatum +
aangemeld_niet_gestart + niet_geregistreerd + onverklaard) - (boris_vermoeden + alleen_in_register)`.
**gereconcilieerd** = register + the distinct unknown persons an mbo-instelling lists as `in_traject` (gemeente,
UWV and monitor lists refer, they never add people).
""".strip()

SCOPES_DOC = """
**Authorisation**: `Authorization: Bearer <api key>` (create keys with `praktijkregister apikey create --scope ...`).
Scopes: `landelijk` (everything); `regio:<arbeidsmarktregio>` (overzichten and aantallen of that region only);
`instelling:<mbo partner id>` (its own trajecten/tijdlijnen, overzichten and aantallen restricted to it);
`publiek` (overzichten with small cells suppressed, and verification). Verification needs no key.
Reconciliatie: `landelijk` all pilots, `regio:` the pilots of its region, `instelling:` the pilots it enrols in
(and their pseudonyms per category); `publiek`: 403.
No, unknown or revoked key: 401; outside the scope: 403. Errors are `application/problem+json` (RFC 9457).
""".strip()

TAGS: list[dict[str, Any]] = [
    {"name": "overzichten", "description": "The evaluation's tables for any peildatum."},
    {"name": "aantallen", "description": "Monthly flow counts."},
    {"name": "trajecten", "description": "One traject or one deelnemer's history (landelijk / own instelling)."},
    {"name": "verificatie", "description": "Public verification of a praktijkverklaring."},
    {"name": "reconciliatie", "description": "The register's count per pilot next to the partners' own counts."},
    {"name": "operations", "description": "Consumer lag and metrics."},
]

API_SUMMARY = (
    "Read models of the praktijkleren registry: overzichten, aantallen, trajecten, verification, reconciliatie, status."
)
API_DESCRIPTION = SCOPES_DOC + "\n\n" + PRIVACY_RULE + "\n\n" + COUNTING_RULES


def overzicht_description(catalogue: dict[str, str]) -> str:
    """The description of GET /v1/overzichten/{naam}: filters, errors, the rules and every overzicht."""
    listed = "".join(f"\n* `{n}`: {d}" for n, d in sorted(catalogue.items()))
    return (
        "One of the evaluation's tables, from the events alone, as of `peildatum`.\n\n"
        "Optional filters narrow it to a pilot, an arbeidsmarktregio or an mbo-instelling; keys with a "
        "`regio:` or `instelling:` scope are always narrowed to theirs (asking for another: 403); "
        "`publiek` keys may narrow by pilot only (else 403), and only at published peildata (see below).\n\n"
        "Unknown `naam`: 404 with `valid_values`; invalid `peildatum`: 400 with `valid_values`.\n\n"
        + PRIVACY_RULE
        + "\n\n"
        + COUNTING_RULES
        + ("\n\n**Overzichten** (columns and rules of each):" + listed if listed else "")
    )


def disclosure_control() -> dict[str, Any]:
    """The OpenAPI extension ``x-disclosure-control``: the method, its parameters and the whole p-table."""
    t = onthulling.ptabel()
    return {
        "methode": onthulling.METHODE,
        "scopes": ["publiek", "regio"],
        "ptable_versie": t.versie,
        "sleutelbereik": onthulling.SLEUTELBEREIK,
        "drempel": t.drempel,
        "max_verstoring": t.max_verstoring,
        "max_pcv": t.max_pcv,
        "totalen": "cells of their own, perturbed from their own records",
        # (pcv, first ckey, last ckey, pvalue): the p-table's rows, runs of equal pvalue merged
        "ptable": _runs(t),
    }


def _runs(t: onthulling.PTabel) -> list[list[int]]:
    out: list[list[int]] = []
    for (pcv, ckey), p in sorted(t.verstoring.items()):
        if out and out[-1][0] == pcv and out[-1][3] == p and out[-1][2] == ckey - 1:
            out[-1][2] = ckey
        else:
            out.append([pcv, ckey, ckey, p])
    return out


def _problem_errors_only(spec: dict[str, Any]) -> dict[str, Any]:
    """Error responses are documented as application/problem+json only."""
    problem_doc = {
        "description": "Invalid parameter (problem+json)",
        "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for path in spec.get("paths", {}).values():
        for op in path.values():
            if "requestBody" not in op and "422" in op.get("responses", {}):
                # invalid query/path parameters answer 400 problem+json, not FastAPI's 422
                del op["responses"]["422"]
                op["responses"].setdefault("400", problem_doc)
            for code, resp in op.get("responses", {}).items():
                content = resp.get("content", {})
                if code[:1] in ("4", "5") and problems.MEDIA_TYPE in content and "application/json" in content:
                    content[problems.MEDIA_TYPE] = content.pop("application/json")
    return spec


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` by FastAPI's schema with the error responses rewritten (built once, then cached)."""
    default_openapi: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problem_errors_only(default_openapi())
            app.openapi_schema["info"]["x-disclosure-control"] = disclosure_control()
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
