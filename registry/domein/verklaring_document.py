"""The praktijkverklaring as a document and as an Open Badges 3.0 credential: pure content, no I/O.

``bouw_document`` turns the facts of one verklaring (a dict from the read models, see
``projections/queries/document.py``) and the opened persoonsgegevens into a ``VerklaringDocument``: what the PDF
prints (registry/api/pdf.py renders it). ``open_badge_credential`` builds the claims of the signed credential
(registry/infra/ondertekening.py signs them). The credential carries no BSN, no pseudonym and no name: the
subject is a salted SHA-256 hash of the name printed on the verklaring (Open Badges ``IdentityObject``), which
the holder proves by showing the name.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KORTE_CODE = re.compile(r"^PV-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{4})$")
OB_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]

MAANDEN = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def datum_nl(d: dt.date) -> str:
    """A date the Dutch way: 13 januari 2021."""
    return f"{d.day} {MAANDEN[d.month - 1]} {d.year}"


def korte_code(verklaring_id: str) -> str:
    """The short code printed under the QR code: ``PV-`` and the first 12 hex digits of the id in three groups
    (48 bits: about 1 in 50,000 chance of any clash among 100,000 verklaringen; a clash is answered as ambiguous)."""
    hexdigits = re.sub(r"[^0-9a-fA-F]", "", verklaring_id).upper()[:12]
    if len(hexdigits) < 12:
        raise ValueError(f"verklaring id {verklaring_id!r} has fewer than 12 hex digits")
    return f"PV-{hexdigits[0:4]}-{hexdigits[4:8]}-{hexdigits[8:12]}"


def id_prefix(code: str) -> str | None:
    """The verklaring id prefix (``xxxxxxxx-xxxx``) a short code stands for, or None when ``code`` is not one."""
    m = KORTE_CODE.match(code.strip().upper())
    if m is None:
        return None
    hexdigits = "".join(m.groups()).lower()
    return f"{hexdigits[:8]}-{hexdigits[8:12]}"


@dataclass(frozen=True)
class Werkproces:
    code: str
    naam: str


@dataclass(frozen=True)
class Kerntaak:
    code: str
    naam: str
    werkprocessen: tuple[Werkproces, ...]


@dataclass(frozen=True)
class Kwalificatie:
    crebo: str
    naam: str
    niveau: int | None
    kerntaken: tuple[Kerntaak, ...]


@dataclass(frozen=True)
class Persoon:
    naam: str
    geboortedatum: dt.date | None


@dataclass(frozen=True)
class VerklaringDocument:
    verklaring_id: str
    korte_code: str
    persoon: Persoon | None  # None: the instelling supplied no naam/geboortedatum
    instelling: str
    leerbedrijf: str
    kwalificaties: tuple[Kwalificatie, ...]
    brancheorganisaties: tuple[str, ...]
    uitgegeven_op: dt.date
    volgnummer: int | None
    ingetrokken_op: dt.date | None
    verificatie_url: str
    ondertekend_op: dt.date | None = None  # when the praktijkopleider signed it (who signed is never printed)

    @property
    def werkproces_namen(self) -> list[str]:
        return [w.naam for k in self.kwalificaties for kt in k.kerntaken for w in kt.werkprocessen]


def persoon_uit(gegevens: Mapping[str, Any] | None) -> Persoon | None:
    """The opened persoonsgegevens (``{"naam", "geboortedatum"}``) as a Persoon; None when absent or nameless."""
    if not gegevens or not str(gegevens.get("naam") or "").strip():
        return None
    raw = gegevens.get("geboortedatum")
    try:
        geboren = dt.date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        geboren = None
    return Persoon(" ".join(str(gegevens["naam"]).split()), geboren)


def _kwalificaties(feiten: Mapping[str, Any]) -> tuple[Kwalificatie, ...]:
    out: list[Kwalificatie] = []
    for k in feiten["kwalificaties"]:
        crebo = k["crebo"]
        kerntaken: dict[str, tuple[str, list[Werkproces]]] = {}
        for w in feiten["werkprocessen"]:
            if w["crebo"] != crebo:
                continue
            code = w.get("kerntaak") or "-"
            naam_kt = w.get("kerntaak_naam") or "Kerntaak onbekend"
            kerntaken.setdefault(code, (naam_kt, []))[1].append(
                Werkproces(w["werkproces"], w.get("naam") or w["werkproces"])
            )
        out.append(
            Kwalificatie(
                crebo,
                k.get("naam") or f"crebo {crebo}",
                k.get("niveau"),
                tuple(
                    Kerntaak(code, naam_kt, tuple(sorted(wps, key=lambda w: w.code)))
                    for code, (naam_kt, wps) in sorted(kerntaken.items())
                ),
            )
        )
    return tuple(out)


def _code_of_id(verklaring_id: str) -> str:
    try:
        return korte_code(verklaring_id)
    except ValueError:  # not a UUID-like id: the id itself is the code
        return verklaring_id


def bouw_document(feiten: Mapping[str, Any], persoon: Persoon | None, verificatie_url: str) -> VerklaringDocument:
    """What the PDF prints. ``feiten``: the read-model facts of one verklaring (``ReadQueries.verklaring_document``)."""
    lb = feiten.get("leerbedrijf") or {}
    leerbedrijf = lb.get("naam") or (f"leerbedrijf {lb['leerbedrijf_id']}" if lb.get("leerbedrijf_id") else "onbekend")
    if lb.get("naam") and lb.get("leerbedrijf_id"):
        leerbedrijf = f"{lb['naam']} (leerbedrijf-ID {lb['leerbedrijf_id']})"
    return VerklaringDocument(
        verklaring_id=feiten["verklaring_id"],
        korte_code=_code_of_id(feiten["verklaring_id"]),
        persoon=persoon,
        instelling=feiten.get("mbo_instelling") or "onbekend",
        leerbedrijf=leerbedrijf,
        kwalificaties=_kwalificaties(feiten),
        brancheorganisaties=tuple(feiten.get("brancheorganisatie_namen") or feiten.get("brancheorganisaties") or ()),
        uitgegeven_op=feiten["uitgegeven_op"],
        volgnummer=feiten.get("volgnummer"),
        ingetrokken_op=feiten.get("ingetrokken_op"),
        verificatie_url=verificatie_url,
        ondertekend_op=feiten.get("ondertekend_op"),
    )


# --- the Open Badges 3.0 credential ---------------------------------------------------------------------------


def identity_hash(waarde: str, salt: str) -> str:
    """Open Badges ``IdentityObject.identityHash``: ``sha256$`` + hex SHA-256 of the value followed by the salt."""
    return "sha256$" + hashlib.sha256((waarde + salt).encode("utf-8")).hexdigest()


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_badge_credential(
    doc: VerklaringDocument,
    *,
    issuer_url: str,
    issued_at: dt.datetime,
    salt: str,
    status_list_url: str,
    status_index: int,
) -> dict[str, Any]:
    """The OpenBadgeCredential (W3C VC data model 2.0, Open Badges 3.0) of a verklaring.

    The subject is identified only by ``identityHash`` over the printed name with ``salt`` (no name, BSN or
    pseudonym); a verklaring without a name gets no identifier. ``credentialStatus`` points at bit
    ``status_index`` of the BitstringStatusList at ``status_list_url`` (1 = ingetrokken)."""
    achievement_id = f"{issuer_url}/verificatie/{doc.verklaring_id}"
    werkprocessen = [
        f"{k.crebo} {w.code} {w.naam}" for k in doc.kwalificaties for kt in k.kerntaken for w in kt.werkprocessen
    ]
    kwal = "; ".join(
        f"{k.naam} (crebo {k.crebo}, niveau {k.niveau})" if k.niveau else f"{k.naam} (crebo {k.crebo})"
        for k in doc.kwalificaties
    )
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": achievement_id,
            "type": ["Achievement"],
            "achievementType": "Certificate",
            "name": "Praktijkverklaring",
            "description": f"Praktijkverklaring (mbo, derde leerweg) voor werkprocessen uit: {kwal}. "
            f"Uitgegeven door {doc.instelling}; leerbedrijf: {doc.leerbedrijf}.",
            "criteria": {
                "narrative": "De deelnemer heeft de volgende werkprocessen in de praktijk aangetoond "
                "bij een erkend leerbedrijf: " + "; ".join(werkprocessen) + "."
            },
            "alignment": [
                {
                    "type": ["Alignment"],
                    "targetName": f"{k.naam} ({k.crebo})",
                    "targetCode": k.crebo,
                    "targetFramework": "Kwalificatiestructuur mbo (crebo)",
                    "targetUrl": f"https://www.s-bb.nl/kwalificatiestructuur/{k.crebo}",
                }
                for k in doc.kwalificaties
            ],
            "creator": {"id": issuer_url, "type": ["Profile"], "name": doc.instelling},
        },
    }
    if doc.persoon is not None:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(doc.persoon.naam, salt),
                "identityType": "name",
                "hashed": True,
                "salt": salt,
            }
        ]
    return {
        "@context": list(OB_CONTEXT),
        "id": f"urn:uuid:{doc.verklaring_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_url, "type": ["Profile"], "name": "Praktijkregister"},
        "validFrom": _utc(issued_at),
        "name": "Praktijkverklaring",
        "credentialSubject": subject,
        "credentialStatus": {
            "id": f"{status_list_url}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": status_list_url,
        },
    }


def status_list_credential(
    *, issuer_url: str, list_url: str, encoded_list: str, issued_at: dt.datetime, valid_until: dt.datetime
) -> dict[str, Any]:
    """The BitstringStatusListCredential (W3C Bitstring Status List 1.0) whose bits are the revocations. It is
    valid from ``issued_at`` until ``valid_until``: a verifier refuses an older list, so a replayed one from before
    a revocation stops working within that time."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer_url, "type": ["Profile"], "name": "Praktijkregister"},
        "validFrom": _utc(issued_at),
        "validUntil": _utc(valid_until),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list,
        },
    }


MIN_STATUS_BITS = 131072  # Bitstring Status List 1.0: at least 16 KB, so one list does not single out a holder


def status_list_bits(hoogste: int) -> int:
    """The length of a list whose highest index is ``hoogste``: a whole multiple of ``MIN_STATUS_BITS``, so the
    length tells at most in which block of 131,072 log offsets the last verklaring is, not how many events came."""
    return (max(hoogste, 0) // MIN_STATUS_BITS + 1) * MIN_STATUS_BITS


def encode_bitstring(gezet: set[int], lengte: int) -> str:
    """The ``encodedList``: multibase base64url (``u``, no padding) of the GZIP of the bitstring, where bit 0 is
    the left-most bit of the first byte. The length is ``status_list_bits`` of the highest of ``lengte - 1`` and
    the set bits (at least ``MIN_STATUS_BITS``, a multiple of it)."""
    lengte = status_list_bits(max(lengte - 1, max(gezet, default=-1)))
    bits = bytearray(lengte // 8)
    for i in gezet:
        if i < 0:
            raise ValueError(f"status index {i} is negative")
        bits[i // 8] |= 0x80 >> (i % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode().rstrip("=")


def bit_gezet(encoded: str, index: int) -> bool:
    """Bit ``index`` of an ``encodedList`` (ValueError when it is not multibase base64url GZIP or too short)."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList is not multibase base64url ('u' prefix)")
    body = encoded[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if index < 0 or index // 8 >= len(bits):
        raise ValueError(f"status index {index} is outside the list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
