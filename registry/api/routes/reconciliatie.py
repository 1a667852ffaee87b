"""GET /v1/reconciliatie (per pilot: register, each partner's telling, the categories that explain the difference)
and GET /v1/reconciliatie/{pilot}/personen (the pseudonyms behind one source's categories)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from registry.api.answers import Answers
from registry.api.csv_uitvoer import to_csv
from registry.api.deps import Conn, Context, Queries
from registry.api.docs import RECONCILIATIE_RULES
from registry.api.params import NAAM_PATTERN, PARTNER_PATTERN, Datum
from registry.api.principal import Principal
from registry.api.problems import problem_responses
from registry.api.schemas import ReconciliatiePersonenResponse, ReconciliatieResponse
from registry.diensten import onthulling
from registry.diensten import reconciliatie as diensten
from registry.domein.reconciliatie import CATEGORIEEN, ZONDER_RELATIE

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
    "`pilot`: 404 with `valid_values`; invalid `peildatum`: 400. A regio answer is perturbed by the cell key "
    "method (`onthullingsbeheersing`; each count on its own, so a source's equation need not close).\n\n"
    + RECONCILIATIE_RULES,
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
    # the scope is checked in the use case, not by a dependency: an invalid request is 400 whatever the scope
    rijen, per_relatie = diensten.reconciliatie(
        rm, conn, answers, principal, peildatum, pilot, context.settings.reconcile_window_days
    )
    verstoord = principal.scope.kind == "regio"
    if format == "csv":
        kolommen = (*CSV_COLUMNS, ZONDER_RELATIE) if per_relatie else CSV_COLUMNS
        return Response(
            (onthulling.csv_kop() if verstoord else "") + to_csv(csv_lines(rijen), kolommen),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="reconciliatie_{peildatum.isoformat()}.csv"'},
        )
    extra = {"onthullingsbeheersing": onthulling.beschrijving()} if verstoord else {}
    return ReconciliatieResponse.model_validate({"peildatum": peildatum, "rijen": rijen, **extra})


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
    antwoord = diensten.personen_geaudit(
        context, rm, conn, principal, pilot, partner, peildatum, context.settings.reconcile_window_days
    )
    response.headers["Cache-Control"] = "no-store"
    return ReconciliatiePersonenResponse.model_validate(antwoord)
