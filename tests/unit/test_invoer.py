"""Partner input rows -> events, and a specific message for every kind of bad input."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey, SealedBox

from producers.invoer import Invoer
from producers.sleutels import Pseudonymiser, Sealer
from registry.domein import identifiers

NOW = dt.datetime(2021, 1, 13, 12, tzinfo=dt.timezone.utc)
SK = PrivateKey.generate()
PSEUDO = Pseudonymiser(b"k" * 32)


def invoer(partner: str = "mbo.albeda") -> Invoer:
    return Invoer(partner, PSEUDO, Sealer(bytes(SK.public_key)).seal, now=NOW)


def inschrijving(**over: Any) -> dict[str, Any]:
    row = {"type": "DeelnemerIngeschreven", "bsn": "111222333", "naam": "Jan Jansen", "geboortedatum": "1990-05-01",
           "occurred_at": "2020-03-01", "traject_id": "5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11", "mbo_instelling": "mbo.albeda",
           "crebo": "25250", "pilot": "rijnmond", "startdatum": "2020-03-02", "leerbedrijf_id": "123456789",
           "geslacht": "vrouw", "leeftijd": 29, "gemeente": "GM0599"}
    row.update(over)
    return {k: v for k, v in row.items() if v is not None}


def test_valid_row_becomes_an_event_with_pseudonym_and_sealed_persoonsgegevens() -> None:
    event_type, rec = invoer().row(inschrijving(), raw="line")
    assert event_type == "DeelnemerIngeschreven"
    assert rec["deelnemer"] == PSEUDO("111222333") and len(rec["deelnemer"]) == 64
    assert "bsn" not in rec and "naam" not in rec
    assert json.loads(SealedBox(SK).decrypt(rec["persoonsgegevens"])) == {"naam": "Jan Jansen", "geboortedatum": "1990-05-01"}
    assert rec["occurred_at"] == dt.datetime(2020, 2, 29, 23, tzinfo=dt.timezone.utc)  # midnight in Amsterdam
    assert rec["startdatum"] == dt.date(2020, 3, 2) and rec["leertraject"] == "OVO" and rec["pok_datum"] is None
    assert rec["partner"] == "mbo.albeda" and rec["warnings"] == [] and rec["recorded_at"] is None


def test_event_id_is_derived_deterministically_from_partner_and_line() -> None:
    a = invoer().row(inschrijving(), raw="same line")[1]["event_id"]
    assert a == invoer().row(inschrijving(), raw="same line")[1]["event_id"]
    assert a != invoer().row(inschrijving(), raw="other line")[1]["event_id"]
    assert identifiers.uuid_text(a) is None
    assert invoer().row(inschrijving(event_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427"), raw="x")[1]["event_id"] == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize("over, field, message", [
    ({"type": "Onbekend"}, "type", "unknown event type 'Onbekend'"),
    ({"geslacht": "x"}, "geslacht", "'x' is not one of man, vrouw, onbekend"),
    ({"crebo": "2525"}, "crebo", "crebo must be 5 digits"),
    ({"leerbedrijf_id": "12345"}, "leerbedrijf_id", "leerbedrijf_id must be 9 digits"),
    ({"gemeente": "0599"}, "gemeente", "GM followed by 4 digits"),
    ({"bsn": "111222334"}, "bsn", "elfproef"),
    ({"bsn": "000000000"}, "bsn", "000000000 is not a valid BSN"),
    ({"bsn": "12ab"}, "bsn", "9 digits"),
    ({"occurred_at": "2021-02-01"}, "occurred_at", "lies in the future"),
    ({"geboortedatum": "2030-01-01"}, "geboortedatum", "lies in the future"),
    ({"occurred_at": "2014-12-01"}, "occurred_at", "before 2015-01-01"),
    ({"startdatum": "02-03-2020"}, "startdatum", "not a date"),
    ({"leeftijd": "dertig"}, "leeftijd", "not a whole number"),
    ({"mbo_instelling": "albeda"}, "mbo_instelling", "unknown mbo-instelling"),
    ({"pilot": "atlantis"}, "pilot", "unknown pilot"),
    ({"traject_id": "nope"}, "traject_id", "UUID"),
    ({"crebo": None}, "crebo", "required"),
    ({"bsn": None}, "bsn", "missing"),
    ({"kleur": "blauw"}, "kleur", "not a field of DeelnemerIngeschreven"),
    ({"partner": "mbo.roc-top"}, "partner", "differs from --as"),
    ({"volgnummer": 1}, "volgnummer", "set by the registry"),
])
def test_each_bad_input_has_its_own_message(over: dict[str, Any], field: str, message: str) -> None:
    from producers.invoer import FieldError

    row = inschrijving(**{k: v for k, v in over.items() if v is not None})
    for k, v in over.items():
        if v is None:
            row.pop(k, None)
    with pytest.raises(FieldError) as info:
        invoer().row(row, raw="x")
    assert info.value.path == field
    assert message in info.value.reason


def test_invalid_bsn_is_never_echoed_in_the_error() -> None:
    from producers.invoer import FieldError

    with pytest.raises(FieldError) as info:
        invoer().row(inschrijving(bsn="111222334"), raw="x")
    assert "111222334" not in str(info.value.reason)


def test_jsonl_file_reports_file_line_field_reason(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(inschrijving()), "{not json", json.dumps(inschrijving(crebo="1")), "", json.dumps(inschrijving(bsn="123"))]
    path.write_text("\n".join(lines) + "\n")
    res = invoer().jsonl(path)
    assert len(res.berichten) == 1 and res.berichten[0].line == 1
    assert [(f.line, f.field) for f in res.fouten] == [(2, "-"), (3, "crebo"), (5, "bsn")]
    assert str(res.fouten[1]).startswith("in.jsonl:3: crebo: crebo must be 5 digits")


def test_csv_file_with_one_type(tmp_path: Path) -> None:
    path = tmp_path / "verklaringen.csv"
    path.write_text(
        "bsn,occurred_at,traject_id,verklaring_id,werkprocessen,leerbedrijf_id,brancheorganisaties\n"
        "111222333,2020-09-01T10:00:00,5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,6a0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,"
        "25250:B1-K1-W1;25250:B1-K1-W2,123456789,KHN;CBL\n"
        "111222333,2020-09-01,5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,6a0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,25250:B1,123456789,\n"
    )
    res = invoer().csv(path, "PraktijkverklaringUitgegeven")
    assert len(res.berichten) == 1
    rec = res.berichten[0].record
    assert rec["werkprocessen"] == [{"crebo": "25250", "werkproces": "B1-K1-W1"}, {"crebo": "25250", "werkproces": "B1-K1-W2"}]
    assert rec["brancheorganisaties"] == ["KHN", "CBL"] and rec["volgnummer"] is None
    assert [(f.line, f.field) for f in res.fouten] == [(3, "werkprocessen[0].werkproces")]


def test_boolean_from_csv_text_and_strict_from_json() -> None:
    from producers.invoer import FieldError

    row = {"type": "KandidaatAangemeld", "bsn": "111222333", "occurred_at": "2020-01-01", "pilot": "drenthe",
           "aanmelder_type": "gemeente", "doelgroep": "a", "werkend": "ja"}
    assert invoer("gemeente.gm0106").row(row, raw="x", from_text=True)[1]["werkend"] is True
    with pytest.raises(FieldError, match="true or false"):
        invoer("gemeente.gm0106").row(row, raw="x", from_text=False)


@pytest.mark.parametrize("value, ok", [("111222333", True), ("11122233", False), ("000000000", False),
                                        ("123456782", True), ("123456789", False), ("12345678", False)])
def test_elfproef(value: str, ok: bool) -> None:
    assert (identifiers.bsn(value) is None) is ok


def test_naam_of_reference_data_is_an_ordinary_field() -> None:
    row = {"type": "LeerbedrijfErkend", "occurred_at": "2019-01-01", "leerbedrijf_id": "123456789",
           "naam": "Bakkerij De Korenaar", "crebos": ["25252"]}
    _, rec = invoer("sbb").row(row, raw="x")
    assert rec["naam"] == "Bakkerij De Korenaar"


def test_naam_on_an_event_without_persoonsgegevens_is_refused() -> None:
    from producers.invoer import FieldError

    row = {"type": "UitstroomGeregistreerd", "bsn": "111222333", "occurred_at": "2020-01-01", "uitstroom": "geen", "naam": "X"}
    with pytest.raises(FieldError, match="not a field"):
        invoer().row(row, raw="x")


def test_one_identifier_walk_for_producer_and_validator() -> None:
    # registry.domein.regels words the same finding as a reason code; see tests/unit/test_regels.py
    record = {"deelnemer": "a" * 64, "werkprocessen": [{"crebo": "25250", "werkproces": "B1-K1-W1"},
                                                       {"crebo": "2525", "werkproces": "B1-K1-W2"}]}
    fout = identifiers.eerste_fout(record)
    assert fout is not None and (fout.path, fout.veld, fout.soort, fout.waarde) == ("werkprocessen[1].crebo", "crebo", "formaat", "2525")
    assert fout.probleem == "crebo must be 5 digits (e.g. 25250)"
    assert identifiers.eerste_fout({"mbo_instelling": "mbo.albeda", "pilot": "rijnmond"}) is None
    assert identifiers.eerste_fout({"pilot": "atlantis"}) == identifiers.Fout("pilot", "pilot", "pilot", "", "atlantis")
