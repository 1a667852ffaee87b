"""The query API without servers: in-memory keys and a pure stand-in for the read-model queries (the port).

Every endpoint x scope (401 / 403 / 200), problem+json shape, CSV, 400/404 with valid values, suppression.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.status import ConsumerLag, PartitionLag, ProjectionOffsets
from registry.domein.onthulling import verstoor
from registry.infra import settings as settings_mod
from tests.support.api import assert_problem, get, memory_keys

# ids in the formats the API accepts (UUIDs, 64-hex pseudonyms)
T_ALBEDA, T_TOP, T_NOPE = (f"a1000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 9))
P_ALBEDA, P_TOP, P_BEIDE, P_NOPE = ("1" * 64, "2" * 64, "3" * 64, "9" * 64)
V1, V_NOPE = "b1000000-0000-4000-8000-000000000001", "b1000000-0000-4000-8000-000000000009"


class FakeReadModels:
    """Answers like projections.queries (a ``ReadQueries``), from fixed data; records the filters it was called with."""

    OVERZICHTEN = {
        "kwalificaties": "Verklaringen per kwalificatie (B2).",
        "deelnemers_per_pilot": "Deelnemers per pilot (3.2).",
    }

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

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
        self.calls.append(
            {"naam": naam, "peildatum": peildatum, "pilot": pilot, "instelling": instelling, "regio": regio}
        )
        if naam not in self.OVERZICHTEN:
            raise KeyError(naam)
        return [
            {
                "kwalificatie": "25250",
                "niveau": 1,
                "domein": "Afbouw",
                "eerste": 3,
                "tweede": 0,
                "derde": 12,
                "totaal": 15,
            },
            {
                "kwalificatie": "25251,25252",
                "niveau": 2,
                "domein": "Zorg, welzijn",
                "eerste": 7,
                "tweede": 4,
                "derde": 0,
                "totaal": 11,
            },
        ]

    def aantallen(
        self,
        conn: Connection,
        *,
        regio: str | None,
        pilot: str | None,
        gemeente: str | None,
        van: date,
        tot: date,
        instelling: str | None = None,
        sleutels: bool = False,  # the stand-in's key sums: the counts themselves
    ) -> list[dict[str, Any]]:
        self.calls.append(
            {"regio": regio, "pilot": pilot, "gemeente": gemeente, "van": van, "tot": tot, "instelling": instelling}
        )
        return [
            {
                "maand": "2021-01",
                "aangemeld": 5,
                "ingeschreven": 3,
                "actief": 20,
                "verklaringen": 2,
                "beeindigd": {"afgerond": 1},
                "uitstroom": {"betaald_werk": 1},
            }
        ]

    _trajecten = {T_ALBEDA: "mbo.albeda", T_TOP: "mbo.roc-top"}
    _deelnemers = {P_ALBEDA: {"mbo.albeda"}, P_TOP: {"mbo.roc-top"}, P_BEIDE: {"mbo.roc-top", "Albeda"}}

    def traject(self, conn: Connection, traject_id: str) -> dict[str, Any] | None:
        inst = self._trajecten.get(traject_id)
        return None if inst is None else {"traject_id": traject_id, "mbo_instelling": inst, "events": []}

    def tijdlijn(self, conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
        if deelnemer not in self._deelnemers:
            return None
        return [
            {"event_type": "DeelnemerIngeschreven", "afgewezen": False},
            {"event_type": "WerkprocesAfgetekend", "afgewezen": True, "reden": "onbekend-werkproces"},
        ]

    def verificatie(self, conn: Connection, verklaring_id: str) -> dict[str, Any] | None:
        if verklaring_id != V1:
            return None
        return {
            "verklaring_id": V1,
            "status": "geldig",
            "deelnemer": "secret-pseudonym",
            "traject_id": T_ALBEDA,
            "werkprocessen": [{"crebo": "25250", "werkproces": "B1-K1-W1", "naam": "w"}],
            "mbo_instelling": "Albeda",
            "geboortedatum_versleuteld": "xx",
            "uitgegeven_op": date(2020, 11, 2),
        }

    def projection_status(self, conn: Connection) -> list[dict[str, Any]]:
        return []

    def instelling_of_traject(self, conn: Connection, traject_id: str) -> str | None:
        return self._trajecten.get(traject_id)

    def instellingen_of_deelnemer(self, conn: Connection, deelnemer: str) -> set[str]:
        return set(self._deelnemers.get(deelnemer, set()))


def fake_probe(projections: ProjectionOffsets) -> list[ConsumerLag]:
    v = ConsumerLag(
        "validator",
        "validator",
        "praktijkregister-validator",
        [PartitionLag("praktijkleren.ingress.mbo.albeda", 0, 10, 9, 1, pending=False)],
    )
    p = ConsumerLag(
        "trajecten",
        "projectie",
        None,
        [
            PartitionLag(
                "praktijkleren.events", 0, 10, 7, 3, pending=True, last_recorded_at=datetime(2021, 1, 13, tzinfo=UTC)
            )
        ],
    )
    return [v, p]


SCOPES = ["landelijk", "regio:Rijnmond", "instelling:mbo.albeda", "publiek"]


@pytest.fixture()
def env() -> dict[str, Any]:
    store, keys, revoked = memory_keys(SCOPES)
    rm = FakeReadModels()
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=rm, status_probe=fake_probe)
    return {"client": TestClient(app), "keys": keys, "revoked": revoked, "rm": rm, "store": store}


OVZ = "/v1/overzichten/kwalificaties?peildatum=2021-01-31"  # a month end: publiek may ask only those
AANT = "/v1/aantallen?van=2021-01-01&tot=2021-03-31"
ENDPOINTS = {
    "lijst": "/v1/overzichten",
    "overzicht": OVZ,
    "overzicht_csv": OVZ + "&format=csv",
    "aantallen": AANT,
    "traject_eigen": f"/v1/trajecten/{T_ALBEDA}",
    "traject_ander": f"/v1/trajecten/{T_TOP}",
    "tijdlijn_eigen": f"/v1/deelnemers/{P_ALBEDA}/tijdlijn",
    "tijdlijn_gedeeld": f"/v1/deelnemers/{P_BEIDE}/tijdlijn",
    "tijdlijn_ander": f"/v1/deelnemers/{P_TOP}/tijdlijn",
    "verificatie": f"/v1/verklaringen/{V1}/verificatie",
    "status": "/v1/status",
    "metrics": "/metrics",
}
# expected status per endpoint for: landelijk, regio, instelling, publiek
MATRIX = {
    "lijst": (200, 200, 200, 200),
    "overzicht": (200, 200, 200, 200),
    "overzicht_csv": (200, 200, 200, 200),
    "aantallen": (200, 200, 200, 403),
    "traject_eigen": (200, 403, 200, 403),
    "traject_ander": (200, 403, 403, 403),
    "tijdlijn_eigen": (200, 403, 200, 403),
    "tijdlijn_gedeeld": (200, 403, 200, 403),
    "tijdlijn_ander": (200, 403, 403, 403),
    "verificatie": (200, 200, 200, 200),
    "status": (200, 403, 403, 403),  # operations: landelijk only
    "metrics": (200, 403, 403, 403),
}
CASES = [(ep, scope, MATRIX[ep][i]) for ep in ENDPOINTS for i, scope in enumerate(SCOPES)]


@pytest.mark.parametrize(("endpoint", "scope", "expected"), CASES)
def test_scope_matrix(env: dict[str, Any], endpoint: str, scope: str, expected: int) -> None:
    resp = get(env, ENDPOINTS[endpoint], scope)
    if expected == 200:
        assert resp.status_code == 200, resp.text
    else:
        body = assert_problem(resp, expected)
        assert body["type"] == "/problems/forbidden"
        assert body["scope"] == env["store"].lookup(env["keys"][scope]).scope.__str__()


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e != "verificatie"])
@pytest.mark.parametrize("who", [None, "unknown", "revoked", "garbage"])
def test_no_valid_key_is_401(env: dict[str, Any], endpoint: str, who: str | None) -> None:
    resp = get(env, ENDPOINTS[endpoint], who)
    body = assert_problem(resp, 401)
    assert body["type"] == "/problems/unauthenticated"
    assert resp.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("who", [None, "unknown", "revoked"])
def test_verification_is_public(env: dict[str, Any], who: str | None) -> None:
    resp = get(env, ENDPOINTS["verificatie"], who)
    assert resp.status_code == 200
    body = resp.json()
    assert body["verklaring_id"] == V1 and body["status"] == "geldig" and body["uitgegeven_op"] == "2020-11-02"
    flat = repr(body)
    assert "secret-pseudonym" not in flat and "deelnemer" not in flat and "traject_id" not in flat
    assert "geboortedatum" not in flat
    assert body["werkprocessen"] == [{"crebo": "25250", "werkproces": "B1-K1-W1", "naam": "w"}]


def test_verification_unknown_is_404(env: dict[str, Any]) -> None:
    body = assert_problem(get(env, f"/v1/verklaringen/{V_NOPE}/verificatie", None), 404)
    assert body["type"] == "/problems/not-found"


def test_overzichten_list(env: dict[str, Any]) -> None:
    body = get(env, "/v1/overzichten", "publiek").json()
    assert body == {
        "overzichten": [
            {"naam": "deelnemers_per_pilot", "beschrijving": "Deelnemers per pilot (3.2)."},
            {"naam": "kwalificaties", "beschrijving": "Verklaringen per kwalificatie (B2)."},
        ]
    }


def test_overzicht_json_shape_exact_for_landelijk(env: dict[str, Any]) -> None:
    body = get(env, OVZ, "landelijk").json()
    assert set(body) == {"naam", "peildatum", "rijen"}
    assert body["naam"] == "kwalificaties" and body["peildatum"] == "2021-01-31"
    assert body["rijen"][0]["eerste"] == 3 and body["rijen"][0]["totaal"] == 15
    assert "onderdrukt" not in body["rijen"][0]
    assert env["rm"].calls[-1] == {
        "naam": "kwalificaties",
        "peildatum": date(2021, 1, 31),
        "pilot": None,
        "instelling": None,
        "regio": None,
    }


def test_overzicht_publiek_is_perturbed_cell_by_cell(env: dict[str, Any]) -> None:
    body = get(env, OVZ, "publiek").json()
    exact = get(env, OVZ, "landelijk").json()["rijen"]
    assert body["onthullingsbeheersing"] == {"methode": "celsleutel", "ptable_versie": "1"}
    for shown, e in zip(body["rijen"], exact, strict=True):
        # the stand-in's key sum of a cell is its count; dimensions (niveau) and labels stay
        assert shown == {c: verstoor(v, v) if c in ("eerste", "tweede", "derde", "totaal") else v for c, v in e.items()}
    assert body["rijen"][0]["eerste"] in (0, 5)  # a true 3 is never published as 1..4


def test_overzicht_csv_same_columns(env: dict[str, Any]) -> None:
    resp = get(env, OVZ + "&format=csv", "landelijk")
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    json_rows = get(env, OVZ, "landelijk").json()["rijen"]
    assert list(rows[0]) == list(json_rows[0])
    assert (
        rows[1]["kwalificatie"] == "25251,25252" and rows[1]["totaal"] == "11" and rows[1]["domein"] == "Zorg, welzijn"
    )


def test_overzicht_csv_publiek_says_how_it_is_perturbed(env: dict[str, Any]) -> None:
    kop, rest = get(env, OVZ + "&format=csv", "publiek").text.split("\r\n", 1)
    assert kop == "# onthullingsbeheersing: methode=celsleutel; ptable_versie=1"
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert rows[0]["eerste"] == str(verstoor(3, 3)) and rows[1]["totaal"] == str(verstoor(11, 11))


def test_regio_scope_is_narrowed(env: dict[str, Any]) -> None:
    assert get(env, OVZ, "regio:Rijnmond").status_code == 200
    assert env["rm"].calls[-1]["regio"] == "Rijnmond"
    # a regio may cut by its own pilots (every cut perturbed by its cell keys), not by another region's
    assert get(env, OVZ + "&pilot=rijnmond", "regio:Rijnmond").status_code == 200
    assert env["rm"].calls[-1]["pilot"] == "rijnmond"
    assert_problem(get(env, OVZ + "&pilot=twente", "regio:Rijnmond"), 403)
    assert_problem(get(env, OVZ + "&pilot=doorzaam", "regio:Rijnmond"), 403)  # national pilot: no region
    assert_problem(get(env, OVZ + "&regio=Twente", "regio:Rijnmond"), 403)
    assert get(env, AANT + "&pilot=rijnmond", "regio:Rijnmond").status_code == 200
    assert env["rm"].calls[-1]["regio"] == "Rijnmond"
    assert_problem(get(env, AANT + "&regio=Twente", "regio:Rijnmond"), 403)


def test_instelling_scope_is_narrowed(env: dict[str, Any]) -> None:
    assert get(env, OVZ + "&instelling=Albeda", "instelling:mbo.albeda").status_code == 200
    assert env["rm"].calls[-1]["instelling"] == "mbo.albeda"
    assert get(env, AANT, "instelling:mbo.albeda").status_code == 200
    assert env["rm"].calls[-1]["instelling"] == "mbo.albeda"
    assert_problem(get(env, OVZ + "&instelling=mbo.roc-top", "instelling:mbo.albeda"), 403)
    assert_problem(get(env, AANT + "&instelling=mbo.roc-top", "instelling:mbo.albeda"), 403)


def test_instelling_key_by_display_name() -> None:
    store = MemoryKeyStore()
    k, secret = store.create("instelling:ROC TOP")
    assert str(k.scope) == "instelling:mbo.roc-top"
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=FakeReadModels())
    client = TestClient(app)
    h = {"Authorization": f"Bearer {secret}"}
    assert client.get(f"/v1/trajecten/{T_TOP}", headers=h).status_code == 200
    assert client.get(f"/v1/trajecten/{T_ALBEDA}", headers=h).status_code == 403


def test_publiek_filters_by_pilot_only(env: dict[str, Any]) -> None:
    # any table cut by pilot: the cell key method makes national minus pilot noise, not the rest
    assert get(env, OVZ + "&pilot=rijnmond", "publiek").status_code == 200
    assert assert_problem(get(env, OVZ + "&regio=Rijnmond", "publiek"), 403)["scope"] == "publiek"
    assert_problem(get(env, OVZ + "&instelling=mbo.albeda", "publiek"), 403)


def test_landelijk_filters_pass_through(env: dict[str, Any]) -> None:
    assert (
        get(env, OVZ + "&pilot=Helmond-de%20Peel&regio=twente&instelling=mbo.roc-top", "landelijk").status_code == 200
    )
    assert env["rm"].calls[-1] == {
        "naam": "kwalificaties",
        "peildatum": date(2021, 1, 31),
        "pilot": "helmond-de-peel",
        "instelling": "mbo.roc-top",
        "regio": "Twente",
    }


def test_unknown_overzicht_404_with_valid_values(env: dict[str, Any]) -> None:
    body = assert_problem(get(env, "/v1/overzichten/bestaatniet?peildatum=2021-01-13", "landelijk"), 404)
    assert body["type"] == "/problems/unknown-overzicht"
    assert body["valid_values"] == ["deelnemers_per_pilot", "kwalificaties"]


@pytest.mark.parametrize("scope", ["landelijk", "publiek"])
def test_a_rule_error_in_a_known_overzicht_is_500_not_404(scope: str) -> None:
    """Only an unknown NAME is 404: a KeyError from inside a catalogued overzicht (a typo in a rule) is a bug."""

    class Typo(FakeReadModels):
        def overzicht(self, conn: Connection, naam: str, peildatum: date, **filters: Any) -> list[dict[str, Any]]:
            raise KeyError("deelnemers_met_verklraing")

    store, keys, _ = memory_keys((scope,), naam="typo")
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=Typo())
    client = TestClient(app, raise_server_exceptions=False)
    resp = client.get(
        "/v1/overzichten/kwalificaties?peildatum=2021-01-31", headers={"Authorization": f"Bearer {keys[scope]}"}
    )
    body = assert_problem(resp, 500)
    assert body["type"] == "/problems/internal-error" and "verklraing" not in resp.text
    unknown = client.get(
        "/v1/overzichten/bestaatniet?peildatum=2021-01-31", headers={"Authorization": f"Bearer {keys[scope]}"}
    )
    assert assert_problem(unknown, 404)["type"] == "/problems/unknown-overzicht"


@pytest.mark.parametrize("value", ["13-01-2021", "2021-02-30", "gisteren", "2021-1-13", ""])
def test_invalid_peildatum_400_with_valid_values(env: dict[str, Any], value: str) -> None:
    body = assert_problem(get(env, f"/v1/overzichten/kwalificaties?peildatum={value}", "landelijk"), 400)
    assert body["type"] == "/problems/invalid-parameter"
    assert body["parameter"] == "peildatum"
    assert body["valid_values"] and "YYYY-MM-DD" in body["valid_values"][0]
    assert value not in repr(body.get("errors")) or value == ""  # the input is never echoed


def test_missing_peildatum_400(env: dict[str, Any]) -> None:
    body = assert_problem(get(env, "/v1/overzichten/kwalificaties", "landelijk"), 400)
    assert body["parameter"] == "peildatum" and "errors" in body


def test_unknown_pilot_400_with_valid_values(env: dict[str, Any]) -> None:
    body = assert_problem(get(env, OVZ + "&pilot=atlantis", "landelijk"), 400)
    assert body["parameter"] == "pilot" and "rijnmond" in body["valid_values"] and len(body["valid_values"]) == 26


def test_bad_format_400(env: dict[str, Any]) -> None:
    body = assert_problem(get(env, OVZ + "&format=xml", "landelijk"), 400)
    assert body["valid_values"] == ["json", "csv"]


def test_unauthenticated_before_validation(env: dict[str, Any]) -> None:
    assert_problem(get(env, "/v1/overzichten/kwalificaties?peildatum=nope", None), 401)


def test_aantallen(env: dict[str, Any]) -> None:
    body = get(env, AANT + "&gemeente=gm0363", "landelijk").json()
    assert body["van"] == "2021-01-01" and body["gemeente"] == "GM0363"
    assert body["maanden"][0]["beeindigd"] == {"afgerond": 1}
    assert env["rm"].calls[-1]["gemeente"] == "GM0363"
    assert (
        assert_problem(get(env, "/v1/aantallen?van=2021-03-01&tot=2021-01-01", "landelijk"), 400)["parameter"] == "tot"
    )
    assert assert_problem(get(env, AANT + "&gemeente=Rotterdam", "landelijk"), 400)["parameter"] == "gemeente"
    assert assert_problem(get(env, "/v1/aantallen?van=2021-01-01", "landelijk"), 400)["parameter"] == "tot"
    assert assert_problem(get(env, AANT + "&regio=Atlantis", "landelijk"), 400)["parameter"] == "regio"


def test_traject_and_tijdlijn_unknown_404(env: dict[str, Any]) -> None:
    for scope in ("landelijk", "instelling:mbo.albeda"):
        assert assert_problem(get(env, f"/v1/trajecten/{T_NOPE}", scope), 404)["type"] == "/problems/not-found"
    assert_problem(get(env, f"/v1/deelnemers/{P_NOPE}/tijdlijn", "landelijk"), 404)
    # an instelling cannot probe whether a pseudonym is enrolled anywhere: unknown and another's are both 403
    assert_problem(get(env, f"/v1/deelnemers/{P_NOPE}/tijdlijn", "instelling:mbo.albeda"), 403)


def test_tijdlijn_marks_rejections(env: dict[str, Any]) -> None:
    body = get(env, ENDPOINTS["tijdlijn_eigen"], "landelijk").json()
    assert [e["afgewezen"] for e in body] == [False, True]


def test_status_shape(env: dict[str, Any]) -> None:
    body = get(env, "/v1/status", "landelijk").json()
    assert body["caught_up"] is False
    val, proj = body["consumers"]
    assert val["naam"] == "validator" and val["caught_up"] is True and val["lag"] == 1
    assert proj["caught_up"] is False and proj["partitions"][0]["committed_offset"] == 7
    assert proj["last_recorded_at"].startswith("2021-01-13")


def test_status_503_when_kafka_unreachable() -> None:
    store = MemoryKeyStore()
    _, secret = store.create("landelijk")
    s = replace(settings_mod.load(), kafka_bootstrap="127.0.0.1:1")
    app = create_app(s, connect_database=False, keys=store, queries=FakeReadModels(), status_timeout_ms=500)
    resp = TestClient(app).get("/v1/status", headers={"Authorization": f"Bearer {secret}"})
    body = assert_problem(resp, 503)
    assert body["type"] == "/problems/kafka-unavailable"


def test_unknown_route_is_problem(env: dict[str, Any]) -> None:
    assert assert_problem(get(env, "/v1/bestaatniet", "landelijk"), 404)["type"] == "/problems/not-found"
    wrong = env["client"].post("/v1/overzichten", headers={"Authorization": f"Bearer {env['keys']['landelijk']}"})
    assert assert_problem(wrong, 405)["title"]


def test_problem_types_dereference(env: dict[str, Any]) -> None:
    body = get(env, OVZ + "&pilot=twente", "regio:Rijnmond").json()
    doc = env["client"].get(body["type"]).json()
    assert doc["type"] == body["type"] and doc["title"] == body["title"] and doc["description"]


@pytest.mark.parametrize("url", [OVZ, "/v1/reconciliatie?peildatum=2021-01-13"])
def test_read_models_missing_is_503(url: str) -> None:
    store = MemoryKeyStore()
    _, secret = store.create("landelijk")
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=None)
    resp = TestClient(app).get(url, headers={"Authorization": f"Bearer {secret}"})
    assert assert_problem(resp, 503)["type"] == "/problems/read-models-unavailable"


def test_metrics_use_route_templates_only(env: dict[str, Any]) -> None:
    get(env, f"/v1/trajecten/{T_ALBEDA}", "landelijk")
    get(env, f"/v1/deelnemers/{P_ALBEDA}/tijdlijn", "landelijk")
    get(env, f"/v1/verklaringen/{V1}/verificatie", None)
    get(env, "/v1/nergens/geheim-pseudonym", None)
    text = get(env, "/metrics", "landelijk").text
    assert 'route="/v1/trajecten/{traject_id}"' in text
    assert 'route="/v1/deelnemers/{pseudonym}/tijdlijn",status="200"' in text
    assert 'route="<unmatched>"' in text
    assert T_ALBEDA not in text and P_ALBEDA not in text and V1 not in text and "geheim" not in text
    assert "praktijkregister_http_request_duration_seconds_bucket" in text


def test_openapi_documents_rules(env: dict[str, Any]) -> None:
    spec = env["client"].get("/openapi.json").json()
    desc = spec["paths"]["/v1/overzichten/{naam}"]["get"]["description"]
    for phrase in ("startdatum <= D", "17 jaar en jonger", "Niet geregistreerd", "cell key method", "volgnummer"):
        assert phrase in desc
    assert "apiKey" in spec["components"]["securitySchemes"]
    assert env["client"].get("/docs").status_code == 200


def test_unexpected_error_is_problem_and_logs_no_data(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeReadModels):
        def tijdlijn(self, conn: Connection, deelnemer: str) -> list[dict[str, Any]] | None:
            raise RuntimeError(f"boom for {deelnemer}")

    store = MemoryKeyStore()
    _, secret = store.create("landelijk")
    app = create_app(settings_mod.load(), connect_database=False, keys=store, queries=Broken())
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level("ERROR", logger="praktijkregister.api"):
        resp = client.get(f"/v1/deelnemers/{P_ALBEDA}/tijdlijn", headers={"Authorization": f"Bearer {secret}"})
    body = assert_problem(resp, 500)
    assert body["type"] == "/problems/internal-error" and "boom" not in resp.text
    assert "RuntimeError" in caplog.text and "/v1/deelnemers/{pseudonym}/tijdlijn" in caplog.text
    assert P_ALBEDA not in caplog.text
    assert 'status="500"' in client.get("/metrics", headers={"Authorization": f"Bearer {secret}"}).text
