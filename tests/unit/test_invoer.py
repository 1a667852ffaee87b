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

NOW = dt.datetime(2021, 1, 13, 12, tzinfo=dt.UTC)
SK = PrivateKey.generate()
PSEUDO = Pseudonymiser(b"k" * 32)


def invoer(partner: str = "mbo.albeda") -> Invoer:
    return Invoer(partner, PSEUDO, Sealer(bytes(SK.public_key)).seal, now=NOW)


def inschrijving(**over: Any) -> dict[str, Any]:
    row = {
        "type": "DeelnemerIngeschreven",
        "bsn": "111222333",
        "naam": "Jan Jansen",
        "geboortedatum": "1990-05-01",
        "occurred_at": "2020-03-01",
        "traject_id": "5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11",
        "mbo_instelling": "mbo.albeda",
        "crebo": "25250",
        "pilot": "rijnmond",
        "startdatum": "2020-03-02",
        "leerbedrijf_id": "123456789",
        "geslacht": "vrouw",
        "leeftijd": 29,
        "gemeente": "GM0599",
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not None}


def test_valid_row_becomes_an_event_with_pseudonym_and_sealed_persoonsgegevens() -> None:
    event_type, rec = invoer().row(inschrijving(), raw="line")
    assert event_type == "DeelnemerIngeschreven"
    assert rec["deelnemer"] == PSEUDO("111222333") and len(rec["deelnemer"]) == 64
    assert "bsn" not in rec and "naam" not in rec
    assert json.loads(SealedBox(SK).decrypt(rec["persoonsgegevens"])) == {
        "naam": "Jan Jansen",
        "geboortedatum": "1990-05-01",
    }
    assert rec["occurred_at"] == dt.datetime(2020, 2, 29, 23, tzinfo=dt.UTC)  # midnight in Amsterdam
    assert rec["startdatum"] == dt.date(2020, 3, 2) and rec["leertraject"] == "OVO" and rec["pok_datum"] is None
    assert rec["partner"] == "mbo.albeda" and rec["warnings"] == [] and rec["recorded_at"] is None


def test_event_id_is_derived_deterministically_from_partner_and_line() -> None:
    a = invoer().row(inschrijving(), raw="same line")[1]["event_id"]
    assert a == invoer().row(inschrijving(), raw="same line")[1]["event_id"]
    assert a != invoer().row(inschrijving(), raw="other line")[1]["event_id"]
    assert identifiers.uuid_text(a) is None
    assert (
        invoer().row(inschrijving(event_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427"), raw="x")[1]["event_id"]
        == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    )


@pytest.mark.parametrize(
    "over, field, message",
    [
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
    ],
)
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
    lines = [
        json.dumps(inschrijving()),
        "{not json",
        json.dumps(inschrijving(crebo="1")),
        "",
        json.dumps(inschrijving(bsn="123")),
    ]
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
    assert rec["werkprocessen"] == [
        {"crebo": "25250", "werkproces": "B1-K1-W1"},
        {"crebo": "25250", "werkproces": "B1-K1-W2"},
    ]
    assert rec["brancheorganisaties"] == ["KHN", "CBL"] and rec["volgnummer"] is None
    assert [(f.line, f.field) for f in res.fouten] == [(3, "werkprocessen[0].werkproces")]


def test_boolean_from_csv_text_and_strict_from_json() -> None:
    from producers.invoer import FieldError

    row = {
        "type": "KandidaatAangemeld",
        "bsn": "111222333",
        "occurred_at": "2020-01-01",
        "pilot": "drenthe",
        "aanmelder_type": "gemeente",
        "doelgroep": "a",
        "werkend": "ja",
    }
    assert invoer("gemeente.gm0106").row(row, raw="x", from_text=True)[1]["werkend"] is True
    with pytest.raises(FieldError, match="true or false"):
        invoer("gemeente.gm0106").row(row, raw="x", from_text=False)


@pytest.mark.parametrize(
    "value, ok",
    [
        ("111222333", True),
        ("11122233", False),
        ("000000000", False),
        ("123456782", True),
        ("123456789", False),
        ("12345678", False),
    ],
)
def test_elfproef(value: str, ok: bool) -> None:
    assert (identifiers.bsn(value) is None) is ok


def test_naam_of_reference_data_is_an_ordinary_field() -> None:
    row = {
        "type": "LeerbedrijfErkend",
        "occurred_at": "2019-01-01",
        "leerbedrijf_id": "123456789",
        "naam": "Bakkerij De Korenaar",
        "crebos": ["25252"],
    }
    _, rec = invoer("sbb").row(row, raw="x")
    assert rec["naam"] == "Bakkerij De Korenaar"


def test_naam_on_an_event_without_persoonsgegevens_is_refused() -> None:
    from producers.invoer import FieldError

    row = {
        "type": "UitstroomGeregistreerd",
        "bsn": "111222333",
        "occurred_at": "2020-01-01",
        "uitstroom": "geen",
        "naam": "X",
    }
    with pytest.raises(FieldError, match="not a field"):
        invoer().row(row, raw="x")


def test_one_identifier_walk_for_producer_and_validator() -> None:
    # registry.domein.regels words the same finding as a reason code; see tests/unit/test_regels.py
    record = {
        "deelnemer": "a" * 64,
        "werkprocessen": [{"crebo": "25250", "werkproces": "B1-K1-W1"}, {"crebo": "2525", "werkproces": "B1-K1-W2"}],
    }
    fout = identifiers.eerste_fout(record)
    assert fout is not None and (fout.path, fout.veld, fout.soort, fout.waarde) == (
        "werkprocessen[1].crebo",
        "crebo",
        "formaat",
        "2525",
    )
    assert fout.probleem == "crebo must be 5 digits (e.g. 25250)"
    assert identifiers.eerste_fout({"mbo_instelling": "mbo.albeda", "pilot": "rijnmond"}) is None
    assert identifiers.eerste_fout({"pilot": "atlantis"}) == identifiers.Fout("pilot", "pilot", "pilot", "", "atlantis")


# ---- hostile files: limits, each refusal as file:line: field: reason, never a traceback -------------
def test_a_5_mb_line_is_refused_with_its_size_and_the_lines_after_it_still_count(tmp_path: Path) -> None:
    path = tmp_path / "groot.jsonl"
    groot = json.dumps(inschrijving(naam="x" * (5 * 1024 * 1024)))
    with path.open("w") as fh:
        fh.write(json.dumps(inschrijving()) + "\n")
        fh.write(groot + "\n")
        fh.write(json.dumps(inschrijving(traject_id="6f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11")) + "\n")
    res = invoer().jsonl(path)
    assert [b.line for b in res.berichten] == [1, 3]
    assert [(f.line, f.field) for f in res.fouten] == [(2, "-")]
    assert "longer than the limit of 1048576 bytes" in res.fouten[0].reason
    assert f"line of {len(groot.encode())} bytes" in res.fouten[0].reason
    assert str(res.fouten[0]).startswith("groot.jsonl:2: -: line of ")


def test_2000_levels_of_nesting_are_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "diep.jsonl"
    deep = "[" * 2000 + "1" + "]" * 2000
    ten = '{"a":' * 9 + "1" + "}" * 9
    path.write_text(
        json.dumps(inschrijving())[:-1]
        + f', "kleur": {deep}}}\n'
        + f'{{"type": "X", "x": {ten}}}\n'
        + "[" * 2000
        + "\n"
    )
    res = invoer().jsonl(path)
    assert res.berichten == []
    assert [(f.line, f.field) for f in res.fouten] == [(1, "kleur"), (2, "x"), (3, "-")]
    assert all("nested deeper than 5 levels" in f.reason for f in res.fouten)


def test_nesting_the_schema_needs_is_accepted() -> None:
    from producers.lezen import max_diepte, te_diep
    from registry.infra import codec

    assert max_diepte(codec.catalogue()) == 5  # a kwalificatiedossier: kerntaken[] of werkprocessen[]
    assert te_diep('{"a": [{"b": [{"c": "[[[[[[[[[["}]}]}', 5) is None  # brackets inside text do not count
    assert te_diep('{"a": [{"b": [{"c": [1]}]}]}', 5) == "a"


def test_a_200_kb_csv_cell_is_refused_with_its_column(tmp_path: Path) -> None:
    path = tmp_path / "cel.csv"
    header = "bsn,occurred_at,traject_id,verklaring_id,werkprocessen,leerbedrijf_id,brancheorganisaties\n"
    ok = (
        "111222333,2020-09-01,5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,6a0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,"
        "25250:B1-K1-W1,123456789,{}\n"
    )
    path.write_text(header + ok.format("KHN") + ok.format("A;" * 100_000) + ok.format("CBL"))
    res = invoer().csv(path, "PraktijkverklaringUitgegeven")
    assert [b.line for b in res.berichten] == [2, 4]
    assert [(f.line, f.field) for f in res.fouten] == [(3, "brancheorganisaties")]
    assert "cell of 200000 bytes is longer than the limit of 131072 bytes" in res.fouten[0].reason


def test_a_deeply_nested_json_cell_in_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cel.csv"
    path.write_text(
        "bsn,occurred_at,traject_id,verklaring_id,werkprocessen,leerbedrijf_id\n"
        "111222333,2020-09-01,5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,6a0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,"
        + "[" * 2000
        + ",123456789\n"
    )
    res = invoer().csv(path, "PraktijkverklaringUitgegeven")
    assert [(f.line, f.field) for f in res.fouten] == [(2, "werkprocessen")]
    assert "nested deeper" in res.fouten[0].reason


def test_a_csv_line_over_the_limit_is_refused_and_the_next_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    from producers.invoer import Grenzen

    path = tmp_path / "lang.csv"
    ok = (
        "111222333,2020-09-01,5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,6a0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11,"
        "25250:B1-K1-W1,123456789,{}\n"
    )
    path.write_text(
        "bsn,occurred_at,traject_id,verklaring_id,werkprocessen,leerbedrijf_id,brancheorganisaties\n"
        + ok.format("KHN")
        + ok.format("B" * 5000)
        + ok.format("CBL")
    )
    klein = Invoer(
        "mbo.albeda", PSEUDO, Sealer(bytes(SK.public_key)).seal, now=NOW, grenzen=Grenzen(max_line_bytes=2000)
    )
    res = klein.csv(path, "PraktijkverklaringUitgegeven")
    assert [b.line for b in res.berichten] == [2, 4]
    assert [(f.line, f.field) for f in res.fouten] == [(3, "-")] and "longer than the limit of 2000" in res.fouten[
        0
    ].reason


def test_a_row_whose_encoded_event_exceeds_the_ingress_limit_is_refused_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "groot.jsonl"
    rows = [inschrijving(), inschrijving(traject_id="6f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11", naam="x" * 300_000)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")  # line 2 is under the line limit
    res = invoer().jsonl(path)
    assert [b.line for b in res.berichten] == [1]
    assert len(res.berichten[0].value) < 1000 and res.berichten[0].key
    assert [(f.line, f.field) for f in res.fouten] == [(2, "persoonsgegevens")]
    assert "more than the ingress limit of 262144 bytes" in res.fouten[0].reason


def test_invalid_utf8_and_huge_numbers_are_row_errors(tmp_path: Path) -> None:
    path = tmp_path / "raar.jsonl"
    path.write_bytes(b'{"type": "\xff\xfe"}\n' + b'{"type": "KandidaatAangemeld", "x": ' + b"9" * 5000 + b"}\n")
    res = invoer().jsonl(path)
    assert [(f.line, f.field) for f in res.fouten] == [(1, "-"), (2, "-")]
    assert "UTF-8" in res.fouten[0].reason and "not valid JSON" in res.fouten[1].reason


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("startdatum", "2099-01-01", "more than 366 days in the future"),
        ("startdatum", "1989-12-31", "before 1990-01-01"),
    ],
)
def test_business_dates_are_checked_before_sending(field: str, value: str, message: str) -> None:
    from producers.invoer import FieldError

    with pytest.raises(FieldError, match=message) as exc:
        invoer().row(inschrijving(**{field: value}), raw="x")
    assert exc.value.path == field


class _Recording:
    """Stands in for the Kafka publisher in this unit test (the integration tests use the real broker)."""

    sent: list[int] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def send_encoded(self, key: bytes | None, value: bytes, tag: Any = None) -> None:
        self.sent.append(tag)

    def flush(self) -> list[Any]:
        return list(self.sent)


@pytest.mark.parametrize("third", [1_100_000, 300_000])  # over the line limit; under it but encoded over 256 KiB
def test_a_file_whose_third_row_is_too_big_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, third: int
) -> None:
    import dataclasses
    import io

    from rich.console import Console

    from producers.sleutels import init_keys
    from registry import bootstrap
    from registry.cli import publish
    from registry.infra import settings

    s = dataclasses.replace(
        settings.load(),
        keys_dir=tmp_path,
        pseudonym_key_file=tmp_path / "p.key",
        public_key_file=tmp_path / "r.pub",
        private_key_file=tmp_path / "r.key",
    )
    init_keys(s.pseudonym_key_file, s.public_key_file, s.private_key_file)
    _Recording.sent = []
    monkeypatch.setattr(bootstrap, "Publisher", _Recording)
    path = tmp_path / "drie.jsonl"
    rows = [inschrijving(traject_id=f"5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e1{i}") for i in range(4)]
    rows[2]["naam"] = "x" * third
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out, err = io.StringIO(), io.StringIO()
    code = publish.run(s, path, "mbo.albeda", None, False, Console(file=out, width=300), Console(file=err, width=300))
    assert code == 1 and _Recording.sent == []
    assert "nothing sent" in err.getvalue() and "drie.jsonl" in err.getvalue() and "Traceback" not in err.getvalue()
    # with --skip-invalid the other rows go, and only those
    assert (
        publish.run(s, path, "mbo.albeda", None, True, Console(file=out, width=300), Console(file=err, width=300)) == 1
    )
    assert _Recording.sent == [1, 2, 4]
