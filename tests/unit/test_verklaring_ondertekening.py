"""The date a praktijkopleider signed a verklaring on the PDF and the public verification page, never who signed."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from registry.api import pdf
from registry.api.app import create_app
from registry.domein.verklaring_document import Persoon, bouw_document
from registry.infra import settings as settings_mod
from tests.support.api import memory_keys
from tests.unit.test_document import NAAM, VID, FakeReadModels, feiten

OP = dt.date(2020, 10, 28)


def test_the_document_carries_the_signing_date() -> None:
    doc = bouw_document(feiten(ondertekend_op=OP), Persoon(NAAM, None), "https://r.example/verificatie/" + VID)
    assert doc.ondertekend_op == OP
    assert bouw_document(feiten(), None, "https://r.example/v").ondertekend_op is None  # a v1 verklaring: none


def test_the_pdf_prints_the_date_not_the_reference(tmp_path: Path) -> None:
    def tekst(f: dict[str, Any]) -> str:
        pad = tmp_path / "v.pdf"
        pad.write_bytes(pdf.render(bouw_document(f, Persoon(NAAM, None), "https://r.example/verificatie/" + VID)))
        return subprocess.run(
            ["pdftotext", "-layout", str(pad), "-"], check=True, capture_output=True, text=True
        ).stdout

    met = tekst(feiten(ondertekend_op=OP, ondertekend_door="po-0042"))
    assert re.search(r"Ondertekend op\s+28 oktober 2020", met), met
    assert "po-0042" not in met
    assert "Ondertekend" not in tekst(feiten())


class MetDatum(FakeReadModels):
    def verificatie(self, conn: Any, verklaring_id: str) -> dict[str, Any] | None:
        found = super().verificatie(conn, verklaring_id)
        return None if found is None else {**found, "ondertekend_op": OP}


def test_the_verification_page_and_json_show_the_date() -> None:
    store, _, _ = memory_keys(["landelijk"])
    client = TestClient(create_app(settings_mod.load(), connect_database=False, keys=store, queries=MetDatum()))
    page = client.get(f"/verificatie/{VID}")
    assert page.status_code == 200 and "Ondertekend door de praktijkopleider op" in page.text
    assert "28 oktober 2020" in page.text
    assert client.get(f"/v1/verklaringen/{VID}/verificatie").json()["ondertekend_op"] == "2020-10-28"
    zonder = TestClient(create_app(settings_mod.load(), connect_database=False, keys=store, queries=FakeReadModels()))
    assert "Ondertekend" not in zonder.get(f"/verificatie/{VID}").text
