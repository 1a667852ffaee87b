"""The verklaring as a signed Open Badges 3.0 credential, the registry's public key, and the revocation lists.

* ``GET /.well-known/praktijkregister-keys.json`` (public): the Ed25519 public key(s) as a JWK set.
* ``GET /v1/verklaringen/{verklaring_id}/credential`` (landelijk, own instelling): an ``OpenBadgeCredential``
  signed as a VC-JWT (EdDSA, ``application/vc+jwt``).
* ``GET /v1/statuslijst/{partitie}`` (public): a signed ``BitstringStatusListCredential``; bit = log offset of a
  ``PraktijkverklaringUitgegeven`` on that partition of the canonical log, 1 = ingetrokken; reused until a
  revocation or a quarter of its validity (registry/api/statuslijsten.py).
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated parameter types at runtime

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from registry.api import ratelimit, statuslijsten
from registry.api.auth import ApiKey
from registry.api.deps import Conn, Context, Queries
from registry.api.params import VerklaringId
from registry.api.principal import scoped
from registry.api.problems import ProblemError, problem_responses
from registry.api.verklaringen import (
    Sources,
    base_url,
    credential_token,
    document_van,
    key_problem,
    statuslijst_token,
)
from registry.diensten.verklaringen import verklaring_feiten
from registry.domein.verklaring_document import status_list_bits
from registry.infra.ondertekening import SleutelFout

Reader = Annotated[ApiKey, Depends(scoped("landelijk", "instelling"))]
VC_JWT = "application/vc+jwt"

router = APIRouter(tags=["verificatie"])


@router.get(
    "/.well-known/praktijkregister-keys.json",
    summary="The registry's signing key (JWK set, public, rate-limited)",
    responses=problem_responses(429, 503),
)
def keys(src: Sources, request: Request) -> dict[str, Any]:
    """The Ed25519 public key that signs credentials and status lists, as a JWK set (``kid`` = RFC 7638
    thumbprint). Save it to verify credentials offline: ``praktijkregister verklaring verify FILE --keys K``.
    Public, rate-limited per client (429 with Retry-After); the key file is read at most every
    ``KEYSET_SECONDS``."""
    ratelimit.check(request, "sleutels")
    return statuslijsten.key_set(request.app.state, src.ondertekenaar, key_problem)


@router.get(
    "/v1/verklaringen/{verklaring_id}/credential",
    response_class=Response,
    responses={
        **problem_responses(400, 401, 403, 404, 503),
        200: {"content": {VC_JWT: {}}, "description": "OpenBadgeCredential as a compact JWS (EdDSA)."},
        410: {"description": "The deelnemer's persoonsgegevens were erased (problem+json)"},
    },
    summary="The praktijkverklaring as a signed Open Badges 3.0 credential (VC-JWT)",
)
def credential(
    verklaring_id: VerklaringId,
    principal: Reader,
    rm: Queries,
    conn: Conn,
    src: Sources,
    context: Context,
) -> Response:
    """A W3C Verifiable Credential in the Open Badges 3.0 shape (``OpenBadgeCredential``; the achievement is the
    verklaring with its werkprocessen), signed by the registry as a VC-JWT with EdDSA. No BSN, pseudonym or name:
    the subject is a salted SHA-256 hash of the name printed on the verklaring (``identityHash`` + ``salt``), which
    the holder proves by showing the name. ``credentialStatus`` points at the public status list. Scopes:
    landelijk; instelling (its own verklaringen). Unknown: 404; persoonsgegevens erased: 410."""
    base = base_url(context)  # before anything is read: no audit entry for a credential that cannot be made
    feiten = verklaring_feiten(
        context, principal, rm, conn, verklaring_id, "/v1/verklaringen/{verklaring_id}/credential"
    )  # checks + audit trail
    if feiten.get("log_positie") is None:
        raise ProblemError(503, "read-models-unavailable", "the verklaring's log position is not projected yet")
    partitie, offset = feiten["log_positie"]
    try:
        signer = src.ondertekenaar()
    except SleutelFout as exc:
        raise key_problem(exc) from None
    doc = document_van(feiten, src, base)
    return Response(
        credential_token(doc, feiten, signer, base),
        media_type=VC_JWT,
        headers={
            "Content-Disposition": f'attachment; filename="praktijkverklaring-{doc.korte_code}.jwt"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/statuslijst/{partitie}",
    response_class=Response,
    summary="Revocation status list (public)",
    responses={
        **problem_responses(400, 404, 429, 503),
        200: {"content": {VC_JWT: {}}, "description": "BitstringStatusListCredential as a VC-JWT."},
    },
)
def statuslijst(
    rm: Queries, conn: Conn, src: Sources, request: Request, context: Context, partitie: int = Path(ge=0, le=10_000)
) -> Response:
    """Public, no key: the revocations of the verklaringen issued on one partition of the canonical log, as a signed
    W3C ``BitstringStatusListCredential`` (``statusPurpose`` revocation; bit i = the verklaring at log offset i;
    1 = ingetrokken), at least 131,072 bits long. Valid from ``validFrom`` until ``validUntil``
    (``PRAKTIJK_STATUS_LIST_VALIDITY``, default 24 h): refuse an older list. A credential's
    ``credentialStatus.statusListCredential`` names its list. Rate-limited per client together with the key set
    (429 with Retry-After); a list is signed again only after a revocation or a quarter of its validity."""
    ratelimit.check(request, "sleutels")
    base = base_url(context)
    gezet, hoogste = rm.ingetrokken_in_partitie(conn, partitie)

    def sign(valid_from: dt.datetime, valid_until: dt.datetime) -> str:
        try:
            signer = src.ondertekenaar()
        except SleutelFout as exc:
            raise key_problem(exc) from None
        return statuslijst_token(signer, base, partitie, gezet, hoogste, valid_from, valid_until)

    cache = statuslijsten.cache_of(request.app.state, context.settings.status_list_validity)
    token = cache.get(partitie, frozenset(gezet), status_list_bits(hoogste), sign)
    return Response(token, media_type=VC_JWT, headers={"Cache-Control": "no-cache, max-age=60"})
