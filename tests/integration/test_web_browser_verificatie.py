"""The public verification page ``/verificatie/{id}`` in a real browser: a revoked verklaring shows
"ingetrokken" with its date, a valid one "geldig", and neither page carries the deelnemer's name or birth date
(which are in the canonical log, sealed). The world is that of the document tests (tests/support/verklaringen.py)
through the real validator and projector; ``serve`` and chromium as in test_web_browser.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import Site, needs_chromium, site_on
from tests.support.builders import V1
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.verklaringen import V2, WP, partner_sleutels, publiceer_verklaringen, trek_in
from tests.support.wereld import pijplijn

pytestmark = [pytest.mark.integration, needs_chromium]

BSN_P, BSN_Q = "111222333", "123456782"
GEGEVENS_P = {"naam": "Fatma Yılmaz-de Vries", "geboortedatum": "1988-03-14"}
GEGEVENS_Q = {"naam": "Quirijn van Persoonsveld", "geboortedatum": "1970-01-02"}
# every way a page could show a birth date
PERSOONLIJK = [
    GEGEVENS_P["naam"],
    GEGEVENS_Q["naam"],
    "Yılmaz",
    "Persoonsveld",
    "1988-03-14",
    "14-03-1988",
    "14 maart 1988",
    "1970-01-02",
    "02-01-1970",
    "2 januari 1970",
    BSN_P,
    BSN_Q,
]


@pytest.fixture(scope="module")
def site(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, list[str]]]:
    keydir = tmp_path_factory.mktemp("keys")
    pseudo, sealer = partner_sleutels(keydir)
    p, q = pseudo(BSN_P), pseudo(BSN_Q)
    prefix, schema, _, v, eng, keystore = pijplijn(kafka_bootstrap, database_url, keydir=keydir)
    try:
        publiceer_verklaringen(kafka_bootstrap, prefix, v, sealer, p, q, GEGEVENS_P, GEGEVENS_Q)
        trek_in(kafka_bootstrap, prefix, v, q)  # V2, on 5 January 2021
        project_once(kafka_bootstrap, database_url, prefix, schema)
        with site_on(database_url, kafka_bootstrap, schema) as s:
            yield s, PERSOONLIJK + [p, q]
    finally:
        v.close()
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table])


def test_verification_page_of_a_revoked_and_a_valid_verklaring(site: tuple[Site, list[str]]) -> None:
    s, geheim = site
    b = s.open(f"/verificatie/{V2}")
    shot = s.screenshot("verificatie_ingetrokken")
    assert s.text("#uitkomst").startswith("Ingetrokken op 5 januari 2021")
    assert s.text("#status") == "ingetrokken sinds 5 januari 2021"
    assert s.text("#reden") == "Administratieve fout bij de uitgifte"
    assert V2 in b.page_source and "Bouwbedrijf De Vries BV" in b.page_source
    assert [x for x in geheim if x in b.page_source] == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    b = s.open(f"/verificatie/{V1}", "verificatie_geldig")
    assert s.text("#uitkomst").startswith("Geldig")
    assert s.text("#status") == "geldig"
    assert "ingetrokken" not in s.text("#status") and not b.find_elements("css selector", "#reden")
    werkprocessen = b.find_element("css selector", "table.werkprocessen").text
    assert all(naam in werkprocessen for naam in WP.values())
    assert [x for x in geheim if x in b.page_source] == []
    assert (shot.parent / "verificatie_geldig.png").stat().st_size > 5_000
