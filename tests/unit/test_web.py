"""The Praktijkloket pages in-process (no servers): the same numbers as the API per scope, the key cookie,
downloads, errors as HTML, and nothing that loads from another origin."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from registry.api.app import create_app
from registry.api.headers import CSP
from registry.api.web import svg, teksten
from registry.diensten.overzichten import maandeinden
from registry.domein.onthulling import verstoor
from registry.infra import settings as settings_mod
from tests.support.api import memory_keys

D = date(2021, 1, 31)  # a month end: publiek sees only published peildata


class WebReadModels:
    """The overzichten the pages use, with small counts (publiek suppresses them) that grow with the peildatum."""

    OVERZICHTEN = {
        "deelnemers-per-pilot": "Deelnemers per pilot (3.2): pilot, pilot_naam, tranche, deelnemers.",
        "verklaringen-per-pilot": "Deelnemers with a verklaring per pilot (6.1): pilot, ...",
        "niveaus": "Verklaringen by niveau (6.2): niveau, verklaringen, deelnemers_met_verklaring.",
    }

    def overzicht(
        self,
        conn: Connection,
        naam: str,
        peildatum: date,
        pilot: str | None = None,
        instelling: str | None = None,
        regio: str | None = None,
        *,
        sleutels: bool = False,  # the stand-in's key sums: the counts themselves
    ) -> list[dict[str, Any]]:
        late = peildatum >= D
        if naam == "deelnemers-per-pilot":
            rows = [
                {"pilot": "rijnmond", "pilot_naam": "Rijnmond", "tranche": 1, "deelnemers": 3 if late else 2},
                {"pilot": "twente", "pilot_naam": "Twente", "tranche": 1, "deelnemers": 40},
                {"pilot": "drenthe", "pilot_naam": "Drenthe", "tranche": 2, "deelnemers": 12},
            ]
            return [r for r in rows if regio is None or r["pilot"] == "rijnmond"]
        if naam == "verklaringen-per-pilot":
            return [
                {"pilot": "rijnmond", "pilot_naam": "Rijnmond", "deelnemers_met_verklaring": 1},
                {"pilot": "twente", "pilot_naam": "Twente", "deelnemers_met_verklaring": 20},
                {"pilot": "drenthe", "pilot_naam": "Drenthe", "deelnemers_met_verklaring": 6},
            ]
        if naam == "niveaus":
            return [
                {"niveau": n, "verklaringen": v, "deelnemers_met_verklaring": v}
                for n, v in ((1, 2), (2, 30 if late else 10), (3, 0), (4, 7))
            ]
        raise KeyError(naam)

    def pilots_of_instelling(self, conn: Connection, instelling: str) -> set[str]:
        return {"rijnmond"}

    def reconciliatie_rijen(
        self, conn: Connection, peildatum: date, pilot: str | None = None, *, venster_dagen: int, personen: bool = False
    ) -> list[Any]:
        return []

    def record_sleutels(self, conn: Connection, deelnemers: Any) -> dict[str, int]:
        return {}


@pytest.fixture()
def env() -> dict[str, Any]:
    store, keys, revoked = memory_keys(("landelijk", "regio:Rijnmond", "publiek"), naam="web")
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=WebReadModels())
    return {"client": TestClient(app), "keys": keys, "revoked": revoked}


def _text(html: str, ident: str) -> str:
    m = re.search(rf'id="{ident}"[^>]*>(.*?)</', html, re.S)
    assert m, ident
    return re.sub(r"<[^>]+>", "", m.group(1)).replace("&lt;", "<").strip()


def _login(client: TestClient, key: str, terug: str = "/") -> Any:
    return client.post("/sleutel", data={"sleutel": key, "terug": terug, **_csrf(client)}, **ORIGIN)


ORIGIN: dict[str, Any] = {"headers": {"Origin": "http://testserver"}, "follow_redirects": False}


def _csrf(client: TestClient) -> dict[str, str]:
    """The CSRF token a page of the Praktijkloket gives its forms (and the visitor's cookie)."""
    html = client.get("/").text
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m and m.group(1) == client.cookies.get("praktijk_csrf")
    return {"csrf": m.group(1)}


def test_overview_is_publiek_by_default(env: dict[str, Any]) -> None:
    resp = env["client"].get(f"/?peildatum={D}")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    # each headline number a cell of its own (the stand-in's key sum of a cell is its count)
    assert _text(html, "kern-deelnemers") == str(verstoor(55, 55))
    assert _text(html, "kern-verklaringen") == str(verstoor(39, 39))
    assert _text(html, "kern-met-een-verklaring") == str(verstoor(27, 27))
    assert _text(html, "scope") == "publiek" and "afgerond/verstoord" in html
    assert "<svg" in html and 'role="img"' in html


def test_publiek_tables_equal_the_api(env: dict[str, Any]) -> None:
    c = env["client"]
    api = c.get(
        f"/v1/overzichten/deelnemers-per-pilot?peildatum={D}",
        headers={"Authorization": f"Bearer {env['keys']['publiek']}"},
    ).json()["rijen"]
    html = c.get(f"/overzichten/deelnemers-per-pilot?peildatum={D}").text
    for row in api:
        cell = re.search(rf'data-pilot="{row["pilot"]}">.*?data-kolom="deelnemers"[^>]*>(.*?)</td>', html, re.S)
        assert cell is not None
        shown = re.sub(r"<[^>]+>", "", cell.group(1)).replace("&lt;", "<")
        assert shown == str(row["deelnemers"])
    assert [r["deelnemers"] for r in api] == [verstoor(3, 3), verstoor(40, 40), verstoor(12, 12)]
    assert "(afgerond/verstoord)" in html


def test_a_key_unlocks_its_scope_in_an_httponly_strict_cookie(env: dict[str, Any]) -> None:
    c = env["client"]
    resp = _login(c, env["keys"]["landelijk"], "/overzichten/niveaus?peildatum=2021-01-13")
    assert resp.status_code == 303 and resp.headers["location"] == "/overzichten/niveaus?peildatum=2021-01-13"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    html = c.get(f"/overzichten/deelnemers-per-pilot?peildatum={D}").text
    assert _text(html, "scope") == "landelijk" and "&lt;5" not in html
    assert re.search(r'data-pilot="rijnmond">.*?data-kolom="deelnemers"[^>]*>3</td>', html, re.S)
    regio = c.post("/sleutel/wissen", data={"terug": "/", **_csrf(c)}, **ORIGIN)
    assert regio.status_code == 303 and 'praktijk_sleutel=""' in regio.headers["set-cookie"]


def test_regio_key_narrows_the_headline(env: dict[str, Any]) -> None:
    c = env["client"]
    _login(c, env["keys"]["regio:Rijnmond"])
    # narrowed to the region (3 deelnemers), which is person-sized: perturbed as for publiek (never 1..4)
    assert _text(c.get(f"/?peildatum={D}").text, "kern-deelnemers") == str(verstoor(3, 3)) in ("0", "5")


@pytest.mark.parametrize("key", ["", "prk_0123456789ab_" + "x" * 43, "nonsense"])
def test_a_wrong_key_is_an_error_page_not_a_500(env: dict[str, Any], key: str) -> None:
    resp = _login(env["client"], key)
    assert resp.status_code == 401 and "set-cookie" not in resp.headers
    assert "sleutel" in _text(resp.text, "fout").lower()


def test_a_revoked_stored_key_falls_back_to_publiek(env: dict[str, Any]) -> None:
    c = env["client"]
    c.cookies.set("praktijk_sleutel", env["revoked"])
    resp = c.get(f"/?peildatum={D}")
    assert resp.status_code == 200 and _text(resp.text, "scope") == "publiek" and "ingetrokken" in resp.text
    assert 'praktijk_sleutel=""' in resp.headers["set-cookie"]


def test_no_open_redirect(env: dict[str, Any]) -> None:
    resp = _login(env["client"], env["keys"]["landelijk"], "//evil.example/")
    assert resp.headers["location"] == "/"


@pytest.mark.parametrize(
    ("url", "status"),
    [("/?peildatum=13-01-2021", 400), ("/overzichten/bestaat-niet", 404), ("/regios?peildatum=x", 400)],
)
def test_errors_are_html(env: dict[str, Any], url: str, status: int) -> None:
    resp = env["client"].get(url)
    assert resp.status_code == status and resp.headers["content-type"].startswith("text/html")
    assert _text(resp.text, "fout")


def test_downloads(env: dict[str, Any]) -> None:
    c = env["client"]
    _login(c, env["keys"]["landelijk"])
    csv_web = c.get(f"/overzichten/niveaus/tabel.csv?peildatum={D}")
    csv_api = c.get(
        f"/v1/overzichten/niveaus?peildatum={D}&format=csv",
        headers={"Authorization": f"Bearer {env['keys']['landelijk']}"},
    )
    assert csv_web.status_code == 200 and csv_web.text == csv_api.text
    assert csv_web.headers["content-disposition"].startswith("attachment")
    chart = c.get(f"/overzichten/niveaus/grafiek.svg?peildatum={D}")
    assert chart.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(chart.text)
    assert root.tag.endswith("svg") and "30" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    verloop = c.get(f"/verloop.csv?peildatum={D}").text.splitlines()
    assert verloop[0] == "peildatum,deelnemers,met_een_verklaring,verklaringen"
    assert verloop[-1] == "2021-01-31,55,27,39" and verloop[-2] == "2020-12-31,54,27,19"
    ET.fromstring(c.get(f"/verloop.svg?peildatum={D}").text)


def test_regios_and_reconciliatie(env: dict[str, Any]) -> None:
    c = env["client"]
    html = c.get(f"/regios?peildatum={D}").text
    assert 'data-regio="Rijnmond"' in html and "afgerond/verstoord" in html
    rec = c.get(f"/reconciliatie?peildatum={D}")
    assert rec.status_code == 403 and "landelijk" in rec.text
    _login(c, env["keys"]["landelijk"])
    assert c.get(f"/reconciliatie?peildatum={D}").status_code == 200


def test_csp_and_only_local_assets(env: dict[str, Any]) -> None:
    c = env["client"]
    for url in ("/", "/overzichten/niveaus", "/regios", "/docs", "/redoc"):
        resp = c.get(url)
        assert resp.status_code == 200, url
        policy = resp.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "http" not in policy and "*" not in policy
        assert not re.search(r'(src|href)="(https?:)?//', resp.text), url
        assert "<script>" not in resp.text and "style=" not in resp.text  # nothing inline
    assert c.get("/").headers["content-security-policy"] == CSP
    for asset in (
        "/static/vendor/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui.css",
        "/static/vendor/redoc.standalone.js",
        "/static/swagger-init.js",
        "/static/praktijkloket.css",
    ):
        assert c.get(asset).status_code == 200, asset
    assert "/docs" not in c.get("/openapi.json").json()["paths"] and "/" not in c.get("/openapi.json").json()["paths"]


def test_svg_escapes_and_marks_suppression() -> None:
    text = svg.bar_chart(["<b>&"], [svg.Series("a", [None]), svg.Series("b", [7])], title="t<")
    root = ET.fromstring(text)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<b>&" in texts and "–" in texts and "7" in texts  # None: no value


def test_maandeinden() -> None:
    assert maandeinden(date(2021, 1, 13), 3) == [date(2020, 11, 30), date(2020, 12, 31), date(2021, 1, 13)]


def test_the_pages_describe_the_overzichten_in_dutch(env: dict[str, Any]) -> None:
    c = env["client"]
    index = c.get(f"/?peildatum={D}").text
    assert "Deelnemers met een verklaring per pilot (6.1)" in index and " with " not in index
    page = c.get(f"/overzichten/verklaringen-per-pilot?peildatum={D}").text
    uitleg = _text(page, "uitleg")
    assert uitleg.startswith("Deelnemers met een verklaring per pilot (6.1)") and "telt op D mee" in uitleg
    assert not re.search(r"\b(with|of a|issued|revoked|first)\b", uitleg)
    # the API keeps its English description
    lijst = c.get("/v1/overzichten", headers={"Authorization": f"Bearer {env['keys']['publiek']}"}).json()
    assert {"naam": "verklaringen-per-pilot", "beschrijving": WebReadModels.OVERZICHTEN["verklaringen-per-pilot"]} in (
        lijst["overzichten"]
    )


def test_every_overzicht_of_the_catalogue_has_a_dutch_description() -> None:
    from projections.queries.overzichten import OVERZICHTEN

    assert set(teksten.BESCHRIJVINGEN) == set(OVERZICHTEN)
    for naam, tekst in teksten.BESCHRIJVINGEN.items():
        assert tekst.split(":")[0].split(" (")[1] == OVERZICHTEN[naam].split(":")[0].split(" (")[1], (
            naam
        )  # same section
        assert not re.search(r"\b(with|of the|issued|revoked|only|by|all)\b", tekst), naam


def test_a_rule_error_on_a_page_is_an_internal_error_not_404(env: dict[str, Any]) -> None:
    class Typo(WebReadModels):
        def overzicht(self, conn: Connection, naam: str, peildatum: date, **filters: Any) -> list[dict[str, Any]]:
            raise KeyError("deelnemers_met_verklraing")

    app = create_app(settings_mod.load(), connect_database=False, keys=memory_keys(())[0], queries=Typo())
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get(f"/overzichten/niveaus?peildatum={D}").status_code == 500
    assert client.get(f"/overzichten/bestaatniet?peildatum={D}").status_code == 404


def test_a_line_chart_of_ten_years_stays_one_screen_wide() -> None:
    dates = [date(2011 + i // 12, i % 12 + 1, 28) for i in range(120)]
    root = ET.fromstring(svg.line_chart(dates, [svg.Series("deelnemers", list(range(120)))], title="Verloop"))
    assert int(root.attrib["width"]) <= svg.MAX_PLOT_WIDTH + 56 + 170
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 120


def test_an_unpublished_peildatum_is_refused_in_dutch(env: dict[str, Any]) -> None:
    resp = env["client"].get("/?peildatum=2021-01-13")
    assert resp.status_code == 400 and resp.headers["content-type"].startswith("text/html")
    fout = _text(resp.text, "fout")
    assert fout.startswith("Zonder sleutel zijn alleen gepubliceerde peildata te zien") and "2020-12-31" in fout
    assert "publiek may" not in resp.text
