"""The praktijkverklaring document, credential and verification page without servers: the pure content model,
the VC-JWT signing and offline verification (tampering fails), the status list bits, and the endpoints per scope
with an in-memory stand-in for the read models and for the key/log sources."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from typer.testing import CliRunner

from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.routes import verificatie_pagina
from registry.api.verklaringen import bronnen
from registry.cli.main import app as cli_app
from registry.domein.verklaring_document import (
    Persoon,
    bit_gezet,
    bouw_document,
    datum_nl,
    encode_bitstring,
    id_prefix,
    identity_hash,
    korte_code,
    open_badge_credential,
    persoon_uit,
)
from registry.infra import settings as settings_mod
from registry.infra.ondertekening import Ondertekenaar, OngeldigeCredential, verify
from tests.support.api import assert_problem, get

VID = "3f2a9c1e-7b4d-4e11-9a0b-5c6d7e8f9012"
REVOKED = "aa11bb22-cc33-4d44-8e55-66ff77889900"
ERASED = "0badc0de-1234-4567-89ab-cdef01234567"
PSEUDONYM = "ab" * 32
NAAM = "Anouk van 't Veld-Ëmre"


def feiten(vid: str = VID, **extra: Any) -> dict[str, Any]:
    return {
        "verklaring_id": vid,
        "status": "geldig",
        "ingetrokken_op": None,
        "reden_intrekking": None,
        "mbo_instelling": "Albeda",
        "mbo_instelling_id": "mbo.albeda",
        "kwalificatie": "25655",
        "kwalificaties": [{"crebo": "25655", "naam": "Medewerker logistiek", "niveau": 2}],
        "werkprocessen": [
            {
                "crebo": "25655",
                "werkproces": "B1-K1-W2",
                "naam": "Slaat goederen op",
                "kerntaak": "B1-K1",
                "kerntaak_naam": "Ontvangt goederen",
            },
            {
                "crebo": "25655",
                "werkproces": "B1-K1-W1",
                "naam": "Ontvangt en controleert goederen",
                "kerntaak": "B1-K1",
                "kerntaak_naam": "Ontvangt goederen",
            },
            {
                "crebo": "25655",
                "werkproces": "B1-K2-W1",
                "naam": "Verzamelt orders",
                "kerntaak": "B1-K2",
                "kerntaak_naam": "Verzendt goederen",
            },
        ],
        "leerbedrijf": {"leerbedrijf_id": "100234567", "naam": "Transport Rotterdam BV"},
        "uitgegeven_op": dt.date(2020, 11, 2),
        "uitgegeven_om": dt.datetime(2020, 11, 2, 9, 30, tzinfo=dt.UTC),
        "brancheorganisaties": ["sbb"],
        "brancheorganisatie_namen": ["SBB"],
        "deelnemer": PSEUDONYM,
        "traject_id": "t-1",
        "volgnummer": 1,
        "verwijderd_op": None,
        "log_positie": (3, 41),
        "persoonsgegevens_posities": [(3, 7)],
        **extra,
    }


class FakeReadModels:
    OVERZICHTEN: dict[str, str] = {}

    def __init__(self) -> None:
        self.data = {
            VID: feiten(),
            REVOKED: feiten(REVOKED, status="ingetrokken", ingetrokken_op=dt.date(2021, 1, 5), log_positie=(3, 99)),
            ERASED: feiten(ERASED, verwijderd_op=dt.date(2021, 2, 1)),
        }

    def verklaring_document(self, conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
        return self.data.get(verklaring_id)

    def verificatie(self, conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
        f = self.data.get(verklaring_id)
        if f is None:
            return None
        keep = (
            "verklaring_id",
            "status",
            "ingetrokken_op",
            "reden_intrekking",
            "mbo_instelling",
            "kwalificatie",
            "kwalificaties",
            "werkprocessen",
            "leerbedrijf",
            "uitgegeven_op",
            "brancheorganisaties",
        )
        return {k: f[k] for k in keep}

    def verklaringen_met_prefix(self, conn: Connection, prefix: str) -> list[str]:
        return [v for v in sorted(self.data) if v.startswith(prefix)][:2]

    def ingetrokken_in_partitie(self, conn: Connection, partitie: int) -> tuple[set[int], int]:
        return ({99}, 99) if partitie == 3 else (set(), -1)


SIGNER = Ondertekenaar(bytes(range(32)))


class FakeBronnen:
    def __init__(self) -> None:
        self.reads: list[list[tuple[int, int]]] = []

    def ondertekenaar(self) -> Ondertekenaar:
        return SIGNER

    def persoonsgegevens(self, posities: list[tuple[int, int]]) -> dict[str, Any] | None:
        self.reads.append(posities)
        return {"naam": NAAM, "geboortedatum": "1990-05-01"}


SCOPES = ["landelijk", "regio:Rijnmond", "instelling:mbo.albeda", "instelling:mbo.roc-top", "publiek"]
PUBLIC = "https://r.example"


def _env(public_url: str = PUBLIC) -> dict[str, Any]:
    store = MemoryKeyStore()
    keys = {s: store.create(s, f"test {s}")[1] for s in SCOPES}
    settings = replace(settings_mod.load(), public_url=public_url)
    app = create_app(settings, connect_database=False, keys=store, queries=FakeReadModels())
    src = FakeBronnen()
    app.dependency_overrides[bronnen] = lambda: src
    return {"client": TestClient(app, base_url=public_url or "http://testserver"), "keys": keys, "src": src, "app": app}


@pytest.fixture()
def env() -> dict[str, Any]:
    return _env()


# --- the content model -----------------------------------------------------------------------------------------


def test_document_groups_werkprocessen_by_kwalificatie_and_kerntaak() -> None:
    doc = bouw_document(feiten(), Persoon(NAAM, dt.date(1990, 5, 1)), "https://r.example/verificatie/" + VID)
    (k,) = doc.kwalificaties
    assert (k.crebo, k.naam, k.niveau) == ("25655", "Medewerker logistiek", 2)
    assert [(kt.code, kt.naam, [w.code for w in kt.werkprocessen]) for kt in k.kerntaken] == [
        ("B1-K1", "Ontvangt goederen", ["B1-K1-W1", "B1-K1-W2"]),
        ("B1-K2", "Verzendt goederen", ["B1-K2-W1"]),
    ]
    assert doc.leerbedrijf == "Transport Rotterdam BV (leerbedrijf-ID 100234567)"
    assert doc.brancheorganisaties == ("SBB",) and doc.volgnummer == 1 and doc.korte_code == "PV-3F2A-9C1E-7B4D"


def test_short_code_stands_for_the_id_prefix() -> None:
    assert korte_code(VID) == "PV-3F2A-9C1E-7B4D"
    assert id_prefix("pv-3f2a-9c1e-7b4d ") == "3f2a9c1e-7b4d" and VID.startswith("3f2a9c1e-7b4d")
    assert id_prefix(VID) is None and id_prefix("PV-3F2A-9C1E") is None
    with pytest.raises(ValueError):
        korte_code("v-1")


def test_persoon_and_dutch_dates() -> None:
    assert persoon_uit({"naam": "  Jan   Jansen ", "geboortedatum": "1990-05-01"}) == Persoon(
        "Jan Jansen", dt.date(1990, 5, 1)
    )
    assert persoon_uit({"naam": "Jan", "geboortedatum": "1-5-1990"}) == Persoon("Jan", None)
    assert persoon_uit(None) is None and persoon_uit({"naam": " "}) is None
    assert datum_nl(dt.date(2021, 1, 13)) == "13 januari 2021"


def test_status_bitstring_round_trip() -> None:
    enc = encode_bitstring({0, 7, 8, 200_000}, 10)
    assert enc.startswith("u")
    assert [bit_gezet(enc, i) for i in (0, 1, 7, 8, 9, 200_000, 199_999)] == [
        True,
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    assert not bit_gezet(encode_bitstring(set(), 0), 131071)  # at least 16 KB of bits
    with pytest.raises(ValueError):
        bit_gezet(enc, 10**7)


# --- the credential -----------------------------------------------------------------------------------------------


def _credential(signer: Ondertekenaar = SIGNER) -> str:
    doc = bouw_document(feiten(), Persoon(NAAM, None), "https://r.example/verificatie/" + VID)
    claims = open_badge_credential(
        doc,
        issuer_url="https://r.example",
        issued_at=dt.datetime(2020, 11, 2, tzinfo=dt.UTC),
        salt=signer.salt(VID),
        status_list_url="https://r.example/v1/statuslijst/3",
        status_index=41,
    )
    return signer.sign({**claims, "iss": "https://r.example", "jti": claims["id"]})


def test_credential_is_an_open_badge_without_personal_identifiers() -> None:
    claims = verify(_credential(), load_keys(SIGNER))
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["credentialSubject"]["achievement"]["type"] == ["Achievement"]
    assert "Ontvangt en controleert goederen" in claims["credentialSubject"]["achievement"]["criteria"]["narrative"]
    (ident,) = claims["credentialSubject"]["identifier"]
    assert ident["identityHash"] == identity_hash(NAAM, ident["salt"]) and ident["hashed"] is True
    text = json.dumps(claims, ensure_ascii=False)
    assert NAAM not in text and PSEUDONYM not in text and "1990" not in text
    assert claims["credentialStatus"]["statusListIndex"] == "41"


def load_keys(signer: Ondertekenaar) -> Any:
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(signer.jwks())  # type: ignore[arg-type]


def test_tampered_or_foreign_credential_is_invalid() -> None:
    token = _credential()
    head, payload, sig = token.split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["validFrom"] = "2019-01-01T00:00:00Z"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(OngeldigeCredential, match="signature"):
        verify(f"{head}.{forged}.{sig}", load_keys(SIGNER))
    with pytest.raises(OngeldigeCredential, match="another key"):
        verify(token, load_keys(Ondertekenaar(bytes(32))))
    with pytest.raises(OngeldigeCredential, match="three"):
        verify("not-a-jwt", load_keys(SIGNER))


def test_cli_verify_offline(tmp_path: Path) -> None:
    jwks = tmp_path / "praktijkregister-keys.json"
    jwks.write_text(json.dumps(SIGNER.jwks()))
    cred = tmp_path / "v.jwt"
    cred.write_text(_credential())
    runner = CliRunner()

    def verify_cli(*args: str) -> Any:
        return runner.invoke(cli_app, ["verklaring", "verify", *args, "--issuer", PUBLIC])

    ok = verify_cli(str(cred), "--keys", str(jwks), "--naam", NAAM)
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("valid") and "25655" in ok.output
    wrong = verify_cli(str(cred), "--keys", str(jwks), "--naam", "Jan Jansen")
    assert wrong.exit_code == 5 and "invalid: the name does not match" in wrong.output
    seed = tmp_path / "signing.key"  # the signing key file itself works as well
    seed.write_text(SIGNER.seed.hex() + "\n")
    seed.chmod(0o600)  # a secret key file: refused when group or others may read it
    assert verify_cli(str(cred), "--keys", str(seed)).exit_code == 0
    other = tmp_path / "other.json"
    other.write_text(json.dumps(Ondertekenaar(bytes(32)).jwks()))
    bad = verify_cli(str(cred), "--keys", str(other))
    assert bad.exit_code == 1 and "invalid: signed with another key" in bad.output
    tampered = tmp_path / "t.jwt"
    tampered.write_text(_credential()[:-6] + "AAAAAA")
    assert verify_cli(str(tampered), "--keys", str(jwks)).exit_code == 1


# --- the endpoints ----------------------------------------------------------------------------------------------

DOC = f"/v1/verklaringen/{VID}/document"
CRED = f"/v1/verklaringen/{VID}/credential"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("landelijk", 200),
        ("instelling:mbo.albeda", 200),
        ("instelling:mbo.roc-top", 403),
        ("regio:Rijnmond", 403),
        ("publiek", 403),
        (None, 401),
    ],
)
@pytest.mark.parametrize("url", [DOC, CRED])
def test_document_and_credential_scopes(env: dict[str, Any], url: str, scope: str | None, expected: int) -> None:
    resp = get(env, url, scope)
    if expected == 200:
        assert resp.status_code == 200, resp.text
    else:
        assert_problem(resp, expected)
        assert env["src"].reads == []  # nothing opened for a caller out of scope


def test_document_is_a_pdf_with_embedded_fonts(env: dict[str, Any]) -> None:
    resp = get(env, DOC, "landelijk")
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF-") and b"/FontFile2" in resp.content
    assert "PV-3F2A-9C1E-7B4D" in resp.headers["content-disposition"]
    assert env["src"].reads == [[(3, 7)]]


def test_unknown_and_erased(env: dict[str, Any]) -> None:
    assert_problem(get(env, "/v1/verklaringen/nope/document", "landelijk"), 404)
    assert_problem(get(env, f"/v1/verklaringen/{ERASED}/document", "landelijk"), 410)
    assert_problem(get(env, f"/v1/verklaringen/{ERASED}/credential", "instelling:mbo.albeda"), 410)
    assert_problem(get(env, f"/v1/verklaringen/{ERASED}/document", "instelling:mbo.roc-top"), 403)  # scope first
    assert env["src"].reads == []


def test_credential_verifies_against_the_published_keys_and_status_list(env: dict[str, Any]) -> None:
    from joserfc.jwk import KeySet

    jwks = env["client"].get("/.well-known/praktijkregister-keys.json").json()
    assert jwks["keys"][0]["kty"] == "OKP" and "d" not in jwks["keys"][0]
    keys = KeySet.import_key_set(jwks)
    resp = get(env, CRED, "landelijk")
    assert resp.headers["content-type"].startswith("application/vc+jwt")
    claims = verify(resp.text, keys)
    assert claims["credentialStatus"]["statusListCredential"].endswith("/v1/statuslijst/3")
    lijst = verify(env["client"].get("/v1/statuslijst/3").text, keys)
    assert lijst["type"][-1] == "BitstringStatusListCredential"
    enc = lijst["credentialSubject"]["encodedList"]
    assert not bit_gezet(enc, int(claims["credentialStatus"]["statusListIndex"]))  # 41: geldig
    revoked = verify(get(env, f"/v1/verklaringen/{REVOKED}/credential", "landelijk").text, keys)
    assert bit_gezet(enc, int(revoked["credentialStatus"]["statusListIndex"]))  # 99: ingetrokken


@pytest.mark.parametrize("url", [DOC, CRED, "/v1/statuslijst/3"])
def test_without_a_public_url_nothing_is_signed_or_printed(url: str) -> None:
    """The URL in the QR code, ``iss`` and the status list's address come from PRAKTIJK_PUBLIC_URL only."""
    env = _env(public_url="")
    body = assert_problem(get(env, url, "landelijk"), 503)
    assert body["type"].endswith("public-url-unset") and "PRAKTIJK_PUBLIC_URL" in body["detail"]
    assert env["src"].reads == []


@pytest.mark.parametrize("url", [DOC, CRED, "/v1/statuslijst/3", "/.well-known/praktijkregister-keys.json"])
def test_a_foreign_host_is_refused(env: dict[str, Any], url: str) -> None:
    resp = env["client"].get(
        url, headers={"Host": "evil.example", "Authorization": f"Bearer {env['keys']['landelijk']}"}
    )
    assert resp.status_code == 400 and env["src"].reads == []


def test_the_issuer_is_the_public_url_whatever_the_host(env: dict[str, Any]) -> None:
    """Loopback is answered (health checks, Prometheus on the machine), but what is signed names the public URL."""
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set(SIGNER.jwks())  # type: ignore[arg-type]
    local = TestClient(env["app"], base_url="http://127.0.0.1:8000")
    token = local.get(CRED, headers={"Authorization": f"Bearer {env['keys']['landelijk']}"}).text
    claims = verify(token, keys)
    assert claims["iss"] == PUBLIC and claims["issuer"]["id"] == PUBLIC
    assert claims["credentialStatus"]["statusListCredential"] == f"{PUBLIC}/v1/statuslijst/3"
    lijst = verify(local.get("/v1/statuslijst/3").text, keys)
    assert lijst["iss"] == PUBLIC and lijst["id"] == f"{PUBLIC}/v1/statuslijst/3"


def test_missing_signing_key_is_503(env: dict[str, Any], tmp_path: Path) -> None:
    from registry.api.verklaringen import LogBronnen

    class NoKey(LogBronnen):
        def persoonsgegevens(self, posities: list[tuple[int, int]]) -> dict[str, Any] | None:
            return None

    ctx = env["app"].state.context
    from dataclasses import replace

    env["app"].dependency_overrides[bronnen] = lambda: NoKey(
        replace(ctx, settings=replace(ctx.settings, signing_key_file=tmp_path / "nope.key"))
    )
    body = assert_problem(get(env, CRED, "landelijk"), 503)
    assert body["type"].endswith("key-unavailable") and str(tmp_path) not in body["detail"]


def test_verification_page(env: dict[str, Any]) -> None:
    page = env["client"].get(f"/verificatie/{VID}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        "Geldig" in page.text
        and "Ontvangt en controleert goederen" in page.text
        and "Transport Rotterdam BV" in page.text
    )
    assert NAAM not in page.text and PSEUDONYM not in page.text
    revoked = env["client"].get(f"/verificatie/{REVOKED}")
    assert "Ingetrokken" in revoked.text and "ingetrokken" in revoked.text and "5 januari 2021" in revoked.text
    by_code = env["client"].get("/verificatie/PV-3F2A-9C1E-7B4D")
    assert by_code.status_code == 200 and VID in by_code.text
    missing = env["client"].get("/verificatie/PV-0000-0000-0000")
    assert missing.status_code == 404 and "geen praktijkverklaring" in missing.text


def test_verification_page_is_rate_limited_per_client(env: dict[str, Any]) -> None:
    codes = [env["client"].get(f"/verificatie/{VID}").status_code for _ in range(verificatie_pagina.BURST + 1)]
    assert codes[:-1] == [200] * verificatie_pagina.BURST
    last = env["client"].get(f"/verificatie/{VID}")
    body = assert_problem(last, 429)
    assert int(last.headers["Retry-After"]) >= 1 and body["type"].endswith("too-many-requests")


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = verificatie_pagina.TokenBucket(2, 0.5, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(2.0) and bucket.take("b") == 0.0
    now[0] = 2.0
    assert bucket.take("a") == 0.0 and bucket.take("a") > 0
