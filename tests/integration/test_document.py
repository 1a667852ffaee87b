"""The praktijkverklaring document, credential and verification page over the real pipeline: partner events with
sealed persoonsgegevens -> validator -> Kafka -> projector -> PostgreSQL -> API, which reads the sealed bytes back
from the canonical log. The PDF is checked with poppler (pdftotext, pdftoppm)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import KeySet
from sqlalchemy import text
from typer.testing import CliRunner

from projections import queries
from registry.api.app import create_app
from registry.cli.main import app as cli_app
from registry.domein.verklaring_document import bit_gezet
from registry.infra import settings as settings_mod
from registry.infra.db import engine as make_engine
from registry.infra.ondertekening import verify
from tests.support import validator as h
from tests.support.api import ApiWorld
from tests.support.builders import V1, ev
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.verklaringen import INGETROKKEN, V2, WP, partner_sleutels, publiceer_verklaringen, trek_in
from tests.support.wereld import pijplijn, sleutels

pytestmark = pytest.mark.integration

BSN_P, BSN_Q = "111222333", "123456782"
NAAM = "Fatma Yılmaz-de Vries"
PUBLIC = "https://praktijkregister.example"


@dataclass
class World(ApiWorld):
    keydir: Path
    p: str
    q: str
    database_url: str


SCOPES = ["landelijk", "instelling:mbo.albeda", "instelling:ROC TOP", "publiek"]


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    keydir = tmp_path_factory.mktemp("keys")
    pseudo, sealer = partner_sleutels(keydir)
    p, q = pseudo(BSN_P), pseudo(BSN_Q)
    prefix, schema, _, v, eng, keystore = pijplijn(kafka_bootstrap, database_url, keydir=keydir)
    keys = sleutels(keystore, SCOPES)
    s = replace(
        settings_mod.load(),
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        validator_group=f"{prefix}-validator",
        private_key_file=keydir / "registry.key",
        master_key_file=keydir / "master.key",
        vault_schema=f"{prefix}_validator",
        signing_key_file=keydir / "signing.key",
        public_url=PUBLIC,
    )
    app = create_app(
        s,
        queries=queries,
        engine=eng,
        keys=keystore,
        schema=schema,
        events_topic=f"{prefix}.events",
        ingress_prefix=f"{prefix}.ingress.",
    )
    w = World(TestClient(app, base_url=PUBLIC), keys, prefix, schema, keydir, p, q, database_url)
    try:
        publiceer_verklaringen(
            kafka_bootstrap,
            prefix,
            v,
            sealer,
            p,
            q,
            {"naam": NAAM, "geboortedatum": "1988-03-14"},
            {"naam": "Q Persoon", "geboortedatum": "1970-01-01"},
        )
        trek_in(kafka_bootstrap, prefix, v, q)  # revoked first: after the erasure nothing more is recorded for q
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                (
                    "DeelnemerGegevensVerwijderd",
                    ev("sbb", deelnemer=q, grondslag="AVG art. 17 verzoek 1") | {"occurred_at": INGETROKKEN},
                ),
            ],
        )
        h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)
        yield w
    finally:
        v.close()
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table])


def test_projected_verklaringen_are_there(world: World) -> None:
    assert world.get(f"/v1/verklaringen/{V1}/verificatie").json()["status"] == "geldig"
    ingetrokken = world.get(f"/v1/verklaringen/{V2}/verificatie").json()
    assert (ingetrokken["status"], ingetrokken["reden_intrekking"]) == (
        "ingetrokken",
        "Administratieve fout bij de uitgifte",
    )


@pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) not installed; ops/test installs it",
)
def test_pdf_through_the_api_has_the_name_and_the_werkprocessen(world: World, tmp_path: Path) -> None:
    resp = world.get(f"/v1/verklaringen/{V1}/document", "landelijk")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "verklaring.pdf"
    pdf.write_bytes(resp.content)
    tekst = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    flat = " ".join(tekst.split())
    for naam in WP.values():
        assert naam in flat
    assert NAAM in flat and "14 maart 1988" in flat  # opened from the sealed bytes in the canonical log
    assert "Kerntaak B1-K1: Bereidt bouwwerkzaamheden voor" in flat and "crebo 25250, niveau 1" in flat
    assert "Bouwbedrijf De Vries BV" in flat and "2 november 2020" in flat and "PV-2222-2222-2222" in flat
    assert f"{PUBLIC}/verificatie/{V1}" in "".join(tekst.split())  # the URL may wrap
    assert BSN_P not in tekst and world.p not in tekst  # neither BSN nor pseudonym
    fonts = (
        subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
        if shutil.which("pdffonts")
        else ""
    )
    assert "DejaVuSans" in fonts or "Vera" in fonts or not fonts
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "pagina")], check=True
    )
    (png,) = tmp_path.glob("pagina*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


def test_document_scopes_and_erasure(world: World) -> None:
    assert world.get(f"/v1/verklaringen/{V1}/document", "instelling:mbo.albeda").status_code == 200
    assert world.get(f"/v1/verklaringen/{V1}/document", "instelling:ROC TOP").status_code == 403
    assert world.get(f"/v1/verklaringen/{V1}/document", "publiek").status_code == 403
    assert world.get(f"/v1/verklaringen/{V1}/document").status_code == 401
    assert world.get("/v1/verklaringen/55555555-5555-4555-8555-555555555555/document", "landelijk").status_code == 404
    gone = world.get(f"/v1/verklaringen/{V2}/document", "landelijk")
    assert gone.status_code == 410 and gone.json()["type"].endswith("/gone")
    assert world.get(f"/v1/verklaringen/{V2}/credential", "landelijk").status_code == 410


def test_credential_verifies_offline_and_revocation_is_in_the_status_list(world: World, tmp_path: Path) -> None:
    jwks = world.get("/.well-known/praktijkregister-keys.json").json()
    token = world.get(f"/v1/verklaringen/{V1}/credential", "instelling:mbo.albeda").text
    claims = verify(token, KeySet.import_key_set(jwks))
    text_claims = json.dumps(claims, ensure_ascii=False)
    assert NAAM not in text_claims and world.p not in text_claims and BSN_P not in text_claims
    assert claims["issuer"]["id"] == PUBLIC and claims["id"] == f"urn:uuid:{V1}"
    (tmp_path / "keys.json").write_text(json.dumps(jwks))
    (tmp_path / "v1.jwt").write_text(token)
    status_url = claims["credentialStatus"]["statusListCredential"]
    lijst = world.get(status_url.removeprefix(PUBLIC)).text
    (tmp_path / "lijst.jwt").write_text(lijst)
    out = CliRunner().invoke(
        cli_app,
        [
            "verklaring",
            "verify",
            str(tmp_path / "v1.jwt"),
            "--keys",
            str(tmp_path / "keys.json"),
            "--naam",
            NAAM,
            "--status",
            str(tmp_path / "lijst.jwt"),
            "--issuer",
            PUBLIC,
        ],
    )
    assert out.exit_code == 0 and out.output.startswith("valid"), out.output
    # V2 is revoked: its bit in its partition's list is 1
    eng = make_engine(world.database_url)
    with eng.connect() as conn:
        part, off = conn.execute(
            text(
                f"SELECT e.log_partition, e.log_offset FROM {world.schema}.event_log e "
                f"WHERE e.event_type = 'PraktijkverklaringUitgegeven' AND e.verklaring_id = :v"
            ),
            {"v": V2},
        ).one()
    eng.dispose()
    enc = verify(world.get(f"/v1/statuslijst/{part}").text, KeySet.import_key_set(jwks))["credentialSubject"][
        "encodedList"
    ]
    assert bit_gezet(enc, off)
    if status_url.endswith(f"/{part}"):
        assert not bit_gezet(enc, int(claims["credentialStatus"]["statusListIndex"]))


def test_verification_page_shows_ingetrokken_without_personal_data(world: World) -> None:
    page = world.client.get(f"/verificatie/{V2}")
    assert page.status_code == 200 and "ingetrokken" in page.text.lower() and "5 januari 2021" in page.text
    assert 'id="reden">Administratieve fout bij de uitgifte</span>' in page.text  # the code's label
    ok = world.client.get("/verificatie/PV-2222-2222-2222")
    assert ok.status_code == 200 and "Geldig" in ok.text and WP["B1-K2-W1"] in ok.text
    assert "Bouwbedrijf De Vries BV" in ok.text
    for secret in (NAAM, "Q Persoon", world.p, world.q, BSN_P):
        assert secret not in ok.text and secret not in page.text
