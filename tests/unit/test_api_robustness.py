"""What fuzzing and hand probing found, without servers: bounded /v1/aantallen ranges, every path and query
parameter validated (and declared in the OpenAPI schema), no 5xx for hostile input, the rate limit of the public
verification, operations endpoints for landelijk keys, security headers on every response."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.exc import DataError

from registry.api import ratelimit
from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.headers import SECURITY_HEADERS
from registry.infra import settings as settings_mod
from tests.support.api import assert_problem, get
from tests.unit.test_api import AANT, OVZ, P_ALBEDA, T_ALBEDA, V1, V_NOPE, FakeReadModels, env  # noqa: F401 (fixture)


class Spy(FakeReadModels):
    """Records every id that reaches the read models: a malformed one must never get that far."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def traject(self, conn: Connection, traject_id: str) -> dict[str, Any] | None:
        self.ids.append(traject_id)
        return super().traject(conn, traject_id)

    def tijdlijn(self, conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
        self.ids.append(deelnemer)
        return super().tijdlijn(conn, deelnemer)

    def verificatie(self, conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
        self.ids.append(verklaring_id)
        return super().verificatie(conn, verklaring_id)

    def verklaringen_met_prefix(self, conn: Connection, prefix: str) -> list[str]:
        self.ids.append(prefix)
        return []


@pytest.fixture()
def spy() -> dict[str, Any]:
    store = MemoryKeyStore()
    keys = {s: store.create(s)[1] for s in ("landelijk", "instelling:mbo.albeda", "publiek")}
    rm = Spy()
    # no registry pseudonym key: each id is looked up exactly once (with a key the tijdlijn also tries the mapped form)
    app = create_app(
        replace(settings_mod.load(), registry_pseudonym_key_file=Path("/nonexistent/registry-pseudonym.key")),
        connect_database=False,
        keys=store,
        queries=rm,
    )
    return {"client": TestClient(app, raise_server_exceptions=False), "keys": keys, "rm": rm}


# --- /v1/aantallen: bounded range, bounded dates ---------------------------------------------------------------


def test_aantallen_at_most_120_months(env: dict[str, Any]) -> None:
    ok = get(env, "/v1/aantallen?van=2011-01-01&tot=2020-12-31", "landelijk")  # exactly 120 months
    assert ok.status_code == 200, ok.text
    assert env["rm"].calls[-1]["van"] == date(2011, 1, 1) and env["rm"].calls[-1]["tot"] == date(2020, 12, 31)
    calls = len(env["rm"].calls)
    body = assert_problem(get(env, "/v1/aantallen?van=2011-01-01&tot=2021-01-01", "landelijk"), 400)  # 121 months
    assert body["type"] == "/problems/invalid-parameter" and body["parameter"] == "tot" and body["max_months"] == 120
    assert "121 months" in body["detail"]
    for scope in ("regio:Rijnmond", "instelling:mbo.albeda"):
        assert_problem(get(env, "/v1/aantallen?van=2021-01-01&tot=2499-12-31", scope), 400)
    assert len(env["rm"].calls) == calls  # refused before any query ran


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("van=9999-12-01&tot=2021-12-31", "van"),
        ("van=2021-01-01&tot=9999-12-31", "tot"),
        ("van=1989-12-31&tot=1990-01-31", "van"),
        ("van=2100-12-01&tot=2101-01-01", "tot"),
        ("van=0001-01-01&tot=2021-01-31", "van"),
    ],
)
def test_aantallen_dates_outside_1990_2100_are_400(env: dict[str, Any], query: str, parameter: str) -> None:
    body = assert_problem(get(env, f"/v1/aantallen?{query}", "landelijk"), 400)
    assert body["parameter"] == parameter and "1990-01-01" in body["valid_values"][0]


@pytest.mark.parametrize(
    "url",
    [
        "/v1/overzichten/kwalificaties?peildatum=9999-12-01",
        "/v1/overzichten/kwalificaties?peildatum=1989-12-31",
        "/v1/reconciliatie?peildatum=9999-12-01",
        "/v1/reconciliatie/rijnmond/personen?peildatum=2101-01-01&partner=uwv",
    ],
)
def test_peildatum_outside_range_is_400(env: dict[str, Any], url: str) -> None:
    assert assert_problem(get(env, url, "landelijk"), 400)["parameter"] == "peildatum"


def test_web_peildatum_outside_range_is_400_page(env: dict[str, Any]) -> None:
    for url in ("/?peildatum=9999-12-01", "/regios?peildatum=0001-01-01", "/verloop.csv?peildatum=9999-12-31"):
        resp = env["client"].get(url)
        assert resp.status_code == 400, (url, resp.status_code)
        assert "1990" in resp.text and "2100" in resp.text  # says which dates are valid


# --- path ids: a malformed id is 404, never a database error --------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/trajecten/{}",
        "/v1/deelnemers/{}/tijdlijn",
        "/v1/verklaringen/{}/verificatie",
        "/verificatie/{}",
        "/v1/verklaringen/{}/document",
        "/v1/verklaringen/{}/credential",
    ],
)
@pytest.mark.parametrize(
    "bad",
    ["%00", "abc%00def", "%0a", "t-albeda", "'%20OR%201=1--", "x" * 300, "44444444-4444-4444-8444-44444444444%00"],
)
def test_malformed_path_id_is_404_problem(spy: dict[str, Any], path: str, bad: str) -> None:
    resp = spy["client"].get(path.format(bad), headers={"Authorization": f"Bearer {spy['keys']['landelijk']}"})
    assert resp.status_code == 404, resp.text
    if path.startswith("/verificatie/"):  # the page for people: its own HTML 404 page, the input not shown
        assert resp.headers["content-type"].startswith("text/html") and "PV-XXXX-XXXX-XXXX" in resp.text
        assert "\x00" not in resp.text and "OR 1=1" not in resp.text and "x" * 300 not in resp.text
        assert spy["rm"].ids == []
        return
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"] == "/problems/not-found" and body["valid_values"]
    assert "\x00" not in body["detail"] and "errors" in body  # the value itself is not echoed (only the path)
    assert spy["rm"].ids == []  # never reached the read models


def test_valid_ids_still_reach_the_read_models(spy: dict[str, Any]) -> None:
    h = {"Authorization": f"Bearer {spy['keys']['landelijk']}"}
    assert spy["client"].get(f"/v1/trajecten/{T_ALBEDA}", headers=h).status_code == 200
    assert spy["client"].get(f"/v1/trajecten/{T_ALBEDA.upper()}", headers=h).status_code == 404  # unknown, well formed
    assert spy["client"].get(f"/v1/deelnemers/{P_ALBEDA}/tijdlijn", headers=h).status_code == 200
    assert spy["client"].get(f"/v1/deelnemers/{'A' * 64}/tijdlijn", headers=h).status_code == 404  # upper case
    assert spy["client"].get(f"/v1/verklaringen/{V1}/verificatie").status_code == 200
    assert spy["client"].get("/verificatie/pv-b100-0000-0000").status_code == 404  # a short code: looked up
    assert spy["rm"].ids == [T_ALBEDA, T_ALBEDA.upper(), P_ALBEDA, V1, "b1000000-0000", "pv-b100-0000-0000"]


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("pilot=%00", "pilot"),
        ("regio=Rijn%0amond", "regio"),
        ("instelling=mbo.albeda%00", "instelling"),
        ("pilot=" + "a" * 81, "pilot"),
        ("instelling=%3Cscript%3E", "instelling"),
    ],
)
def test_control_characters_in_query_are_400(env: dict[str, Any], query: str, parameter: str) -> None:
    for url in (f"{OVZ}&{query}", f"{AANT}&{query}"):
        body = assert_problem(get(env, url, "landelijk"), 400)
        assert body["parameter"] == parameter and body["valid_values"]
        assert "\\u0000" not in str(body) and "script" not in body["detail"]


@pytest.mark.parametrize("gemeente", ["GM03630", "GM%00363", "0363", "Rotterdam"])
def test_gemeente_format(env: dict[str, Any], gemeente: str) -> None:
    body = assert_problem(get(env, f"{AANT}&gemeente={gemeente}", "landelijk"), 400)
    assert body["parameter"] == "gemeente" and body["valid_values"] == ["GM followed by 4 digits, e.g. GM0363"]


def test_reconciliatie_partner_and_pilot_formats(env: dict[str, Any]) -> None:
    url = "/v1/reconciliatie/rijnmond/personen?peildatum=2021-01-13&partner="
    assert assert_problem(get(env, url + "uwv%00", "landelijk"), 400)["parameter"] == "partner"
    assert assert_problem(get(env, url + "a%20b", "landelijk"), 400)["parameter"] == "partner"
    assert_problem(
        get(env, "/v1/reconciliatie/rijn%00mond/personen?peildatum=2021-01-13&partner=uwv", "landelijk"), 404
    )
    assert (
        assert_problem(get(env, "/v1/reconciliatie?peildatum=2021-01-13&pilot=%00", "landelijk"), 400)["parameter"]
        == "pilot"
    )


def test_overzicht_name_format(env: dict[str, Any]) -> None:
    assert assert_problem(get(env, "/v1/overzichten/kwali%00ficaties?peildatum=2021-01-13", "landelijk"), 404)
    body = assert_problem(get(env, "/v1/overzichten/bestaatniet?peildatum=2021-01-13", "landelijk"), 404)
    assert body["type"] == "/problems/unknown-overzicht"


def test_database_data_error_is_400_not_503() -> None:
    class Refusing(FakeReadModels):
        def traject(self, conn: Connection, traject_id: str) -> dict[str, Any] | None:
            raise DataError("SELECT", {}, Exception("invalid byte sequence for encoding UTF8: 0x00"))

    store = MemoryKeyStore()
    _, secret = store.create("landelijk")
    client = TestClient(create_app(settings_mod.load(), connect_database=False, keys=store, queries=Refusing()))
    body = assert_problem(client.get(f"/v1/trajecten/{T_ALBEDA}", headers={"Authorization": f"Bearer {secret}"}), 400)
    assert body["type"] == "/problems/invalid-parameter" and "0x00" not in body["detail"]


# --- the OpenAPI schema declares every parameter's format -----------------------------------------------------------


def test_every_parameter_is_declared_with_a_format(env: dict[str, Any]) -> None:
    spec = env["client"].get("/openapi.json").json()
    seen = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                schema = param["schema"]
                options = schema.get("anyOf", [schema])
                for s in options:
                    if s.get("type") == "null":
                        continue
                    declared = "pattern" in s or "enum" in s or s.get("type") == "integer" and "maximum" in s
                    assert declared, f"{method.upper()} {path}: parameter {param['name']} has no pattern/enum/bounds"
                    seen.add((param["name"], s.get("pattern") or str(s.get("enum")) or s.get("maximum")))
    names = {n for n, _ in seen}
    assert {
        "traject_id",
        "pseudonym",
        "verklaring_id",
        "peildatum",
        "van",
        "tot",
        "pilot",
        "regio",
        "instelling",
        "gemeente",
        "partner",
        "naam",
        "partitie",
        "format",
    } <= names
    naam = spec["paths"]["/v1/overzichten/{naam}"]["get"]["parameters"][0]["schema"]
    assert naam["enum"] == ["deelnemers_per_pilot", "kwalificaties"]
    van = next(p for p in spec["paths"]["/v1/aantallen"]["get"]["parameters"] if p["name"] == "van")["schema"]
    assert (
        van["format"] == "date"
        and re.match(van["pattern"], "2100-12-31")
        and not re.match(van["pattern"], "9999-12-01")
    )
    assert not re.match(van["pattern"], "1989-12-31") and re.match(van["pattern"], "1990-01-01")
    verificatie = spec["paths"]["/v1/verklaringen/{verklaring_id}/verificatie"]["get"]["responses"]
    assert "Retry-After" in verificatie["429"]["headers"]


# --- rate limit of the public verification ------------------------------------------------------------------------


def test_verification_json_is_rate_limited_with_the_page(env: dict[str, Any]) -> None:
    url = f"/v1/verklaringen/{V1}/verificatie"
    codes = [env["client"].get(url).status_code for _ in range(ratelimit.BURST - 1)]
    assert codes == [200] * (ratelimit.BURST - 1)
    assert env["client"].get(f"/verificatie/{V_NOPE}").status_code == 404  # the last token: one bucket for both
    limited = env["client"].get(url)
    body = assert_problem(limited, 429)
    assert body["type"] == "/problems/too-many-requests"
    assert int(limited.headers["Retry-After"]) >= 1
    assert env["client"].get(f"/verificatie/{V_NOPE}").status_code == 429
    assert get(env, OVZ, "landelijk").status_code == 200  # other endpoints are not limited


# --- operations for landelijk only; security headers everywhere -------------------------------------------------


@pytest.mark.parametrize("url", ["/v1/status", "/metrics"])
def test_operations_are_landelijk_only(env: dict[str, Any], url: str) -> None:
    assert_problem(get(env, url, None), 401)
    for scope in ("regio:Rijnmond", "instelling:mbo.albeda", "publiek"):
        assert assert_problem(get(env, url, scope), 403)["type"] == "/problems/forbidden"
    assert get(env, url, "landelijk").status_code == 200


def test_security_headers_on_every_response() -> None:
    class Broken(FakeReadModels):
        def tijdlijn(self, conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
            raise RuntimeError("boom")

    store = MemoryKeyStore()
    _, secret = store.create("landelijk")
    client = TestClient(
        create_app(settings_mod.load(), connect_database=False, keys=store, queries=Broken()),
        raise_server_exceptions=False,
    )
    h = {"Authorization": f"Bearer {secret}"}
    responses = {
        "json": client.get(OVZ, headers=h),
        "csv": client.get(OVZ + "&format=csv", headers=h),
        "401": client.get(OVZ),
        "400": client.get(OVZ.replace("2021-01-13", "9999-12-01"), headers=h),
        "404 path": client.get("/v1/trajecten/%00", headers=h),
        "unmatched": client.get("/nergens"),
        "405": client.post("/v1/overzichten", headers=h),
        "500": client.get(f"/v1/deelnemers/{P_ALBEDA}/tijdlijn", headers=h),
        "html": client.get(f"/verificatie/{V_NOPE}"),
        "static": client.get("/static/praktijkloket.css"),
        "openapi": client.get("/openapi.json"),
        "docs": client.get("/docs"),
        "metrics": client.get("/metrics", headers=h),
    }
    assert responses["500"].status_code == 500
    for what, resp in responses.items():
        for name, value in SECURITY_HEADERS.items():
            assert resp.headers.get(name) == value, (what, name)
        assert "default-src 'self'" in resp.headers["content-security-policy"], what
        assert "strict-transport-security" not in resp.headers  # plain http
    assert responses["json"].headers["cache-control"] == "private, no-cache"  # with its ETag (encoded.py)
    assert responses["401"].headers["cache-control"] == "no-store"
    https = TestClient(
        create_app(settings_mod.load(), connect_database=False, keys=store, queries=Broken()),
        base_url="https://testserver",
    )
    assert https.get(f"/verificatie/{V_NOPE}").headers["strict-transport-security"].startswith("max-age=")
