"""``verklaring verify`` checks signature, issuer, the validity of the credential and of its status list, and the
bit, each failure with its own exit code; the API's status lists are long, dated and reused, not signed per
request."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.statuslijsten import StatuslijstCache
from registry.api.verklaringen import bronnen
from registry.cli.main import app as cli_app
from registry.cli.verklaring import EXIT
from registry.domein.verklaring_document import (
    MIN_STATUS_BITS,
    Persoon,
    bouw_document,
    encode_bitstring,
    open_badge_credential,
    status_list_bits,
    status_list_credential,
)
from registry.infra import settings as settings_mod
from registry.infra.ondertekening import Ondertekenaar, verify_signature
from tests.unit.test_document import NAAM, SIGNER, VID, FakeBronnen, FakeReadModels, feiten, load_keys

ISSUER = "https://r.example"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
LIST_INDEX = 41


def credential(signer: Ondertekenaar = SIGNER, issuer: str = ISSUER, list_base: str | None = None, **extra: Any) -> str:
    doc = bouw_document(feiten(), Persoon(NAAM, None), f"{issuer}/verificatie/{VID}")
    list_url = f"{list_base or issuer}/v1/statuslijst/3"
    claims = open_badge_credential(
        doc,
        issuer_url=issuer,
        issued_at=NOW - dt.timedelta(days=30),
        salt=signer.salt(VID),
        status_list_url=list_url,
        status_index=LIST_INDEX,
    )
    return signer.sign({**claims, "iss": issuer, "jti": claims["id"], **extra})


def status_list(
    signer: Ondertekenaar = SIGNER,
    issuer: str = ISSUER,
    revoked: frozenset[int] = frozenset({99}),
    signed: dt.datetime = NOW,
    valid_for: dt.timedelta = dt.timedelta(hours=24),
    list_url: str | None = None,
    drop: str | None = None,
) -> str:
    url = list_url or f"{issuer}/v1/statuslijst/3"
    claims = status_list_credential(
        issuer_url=issuer,
        list_url=url,
        encoded_list=encode_bitstring(set(revoked), 100),
        issued_at=signed,
        valid_until=signed + valid_for,
    )
    claims |= {"iss": issuer, "jti": url}
    if drop:
        claims.pop(drop)
    return signer.sign(claims)


def run_verify(tmp_path: Path, cred: str, lijst: str | None, *extra: str, issuer: str = ISSUER) -> Any:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(SIGNER.jwks()))
    (tmp_path / "v.jwt").write_text(cred)
    args = ["verklaring", "verify", str(tmp_path / "v.jwt"), "--keys", str(keys), "--issuer", issuer, *extra]
    if lijst is not None:
        (tmp_path / "lijst.jwt").write_text(lijst)
        args += ["--status", str(tmp_path / "lijst.jwt")]
    return CliRunner().invoke(cli_app, args)


OTHER = Ondertekenaar(bytes(32))

CASES: list[tuple[str, str, str | None, str]] = [
    ("valid", credential(), status_list(), "valid"),
    ("signature", credential(OTHER), status_list(), "signed with another key"),
    ("issuer", credential(issuer="https://evil.example"), status_list(), "names issuer https://evil.example"),
    ("issuer", credential(list_base="https://evil.example"), status_list(), "is not at the issuer"),
    ("credential-time", credential(validUntil="2021-01-01T00:00:00Z"), status_list(), "credential expired"),
    ("status-list", credential(), status_list(OTHER), "status list: signed with another key"),
    (
        "status-list",
        credential(),
        status_list(issuer="https://evil.example", list_url=f"{ISSUER}/v1/statuslijst/3"),
        "status list names issuer",
    ),
    ("status-list", credential(), status_list(list_url=f"{ISSUER}/v1/statuslijst/4"), "the credential names"),
    (
        "status-list-time",
        credential(),
        status_list(signed=NOW - dt.timedelta(days=3)),
        "status list expired",
    ),
    ("status-list-time", credential(), status_list(drop="validUntil"), "has no validUntil"),
    (
        "status-list-time",
        credential(),
        status_list(signed=NOW + dt.timedelta(hours=1)),
        "status list is not valid yet",
    ),
    ("revoked", credential(), status_list(revoked=frozenset({LIST_INDEX})), "ingetrokken"),
]


@pytest.mark.parametrize(("kind", "cred", "lijst", "says"), CASES)
def test_each_failure_is_one_line_with_its_own_exit_code(
    tmp_path: Path, kind: str, cred: str, lijst: str | None, says: str
) -> None:
    out = run_verify(tmp_path, cred, lijst)
    assert out.exit_code == (0 if kind == "valid" else EXIT[kind]), out.output
    assert says in out.output
    if kind != "valid":
        assert out.output.count("\n") == 1 and out.output.startswith("invalid: ")


def test_exit_codes_are_distinct() -> None:
    assert len(set(EXIT.values())) == len(EXIT) and 0 not in EXIT.values()


def test_name_and_issuer_options(tmp_path: Path) -> None:
    assert run_verify(tmp_path, credential(), None, "--naam", "Jan").exit_code == EXIT["naam"]
    assert run_verify(tmp_path, credential(), None, issuer="https://r.example/").exit_code == 0  # trailing slash
    no_issuer = CliRunner().invoke(
        cli_app, ["verklaring", "verify", str(tmp_path / "v.jwt"), "--keys", str(tmp_path / "keys.json")]
    )
    assert no_issuer.exit_code == EXIT["usage"] and "--issuer" in no_issuer.output


@pytest.fixture()
def issuer_serving_a_list() -> Iterator[tuple[str, dict[str, str]]]:
    """A loopback HTTP server standing in for the registry: serves whatever ``served['list']`` holds."""
    served: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = served.get("list", "").encode()
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_asks_the_issuer_for_the_credentials_list(
    tmp_path: Path, issuer_serving_a_list: tuple[str, dict[str, str]]
) -> None:
    issuer, served = issuer_serving_a_list
    served["list"] = status_list(issuer=issuer)
    ok = run_verify(tmp_path, credential(issuer=issuer), None, "--fetch", issuer=issuer)
    assert ok.exit_code == 0 and "not revoked" in ok.output, ok.output
    served["list"] = status_list(issuer=issuer, revoked=frozenset({LIST_INDEX}))
    assert run_verify(tmp_path, credential(issuer=issuer), None, "--fetch", issuer=issuer).exit_code == EXIT["revoked"]
    served.clear()
    gone = run_verify(tmp_path, credential(issuer=issuer), None, "--fetch", issuer=issuer)
    assert gone.exit_code == EXIT["status-list"] and "not fetched" in gone.output


# --- the API's status lists ---------------------------------------------------------------------------------------


def test_list_length_hides_how_many_events_were_logged() -> None:
    assert status_list_bits(-1) == status_list_bits(0) == status_list_bits(MIN_STATUS_BITS - 1) == MIN_STATUS_BITS
    assert status_list_bits(MIN_STATUS_BITS) == 2 * MIN_STATUS_BITS


def _api(clock: list[float] | None = None) -> tuple[TestClient, Any, FakeReadModels]:
    settings = replace(settings_mod.load(), public_url=ISSUER, status_list_validity=dt.timedelta(hours=24))
    rm = FakeReadModels()
    app = create_app(settings, connect_database=False, keys=MemoryKeyStore(), queries=rm)
    src = FakeBronnen()
    app.dependency_overrides[bronnen] = lambda: src
    if clock is not None:
        app.state.statuslijsten = StatuslijstCache(settings.status_list_validity, clock=lambda: clock[0])
    return TestClient(app, base_url=ISSUER), app, rm


def test_status_list_is_dated_and_long() -> None:
    client, _, _ = _api()
    claims = verify_signature(client.get("/v1/statuslijst/3").text, load_keys(SIGNER))
    start = dt.datetime.fromisoformat(claims["validFrom"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(claims["validUntil"].replace("Z", "+00:00"))
    assert end - start == dt.timedelta(hours=24) and claims["exp"] - claims["nbf"] == 24 * 3600
    assert abs((start - dt.datetime.now(dt.UTC)).total_seconds()) < 5


def test_status_list_is_reused_until_a_revocation_or_a_quarter_of_its_validity() -> None:
    clock = [1_800_000_000.0]
    client, app, rm = _api(clock)
    cache = app.state.statuslijsten
    first = client.get("/v1/statuslijst/3").text
    assert [client.get("/v1/statuslijst/3").text for _ in range(3)] == [first] * 3 and cache.signed == 1
    clock[0] += 6 * 3600 - 1  # just under a quarter of 24 h
    assert client.get("/v1/statuslijst/3").text == first and cache.signed == 1
    clock[0] += 1
    second = client.get("/v1/statuslijst/3").text
    assert second != first and cache.signed == 2
    rm.ingetrokken_in_partitie = lambda conn, p: ({41, 99}, 99)  # type: ignore[method-assign]
    third = client.get("/v1/statuslijst/3").text
    assert third != second and cache.signed == 3


def test_cache_keeps_a_bounded_number_of_lists() -> None:
    cache = StatuslijstCache(dt.timedelta(hours=1), clock=lambda: 0.0, max_lists=2)
    for p in range(5):
        cache.get(p, frozenset(), MIN_STATUS_BITS, lambda a, b: "t")
    assert len(cache._lists) == 2 and list(cache._lists) == [3, 4]


def test_the_demos_sample_credential_verifies_offline(tmp_path: Path) -> None:
    """The demo writes a PDF, the signed credential, its status list and the key set; the printed command accepts
    them (and refuses them for another issuer)."""
    from registry.api.verklaringen import schrijf_bestanden

    settings = replace(settings_mod.load(), public_url=ISSUER)
    found = schrijf_bestanden(
        settings, FakeReadModels(), None, feiten(), FakeBronnen(), tmp_path / "voorbeeld.pdf", ISSUER
    )
    assert found.pdf.read_bytes().startswith(b"%PDF-") and found.credential is not None
    args = ["verklaring", "verify", str(found.credential), "--keys", str(found.sleutels), "--status"]
    ok = CliRunner().invoke(cli_app, [*args, str(found.statuslijst), "--issuer", ISSUER])
    assert ok.exit_code == 0 and "not revoked" in ok.output, ok.output
    other = CliRunner().invoke(cli_app, [*args, str(found.statuslijst), "--issuer", "http://127.0.0.1:8000"])
    assert other.exit_code == EXIT["issuer"]
