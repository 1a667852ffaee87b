"""A credential and its status list as an outside verifier sees them: the signature checked with ``jwcrypto`` (the
registry signs with ``joserfc``), and the status list decoded by the W3C Bitstring Status List algorithm written
out here with ``zlib`` and ``base64`` only, not with the registry's own decoder."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from jwcrypto import jwk, jws

from tests.unit.test_document import CRED, REVOKED, _env

W3C_MIN_BITS = 131072  # Bitstring Status List 1.0, section "Bitstring Encoding": at least 16 KB


def verified_payload(token: str, published: dict[str, Any]) -> dict[str, Any]:
    """The payload of a compact JWS verified with the published JWK set (EdDSA, Ed25519); raises otherwise."""
    keys = jwk.JWKSet.from_json(json.dumps(published))
    signed = jws.JWS()
    signed.deserialize(token.strip())
    header = signed.jose_header
    assert header["alg"] == "EdDSA" and header["typ"] == "vc+jwt"
    key = keys.get_key(header["kid"])
    assert key is not None, "the kid is in the published key set"
    signed.verify(key, alg="EdDSA")
    payload: dict[str, Any] = json.loads(signed.payload)
    return payload


def w3c_status_bit(encoded_list: str, index: int) -> int:
    """W3C Bitstring Status List 1.0, "Validate Algorithm": strip the multibase prefix ``u`` (base64url, no
    padding), base64url-decode, GZIP-decompress; the bit at ``index`` counts from the left-most bit of the first
    byte. Also checks the minimum length."""
    assert encoded_list[0] == "u", "multibase base64url"
    body = encoded_list[1:]
    compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    bitstring = zlib.decompress(compressed, wbits=16 + zlib.MAX_WBITS)  # 16+: a GZIP header and trailer
    assert len(bitstring) * 8 >= W3C_MIN_BITS
    return (bitstring[index // 8] >> (7 - index % 8)) & 1


def test_credential_and_status_list_verify_with_another_jose_library() -> None:
    env = _env()
    client, key = env["client"], env["keys"]["landelijk"]
    published = client.get("/.well-known/praktijkregister-keys.json").json()
    cred = verified_payload(client.get(CRED, headers={"Authorization": f"Bearer {key}"}).text, published)
    revoked = verified_payload(
        client.get(f"/v1/verklaringen/{REVOKED}/credential", headers={"Authorization": f"Bearer {key}"}).text,
        published,
    )
    status = cred["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert cred["iss"] == cred["issuer"]["id"] == "https://r.example"
    lijst = verified_payload(
        client.get(status["statusListCredential"].removeprefix("https://r.example")).text, published
    )
    assert lijst["id"] == status["statusListCredential"] and lijst["iss"] == cred["iss"]
    assert lijst["validFrom"] < lijst["validUntil"]
    subject = lijst["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    assert w3c_status_bit(subject["encodedList"], int(status["statusListIndex"])) == 0
    assert w3c_status_bit(subject["encodedList"], int(revoked["credentialStatus"]["statusListIndex"])) == 1


def test_a_tampered_credential_fails_the_other_library() -> None:
    env = _env()
    client = env["client"]
    published = client.get("/.well-known/praktijkregister-keys.json").json()
    token = client.get(CRED, headers={"Authorization": f"Bearer {env['keys']['landelijk']}"}).text
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialStatus"]["statusListCredential"] = "https://evil.example/v1/statuslijst/3"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(jws.InvalidJWSSignature):
        verified_payload(f"{head}.{forged}.{sig}", published)
