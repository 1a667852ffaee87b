"""The API key of a request: the ``Principal`` dependency (``Authorization: Bearer ...``, 401 when missing, unknown or
revoked) and ``scoped``, the dependency that also checks the key's scope. A remembered key costs no query and no
worker thread (``cache.CachedKeyLookup``)."""
# no "from __future__ import annotations": FastAPI resolves the Annotated dependency types at runtime

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from registry.api.auth import ApiKey, Kind, opens
from registry.api.cache import CachedKeyLookup
from registry.api.context import ApiContext
from registry.api.deps import Queries, context_of, lazy_connection
from registry.api.ports import ReadQueries
from registry.api.problems import ProblemError
from registry.api.scopes import forbid, require
from registry.api.threads import in_background, with_connection

bearer = HTTPBearer(auto_error=False, scheme_name="apiKey", description="API key: `Authorization: Bearer prk_...`")


async def authenticated(
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)], request: Request
) -> ApiKey:
    """The active key of ``Authorization: Bearer ...``; 401 when missing, unknown or revoked. (The context and the
    connection come from the request, not as dependencies: see ``deps``.)"""
    challenge = {"WWW-Authenticate": 'Bearer realm="praktijkregister"'}
    if creds is None or not creds.credentials:
        raise ProblemError(401, "unauthenticated", "no API key: send Authorization: Bearer <key>", headers=challenge)
    context = context_of(request)
    secret, keys = creds.credentials, context.keys
    # a remembered key costs no query and no worker thread; else ask on the request's connection
    found = remembered(context, secret)
    if found is None:
        lazy = lazy_connection(request)
        found = await run_in_threadpool(lambda: keys.lookup(secret, lazy.get()))
    if found is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "unknown or revoked API key",
            headers={"WWW-Authenticate": 'Bearer realm="praktijkregister", error="invalid_token"'},
        )
    only_where_it_opens(found, request.url.path)
    return found


def remembered(context: ApiContext, secret: str, ahead: bool = True) -> ApiKey | None:
    """The key when this worker remembers it active (no I/O), else None: ask the table. ``ahead``: past half its
    bound it is looked up again in the background (``keep_fresh``)."""
    keys = context.keys
    found = keys.remembered(secret) if isinstance(keys, CachedKeyLookup) else None
    if found is not None and ahead:
        keep_fresh(context, secret)
    return found


def keep_fresh(context: ApiContext, secret: str) -> None:
    """Past half its bound, look the remembered key up again in the background, so that under steady load no request
    finds it expired and waits for the table."""
    keys = context.keys
    if isinstance(keys, CachedKeyLookup) and keys.due(secret):
        _look_up_ahead(keys, secret, context.read_engine)


async def remembered_principal(request: Request) -> tuple[ApiKey, str] | None:
    """``authenticated`` without I/O, without answering and without side effects: the request's key (and its secret)
    when it is remembered active and opens the request's path, else None (then ``authenticated`` answers, with its
    401 or 403). For a route's answer from memory (``answers.memory_route``), which calls ``keep_fresh`` once it
    answered."""
    secret = bearer_secret(request)
    if secret is None:
        return None
    found = remembered(context_of(request), secret, ahead=False)
    # the path as ``authenticated`` checks it (request.url.path: the same path, only ?, # and \ escaped, which no
    # path an operations key opens holds), without building the whole URL (a fifth of the memory path's time)
    if found is None or not opens(found.scope, request.scope["path"]):
        return None
    return found, secret


def bearer_secret(request: Request) -> str | None:
    """The credentials of ``Authorization: Bearer <key>`` as ``bearer`` (FastAPI's ``HTTPBearer``) reads them, None
    where it gives None, without building its pydantic model per request."""
    authorization = request.headers.get("authorization")
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return credentials


def only_where_it_opens(principal: ApiKey, path: str) -> None:
    """403 for a key used outside what its scope can ever open (an operations key: only /metrics and /v1/status)."""
    if not opens(principal.scope, path):
        raise forbid(principal, "an operations key reads /metrics and /v1/status only")


def _look_up_ahead(keys: CachedKeyLookup, secret: str, engine: Engine | None) -> None:
    in_background(
        "looking the key up ahead", lambda: with_connection(engine, lambda conn: keys.lookup_ahead(secret, conn))
    )


Principal = Annotated[ApiKey, Depends(authenticated)]


def scoped(*kinds: Kind) -> Callable[[ApiKey, ReadQueries], Coroutine[Any, Any, ApiKey]]:
    """A dependency: the authenticated key, 403 unless its scope is one of ``kinds``.

    It resolves the read queries first so the answers keep their order: 401 (key), 503 (no read models), 403.
    Only for endpoints without query parameters: where a parameter can be invalid, call ``require`` in the
    endpoint, after FastAPI validated the parameters (an invalid request is 400 whatever the scope)."""

    async def dependency(principal: Principal, _queries: Queries) -> ApiKey:
        require(principal, *kinds)
        return principal

    return dependency
