"""The query API: ``create_app(settings)`` builds the FastAPI application.

Dependencies are injected (``Depends``): the database connection (one per request, read-only use of the read
models), the authenticated API key (``Authorization: Bearer prk_...``) and the read models themselves. Every
error is RFC 9457 problem+json (see ``problems.py``). ``/metrics`` is for Prometheus, ``/docs`` is the OpenAPI UI.
"""
# no "from __future__ import annotations": FastAPI resolves the locally defined Annotated dependencies at runtime

import re
from datetime import date, datetime
from typing import Annotated, Any, Callable, Iterator, Literal

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from registry.domein import referentie
from registry.infra import topics
from registry.api import metrics as metrics_mod
from registry.api import problems
from registry.api.auth import ApiKey, KeyLookup, KeyStore, Kind, canonical_instelling, canonical_regio
from registry.api.problems import ProblemError, problem_responses
from registry.api.readmodels import (AnswerCache, ReadModels, data_version, load_default, strip_personal,
                                     suppress_small_cells, to_csv)
from registry.api.status import ConsumerLag, KafkaUnavailable, ProjectionOffsets, kafka_status, projection_offsets
from registry.infra.settings import Settings

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
**Small-cell suppression** (scope `publiek` only): every count of 1 to 4 is replaced by `null` (primary
suppression), and so are the cells that would give it back (secondary suppression, repeated until stable): the
row's `totaal`; when a row would have a single suppressed count, its smallest other non-zero count; when a column
would have a single suppressed cell, its smallest other non-zero cell (column sums are published elsewhere, e.g.
deelnemers per pilot). Shares (percentage/aandeel columns) of such a row are suppressed too. Every row of a
publiek answer has `"onderdrukt": true|false` (true when anything in that row was suppressed); 0 is shown.
Dimension columns (niveau, tranche, aantal_werkprocessen, ...) are never suppressed.
Keys with scope `landelijk`, `regio:...` and `instelling:...` see exact counts.
""".strip()

SCOPES_DOC = """
**Authorisation**: `Authorization: Bearer <api key>` (create keys with `praktijkregister apikey create --scope ...`).
Scopes: `landelijk` (everything); `regio:<arbeidsmarktregio>` (overzichten and aantallen of that region only);
`instelling:<mbo partner id>` (its own trajecten/tijdlijnen, overzichten and aantallen restricted to it);
`publiek` (overzichten with small cells suppressed, and verification). Verification needs no key.
No, unknown or revoked key: 401; outside the scope: 403. Errors are `application/problem+json` (RFC 9457).
""".strip()

DEFAULT_READ_SCHEMA = "praktijk"  # = projections.store.DEFAULT_SCHEMA
_GEMEENTE = re.compile(r"^GM\d{4}$")

ALL: tuple[Kind, ...] = ("landelijk", "regio", "instelling", "publiek")


# --- response models ----------------------------------------------------------------------------------------

class OverzichtInfo(BaseModel):
    naam: str = Field(description="Name to use in /v1/overzichten/{naam}.")
    beschrijving: str = Field(description="One-line description.")


class OverzichtenLijst(BaseModel):
    overzichten: list[OverzichtInfo]


class OverzichtResponse(BaseModel):
    naam: str
    peildatum: date
    rijen: list[dict[str, Any]] = Field(description="One object per row; the CSV format has the same columns.")


class _Open(BaseModel):
    """Read-model rows: the documented members, plus any the read models add later."""

    model_config = ConfigDict(extra="allow")


class MaandAantallen(_Open):
    maand: str = Field(description="YYYY-MM")
    aangemeld: int = Field(0, description="KandidaatAangemeld that month.")
    ingeschreven: int = Field(0, description="Inschrijvingen with startdatum that month.")
    actief: int = Field(0, description="Trajecten started and not beeindigd on the month's last day.")
    verklaringen: int = Field(0, description="Verklaringen issued that month and not revoked by its last day.")
    beeindigd: dict[str, int] = Field(default_factory=dict, description="Trajecten beeindigd that month, by reden.")
    uitstroom: dict[str, int] = Field(default_factory=dict, description="Uitstroom registered that month, by type.")


class AantallenResponse(BaseModel):
    van: date
    tot: date
    regio: str | None = None
    pilot: str | None = None
    gemeente: str | None = None
    instelling: str | None = None
    maanden: list[MaandAantallen]


class TijdlijnEntry(_Open):
    event_id: str | None = None
    event_type: str
    occurred_at: datetime | None = Field(None, description="Business time (null for a rejected submission).")
    recorded_at: datetime | None = Field(None, description="Registry time (validator).")
    partner: str | None = None
    traject_id: str | None = None
    verklaring_id: str | None = None
    warnings: list[str] = Field(default_factory=list)
    gegevens: dict[str, Any] = Field(default_factory=dict, description="The event's fields (no persoonsgegevens).")
    afgewezen: bool = Field(False, description="True for a submission the validator refused.")
    reden: str | None = Field(None, description="Reason code of a refused submission.")
    melding: str | None = Field(None, description="Message of a refused submission.")


class AfgetekendWerkproces(_Open):
    crebo: str
    werkproces: str
    naam: str | None = None
    afgetekend_op: date | None = None


class TrajectVerklaring(_Open):
    verklaring_id: str
    volgnummer: int | None = None
    uitgegeven_op: date | None = None
    status: str | None = Field(None, description="geldig | ingetrokken")
    ingetrokken_op: date | None = None
    reden_intrekking: str | None = None


class TrajectResponse(_Open):
    traject_id: str
    deelnemer: str | None = Field(None, description="Pseudonym of the deelnemer.")
    mbo_instelling: str | None = Field(None, description="mbo partner id")
    mbo_instelling_naam: str | None = None
    crebo: str | None = None
    pilot: str | None = None
    startdatum: date | None = None
    leerbedrijf_id: str | None = None
    status: str | None = Field(None, description="open | beeindigd")
    reden: str | None = None
    beeindigd_op: date | None = None
    afgetekende_werkprocessen: list[AfgetekendWerkproces] = Field(default_factory=list)
    verklaringen: list[TrajectVerklaring] = Field(default_factory=list)
    events: list[TijdlijnEntry] = Field(default_factory=list, description="Full history, refused submissions marked.")


class KwalificatieRef(_Open):
    crebo: str
    naam: str | None = None
    niveau: int | None = None


class WerkprocesRef(_Open):
    crebo: str | None = None
    werkproces: str | None = None
    naam: str | None = None


class LeerbedrijfRef(_Open):
    leerbedrijf_id: str | None = None
    naam: str | None = None


class VerificatieResponse(_Open):
    verklaring_id: str
    status: str | None = Field(None, description="geldig | ingetrokken")
    ingetrokken_op: date | None = None
    reden_intrekking: str | None = None
    mbo_instelling: str | None = Field(None, description="Name of the issuing mbo-instelling.")
    kwalificatie: str | None = Field(None, description="crebo, or sorted crebos joined by ','.")
    kwalificaties: list[KwalificatieRef] = Field(default_factory=list)
    werkprocessen: list[WerkprocesRef] = Field(default_factory=list)
    leerbedrijf: LeerbedrijfRef | None = None
    uitgegeven_op: date | None = None
    brancheorganisaties: list[str] = Field(default_factory=list)


class PartitionStatus(BaseModel):
    topic: str
    partition: int
    end_offset: int
    committed_offset: int | None = Field(description="Committed (validator) or stored (projection) offset; null = none yet.")
    lag: int = Field(description="end_offset - committed_offset (counts transaction markers too).")
    pending: bool = Field(description="A committed record after committed_offset is still to be consumed.")
    last_recorded_at: datetime | None = None


class ConsumerStatus(BaseModel):
    naam: str
    soort: Literal["validator", "projectie"]
    group: str | None = None
    lag: int
    caught_up: bool
    last_recorded_at: datetime | None = Field(None, description="recorded_at of the last applied event (projections).")
    partitions: list[PartitionStatus]


class StatusResponse(BaseModel):
    caught_up: bool = Field(description="True when the validator and every projection have consumed everything published.")
    consumers: list[ConsumerStatus]


def _consumer_status(c: ConsumerLag) -> ConsumerStatus:
    return ConsumerStatus(
        naam=c.naam, soort="validator" if c.soort == "validator" else "projectie", group=c.group, lag=c.lag,
        caught_up=not c.pending, last_recorded_at=c.last_recorded_at,
        partitions=[PartitionStatus(topic=p.topic, partition=p.partition, end_offset=p.end_offset,
                                    committed_offset=p.committed_offset, lag=p.lag, pending=p.pending,
                                    last_recorded_at=p.last_recorded_at) for p in c.partitions])


# --- helpers --------------------------------------------------------------------------------------------------

def forbid(principal: ApiKey, detail: str) -> ProblemError:
    return ProblemError(403, "forbidden", f"scope {principal.scope} does not allow this: {detail}", scope=str(principal.scope))


def require(principal: ApiKey, *kinds: Kind) -> None:
    if principal.scope.kind not in kinds:
        raise forbid(principal, f"requires one of the scopes {', '.join(k if k in ('landelijk', 'publiek') else k + ':...' for k in kinds)}")


def canonical_pilot(value: str) -> str:
    pilots = referentie.pilots()
    folded = re.sub(r"[^a-z0-9]", "", value.casefold())
    for pid, p in pilots.items():
        if folded in (re.sub(r"[^a-z0-9]", "", pid), re.sub(r"[^a-z0-9]", "", p.naam.casefold())):
            return pid
    raise ProblemError(400, "invalid-parameter", f"unknown pilot {value!r}", parameter="pilot", valid_values=sorted(pilots))


def _regio_param(value: str) -> str:
    regio = canonical_regio(value)
    if regio is None:
        raise ProblemError(400, "invalid-parameter", f"unknown arbeidsmarktregio {value!r}", parameter="regio",
                           valid_values=referentie.arbeidsmarktregios())
    return regio


def _instelling_param(value: str) -> str:
    inst = canonical_instelling(value)
    if inst is None:
        raise ProblemError(400, "invalid-parameter", f"unknown mbo-instelling {value!r}", parameter="instelling",
                           valid_values=sorted(referentie.mbo_instellingen()))
    return inst


def aggregate_filters(principal: ApiKey, pilot: str | None, regio: str | None,
                      instelling: str | None) -> tuple[str | None, str | None, str | None]:
    """Canonical (pilot, regio, instelling) filters, narrowed to the key's scope; 403 when they ask beyond it."""
    pilot = canonical_pilot(pilot) if pilot else None
    regio = _regio_param(regio) if regio else None
    instelling = _instelling_param(instelling) if instelling else None
    scope = principal.scope
    if scope.kind == "regio":
        if regio is not None and regio != scope.value:
            raise forbid(principal, f"regio {regio!r} is outside the key's region")
        if pilot is not None and referentie.pilots()[pilot].arbeidsmarktregio != scope.value:
            raise forbid(principal, f"pilot {pilot!r} is not in arbeidsmarktregio {scope.value!r}")
        regio = scope.value
    elif scope.kind == "instelling":
        if instelling is not None and instelling != scope.value:
            raise forbid(principal, f"instelling {instelling!r} is not the key's instelling")
        instelling = scope.value
    elif scope.kind == "publiek" and (regio is not None or instelling is not None):
        # every extra cut of the same table is another way to difference out a suppressed cell
        raise forbid(principal, "publiek overzichten can be narrowed by pilot only")
    return pilot, regio, instelling


def _same_instelling(stored: str, scope_value: str | None) -> bool:
    return (canonical_instelling(stored) or stored) == scope_value


# --- the app ----------------------------------------------------------------------------------------------------

def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    connect_database: bool = True,
    keys: KeyLookup | None = None,
    read_models: ReadModels | None = None,
    schema: str | None = None,
    events_topic: str = topics.EVENTS,
    ingress_prefix: str = topics.INGRESS_PREFIX,
    status_timeout_ms: int = 5000,
    status_probe: Callable[[ProjectionOffsets], list[ConsumerLag]] | None = None,
    cache_size: int = 256,
) -> FastAPI:
    """Build the API.

    ``engine`` defaults to the one for ``settings.database_url`` (``connect_database=False``: no database at all,
    for tests with in-memory keys and read models); ``keys`` defaults to the ``api_keys`` table; ``read_models``
    to ``projections.queries``; ``schema`` is the PostgreSQL schema of the read models (default: theirs).
    ``cache_size``: answers of overzichten/aantallen kept per data version (0: no cache).
    """
    if engine is None and connect_database:
        from registry.infra.db import engine as make_engine

        engine = make_engine(settings.database_url)
    if keys is None:
        if engine is None:
            raise ValueError("keys are required when there is no database")
        keys = KeyStore(engine)
    key_lookup: KeyLookup = keys
    read_schema = schema or DEFAULT_READ_SCHEMA
    cache = AnswerCache(cache_size)

    app = FastAPI(
        title="Praktijkregister API",
        version="1",
        summary="Read models of the praktijkleren registry: overzichten, aantallen, trajecten, verification, status.",
        description=SCOPES_DOC + "\n\n" + PRIVACY_RULE + "\n\n" + COUNTING_RULES,
        openapi_tags=[
            {"name": "overzichten", "description": "The evaluation's tables for any peildatum."},
            {"name": "aantallen", "description": "Monthly flow counts."},
            {"name": "trajecten", "description": "One traject or one deelnemer's history (landelijk / own instelling)."},
            {"name": "verificatie", "description": "Public verification of a praktijkverklaring."},
            {"name": "operations", "description": "Consumer lag and metrics."},
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_models = read_models
    app.state.cache = cache
    api_metrics = metrics_mod.ApiMetrics()
    app.state.metrics = api_metrics
    problems.install(app)
    metrics_mod.install(app, api_metrics)

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> Response:
        problems.log_error(request, exc)
        undefined = isinstance(exc, DBAPIError) and "does not exist" in str(exc.orig)
        slug = "read-models-unavailable" if undefined else "database-unavailable"
        return problems.problem_response(request, 503, slug, "the read models could not be queried"
                                         if undefined else "the database is unavailable")

    def connection() -> Iterator[Connection | None]:
        if engine is None:
            yield None
            return
        with engine.connect() as conn:
            # projections.queries reads its tables from this schema (no per-query search_path lookup)
            yield conn.execution_options(praktijk_schema=read_schema)

    bearer = HTTPBearer(auto_error=False, scheme_name="apiKey", description="API key: `Authorization: Bearer prk_...`")

    def authenticated(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                      conn: Annotated[Connection | None, Depends(connection)]) -> ApiKey:
        challenge = {"WWW-Authenticate": 'Bearer realm="praktijkregister"'}
        if creds is None or not creds.credentials:
            raise ProblemError(401, "unauthenticated", "no API key: send Authorization: Bearer <key>", headers=challenge)
        found = key_lookup.lookup(creds.credentials, conn)  # on the request's connection: one checkout per request
        if found is None:
            raise ProblemError(401, "unauthenticated", "unknown or revoked API key",
                               headers={"WWW-Authenticate": 'Bearer realm="praktijkregister", error="invalid_token"'})
        return found

    async def models() -> ReadModels:  # no I/O: runs on the event loop, not in the thread pool
        rm = app.state.read_models
        if rm is None:
            rm = app.state.read_models = load_default()
        if rm is None:
            raise ProblemError(503, "read-models-unavailable", "the read models (projections.queries) are not installed")
        return rm  # type: ignore[no-any-return]

    def cached(conn: Connection | None, key: tuple[Any, ...], compute: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """The answer for ``key`` from the cache while the read models are unchanged, else computed."""
        if conn is None or cache.size <= 0:
            return compute()
        version = data_version(conn, read_schema)
        rows = cache.get(key, version)
        api_metrics.cache.labels("miss" if rows is None else "hit").inc()
        if rows is None:
            rows = compute()
            cache.put(key, version, rows)
        return rows

    Principal = Annotated[ApiKey, Depends(authenticated)]
    Conn = Annotated[Connection, Depends(connection)]
    Models = Annotated[ReadModels, Depends(models)]
    DateParam = Annotated[date, Query(description="Peildatum (business date), YYYY-MM-DD.", examples=["2021-01-13"])]

    @app.get("/v1/overzichten", tags=["overzichten"], response_model=OverzichtenLijst,
             responses=problem_responses(401), summary="List the overzichten")
    def overzichten(principal: Principal, rm: Models) -> OverzichtenLijst:
        """The names of the overzichten, each with a one-line description. Any scope."""
        return OverzichtenLijst(overzichten=[OverzichtInfo(naam=n, beschrijving=d) for n, d in sorted(rm.OVERZICHTEN.items())])

    known = read_models or load_default()
    catalogue = "".join(f"\n* `{n}`: {d}" for n, d in sorted(known.OVERZICHTEN.items())) if known else ""

    @app.get("/v1/overzichten/{naam}", tags=["overzichten"], response_model=OverzichtResponse,
             responses={**problem_responses(400, 401, 403, 404),
                        200: {"description": "The table (JSON, or CSV with the same columns when format=csv).",
                              "content": {"text/csv": {"schema": {"type": "string"}}}}},
             summary="One overzicht as of a peildatum",
             description="One of the evaluation's tables, from the events alone, as of `peildatum`.\n\n"
                         "Optional filters narrow it to a pilot, an arbeidsmarktregio or an mbo-instelling; keys with a "
                         "`regio:` or `instelling:` scope are always narrowed to theirs (asking for another: 403); "
                         "`publiek` keys may narrow by pilot only (regio/instelling: 403).\n\n"
                         "Unknown `naam`: 404 with `valid_values`; invalid `peildatum`: 400 with `valid_values`.\n\n"
                         + PRIVACY_RULE + "\n\n" + COUNTING_RULES
                         + ("\n\n**Overzichten** (columns and rules of each):" + catalogue if catalogue else ""))
    def overzicht(
        naam: Annotated[str, Path(description="Overzicht name, see GET /v1/overzichten.")],
        principal: Principal, rm: Models, conn: Conn, peildatum: DateParam,
        pilot: Annotated[str | None, Query(description="pilot_id, e.g. rijnmond")] = None,
        regio: Annotated[str | None, Query(description="arbeidsmarktregio, e.g. Rijnmond")] = None,
        instelling: Annotated[str | None, Query(description="mbo partner id, e.g. mbo.albeda")] = None,
        format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
    ) -> Any:
        if naam not in rm.OVERZICHTEN:
            raise ProblemError(404, "unknown-overzicht", f"no overzicht named {naam!r}", valid_values=sorted(rm.OVERZICHTEN))
        p, r, i = aggregate_filters(principal, pilot, regio, instelling)
        try:
            rows = cached(conn, ("overzicht", naam, peildatum, p, i, r),
                          lambda: [dict(row) for row in rm.overzicht(conn, naam, peildatum, pilot=p, instelling=i, regio=r)])
        except KeyError:
            raise ProblemError(404, "unknown-overzicht", f"no overzicht named {naam!r}", valid_values=sorted(rm.OVERZICHTEN))
        if principal.scope.kind == "publiek":
            rows = suppress_small_cells(rows)
        if format == "csv":
            return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{naam}_{peildatum.isoformat()}.csv"'})
        return OverzichtResponse(naam=naam, peildatum=peildatum, rijen=rows)

    @app.get("/v1/aantallen", tags=["aantallen"], response_model=AantallenResponse,
             responses=problem_responses(400, 401, 403), summary="Monthly counts",
             description="Per month from `van` to `tot`: aangemeld, ingeschreven, actief, verklaringen, beeindigd by "
                         "reden and uitstroom by type. Filters (`regio`, `pilot`, `gemeente`, `instelling`) combine "
                         "with AND; none = national. Scopes: landelijk, regio (narrowed to the region), instelling "
                         "(narrowed to the instelling); publiek: 403.")
    def aantallen(
        principal: Principal, rm: Models, conn: Conn,
        van: Annotated[date, Query(description="First day, YYYY-MM-DD.")],
        tot: Annotated[date, Query(description="Last day (inclusive), YYYY-MM-DD.")],
        regio: Annotated[str | None, Query(description="arbeidsmarktregio")] = None,
        pilot: Annotated[str | None, Query(description="pilot_id")] = None,
        gemeente: Annotated[str | None, Query(description="CBS gemeentecode, GM0363")] = None,
        instelling: Annotated[str | None, Query(description="mbo partner id")] = None,
    ) -> AantallenResponse:
        require(principal, "landelijk", "regio", "instelling")
        if tot < van:
            raise ProblemError(400, "invalid-parameter", "tot is before van", parameter="tot")
        if gemeente is not None and not _GEMEENTE.match(gemeente.upper()):
            raise ProblemError(400, "invalid-parameter", f"gemeente {gemeente!r} is not a CBS code",
                               parameter="gemeente", valid_values=["GM followed by 4 digits, e.g. GM0363"])
        g = gemeente.upper() if gemeente else None
        p, r, i = aggregate_filters(principal, pilot, regio, instelling)
        rows = cached(conn, ("aantallen", r, p, g, van, tot, i),
                      lambda: [dict(x) for x in rm.aantallen(conn, regio=r, pilot=p, gemeente=g, van=van, tot=tot, instelling=i)])
        return AantallenResponse(van=van, tot=tot, regio=r, pilot=p, gemeente=g, instelling=i,
                                 maanden=[MaandAantallen.model_validate(x) for x in rows])

    @app.get("/v1/trajecten/{traject_id}", tags=["trajecten"], response_model=TrajectResponse,
             responses=problem_responses(401, 403, 404), summary="One traject: state and events")
    def traject(traject_id: str, principal: Principal, rm: Models, conn: Conn) -> TrajectResponse:
        """The traject's current state and its full event history. Scopes: landelijk; instelling (its own
        trajecten only: another instelling's traject is 403). Unknown traject: 404."""
        require(principal, "landelijk", "instelling")
        if principal.scope.kind == "instelling":
            owner = rm.instelling_of_traject(conn, traject_id)
            if owner is None:
                raise ProblemError(404, "not-found", "unknown traject")
            if not _same_instelling(owner, principal.scope.value):
                raise forbid(principal, "the traject belongs to another instelling")
        found = rm.traject(conn, traject_id)
        if found is None:
            raise ProblemError(404, "not-found", "unknown traject")
        return TrajectResponse.model_validate(found)

    @app.get("/v1/deelnemers/{pseudonym}/tijdlijn", tags=["trajecten"], response_model=list[TijdlijnEntry],
             responses=problem_responses(401, 403, 404), summary="A deelnemer's full history")
    def tijdlijn(pseudonym: str, principal: Principal, rm: Models, conn: Conn) -> list[TijdlijnEntry]:
        """Every event of the deelnemer in order, with rejected submissions marked. Scopes: landelijk; instelling
        (only deelnemers with a traject at that instelling, else 403). Unknown deelnemer: 404."""
        require(principal, "landelijk", "instelling")
        if principal.scope.kind == "instelling":
            owners = rm.instellingen_of_deelnemer(conn, pseudonym)
            if not owners:
                raise ProblemError(404, "not-found", "unknown deelnemer")
            if not any(_same_instelling(o, principal.scope.value) for o in owners):
                raise forbid(principal, "the deelnemer has no traject at the key's instelling")
        found = rm.tijdlijn(conn, pseudonym)
        if found is None:
            raise ProblemError(404, "not-found", "unknown deelnemer")
        return [TijdlijnEntry.model_validate(e) for e in found]

    @app.get("/v1/verklaringen/{verklaring_id}/verificatie", tags=["verificatie"], response_model=VerificatieResponse,
             responses=problem_responses(404), summary="Verify a praktijkverklaring (public)")
    def verificatie(verklaring_id: str, rm: Models, conn: Conn, response: Response) -> VerificatieResponse:
        """Public, no API key needed: whether the verklaring exists and is valid (not revoked), with the
        werkprocessen, leerbedrijf, instelling and issue date - never personal data of the deelnemer.
        Unknown id: 404."""
        found = rm.verificatie(conn, verklaring_id)
        if found is None:
            raise ProblemError(404, "not-found", "unknown verklaring")
        response.headers["Cache-Control"] = "no-store"
        return VerificatieResponse.model_validate(strip_personal(found))

    @app.get("/v1/status", tags=["operations"], response_model=StatusResponse,
             responses=problem_responses(401, 503), summary="Consumer lag of validator and projections")
    def status(principal: Principal, conn: Conn) -> StatusResponse:
        """Per partition: end offset, committed offset of the validator's consumer group (ingress topics
        `praktijkleren.ingress.*`) or stored offset of each projection (`praktijkleren.events`), the lag, whether
        committed records are still pending, and the recorded_at of the last applied event. `caught_up` is true
        when everything published has been validated and projected. Any scope. Kafka unreachable: 503."""
        rm = app.state.read_models or load_default()
        if rm is not None:
            app.state.read_models = rm
        projections = projection_offsets(rm.projection_status(conn), events_topic) if rm is not None and conn is not None else {}
        try:
            if status_probe is not None:
                lags = status_probe(projections)
            else:
                lags = kafka_status(settings.kafka_servers, settings.validator_group, ingress_prefix, events_topic,
                                    projections, timeout_ms=status_timeout_ms)
        except KafkaUnavailable as exc:
            raise ProblemError(503, "kafka-unavailable", str(exc))
        for c in lags:
            api_metrics.consumer_lag.labels(c.naam).set(c.lag)
        consumers = [_consumer_status(c) for c in lags]
        return StatusResponse(caught_up=all(c.caught_up for c in consumers), consumers=consumers)

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """Error responses are documented as application/problem+json only."""
        if app.openapi_schema is None:
            spec = default_openapi()
            problem_doc = {"description": "Invalid parameter (problem+json)",
                           "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
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
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/problems/{slug}", include_in_schema=False)
    def problem_type(slug: str) -> dict[str, str]:
        if slug not in problems.PROBLEM_TYPES:
            raise ProblemError(404, "not-found", "unknown problem type", valid_values=sorted(problems.PROBLEM_TYPES))
        title, description = problems.PROBLEM_TYPES[slug]
        return {"type": problems.TYPE_BASE + slug, "title": title, "description": description}

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory registry.api.app:app_from_env`` (several workers)."""
    from registry.infra import settings as settings_mod

    return create_app(settings_mod.load())
