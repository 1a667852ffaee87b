"""``praktijkregister verklaring verify FILE``: check a praktijkverklaring credential (VC-JWT) offline.

The key is the registry's published JWK set (save ``/.well-known/praktijkregister-keys.json``), one public JWK,
or the signing key file itself (``PRAKTIJK_SIGNING_KEY_FILE``, the default). The issuer is the registry's public
URL (``--issuer``, default ``PRAKTIJK_PUBLIC_URL``): a credential or status list signed with the right key but
naming another issuer (or a status list elsewhere) is refused. The revocation status comes from a saved status list
(``--status FILE``) or from the credential's ``statusListCredential`` under the issuer (``--fetch``); the list's
own validity (``validFrom``/``validUntil``) is checked, so a replayed old list is refused. Optionally the holder's
name is checked against the salted ``identityHash`` (``--naam``).

Every failure is one line and has its own exit code (``EXIT``), so a script can tell them apart.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from registry.cli import config
from registry.domein.verklaring_document import bit_gezet, identity_hash
from registry.infra.ondertekening import OngeldigeCredential, SleutelFout, load_verification_keys, verify_signature

app = typer.Typer(help="Praktijkverklaringen: check a signed credential offline.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)  # one failure, one line (scripts read it)
err = Console(stderr=True, highlight=False, soft_wrap=True)

LEEWAY_SECONDS = 60  # clocks differ: a list signed a few seconds "in the future" is not refused
FETCH_TIMEOUT_SECONDS = 10
MAX_LIST_BYTES = 1024 * 1024  # a status list of even millions of bits is a few KB compressed

# exit codes: 0 valid; 2 is typer's usage error and an unreadable file or key file
EXIT = {
    "signature": 1,  # not signed by the key, not a credential, malformed
    "usage": 2,
    "issuer": 3,  # signed by the key but naming another issuer
    "credential-time": 4,  # the credential is not yet valid or no longer valid
    "naam": 5,  # --naam is not the holder
    "status-list": 6,  # the status list is unusable: signature, issuer, another list, unreadable, not fetched
    "status-list-time": 7,  # the status list is expired or not yet valid (a replayed old list)
    "revoked": 8,
}


class Fout(Exception):
    """One reason the credential is not accepted, with its exit code."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.code = EXIT[kind]


def _moment(value: Any, what: str, kind: str) -> float:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Fout(kind, f"{what} {value!r} is not a date-time") from None


def check_time(claims: dict[str, Any], what: str, kind: str, now: float, *, until_required: bool = False) -> None:
    """``validFrom`` <= now < ``validUntil`` (and the JWT's ``nbf``/``exp``), with ``LEEWAY_SECONDS``."""
    starts = [_moment(claims["validFrom"], f"{what} validFrom", kind)] if claims.get("validFrom") else []
    ends = [_moment(claims["validUntil"], f"{what} validUntil", kind)] if claims.get("validUntil") else []
    starts += [float(claims["nbf"])] if isinstance(claims.get("nbf"), int | float) else []
    ends += [float(claims["exp"])] if isinstance(claims.get("exp"), int | float) else []
    if until_required and not ends:
        raise Fout(kind, f"the {what} has no validUntil: its age cannot be checked")
    if starts and now + LEEWAY_SECONDS < max(starts):
        raise Fout(kind, f"the {what} is not valid yet (validFrom {claims.get('validFrom')})")
    if ends and now - LEEWAY_SECONDS >= min(ends):
        raise Fout(kind, f"the {what} expired (validUntil {claims.get('validUntil')})")


def check_issuer(claims: dict[str, Any], issuer: str, what: str, kind: str) -> None:
    """Both ``iss`` and ``issuer.id`` are the expected issuer."""
    named = {str(claims.get("iss") or "").rstrip("/"), str((claims.get("issuer") or {}).get("id") or "").rstrip("/")}
    if named != {issuer}:
        raise Fout(kind, f"the {what} names issuer {' / '.join(sorted(named))}, expected {issuer}")


def _signed(token: str, keys: Any, kind: str) -> dict[str, Any]:
    try:
        return verify_signature(token, keys)
    except OngeldigeCredential as exc:
        raise Fout(kind, str(exc) if kind == "signature" else f"status list: {exc}") from None


def check_naam(claims: dict[str, Any], naam: str) -> None:
    subject = claims.get("credentialSubject") or {}
    ids = [i for i in subject.get("identifier") or [] if i.get("hashed") and i.get("identityType") == "name"]
    if not ids:
        raise Fout("naam", "the credential identifies no holder by name")
    given = " ".join(naam.split())
    if not any(identity_hash(given, str(i.get("salt", ""))) == i.get("identityHash") for i in ids):
        raise Fout("naam", "the name does not match the credential's identityHash")


def check_status(claims: dict[str, Any], lijst_token: str, keys: Any, issuer: str, now: float) -> dict[str, Any]:
    """The status list is the registry's, the credential's own list, valid now, and the credential's bit is 0."""
    status = claims.get("credentialStatus") or {}
    lijst = _signed(lijst_token, keys, "status-list")
    if "BitstringStatusListCredential" not in lijst.get("type", []):
        raise Fout("status-list", "the status list is not a BitstringStatusListCredential")
    check_issuer(lijst, issuer, "status list", "status-list")
    if lijst.get("id") != status.get("statusListCredential"):
        raise Fout(
            "status-list",
            f"the status list is {lijst.get('id')}, the credential names {status.get('statusListCredential')}",
        )
    check_time(lijst, "status list", "status-list-time", now, until_required=True)
    try:
        revoked = bit_gezet(str(lijst["credentialSubject"]["encodedList"]), int(status["statusListIndex"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise Fout("status-list", f"status list unreadable: {exc}") from None
    if revoked:
        raise Fout("revoked", f"ingetrokken (status list {lijst.get('id')}, as of {lijst.get('validFrom')})")
    return lijst


def check(
    token: str,
    keys_file: Path,
    issuer: str,
    naam: str | None = None,
    statuslijst: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The verified claims; ``Fout`` (with its exit code) for the first check that fails: signature, issuer,
    the credential's validity, the name, then the status list (its signature, issuer, id, validity) and the bit."""
    now = time.time() if now is None else now
    issuer = issuer.rstrip("/")
    keys = load_verification_keys(keys_file)
    claims = _signed(token, keys, "signature")
    if "OpenBadgeCredential" not in claims.get("type", []):
        raise Fout("signature", "not an OpenBadgeCredential (a status list is not a verklaring)")
    check_issuer(claims, issuer, "credential", "issuer")
    status_url = str((claims.get("credentialStatus") or {}).get("statusListCredential") or "")
    if not status_url.startswith(issuer + "/"):
        raise Fout("issuer", f"the credential's status list {status_url} is not at the issuer {issuer}")
    check_time(claims, "credential", "credential-time", now)
    if naam is not None:
        check_naam(claims, naam)
    if statuslijst is not None:
        check_status(claims, statuslijst, keys, issuer, now)
    return claims


def fetch_list(claims_token: str, keys_file: Path, issuer: str) -> str:
    """The credential's status list from the issuer (its signature is checked first: nothing is fetched for a
    token the key did not sign, and only a URL under ``issuer`` is asked)."""
    claims = _signed(claims_token, load_verification_keys(keys_file), "signature")
    url = str((claims.get("credentialStatus") or {}).get("statusListCredential") or "")
    if not url.startswith(issuer.rstrip("/") + "/"):
        raise Fout("issuer", f"the credential's status list {url} is not at the issuer {issuer}")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as resp:
            return bytes(resp.read(MAX_LIST_BYTES)).decode("ascii", errors="replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Fout("status-list", f"status list {url} not fetched: {exc}") from None


@app.command("verify")
def verify_command(
    file: Path = typer.Argument(
        ..., dir_okay=False, help="The credential: a .jwt file as served by /v1/verklaringen/{id}/credential."
    ),
    keys_file: Path | None = typer.Option(
        None,
        "--keys",
        help="JWK set (praktijkregister-keys.json), a public JWK, or the signing key file (default: PRAKTIJK_SIGNING_KEY_FILE).",
    ),
    issuer: str | None = typer.Option(
        None, "--issuer", help="The registry's public URL the credential must name (default: PRAKTIJK_PUBLIC_URL)."
    ),
    naam: str | None = typer.Option(
        None, "--naam", help="Also check that this name is the credential's holder (salted identityHash)."
    ),
    status: Path | None = typer.Option(
        None, "--status", help="A saved status list (/v1/statuslijst/N): fail when revoked or when the list is old."
    ),
    statuslijst: Path | None = typer.Option(None, "--statuslijst", hidden=True, help="The same as --status."),
    fetch: bool = typer.Option(
        False, "--fetch", help="Fetch the credential's status list from the issuer (instead of --status)."
    ),
) -> None:
    """Check a credential's EdDSA signature, issuer and validity (and optionally the holder's name and the
    revocation status). Prints ``valid`` with the verklaring's facts, or one line ``invalid: <reason>`` and exits
    with the code of that check: 1 signature, 3 issuer, 4 credential expired or not yet valid, 5 name,
    6 status list unusable, 7 status list expired or not yet valid, 8 revoked (2: usage or unreadable file)."""
    settings = config.settings()
    keys = keys_file or settings.signing_key_file
    lijst_file = status or statuslijst
    issuer = (issuer or settings.public_url).rstrip("/")
    if not issuer:
        err.print("error: pass --issuer URL (the registry's public URL) or set PRAKTIJK_PUBLIC_URL")
        raise typer.Exit(EXIT["usage"])
    if fetch and lijst_file is not None:
        err.print("error: pass --status FILE or --fetch, not both")
        raise typer.Exit(EXIT["usage"])
    token, lijst = _read(file, lijst_file)
    try:
        if fetch:
            lijst = fetch_list(token, keys, issuer)
        claims = check(token, keys, issuer, naam, lijst)
    except SleutelFout as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(EXIT["usage"]) from None
    except Fout as exc:
        console.print(f"invalid: {exc}")
        raise typer.Exit(exc.code) from None
    _print_valid(claims, naam is not None, lijst is not None)


def _read(file: Path, lijst_file: Path | None) -> tuple[str, str | None]:
    try:
        return file.read_text(), lijst_file.read_text() if lijst_file is not None else None
    except OSError as exc:
        err.print(f"error: cannot read {exc.filename}: {exc.strerror}")
        raise typer.Exit(EXIT["usage"]) from None
    except UnicodeDecodeError:
        console.print("invalid: the file is not text (expected a compact JWT)")
        raise typer.Exit(EXIT["signature"]) from None


def _print_valid(claims: dict[str, Any], naam: bool, status: bool) -> None:
    ach = (claims.get("credentialSubject") or {}).get("achievement") or {}
    console.print(
        "valid: signed by the Praktijkregister key, issuer matches"
        + (", holder's name matches" if naam else "")
        + (", not revoked" if status else " (revocation not checked: pass --status FILE or --fetch)")
    )
    console.print(f"  verklaring: {claims.get('id')}")
    console.print(f"  issuer:     {(claims.get('issuer') or {}).get('id')}")
    console.print(f"  validFrom:  {claims.get('validFrom')}")
    for a in ach.get("alignment") or []:
        console.print(f"  kwalificatie: {a.get('targetName')}")
    console.print(
        f"  status list:  {(claims.get('credentialStatus') or {}).get('statusListCredential')}"
        f" (index {(claims.get('credentialStatus') or {}).get('statusListIndex')})"
    )
