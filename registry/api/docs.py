"""The API's documentation texts (OpenAPI description, tags) and the problem+json touch-up of the schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from registry.api import problems

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
**Small cells that stay small** (scope `publiek`, and `regio:` for its region's person-sized cells; one rule set,
as a statistics office would):

1. *Complete table first.* Suppression is computed on the complete national table; `?pilot=X` then returns row X
   of that table (so a filter never shows what the full table hides). Only the per-pilot overzichten
   (deelnemers-per-pilot, geslacht-per-pilot, leerbedrijven-per-pilot, verklaringen-per-pilot) may be narrowed by
   pilot; another overzicht with `pilot`, and any `regio`/`instelling`: 403.
2. *Primary:* every count of 1 to 4 becomes `null`.
3. *Secondary*, repeated until stable, treating every row and every count column as a line whose sum is known
   (a `totaal` column; the national totals that deelnemers-per-pilot, leeftijdsgroepen, instellingen and the
   headline numbers share): a line with a hidden non-zero cell shows **no zeros** (its zeros are `null` too); a row
   with a hidden count loses its `totaal`; a line left with a single hidden non-zero cell also loses its smallest
   other non-zero count. Shares (percentage/aandeel) of such a row are `null`.
4. *Protected together:* a pilot hidden in deelnemers-per-pilot is hidden in geslacht-per-pilot (man, vrouw,
   onbekend) and in the deelnemers column of leerbedrijven-per-pilot, so no other overzicht sums to it.
5. *Published peildata only:* `publiek` may ask only the last day of a completed month (setting
   `PRAKTIJK_PUBLIC_PEILDATA`: `maandeinde` (default), `kwartaaleinde`, or `dag` = any day before today);
   another date is 400 with the nearest valid ones in `valid_values` (no bisecting days to date one person).
6. *brancheorganisaties* are checked against the reference list; any other name is counted under
   `overig (niet in de referentielijst)`.

Every row of a publiek answer has `"onderdrukt": true|false`. Dimension columns (niveau, tranche,
aantal_werkprocessen, ...) are never suppressed. In every CSV export (all scopes) a text cell starting with
`= + - @` or a control character gets a leading `'`, and other control characters become spaces.
A `regio:` key gets rules 1-4 and 6 on its region's complete tables (narrowing by pilot: the per-pilot
overzichten only; by instelling: 403), and its headline totals of 1 to 4 are suppressed. Keys with scope `landelijk`
and `instelling:...` see exact counts.
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
        "`publiek` keys may narrow only the per-pilot overzichten, by pilot only (else 403), and only at "
        "published peildata (see below).\n\n"
        "Unknown `naam`: 404 with `valid_values`; invalid `peildatum`: 400 with `valid_values`.\n\n"
        + PRIVACY_RULE
        + "\n\n"
        + COUNTING_RULES
        + ("\n\n**Overzichten** (columns and rules of each):" + listed if listed else "")
    )


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
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
