"""GET /v1/doorstroom: from aanmelding to advies, start, verklaring and end per cohort, with lead times, endings
and uitstroom (registry/diensten/doorstroom.py)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from registry.api.answers import Answers
from registry.api.csv_uitvoer import to_csv
from registry.api.deps import Context, Queries
from registry.api.params import (
    COHORT_PATTERN,
    EERSTE_DATUM,
    LAATSTE_DATUM,
    Datum,
    PilotQuery,
    RegioQuery,
    cohort_param,
)
from registry.api.principal import Principal
from registry.api.problems import ProblemError, problem_responses
from registry.api.schemas import (
    DoorstroomBeeindiging,
    DoorstroomContract,
    DoorstroomConversie,
    DoorstroomDoorlooptijd,
    DoorstroomResponse,
    DoorstroomSpreiding,
    DoorstroomStap,
    DoorstroomUitkeringNa,
    DoorstroomUitstroom,
    Onthullingsbeheersing,
)
from registry.diensten import onthulling
from registry.diensten.doorstroom import DoorstroomAntwoord, doorstroom
from registry.domein.doorstroom import Spreiding, csv_rijen

Doelgroep = Literal["a", "b", "c", "d", "e", "f", "g", "h", "i"]
Uitkering = Literal["participatiewet", "ww", "wajong", "wia", "nug", "geen", "onbekend"]
AanmelderType = Literal[
    "gemeente",
    "uwv",
    "rmc",
    "sw_bedrijf",
    "werkgever",
    "mbo",
    "dji",
    "reintegratie",
    "leerwerkloket",
    "uitzendbureau",
    "overig",
]

router = APIRouter(tags=["doorstroom"])


@router.get(
    "/v1/doorstroom",
    response_model=DoorstroomResponse,
    response_model_exclude_unset=True,  # onthullingsbeheersing only where set (publiek, regio)
    responses={
        **problem_responses(400, 401, 403),
        200: {
            "description": "The figures (JSON, or CSV with one line per (sectie, sleutel) when format=csv).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
    summary="Doorstroom of a cohort",
    description="The deelnemers whose FIRST aanmelding falls in `cohort` (a year `YYYY` or quarter `YYYY-Qn`), "
    "as of `peildatum` (only events on or before it count): how many got an advies, started, hold a verklaring "
    "and ended every traject (`stappen`, `conversie`), the days from aanmelding to start and from start to the "
    "first valid verklaring (`doorlooptijd_dagen`, nearest-rank percentiles), the reden and uitvalreden of their "
    "last ended traject (`beeindiging`), and the latest uitstroom per peilmoment (`uitstroom`; `contract` and "
    "`uitkering_na` among betaald_werk). Filters on the first aanmelding: `pilot` or `regio` (not both), "
    "`doelgroep`, `uitkering`, `aanmelder_type`. `format=csv`: one row per (sectie, sleutel) with the same "
    "numbers. Scopes: landelijk (exact); regio (its pilots) and publiek (published peildata only) perturbed by "
    "the cell key method (`onthullingsbeheersing`, see x-disclosure-control): every count from the record keys of "
    "its deelnemers, the conversions from the perturbed steps, lead-time percentiles only when the published n is "
    "at least 10; instelling: 403.",
)
def doorstroom_route(
    principal: Principal,
    rm: Queries,
    answers: Answers,
    context: Context,
    cohort: Annotated[
        str,
        Query(pattern=COHORT_PATTERN, description="YYYY or YYYY-Qn (n 1..4), a year 1990..2100.", examples=["2019"]),
    ],
    peildatum: Annotated[Datum, Query(description="Peildatum (business date), YYYY-MM-DD.", examples=["2021-01-13"])],
    pilot: PilotQuery = None,
    regio: RegioQuery = None,
    doelgroep: Annotated[Doelgroep | None, Query(description="Doelgroep code a-i of the first aanmelding.")] = None,
    uitkering: Annotated[Uitkering | None, Query(description="Uitkering at the first aanmelding.")] = None,
    aanmelder_type: Annotated[
        AanmelderType | None, Query(description="Aanmelder_type of the first aanmelding.")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Any:
    if pilot is not None and regio is not None:
        raise ProblemError(400, "invalid-parameter", "give pilot or regio, not both", parameter="regio")
    try:
        c = cohort_param(cohort)
    except ValueError:
        raise ProblemError(
            400,
            "invalid-parameter",
            f"cohort is YYYY or YYYY-Qn with a year from {EERSTE_DATUM.year} to {LAATSTE_DATUM.year}",
            parameter="cohort",
        ) from None
    antwoord = doorstroom(
        rm,
        answers,
        principal,
        c,
        peildatum,
        pilot=pilot,
        regio=regio,
        doelgroep=doelgroep,
        uitkering=uitkering,
        aanmelder_type=aanmelder_type,
        publieke_peildata=context.settings.public_peildata,
    )
    if format == "csv":
        return Response(
            (onthulling.csv_kop() if antwoord.verstoord else "")
            + to_csv(csv_rijen(antwoord.uitkomst), header=["sectie", "sleutel", "waarde"]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="doorstroom_{cohort}_{peildatum.isoformat()}.csv"'},
        )
    return response(antwoord)


def _spreiding(s: Spreiding) -> DoorstroomSpreiding:
    return DoorstroomSpreiding(n=s.n, p25=s.p25, mediaan=s.mediaan, p75=s.p75)


def response(a: DoorstroomAntwoord) -> DoorstroomResponse:
    d = a.uitkomst
    tijden = dict(d.doorlooptijd_dagen)
    antwoord = DoorstroomResponse(
        cohort=str(a.cohort),
        peildatum=a.peildatum,
        pilot=a.pilot,
        regio=a.regio,
        doelgroep=a.doelgroep,
        uitkering=a.uitkering,
        aanmelder_type=a.aanmelder_type,
        stappen=[DoorstroomStap.model_validate({"stap": s, "deelnemers": n}) for s, n in d.stappen],
        conversie=DoorstroomConversie(**dict(d.conversie)),
        doorlooptijd_dagen=DoorstroomDoorlooptijd(
            aanmelding_tot_start=_spreiding(tijden["aanmelding_tot_start"]),
            start_tot_verklaring=_spreiding(tijden["start_tot_verklaring"]),
        ),
        beeindiging=[DoorstroomBeeindiging(reden=r, uitvalreden=u, deelnemers=n) for r, u, n in d.beeindiging],
        uitstroom=[
            DoorstroomUitstroom.model_validate({"peilmoment": p, "uitstroom": u, "deelnemers": n})
            for p, u, n in d.uitstroom
        ],
        contract=[
            DoorstroomContract.model_validate({"peilmoment": p, "contract": c, "deelnemers": n})
            for p, c, n in d.contract
        ],
        uitkering_na=[
            DoorstroomUitkeringNa.model_validate({"peilmoment": p, "uitkering_na": u, "deelnemers": n})
            for p, u, n in d.uitkering_na
        ],
    )
    if a.verstoord:
        antwoord.onthullingsbeheersing = Onthullingsbeheersing(**onthulling.beschrijving())
    return antwoord
