"""``praktijkregister verklaring verify FILE``: check a praktijkverklaring credential (VC-JWT) offline.

The key is the registry's published JWK set (save ``/.well-known/praktijkregister-keys.json``), one public JWK,
or the signing key file itself (``PRAKTIJK_SIGNING_KEY_FILE``, the default). Optionally the holder's name is
checked against the salted ``identityHash`` (``--naam``), and a saved status list (``--statuslijst``, from the
credential's ``credentialStatus.statusListCredential``) tells whether the verklaring was revoked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from registry.domein.verklaring_document import bit_gezet, identity_hash
from registry.infra import settings as settings_mod
from registry.infra.ondertekening import OngeldigeCredential, SleutelFout, load_verification_keys, verify

app = typer.Typer(help="Praktijkverklaringen: check a signed credential offline.", no_args_is_help=True)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def check(token: str, keys_file: Path, naam: str | None = None, statuslijst: str | None = None) -> dict[str, Any]:
    """The verified claims; ``OngeldigeCredential(reason)`` when the signature, the name or the status fails."""
    keys = load_verification_keys(keys_file)
    claims = verify(token, keys)
    if "OpenBadgeCredential" not in claims.get("type", []):
        raise OngeldigeCredential("not an OpenBadgeCredential (a status list is not a verklaring)")
    subject = claims.get("credentialSubject") or {}
    if naam is not None:
        ids = [i for i in subject.get("identifier") or [] if i.get("hashed") and i.get("identityType") == "name"]
        if not ids:
            raise OngeldigeCredential("the credential identifies no holder by name")
        given = " ".join(naam.split())
        if not any(identity_hash(given, str(i.get("salt", ""))) == i.get("identityHash") for i in ids):
            raise OngeldigeCredential("the name does not match the credential's identityHash")
    if statuslijst is not None:
        status = claims.get("credentialStatus") or {}
        lijst = verify(statuslijst, keys)
        if "BitstringStatusListCredential" not in lijst.get("type", []):
            raise OngeldigeCredential("the status list file is not a BitstringStatusListCredential")
        if lijst.get("id") != status.get("statusListCredential"):
            raise OngeldigeCredential(
                f"the status list is {lijst.get('id')}, the credential names {status.get('statusListCredential')}"
            )
        try:
            revoked = bit_gezet(str(lijst["credentialSubject"]["encodedList"]), int(status["statusListIndex"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise OngeldigeCredential(f"status list unreadable: {exc}") from None
        if revoked:
            raise OngeldigeCredential(f"ingetrokken (status list {lijst.get('id')}, as of {lijst.get('validFrom')})")
    return claims


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
    naam: str | None = typer.Option(
        None, "--naam", help="Also check that this name is the credential's holder (salted identityHash)."
    ),
    statuslijst: Path | None = typer.Option(
        None, "--statuslijst", help="A saved status list (/v1/statuslijst/N): fail when the verklaring is revoked."
    ),
) -> None:
    """Check a credential's EdDSA signature (and optionally the holder's name and the revocation status) offline.
    Prints ``valid`` with the verklaring's facts, or ``invalid: <reason>`` and exits 1."""
    keys = keys_file or settings_mod.load().signing_key_file
    try:
        token = file.read_text()
        lijst = statuslijst.read_text() if statuslijst is not None else None
    except OSError as exc:
        err.print(f"error: cannot read {exc.filename}: {exc.strerror}")
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        console.print("invalid: the file is not text (expected a compact JWT)")
        raise typer.Exit(1) from None
    try:
        claims = check(token, keys, naam, lijst)
    except SleutelFout as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    except OngeldigeCredential as exc:
        console.print(f"invalid: {exc}")
        raise typer.Exit(1) from None
    subject = claims.get("credentialSubject") or {}
    ach = subject.get("achievement") or {}
    console.print(
        "valid: signed by the Praktijkregister key"
        + (", holder's name matches" if naam else "")
        + (", not revoked" if lijst else " (revocation not checked: pass --statuslijst)")
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
