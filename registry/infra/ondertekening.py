"""The registry's signature on verklaringen (Ed25519, VC-JWT with joserfc) and the opening of sealed
persoonsgegevens (X25519 sealed box) for the printed verklaring.

Key files: the signing key is a 32-byte Ed25519 seed as hex (``PRAKTIJK_SIGNING_KEY_FILE``, created by
``praktijkregister keys init``); its public half is published as a JWK set at
``/.well-known/praktijkregister-keys.json`` (``kid`` = the RFC 7638 thumbprint). ``verify`` checks a VC-JWT
against a signing key file, a public JWK or a JWK set (the saved ``praktijkregister-keys.json``), offline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from registry.infra import sleutelbestanden

ALG = "EdDSA"  # the JOSE name wallets and Open Badges 3.0 use for Ed25519 (RFC 8037)
TYP = "vc+jwt"


class SleutelFout(RuntimeError):
    """A missing or unreadable key file: a one-line message naming the file and the fix."""


class OngeldigeCredential(ValueError):
    """The credential does not verify; the message is the reason."""


def _hex_file(path: Path, what: str) -> bytes:
    """A secret 32-byte key (the signing seed, the registry's private key): refused when group or others may read
    it, like every secret key file."""
    try:
        sleutelbestanden.check_mode(path, what)
    except sleutelbestanden.SleutelFout as exc:
        raise SleutelFout(str(exc)) from None
    raw = sleutelbestanden.read_hex(path, what, SleutelFout)
    if len(raw) != 32:
        raise SleutelFout(f"{what} at {path} is not 32 bytes")
    return raw


@dataclass(frozen=True)
class Ondertekenaar:
    """Signs claims as a compact JWS with the registry's Ed25519 key."""

    seed: bytes

    @classmethod
    def from_file(cls, path: Path) -> Ondertekenaar:
        return cls(_hex_file(path, "signing key"))

    @property
    def _key(self) -> OKPKey:
        return OKPKey.import_key(Ed25519PrivateKey.from_private_bytes(self.seed))

    @property
    def kid(self) -> str:
        return str(self._key.thumbprint())

    def public_jwk(self) -> dict[str, Any]:
        return {**self._key.as_dict(private=False), "kid": self.kid, "alg": ALG, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def salt(self, verklaring_id: str) -> str:
        """A per-verklaring salt for the subject hash: stable (the same credential every time), unguessable."""
        return hmac.new(self.seed, b"subject-salt:" + verklaring_id.encode(), hashlib.sha256).hexdigest()[:32]

    def sign(self, claims: dict[str, Any], typ: str = TYP) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc flags EdDSA as superseded by "Ed25519" (RFC 9864)
            return jwt.encode({"alg": ALG, "typ": typ, "kid": self.kid}, claims, self._key, algorithms=[ALG])


def load_verification_keys(path: Path) -> KeySet:
    """Public keys from a file: the published JWK set (``{"keys": [...]}``), one public JWK, or a signing key
    file (hex seed; its public half is used). ``SleutelFout`` when the file is none of these."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SleutelFout(f"cannot read key file {path}: {exc.strerror}") from None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise SleutelFout(f"{path} is not JSON: {exc.msg} (line {exc.lineno})") from None
        keys = obj.get("keys") if isinstance(obj, dict) and "keys" in obj else [obj]
        if not isinstance(keys, list) or not keys:
            raise SleutelFout(f"{path} holds no keys")
        public = [{k: v for k, v in key.items() if k != "d"} for key in keys if isinstance(key, dict)]
        try:
            return KeySet.import_key_set(cast(Any, {"keys": public}))
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise SleutelFout(f"{path} is not a valid JWK set: {exc}") from None
    return KeySet.import_key_set(cast(Any, Ondertekenaar.from_file(path).jwks()))


def verify_signature(token: str, keys: KeySet) -> dict[str, Any]:
    """The claims of a credential or status list signed with one of ``keys`` (EdDSA), without any check of time
    or issuer (the caller does those, each with its own answer); ``OngeldigeCredential(reason)`` otherwise."""
    token = token.strip()
    if token.count(".") != 2:
        raise OngeldigeCredential("not a compact JWT (expected three dot-separated parts)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            decoded = jwt.decode(token, keys, algorithms=[ALG])
    except JoseError as exc:
        reason = {
            "bad_signature": "signature does not match the registry's key",
            "invalid_key_id": "signed with another key (its kid is not in the key file)",
        }.get(exc.error, f"{exc.error}: {exc.description or ''}".rstrip(": "))
        raise OngeldigeCredential(reason) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise OngeldigeCredential(f"malformed JWT: {exc}") from None
    if decoded.header.get("alg") != ALG:
        raise OngeldigeCredential(f"unexpected algorithm {decoded.header.get('alg')!r}")
    claims = dict(decoded.claims)
    if "OpenBadgeCredential" not in (claims.get("type") or []) and "BitstringStatusListCredential" not in (
        claims.get("type") or []
    ):
        raise OngeldigeCredential("the payload is not an OpenBadgeCredential")
    return claims


def verify(token: str, keys: KeySet, *, now: float | None = None) -> dict[str, Any]:
    """``verify_signature`` plus the JWT's ``nbf``/``exp`` (60 s leeway)."""
    claims = verify_signature(token, keys)
    try:
        jwt.JWTClaimsRegistry(now=int(now) if now is not None else None, leeway=60).validate(claims)
    except JoseError as exc:
        raise OngeldigeCredential(f"{exc.error}: {exc.description or ''}".rstrip(": ")) from None
    return claims


def open_persoonsgegevens(private_key_file: Path, sealed: bytes) -> dict[str, Any]:
    """Read sealed persoonsgegevens (``{"naam", "geboortedatum"}``) with the registry's X25519 private key;
    ValueError when the bytes do not open (another key, damaged) or hold no JSON object."""
    box = SealedBox(PrivateKey(_hex_file(private_key_file, "registry private key")))
    try:
        value = json.loads(box.decrypt(sealed))
    except (CryptoError, ValueError) as exc:
        raise ValueError(f"sealed persoonsgegevens do not open: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise ValueError("sealed persoonsgegevens are not a JSON object")
    return value
