"""The Praktijkloket in a real browser: Debian's chromium (headless, driven by Selenium through Debian's
chromedriver; nothing downloads a browser or a driver) against ``praktijkregister serve`` on a free loopback
port, over read models the real projector built from real events in a private schema.

The browser runs with every host but 127.0.0.1 unresolvable, so nothing can load from outside the registry.
One browser session for the module; screenshots of every page go to ``.cache/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from projections import queries
from registry.api.auth import KeyStore
from registry.domein import onthulling
from registry.infra.db import engine as make_engine
from tests.support import validator as h
from tests.support.browser import Site, needs_chromium, site_on
from tests.support.builders import ANDER, MBO, afteken, ev, inschrijving, referentie_events, verklaring
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once

EARLY, LATE = "2020-09-30", "2021-01-31"  # month ends: publiek sees only published peildata

pytestmark = needs_chromium


def _events() -> list[list[tuple[str, dict[str, Any]]]]:
    """Batches in dependency order: rijnmond 2 deelnemers from June and 4 more from December 2020, twente 2,
    groningen 7; one verklaring (issued 2020-11-02) for the first rijnmond deelnemer."""
    erkenning = (
        "ErkenningDerdeLeerwegVerleend",
        ev("duo", mbo_instelling=ANDER, crebo="25250", vanaf=dt.date(2019, 1, 1)),
    )
    ref = [*referentie_events(), erkenning]
    juni, december = dt.date(2020, 6, 1), dt.date(2020, 12, 1)
    inschrijvingen = [("DeelnemerIngeschreven", inschrijving())]  # P, traject T1, rijnmond, June
    plan = (
        [("rijnmond", juni, MBO)]
        + [("rijnmond", december, MBO)] * 4
        + [("twente", juni, ANDER)] * 2
        + [("groningen", juni, MBO)] * 7
    )
    for n, (pilot, start, inst) in enumerate(plan):
        inschrijvingen.append(
            (
                "DeelnemerIngeschreven",
                inschrijving(
                    deelnemer=f"{n + 1:064x}",
                    traject_id=str(uuid.uuid4()),
                    pilot=pilot,
                    startdatum=start,
                    mbo_instelling=inst,
                    partner=inst,
                ),
            )
        )
    aftekeningen = [("WerkprocesAfgetekend", afteken("B1-K1-W1")), ("WerkprocesAfgetekend", afteken("B1-K1-W2"))]
    issued = verklaring(["B1-K1-W1", "B1-K1-W2"]) | {"occurred_at": dt.datetime(2020, 11, 2, 10, tzinfo=dt.UTC)}
    return [ref, inschrijvingen, aftekeningen, [("PraktijkverklaringUitgegeven", issued)]]


@pytest.fixture(scope="module")
def site(kafka_bootstrap: str, database_url: str) -> Iterator[Site]:
    unique = uuid.uuid4().hex[:10]
    prefix, schema = f"t{unique}", f"t{unique}_read"
    h.make_topics(kafka_bootstrap, prefix)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    eng = make_engine(database_url)
    keystore = KeyStore(eng)  # serve reads the default api_keys table
    key, secret = keystore.create("landelijk", "test_web_browser")
    try:
        for batch in _events():
            h.publish(kafka_bootstrap, prefix, batch)
            h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)
        with site_on(database_url, kafka_bootstrap, schema, secret) as s:
            yield s
    finally:
        v.close()
        with eng.begin() as conn:
            conn.execute(text("DELETE FROM api_keys WHERE key_id = :i"), {"i": key.key_id})
        ruim_op(eng, kafka_bootstrap, prefix, schema)


def _headline(site: Site, peildatum: str) -> dict[str, int]:
    """The headline numbers as the API computes them (landelijk: exact column sums)."""

    def total(naam: str, kolom: str) -> int:
        return sum(r[kolom] for r in site.api(f"/v1/overzichten/{naam}?peildatum={peildatum}")["rijen"])

    return {
        "deelnemers": total("deelnemers-per-pilot", "deelnemers"),
        "met-een-verklaring": total("verklaringen-per-pilot", "deelnemers_met_verklaring"),
        "verklaringen": total("niveaus", "verklaringen"),
    }


def _past(shown: str, exact: int) -> bool:
    """Whether the publiek view's ``shown`` can be ``exact`` perturbed by the cell key method (never 1..4)."""
    return not 1 <= int(shown) <= 4 and exact in onthulling.mogelijke_waarden(int(shown))


def test_overview_loads(site: Site) -> None:
    b = site.open(f"/?peildatum={LATE}", "overzicht")
    assert "Landelijk overzicht" in b.title
    assert _past(site.text("#kern-deelnemers"), 15)  # afgerond/verstoord
    assert site.text("#scope") == "publiek"
    assert len(b.find_elements("css selector", "figure.grafiek svg polyline")) == 3  # one line per headline number
    assert len(b.find_elements("css selector", "ul.overzichten a")) == len(queries.OVERZICHTEN) == 11


def test_a_peildatum_change_shows_the_api_numbers(site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    b = site.open(f"/?peildatum={LATE}")
    for peildatum in (EARLY, LATE):
        field = b.find_element(By.ID, "peildatum")
        b.execute_script("arguments[0].value = arguments[1]", field, peildatum)  # the date picker's value
        b.find_element(By.ID, "toon").click()  # a plain GET form
        WebDriverWait(b, 20).until(lambda d, peildatum=peildatum: f"peildatum={peildatum}" in d.current_url)
        want = _headline(site, peildatum)
        assert all(_past(site.text(f"#kern-{k}"), v) for k, v in want.items()), want
        site.screenshot(f"overzicht_{peildatum}")
    assert _headline(site, EARLY)["deelnemers"] == 11 and _headline(site, LATE)["verklaringen"] == 1


def _cells(site: Site, kolom: str) -> dict[str, str]:
    b = site.browser
    return {
        row.get_attribute("data-pilot"): row.find_element("css selector", f'td[data-kolom="{kolom}"]').text.strip()
        for row in b.find_elements("css selector", "#tabel tbody tr[data-pilot]")
    }


def test_publiek_sees_perturbed_numbers(site: Site) -> None:
    site.open(f"/overzichten/deelnemers-per-pilot?peildatum={LATE}", "deelnemers-per-pilot_publiek")
    shown = _cells(site, "deelnemers")
    exact = {
        r["pilot"]: r["deelnemers"] for r in site.api(f"/v1/overzichten/deelnemers-per-pilot?peildatum={LATE}")["rijen"]
    }
    assert set(shown) == set(exact) and all(_past(shown[p], exact[p]) for p in exact), (shown, exact)
    assert exact["twente"] == 2 and shown["twente"] in ("0", "5") and shown["drenthe"] == "0"
    assert "afgerond/verstoord" in site.text("#tabel caption")


def test_the_page_equals_the_publiek_api(site: Site) -> None:
    """Against the API's own answer for a publiek key (the same suppression, computed by the server)."""
    store = KeyStore(make_engine(_database_url()))
    key, secret = store.create("publiek", "test_web_browser")
    try:
        rows = site.api_publiek(f"/v1/overzichten/deelnemers-per-pilot?peildatum={LATE}", secret)["rijen"]
    finally:
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM api_keys WHERE key_id = :i"), {"i": key.key_id})
    site.open(f"/overzichten/deelnemers-per-pilot?peildatum={LATE}")
    assert _cells(site, "deelnemers") == {r["pilot"]: str(r["deelnemers"]) for r in rows}
    site.open(f"/?peildatum={LATE}")
    assert site.text("#kern-verklaringen") in ("0", "5")  # 1 verklaring: afgerond/verstoord for publiek


def _database_url() -> str:
    from registry.infra import settings

    return os.environ.get("PRAKTIJK_DATABASE_URL") or settings.load().database_url


def test_a_landelijk_key_shows_exact_numbers(site: Site) -> None:
    from selenium.webdriver.common.by import By

    b = site.open(f"/overzichten/deelnemers-per-pilot?peildatum={LATE}")
    b.find_element(By.ID, "sleutel").send_keys("prk_0123456789ab_" + "x" * 43)
    b.find_element(By.ID, "sleutel").submit()
    assert "onbekend of ingetrokken" in site.text("#fout")  # an error page, not a 500
    site.screenshot("sleutel_fout")
    b = site.open(f"/overzichten/deelnemers-per-pilot?peildatum={LATE}")
    b.find_element(By.ID, "sleutel").send_keys(site.landelijk)
    b.find_element(By.ID, "sleutel").submit()
    assert site.text("#scope") == "landelijk"
    assert f"peildatum={LATE}" in b.current_url  # back on the same page
    exact = {
        r["pilot"]: str(r["deelnemers"])
        for r in site.api(f"/v1/overzichten/deelnemers-per-pilot?peildatum={LATE}")["rijen"]
    }
    assert _cells(site, "deelnemers") == exact and exact["twente"] == "2" and exact["rijnmond"] == "6"
    assert "<5" not in b.find_element(By.ID, "tabel").text
    cookie = b.get_cookie("praktijk_sleutel")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert b.execute_script("return document.cookie") == ""  # not readable by scripts
    site.open(f"/?peildatum={LATE}")
    assert site.text("#kern-verklaringen") == "1"
    # every page, as landelijk
    for naam in sorted(queries.OVERZICHTEN):
        site.open(f"/overzichten/{naam}?peildatum={LATE}", f"{naam}_landelijk")
        assert b.find_elements(By.CSS_SELECTOR, "figure.grafiek svg") and b.find_elements(By.ID, "tabel")
    site.open(f"/regios?peildatum={LATE}", "regios")
    assert b.find_element(By.CSS_SELECTOR, 'table[data-regio] tr[data-pilot="groningen"]').text.split()[-2:] == [
        "7",
        "0",
    ]
    site.open(f"/reconciliatie?peildatum={LATE}", "reconciliatie")
    assert b.find_element(By.ID, "reconciliatie")
    b.find_element(By.CSS_SELECTOR, "form[action='/sleutel/wissen'] button").click()
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # the click starts a navigation: wait for the page it leads to (publiek after logging out), up to 20 s
    WebDriverWait(b, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: [e.text for e in d.find_elements(By.ID, "scope")] == ["publiek"]
    )
    assert site.text("#scope") == "publiek"


def _outside_requests(site: Site) -> list[str]:
    names = site.browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [n for n in names if not n.startswith(site.base)]


def test_docs_render_without_the_internet(site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    operations = sum(len(ops) for ops in site.api("/openapi.json")["paths"].values())
    b = site.open("/docs")
    WebDriverWait(b, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= operations)
    assert len(b.find_elements(By.CSS_SELECTOR, ".opblock")) == operations
    assert "/v1/overzichten/{naam}" in b.find_element(By.ID, "swagger-ui").text
    site.screenshot("docs")
    assert _outside_requests(site) == []
    assert [e["message"] for e in b.get_log("browser") if e["source"] == "security"] == []  # no CSP violation
    b = site.open("/redoc")
    WebDriverWait(b, 30).until(lambda d: "/v1/overzichten/{naam}" in d.find_element(By.TAG_NAME, "body").text)
    site.screenshot("redoc")
    # ReDoc's bundle always asks for the Redocly logo from its CDN: the Content-Security-Policy refuses it
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert _outside_requests(site) in ([], [logo])
    refused = [e["message"] for e in b.get_log("browser") if e["source"] == "security"]
    assert all(logo in m and "The action has been blocked" in m for m in refused), refused
