"""``--format table|csv|json`` of every table command (rejections, parked, apikey list, reconcile, transactions
hanging, partners list), run with typer's CliRunner against stand-ins for Kafka and PostgreSQL; and the shared
renderer (registry/cli/uitvoer.py): RFC 4180 CSV and JSON with stable keys."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from kafka import TopicPartition
from typer.testing import CliRunner

from registry.api.auth import ApiKey, Scope
from registry.cli import api as api_cli
from registry.cli import partners as partners_cli
from registry.cli import transacties as transacties_cli
from registry.cli import uitvoer
from registry.cli import validator as validator_cli
from registry.cli.main import app
from registry.demo.reconciliatie_tabel import ReconciliatieRegel
from registry.domein.parkeren import Geparkeerd
from registry.domein.reconciliatie import CATEGORIEEN, BronResultaat, PilotRij
from registry.infra.hangende_transacties import OpenTransactie

T0 = dt.datetime(2021, 1, 13, 12, 0, 0, 123456, tzinfo=dt.UTC)
EID = "9e9fa148-d6be-48e1-8df7-b08800311980"
FORMATEN = ("table", "csv", "json")


def _run(*args: str) -> str:
    out = CliRunner().invoke(app, list(args))
    assert out.exit_code in (0, 1), out.output  # transactions hanging exits 1 when any is left hanging
    return out.stdout_bytes.decode()  # the bytes: Result.stdout turns CRLF into LF


def _csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", ""), "RFC 4180: CRLF line ends"
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


# ---- the renderer ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rij:
    naam: str = uitvoer.kolom("de naam")
    aantal: int = uitvoer.kolom()
    lijst: tuple[str, ...] = uitvoer.kolom(cel=lambda v: "|".join(v))
    wanneer: dt.datetime | None = uitvoer.kolom(in_tabel=False)


RIJEN = [
    Rij('komma, "quote"', 3, ("a", "b"), T0),
    Rij("twee\nregels", 0, (), None),
]


def test_csv_is_rfc_4180_with_the_field_names_as_header() -> None:
    text = uitvoer.als_csv(RIJEN, Rij)
    assert text.startswith("naam,aantal,lijst,wanneer\r\n")
    assert '"komma, ""quote"""' in text and '"twee\nregels"' in text  # quoted, quotes doubled, newline kept
    header, rows = _csv(text.replace('"twee\nregels"', "twee"))  # the CRLF check, without the quoted newline
    assert header == ["naam", "aantal", "lijst", "wanneer"]
    assert rows[0] == {"naam": 'komma, "quote"', "aantal": "3", "lijst": "a, b", "wanneer": T0.isoformat()}
    assert rows[1]["wanneer"] == "" and rows[1]["lijst"] == ""
    assert list(csv.reader(io.StringIO(text, newline="")))[2][0] == "twee\nregels"


def test_json_is_a_list_of_objects_with_typed_values_in_field_order() -> None:
    data = json.loads(uitvoer.als_json(RIJEN, Rij))
    assert [list(d) for d in data] == [["naam", "aantal", "lijst", "wanneer"]] * 2
    assert data[0] == {"naam": 'komma, "quote"', "aantal": 3, "lijst": ["a", "b"], "wanneer": T0.isoformat()}
    assert data[1]["lijst"] == [] and data[1]["wanneer"] is None


def test_no_rows_is_a_header_or_an_empty_list() -> None:
    assert uitvoer.als_csv([], Rij) == "naam,aantal,lijst,wanneer\r\n"
    assert json.loads(uitvoer.als_json([], Rij)) == []


def test_the_table_uses_the_heads_and_cells_and_leaves_out_csv_only_fields() -> None:
    table = uitvoer.als_tabel(RIJEN, Rij, "titel")
    assert [str(c.header) for c in table.columns] == ["de naam", "aantal", "lijst"]
    assert list(table.columns[2].cells) == ["a|b", ""]


def test_rows_must_be_typed() -> None:
    with pytest.raises(TypeError, match="not a dataclass"):
        uitvoer.als_csv([{"a": 1}], dict)


def test_an_unknown_format_is_refused() -> None:
    out = CliRunner().invoke(app, ["apikey", "list", "--format", "xml"])
    assert out.exit_code == 2 and "xml" in out.output


# ---- the commands ----------------------------------------------------------------------------------------------


@pytest.fixture()
def kafka_weg(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """rejections and parked read these instead of Kafka."""
    weigering = {
        "recorded_at": T0.isoformat(),
        "event_type": "WerkprocesAfgetekend",
        "event_id": EID,
        "reden": "onbekend_traject",
        "melding": "traject is not known to the registry, see: docs",
        "partner": "mbo.albeda",
    }
    wachtend = {
        "partner": "mbo.albeda",
        "event_type": "DeelnemerIngeschreven",
        "event_id": "11111111-1111-4111-8111-111111111111",
        "reden": "geen_erkenning",
        "melding": "no erkenning yet",
        "wacht_op": ["erkenning:mbo.albeda/25250"],
        "parked_at": (T0 + dt.timedelta(days=1)).isoformat(),
    }
    monkeypatch.setattr(validator_cli, "read_rejections", lambda *a, **k: [weigering])
    monkeypatch.setattr(validator_cli, "parked_for_partner", lambda *a, **k: [wachtend])
    monkeypatch.setattr(validator_cli, "_partner_login", lambda s, p: False)
    geparkeerd = Geparkeerd(
        EID, "WerkprocesAfgetekend", "uwv", None, 1, ("na:x", "na:y"), "onbekend_traject", "waits", T0
    )
    monkeypatch.setattr(validator_cli, "read_parked", lambda *a, **k: [geparkeerd])
    return monkeypatch


@pytest.mark.parametrize("formaat", FORMATEN)
def test_rejections(kafka_weg: pytest.MonkeyPatch, formaat: str) -> None:
    out = _run("rejections", "--as", "mbo.albeda", "--format", formaat)
    if formaat == "table":
        assert "1 refused submission(s) of mbo.albeda, 1 waiting" in out and "waiting for erkenning:" in out
        assert len([line for line in out.splitlines() if EID in line]) == 1  # a pipe: never folded
        assert "2021-01-13T12:00:00 " in out.replace("│", " ")  # to the second in the table
    elif formaat == "csv":
        header, rows = _csv(out)
        assert header == ["recorded_at", "event_type", "event_id", "reden", "melding", "status", "wacht_op"]
        assert [(r["event_id"], r["status"]) for r in rows] == [
            (EID, "refused"),
            ("11111111-1111-4111-8111-111111111111", "waiting"),
        ]
        assert rows[0]["recorded_at"] == T0.isoformat() and rows[1]["wacht_op"] == "erkenning:mbo.albeda/25250"
    else:
        data = json.loads(out)
        assert [d["status"] for d in data] == ["refused", "waiting"]
        assert data[0]["melding"] == "traject is not known to the registry, see: docs"
        assert data[1]["wacht_op"] == ["erkenning:mbo.albeda/25250"]


@pytest.mark.parametrize("formaat", FORMATEN)
@pytest.mark.parametrize("als", [None, "mbo.albeda"])
def test_parked(kafka_weg: pytest.MonkeyPatch, formaat: str, als: str | None) -> None:
    out = _run("parked", *(["--as", als] if als else []), "--format", formaat)
    partner, event_id, wacht_op = (
        ("mbo.albeda", "11111111-1111-4111-8111-111111111111", ["erkenning:mbo.albeda/25250"])
        if als
        else ("uwv", EID, ["na:x", "na:y"])
    )
    if formaat == "table":
        assert "1 parked submission(s)" in out and "waits for" in out and "parked since" in out
        assert ", ".join(wacht_op) in out and event_id in out
    elif formaat == "csv":
        header, rows = _csv(out)
        assert header == ["partner", "event_type", "event_id", "wacht_op", "reden", "parked_at", "melding"]
        assert [(r["partner"], r["event_id"], r["wacht_op"]) for r in rows] == [
            (partner, event_id, ", ".join(wacht_op))
        ]
    else:
        data = json.loads(out)
        assert [(d["partner"], d["event_id"], d["wacht_op"]) for d in data] == [(partner, event_id, wacht_op)]
        assert list(data[0]) == ["partner", "event_type", "event_id", "wacht_op", "reden", "parked_at", "melding"]


class _Sleutels:
    def list(self) -> list[ApiKey]:
        return [
            ApiKey("k1", Scope("landelijk"), "prometheus", T0),
            ApiKey("k2", Scope("regio", "Rijnmond"), "oud, ingetrokken", T0, T0 + dt.timedelta(hours=1)),
        ]


@pytest.mark.parametrize("formaat", FORMATEN)
def test_apikey_list(monkeypatch: pytest.MonkeyPatch, formaat: str) -> None:
    monkeypatch.setattr(api_cli, "_store", _Sleutels)
    out = _run("apikey", "list", "--all", "--format", formaat)
    if formaat == "table":
        assert "key_id" in out and "k1" in out and "regio:Rijnmond" in out and "2021-01-13T13:00:00+00:00" in out
    elif formaat == "csv":
        header, rows = _csv(out)
        assert header == ["key_id", "scope", "naam", "created_at", "revoked_at"]
        assert [(r["key_id"], r["naam"], r["revoked_at"]) for r in rows] == [
            ("k1", "prometheus", ""),
            ("k2", "oud, ingetrokken", "2021-01-13T13:00:00+00:00"),
        ]
    else:
        data = json.loads(out)
        assert data[0] == {
            "key_id": "k1",
            "scope": "landelijk",
            "naam": "prometheus",
            "created_at": "2021-01-13T12:00:00+00:00",
            "revoked_at": None,
        }
    assert "k2" in _run("apikey", "list", "--all", "--format", formaat)
    assert "k2" not in _run("apikey", "list", "--format", formaat)  # revoked: only with --all


def _pilots() -> list[PilotRij]:
    d = dt.date(2021, 1, 13)
    bron = BronResultaat("uwv", "uwv", EID, d, 12, 10, {"overeenkomend": 9, "dubbel_in_bron": 2, "onverklaard": 1})
    return [PilotRij("rijnmond", d, 10, (bron,)), PilotRij("twente", d, 4, ())]


@pytest.mark.parametrize("formaat", FORMATEN)
def test_reconcile(monkeypatch: pytest.MonkeyPatch, formaat: str) -> None:
    from consumers import reconciler
    from registry.cli import reconcile as reconcile_cli

    monkeypatch.setattr(reconcile_cli, "engine", lambda url: None)
    monkeypatch.setattr(reconciler, "reconcile", lambda *a, **k: _pilots())
    out = _run("reconcile", "--peildatum", "2021-01-13", "--no-publish", "--format", formaat)
    if formaat == "table":
        assert "Reconciliatie per pilot, peildatum 2021-01-13" in out and "uwv: 12 (+2)" in out
    elif formaat == "csv":
        header, rows = _csv(out)
        bron = ["partner", "bron_type", "telling_peildatum", "gemeld", "verschil"]
        assert header == ["pilot", "peildatum", "register", "gereconcilieerd", *bron, *CATEGORIEEN]
        assert [(r["pilot"], r["partner"], r["gemeld"], r["verschil"]) for r in rows] == [
            ("rijnmond", "uwv", "12", "2"),
            ("twente", "", "", ""),
        ]
    else:
        data = json.loads(out)
        assert [list(d) for d in data] == [list(ReconciliatieRegel.__dataclass_fields__)] * 2
        assert data[0]["dubbel_in_bron"] == 2 and data[0]["andere_pilot"] == 0 and data[1]["partner"] is None
        assert data[1]["register"] == 4 and data[1]["gereconcilieerd"] == _pilots()[1].gereconcilieerd


def test_the_reconciliation_rows_carry_every_category_in_order() -> None:
    velden = list(ReconciliatieRegel.__dataclass_fields__)
    assert velden[-len(CATEGORIEEN) :] == list(CATEGORIEEN)


class _Admin:
    def close(self) -> None:
        pass


class _Wacht:
    afgebroken: list[OpenTransactie] = []

    def __init__(self, *a: Any) -> None:
        pass

    def hangende(self) -> list[OpenTransactie]:
        return [OpenTransactie(TopicPartition("praktijkleren.events", 3), 4711, 2, 120, 0)]

    def breek_af(self, t: OpenTransactie) -> None:
        self.afgebroken.append(t)


@pytest.mark.parametrize("formaat", FORMATEN)
def test_transactions_hanging(monkeypatch: pytest.MonkeyPatch, formaat: str) -> None:
    monkeypatch.setattr(transacties_cli, "admin_client", lambda *a, **k: _Admin())
    monkeypatch.setattr(transacties_cli, "Transactiewacht", _Wacht)
    out = _run("transactions", "hanging", "--format", formaat)
    if formaat == "table":  # as it always was: one tab-separated line each
        assert out == "hanging\tpraktijkleren.events[3] producer id 4711 epoch 2 open since offset 120\n"
    elif formaat == "csv":
        header, rows = _csv(out)
        assert header == ["status", "topic", "partition", "producer_id", "producer_epoch", "start_offset"]
        assert rows == [
            {
                "status": "hanging",
                "topic": "praktijkleren.events",
                "partition": "3",
                "producer_id": "4711",
                "producer_epoch": "2",
                "start_offset": "120",
            }
        ]
    else:
        assert json.loads(out) == [
            {
                "status": "hanging",
                "topic": "praktijkleren.events",
                "partition": 3,
                "producer_id": 4711,
                "producer_epoch": 2,
                "start_offset": 120,
            }
        ]
    aborted = _run("transactions", "hanging", "--abort", "--format", "json")
    assert json.loads(aborted)[0]["status"] == "aborted"


@pytest.mark.parametrize("formaat", FORMATEN)
def test_partners_list(monkeypatch: pytest.MonkeyPatch, formaat: str) -> None:
    monkeypatch.setenv("PRAKTIJK_KAFKA_SECURITY", "sasl_scram")
    monkeypatch.setattr(partners_cli.toegang, "admin_client", lambda *a, **k: _Admin())
    monkeypatch.setattr(partners_cli.toegang, "users", lambda admin: ["admin", "mbo.albeda", "uwv", "validator"])
    out = _run("partners", "list", "--format", formaat)
    if formaat == "table":  # as it always was: one name per line
        assert out == "mbo.albeda\nuwv\n"
    elif formaat == "csv":
        assert out == "partner\r\nmbo.albeda\r\nuwv\r\n"
    else:
        assert json.loads(out) == [{"partner": "mbo.albeda"}, {"partner": "uwv"}]
