"""The Praktijkloket page /doorstroom in-process: the same numbers as GET /v1/doorstroom for a landelijk key, the
cohort and peildatum form, CSV and SVG downloads, and a 403 page for every other scope."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.api.app import create_app
from registry.infra import settings as settings_mod
from tests.support.api import memory_keys
from tests.unit.test_api_doorstroom import Standen

Q = "cohort=2019&peildatum=2021-01-13"


@pytest.fixture()
def env() -> dict[str, Any]:
    store, keys, _ = memory_keys(("landelijk", "regio:Rijnmond", "publiek"), naam="web")
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=Standen())
    return {"client": TestClient(app), "keys": keys}


def _als(env: dict[str, Any], scope: str) -> TestClient:
    client: TestClient = env["client"]
    client.cookies.set("praktijk_sleutel", env["keys"][scope])
    return client


def _cellen(html: str, tabel: str) -> list[list[str]]:
    m = re.search(rf'<table id="{tabel}">(.*?)</table>', html, re.S)
    assert m, tabel
    rijen = re.findall(r"<tr>(.*?)</tr>", m.group(1).split("<tbody>")[1], re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rijen]


def test_the_page_shows_the_apis_numbers(env: dict[str, Any]) -> None:
    client = _als(env, "landelijk")
    page = client.get(f"/doorstroom?{Q}")
    assert page.status_code == 200
    api = client.get(f"/v1/doorstroom?{Q}", headers={"Authorization": f"Bearer {env['keys']['landelijk']}"}).json()
    stappen = _cellen(page.text, "stappen")
    assert [[s, int(n)] for s, n, _ in stappen] == [[s["stap"], s["deelnemers"]] for s in api["stappen"]]
    assert [c for _, _, c in stappen][1:] == [
        f"{api['conversie'][s]:.3f}" for s in ("advies", "gestart", "verklaring", "beeindigd")
    ]
    assert _cellen(page.text, "doorlooptijd")[0] == ["aanmelding tot start", "4", "28", "31", "41"]
    assert ["voortijdig gestopt", "motivatie", "1"] in _cellen(page.text, "beeindiging")
    assert ["zes maanden", "betaald werk", "1"] in _cellen(page.text, "uitstroom")
    assert 'id="cohort"' in page.text and 'value="2019"' in page.text and 'value="2021-01-13"' in page.text
    assert "<svg" in page.text and "Doorstroom cohort 2019 op 2021-01-13" in page.text


def test_downloads(env: dict[str, Any]) -> None:
    client = _als(env, "landelijk")
    csv = client.get(f"/doorstroom.csv?{Q}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "stappen,aangemeld,6" in csv.text.splitlines()
    assert 'filename="doorstroom_2019_2021-01-13.csv"' in csv.headers["content-disposition"]
    grafiek = client.get(f"/doorstroom.svg?{Q}")
    assert grafiek.status_code == 200 and grafiek.headers["content-type"].startswith("image/svg+xml")
    ET.fromstring(grafiek.text)  # well-formed
    assert ">6<" in grafiek.text and "aangemeld" in grafiek.text


@pytest.mark.parametrize("scope", ["publiek", "regio:Rijnmond"])
def test_publiek_and_regio_see_perturbed_figures(env: dict[str, Any], scope: str) -> None:
    client = _als(env, scope) if scope != "publiek" else env["client"]
    page = client.get("/doorstroom?cohort=2019&peildatum=2020-12-31")
    assert page.status_code == 200 and 'id="stappen"' in page.text and "afgerond/verstoord" in page.text
    assert all(not 1 <= int(r[1]) <= 4 for r in _cellen(page.text, "stappen"))
    csv = client.get("/doorstroom.csv?cohort=2019&peildatum=2020-12-31").text
    assert csv.startswith("# onthullingsbeheersing: methode=celsleutel")


def test_instelling_gets_the_403_page() -> None:
    store, keys, _ = memory_keys(("instelling:mbo.albeda",), naam="web")
    client = TestClient(create_app(settings_mod.load(), connect_database=False, keys=store, queries=Standen()))
    client.cookies.set("praktijk_sleutel", keys["instelling:mbo.albeda"])
    page = client.get(f"/doorstroom?{Q}")
    assert page.status_code == 403 and "scope instelling:mbo.albeda heeft geen toegang" in page.text
    assert 'id="stappen"' not in page.text


def test_a_bad_cohort_is_an_error_page_without_echo(env: dict[str, Any]) -> None:
    page = _als(env, "landelijk").get("/doorstroom?cohort=<b>x</b>&peildatum=2021-01-13")
    assert page.status_code == 400 and "<b>x</b>" not in page.text and "JJJJ" in page.text


def test_a_cohort_outside_the_registrys_years_is_400_not_500(env: dict[str, Any]) -> None:
    page = _als(env, "landelijk").get("/doorstroom?cohort=0000&peildatum=2021-01-13")
    assert page.status_code == 400 and "1990" in page.text


def test_every_page_links_it_in_the_navigation(env: dict[str, Any]) -> None:
    # the navigation of base.html (every page): here on the error page of another path
    page = env["client"].get("/overzichten/bestaat-niet?peildatum=2021-01-31")
    assert '<li><a href="/doorstroom?peildatum=' in page.text or '<li><a href="/doorstroom">' in page.text
