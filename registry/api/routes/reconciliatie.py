"""GET /v1/reconciliatie (per pilot: register, each partner's telling, the categories that explain the difference)
and GET /v1/reconciliatie/{pilot}/personen (the pseudonyms behind one source's categories)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import Connection

from registry.api.auth import ApiKey
from registry.api.csv_uitvoer import to_csv
from registry.api.deps import Answers, Conn, Context, Principal, Queries, canonical_pilot, forbid, require
from registry.api.docs import RECONCILIATIE_RULES
from registry.api.inzage import audit
from registry.api.params import NAAM_PATTERN, PARTNER_PATTERN, Datum
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import ReconciliatiePersonenResponse, ReconciliatieResponse
from registry.domein import referentie
from registry.domein.reconciliatie import CATEGORIEEN, ZONDER_RELATIE, PilotRij, met_relatie

PERSONEN = "reconciliatie_personen"  # the audit trail's endpoint name of GET /v1/reconciliatie/{pilot}/personen

DateParam = Annotated[
    Datum,
    Query(description="Peildatum D (business date), YYYY-MM-DD, 1990-01-01..2100-12-31.", examples=["2020-11-30"]),
]

CSV_COLUMNS = (
    "pilot",
    "register",
    "gereconcilieerd",
    "partner",
    "bron_type",
    "telling_peildatum",
    "gemeld",
    "verschil",
    *CATEGORIEEN,
)

router = APIRouter(tags=["reconciliatie"])


def visible_pilots(principal: ApiKey, rm: ReadQueries, conn: Connection) -> set[str] | None:
    """The pilots the key may see (None: all): its region's, or those its instelling enrols in."""
    scope = principal.scope
    if scope.kind == "regio":
        return {p.pilot_id for p in referentie.pilots().values() if p.arbeidsmarktregio == scope.value}
    if scope.kind == "instelling" and scope.value is not None:
        return rm.pilots_of_instelling(conn, scope.value)
    return None


def relaties_van(principal: ApiKey, rm: ReadQueries, conn: Connection) -> set[str] | None:
    """The pseudonyms an instelling key has a relation with (the deelnemers it enrolled); None: every scope that may
    see every person (landelijk)."""
    scope = principal.scope
    if scope.kind == "instelling" and scope.value is not None:
        return rm.deelnemers_of_instelling(conn, scope.value)
    return None


def api_rij(rij: PilotRij, relatie: set[str] | None) -> dict[str, Any]:
    """A pilot's row as the key may read it: an instelling sees list entries about persons it has no relation with
    only as one count (``zonder_relatie``), never in which category they fall."""
    if relatie is None:
        return rij.api()
    return {**rij.api(), "bronnen": [met_relatie(b, relatie) for b in rij.bronnen]}


def csv_lines(rijen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per (pilot, source); a pilot without a source gets one line with empty source columns."""
    out: list[dict[str, Any]] = []
    for rij in rijen:
        pilot = {"pilot": rij["pilot"], "register": rij["register"], "gereconcilieerd": rij["gereconcilieerd"]}
        if not rij["bronnen"]:
            out.append(pilot)
        for b in rij["bronnen"]:
            out.append(
                {
                    **pilot,
                    **{k: v for k, v in b.items() if k not in ("categorieen", "vergelijking")},
                    **b["categorieen"],
                }
            )
    return out


@router.get(
    "/v1/reconciliatie",
    response_model=ReconciliatieResponse,
    response_model_exclude_none=True,
    responses={
        **problem_responses(400, 401, 403, 404),
        200: {
            "description": "The rows (JSON, or CSV with one line per pilot and source when format=csv).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
    summary="Reconciled deelnemersaantallen per pilot",
    description="One row per pilot with a registered deelnemer at `peildatum` or a telling near it: the "
    "register count, per source (sorted by partner) its count, the difference and the category "
    "counts that explain it (all nine, zeros included), and the reconciled count. "
    "`format=csv`: one line per pilot and source (columns pilot, register, gereconcilieerd, "
    "partner, bron_type, telling_peildatum, gemeld, verschil, then the categories in order). "
    "Scopes: landelijk (all pilots), regio (the pilots of its arbeidsmarktregio), instelling "
    "(the pilots it enrols in; list entries about persons it did not enrol are counted in one "
    "extra category, `zonder_relatie`, only); publiek: 403; a `pilot` outside the scope: 403. Unknown "
    "`pilot`: 404 with `valid_values`; invalid `peildatum`: 400.\n\n" + RECONCILIATIE_RULES,
)
def reconciliatie(
    principal: Principal,
    rm: Queries,
    conn: Conn,
    answers: Answers,
    context: Context,
    peildatum: DateParam,
    pilot: Annotated[
        str | None,
        Query(pattern=NAAM_PATTERN, max_length=80, description="pilot_id or name, e.g. groningen (unknown: 404)"),
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Any:
    # in the endpoint, not a dependency: an invalid request is 400 before the scope is looked at
    require(principal, "landelijk", "regio", "instelling")
    p = canonical_pilot(pilot, 404) if pilot else None
    visible = visible_pilots(principal, rm, conn)
    if p is not None and visible is not None and p not in visible:
        raise forbid(principal, f"pilot {p!r} is outside the key's pilots")
    venster = context.settings.reconcile_window_days
    relatie = relaties_van(principal, rm, conn)
    if relatie is None:
        rows = answers.rows(
            ("reconciliatie", peildatum, p, venster),
            lambda: [r.api() for r in rm.reconciliatie_rijen(conn, peildatum, p, venster_dagen=venster)],
        )
    else:  # per key: computed with the persons, never cached
        rows = [
            api_rij(r, relatie)
            for r in rm.reconciliatie_rijen(conn, peildatum, p, venster_dagen=venster, personen=True)
            if visible is None or r.pilot in visible
        ]
    rijen = [r for r in rows if visible is None or r["pilot"] in visible]
    if format == "csv":
        kolommen = CSV_COLUMNS if relatie is None else (*CSV_COLUMNS, ZONDER_RELATIE)
        return Response(
            to_csv(csv_lines(rijen), kolommen),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="reconciliatie_{peildatum.isoformat()}.csv"'},
        )
    return ReconciliatieResponse.model_validate({"peildatum": peildatum, "rijen": rijen})


@router.get(
    "/v1/reconciliatie/{pilot}/personen",
    response_model=ReconciliatiePersonenResponse,
    responses=problem_responses(400, 401, 403, 404),
    summary="The pseudonyms per category of one source's telling",
    description="For the telling of `partner` chosen for `pilot` at `peildatum` (see GET /v1/reconciliatie): "
    "per category (all nine keys) the sorted pseudonyms; `dubbel_in_bron` lists a person once per "
    "extra entry, `onverklaard` is always empty. Scopes: landelijk; instelling (only pilots it "
    "enrols in, and only the deelnemers it enrolled); every other scope 403. Every request, "
    "refused ones too, is written to the audit trail (GET /v1/audit). Unknown pilot: 404; a "
    "partner without a telling for the "
    "pilot near `peildatum`: 404 with the partners that have one in `valid_values`. "
    "Not cached (`Cache-Control: no-store`).\n\n" + RECONCILIATIE_RULES,
)
def personen(
    pilot: Annotated[str, Path(pattern=NAAM_PATTERN, max_length=80, description="pilot_id or name, e.g. groningen")],
    principal: Principal,
    rm: Queries,
    conn: Conn,
    context: Context,
    response: Response,
    peildatum: DateParam,
    partner: Annotated[
        str,
        Query(pattern=PARTNER_PATTERN, max_length=80, description="The partner of the source, e.g. gemeente.gm0014"),
    ],
) -> ReconciliatiePersonenResponse:
    object_id = f"{pilot}/{partner}@{peildatum.isoformat()}"
    try:
        antwoord = _personen(pilot, principal, rm, conn, context, peildatum, partner)
    except ProblemError as exc:  # a person-level read: every request is in the audit trail, refusals too
        audit(context, principal, PERSONEN, None, object_id, exc.status)
        raise
    audit(context, principal, PERSONEN, None, object_id, 200)
    response.headers["Cache-Control"] = "no-store"
    return antwoord


def _personen(
    pilot: str, principal: ApiKey, rm: ReadQueries, conn: Connection, context: Any, peildatum: Any, partner: str
) -> ReconciliatiePersonenResponse:
    require(principal, "landelijk", "instelling")
    p = canonical_pilot(pilot, 404)
    visible = visible_pilots(principal, rm, conn)
    if visible is not None and p not in visible:
        raise forbid(principal, f"the key's instelling has no inschrijving in pilot {p!r}")
    relatie = relaties_van(principal, rm, conn)
    # pseudonyms: computed per request, never kept in the answer cache
    rijen = rm.reconciliatie_rijen(
        conn, peildatum, p, venster_dagen=context.settings.reconcile_window_days, personen=True
    )
    bronnen = [b for rij in rijen if rij.pilot == p for b in rij.bronnen]
    bron = next((b for b in bronnen if b.partner.casefold() == partner.strip().casefold()), None)
    if bron is None:
        raise ProblemError(
            404,
            "not-found",
            f"the partner has no telling for pilot {p!r} near {peildatum.isoformat()}",
            parameter="partner",
            valid_values=sorted(b.partner for b in bronnen),
        )
    return ReconciliatiePersonenResponse.model_validate(
        {
            "peildatum": peildatum,
            "pilot": p,
            "partner": bron.partner,
            "bron_type": bron.bron_type,
            "telling_peildatum": bron.telling_peildatum,
            "personen": {
                c: sorted(d for d in bron.personen.get(c, ()) if relatie is None or d in relatie) for c in CATEGORIEEN
            },
        }
    )
