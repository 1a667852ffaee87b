"""RFC 9457 problem details (``application/problem+json``) for every error the API returns.

Every error body has ``type``, ``title``, ``status``, ``detail`` and ``instance`` (the request path),
plus extension members such as ``valid_values`` where the caller can fix the request by choosing
from a list.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry.api.headers import security_headers

log = logging.getLogger("praktijkregister.api")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/problems/"

# slug -> (title, description). Served at /problems/{slug} so a ``type`` URI dereferences to documentation.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "unauthenticated": (
        "Authentication required",
        "No API key, an unknown key or a revoked key. Send `Authorization: Bearer <key>`.",
    ),
    "forbidden": ("Outside the key's scope", "The API key is valid but its scope does not cover this resource."),
    "not-found": ("Not found", "The resource does not exist (or is not known to the read models yet)."),
    "unknown-overzicht": ("Unknown overzicht", "The overzicht name is not one of `valid_values`."),
    "invalid-parameter": (
        "Invalid parameter",
        "A query parameter has an invalid value; see `errors` / `valid_values`.",
    ),
    "validation-error": ("Request validation failed", "The request does not match the API's schema; see `errors`."),
    "kafka-unavailable": ("Kafka unavailable", "The status endpoint could not reach the Kafka broker."),
    "too-many-requests": (
        "Too many requests",
        "This address made too many requests; retry after `Retry-After` seconds.",
    ),
    "read-models-unavailable": ("Read models unavailable", "The read models are not installed or not reachable."),
    "database-unavailable": ("Database unavailable", "PostgreSQL could not be reached."),
    "internal-error": ("Internal error", "An unexpected error; the request was logged without its parameters."),
}


class Problem(BaseModel):
    """An RFC 9457 problem detail object."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="URI reference identifying the problem type (relative to the API root).")
    title: str = Field(description="Short, human-readable summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="Explanation specific to this occurrence.")
    instance: str = Field(description="The request path this problem occurred on.")


class ProblemError(Exception):
    """Raise from an endpoint or dependency to answer with a problem+json body."""

    def __init__(
        self, status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_body(status: int, slug: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    title = PROBLEM_TYPES.get(slug, (slug.replace("-", " ").capitalize(), ""))[0]
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra)
    return body


def problem_response(
    request: Request, status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, slug, detail, request.url.path, **extra),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem+json answers."""
    text = {
        400: "Invalid parameter (problem+json, with `valid_values` where applicable)",
        401: "No, unknown or revoked API key (problem+json)",
        403: "Outside the key's scope (problem+json)",
        404: "Not found (problem+json)",
        429: "Too many requests from this address (problem+json)",
        503: "Dependency unavailable (problem+json)",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        out[s] = {"model": Problem, "description": text.get(s, "Problem"), "content": {MEDIA_TYPE: {}}}
        if s == 429:
            out[s]["headers"] = {
                "Retry-After": {
                    "description": "Seconds until a request is allowed again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
    return out


# Valid values shown when a typed query parameter fails validation.
DATE_VALUES = ["YYYY-MM-DD (ISO 8601 calendar date from 1990-01-01 to 2100-12-31, e.g. 2021-01-13)"]
UUID_VALUES = ["a UUID, e.g. 44444444-4444-4444-8444-444444444444"]
PARAM_VALUES: dict[str, list[str]] = {
    "peildatum": DATE_VALUES,
    "van": DATE_VALUES,
    "tot": DATE_VALUES,
    "format": ["json", "csv"],
    "gemeente": ["GM followed by 4 digits, e.g. GM0363"],
    "traject_id": UUID_VALUES,
    "verklaring_id": UUID_VALUES + ["on /verificatie/{verklaring_id} also the short code PV-XXXX-XXXX-XXXX"],
    "pseudonym": ["64 lowercase hexadecimal characters"],
    "pilot": ["a pilot_id or name: letters, digits, spaces and . , ' / ( ) & - (at most 80)"],
    "regio": ["an arbeidsmarktregio: letters, digits, spaces and . , ' / ( ) & - (at most 80)"],
    "instelling": ["an mbo partner id or name: letters, digits, spaces and . , ' / ( ) & - (at most 80)"],
    "partner": ["a partner id: letters, digits and . _ - (at most 80), e.g. gemeente.gm0014"],
    "naam": ["an overzicht name, see GET /v1/overzichten"],
    "partitie": ["an integer from 0 to 10000"],
}


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        # never echo the input back: it may be a pseudonym or worse
        out.append(
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        )
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.slug, exc.detail, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_errors(exc.errors())
        in_query = all(e["loc"] and e["loc"][0] in ("query", "path") for e in errors)
        names = [e["loc"][-1] for e in errors if len(e["loc"]) > 1]
        extra: dict[str, Any] = {"errors": errors}
        if len(set(names)) == 1:
            extra["parameter"] = names[0]
            if names[0] in PARAM_VALUES:
                extra["valid_values"] = PARAM_VALUES[names[0]]
        detail = "; ".join(f"{'.'.join(e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors)
        if errors and all(e["loc"] and e["loc"][0] == "path" for e in errors):
            # a path that cannot name a resource (an id of the wrong format): there is nothing at this path
            return problem_response(request, 404, "not-found", detail, **extra)
        if in_query:  # a bad query parameter is a plain 400 Bad Request
            return problem_response(request, 400, "invalid-parameter", detail, **extra)
        return problem_response(request, 422, "validation-error", detail, **extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(request, exc.status_code, slug, detail, headers=headers)

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log_error(request, exc)
        if isinstance(exc, DataError):  # a value PostgreSQL cannot hold (NUL byte, year out of range): the request's
            return problem_response(
                request, 400, "invalid-parameter", "a parameter has a value the registry cannot hold"
            )
        undefined = isinstance(exc, DBAPIError) and "does not exist" in str(exc.orig)  # read-model tables missing
        slug = "read-models-unavailable" if undefined else "database-unavailable"
        return problem_response(
            request, 503, slug, "the read models could not be queried" if undefined else "the database is unavailable"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # answered by Starlette's outermost middleware, past the one that adds the security headers: add them here
        log_error(request, exc)
        return problem_response(
            request,
            500,
            "internal-error",
            "unexpected error; see the server log",
            headers=security_headers(request.url.path, request.url.scheme == "https"),
        )


def log_error(request: Request, exc: BaseException) -> None:
    """Log an unexpected error by route *template* and exception type only: the path, the query and the
    exception's message may hold a pseudonym or other personal data."""
    route = getattr(request.scope.get("route"), "path", "<unmatched>")
    log.error("%s %s failed: %s", request.method, route, type(exc).__name__)
