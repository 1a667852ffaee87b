"""Avro single-object encoding: round trips, fingerprints, evolution, dead-letter cases."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.infra import codec
from registry.infra.codec import DecodeError
from tests.support import builders
from tests.support.avro_spec import spec_fingerprint
from tests.support.avro_waarden import strategy_for

CAT = codec.catalogue()


@pytest.mark.parametrize("event_type", CAT.event_types)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_every_event_type(event_type: str, data: st.DataObject) -> None:
    record = data.draw(strategy_for(CAT.current(event_type).parsed))
    encoded = codec.encode(event_type, record)
    assert encoded[:2] == b"\xc3\x01"
    assert encoded[2:10] == CAT.current(event_type).fingerprint
    assert codec.decode(encoded) == (event_type, record)


def _millis(at: Any) -> Any:
    return None if at is None else int(at.timestamp() * 1000)


@pytest.mark.parametrize("event_type", CAT.event_types)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_lean_decode_gives_the_envelope_timestamps_as_epoch_millis_and_the_rest_as_ever(
    event_type: str, data: st.DataObject
) -> None:
    record = data.draw(strategy_for(CAT.current(event_type).parsed))
    encoded = codec.encode(event_type, record)
    _, lean = codec.decode(encoded, lean={event_type})
    expected = {k: _millis(v) if k in codec.TIJDEN else v for k, v in record.items()}
    assert lean == expected
    assert all(type(lean[k]) is int for k in codec.TIJDEN if lean.get(k) is not None)
    assert codec.decode(encoded, lean={"AnderType"}) == (event_type, record)  # another type's lean: as ever


def test_a_lean_decode_resolves_an_older_version_too() -> None:
    old = _zonder(codec.load_catalogue(codec.SCHEMA_DIR), "DeelnemerIngeschreven", 2)
    record = _inschrijving()
    data = codec.encode("DeelnemerIngeschreven", record, old)
    _, full = codec.decode(data)
    _, lean = codec.decode(data, lean={"DeelnemerIngeschreven"})
    assert lean == {k: _millis(v) if k in codec.TIJDEN else v for k, v in full.items()}


# ---- fingerprint, computed independently from the Avro specification (tests/support/avro_spec.py) ------
def test_fingerprint_matches_spec_algorithm_for_every_schema() -> None:
    for versions in CAT.versions.values():
        for sv in versions.values():
            assert sv.fingerprint == spec_fingerprint(sv.canonical.encode())


def test_spec_fingerprint_of_known_value() -> None:
    # the canonical form of "int" has a published fingerprint (Avro test vectors): 8f5c393f1ad57572
    assert spec_fingerprint(b'"int"').hex() == "8f5c393f1ad57572"


# ---- evolution -------------------------------------------------------------------------------
def _inschrijving() -> dict[str, Any]:
    return {
        "event_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "occurred_at": dt.datetime(2020, 3, 1, tzinfo=dt.UTC),
        "partner": "mbo.albeda",
        "deelnemer": "a" * 64,
        "traject_id": "5f0f4e0a-7d1c-4e55-9a52-2d0b3c9f7e11",
        "mbo_instelling": "mbo.albeda",
        "crebo": "25250",
        "leertraject": "OVO",
        "pilot": "rijnmond",
        "startdatum": dt.date(2020, 3, 2),
        "leerbedrijf_id": "123456789",
        "geslacht": "vrouw",
        "leeftijd": 31,
        "gemeente": "GM0599",
        "persoonsgegevens": None,
        "recorded_at": None,
        "warnings": [],
    }


def test_v1_bytes_read_as_v2() -> None:
    v1 = CAT.versions["DeelnemerIngeschreven"][1]
    assert CAT.current("DeelnemerIngeschreven").version == 2
    # a catalogue as of v1: a writer from before v2
    old = _zonder(codec.load_catalogue(codec.SCHEMA_DIR), "DeelnemerIngeschreven", 2)
    data = codec.encode("DeelnemerIngeschreven", _inschrijving(), old)
    assert data[2:10] == v1.fingerprint
    event_type, record = codec.decode(data)
    assert event_type == "DeelnemerIngeschreven"
    assert record["pok_datum"] is None and record["crebo"] == "25250"


def _zonder(cat: codec.Catalogue, event_type: str, version: int) -> codec.Catalogue:
    """``cat`` as it was before ``version`` of ``event_type`` was added."""
    out = codec.Catalogue()
    for sv in cat.by_fingerprint.values():
        if (sv.event_type, sv.version) != (event_type, version):
            out.add(sv)
    return out


def _write(directory: Path, name: str, fields: list[dict[str, Any]]) -> None:
    (directory / name).write_text(
        json.dumps({"type": "record", "name": name.split(".")[0], "namespace": "t", "fields": fields})
    )


def test_upcaster_handles_a_rename(tmp_path: Path) -> None:
    _write(tmp_path, "Hernoemd.v1.avsc", [{"name": "werkgever", "type": "string"}])
    _write(tmp_path, "Hernoemd.v2.avsc", [{"name": "leerbedrijf", "type": "string"}])
    cat = codec.load_catalogue(tmp_path)
    only_v1 = _zonder(codec.load_catalogue(tmp_path), "Hernoemd", 2)
    data = codec.encode("Hernoemd", {"werkgever": "Bakkerij"}, only_v1)
    with pytest.raises(DecodeError):  # Avro resolution cannot express a rename without aliases
        codec.decode(data, cat)
    cat.register_upcaster("Hernoemd", 1, lambda r: {"leerbedrijf": r["werkgever"]})
    assert codec.decode(data, cat) == ("Hernoemd", {"leerbedrijf": "Bakkerij"})


# ---- what the validator dead-letters ------------------------------------------------------------
@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "single-object"),
        (b'{"json": true}', "single-object"),
        (b"\xc3\x01" + b"\x00" * 8 + b"\x02", "unknown writer schema fingerprint"),
    ],
)
def test_undecodable_bytes_raise_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        codec.decode(data)


def test_truncated_body_raises_decode_error() -> None:
    data = codec.encode("DeelnemerIngeschreven", _inschrijving())
    with pytest.raises(DecodeError, match="does not decode|trailing"):
        codec.decode(data[:-20])
    with pytest.raises(DecodeError, match="trailing"):
        codec.decode(data + b"\x00")


def test_decode_reads_bytes_bytearray_and_memoryview_alike() -> None:
    """The body is read in place past the header (no copy of it): any buffer of the same bytes gives the same."""
    data = codec.encode("DeelnemerIngeschreven", _inschrijving())
    expected = codec.decode(data)
    assert expected[1]["event_id"] == _inschrijving()["event_id"]
    assert codec.decode(bytearray(data)) == expected and codec.decode(memoryview(data)) == expected
    with pytest.raises(DecodeError, match="trailing"):
        codec.decode(memoryview(data + b"\x00"))


def test_every_schema_version_starts_its_records_with_marker_and_fingerprint() -> None:
    for versions in CAT.versions.values():
        for sv in versions.values():
            assert sv.header == b"\xc3\x01" + sv.fingerprint and len(sv.header) == codec.HEADER_LEN


def test_encode_refuses_a_record_that_does_not_fit() -> None:
    bad = _inschrijving() | {"geslacht": "x"}
    with pytest.raises(codec.EncodeError):
        codec.encode("DeelnemerIngeschreven", bad)


# ---- schemas check -------------------------------------------------------------------------------
def test_schemas_check_passes_on_the_live_catalogue() -> None:
    from registry.infra import compatibility

    problems, checked = compatibility.check_directory(codec.SCHEMA_DIR)
    assert problems == [] and checked == len(CAT.event_types)


def test_schemas_check_rejects_an_incompatible_version(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from registry.cli.main import app

    for path in codec.SCHEMA_DIR.glob("DeelnemerIngeschreven.v*.avsc"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(
        codec.SCHEMA_DIR / "fixtures" / "DeelnemerIngeschreven.v3-incompatible.avsc",
        tmp_path / "DeelnemerIngeschreven.v3.avsc",
    )
    result = CliRunner().invoke(app, ["schemas", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "DeelnemerIngeschreven v3 cannot read v1" in result.output
    assert "DeelnemerIngeschreven v3 cannot read v2" in result.output
    ok = CliRunner().invoke(app, ["schemas", "check"])
    assert ok.exit_code == 0, ok.output


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["aanmelding", "inschrijving", "afteken", "verklaring"]),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.lists(st.text(max_size=20), max_size=3),
)
def test_a_body_encoded_ahead_with_the_registry_fields_added_is_the_full_encoding(
    soort: str, recorded_at: dt.datetime, warnings: list[str]
) -> None:
    event_type, record = {
        "aanmelding": ("KandidaatAangemeld", builders.aanmelding()),
        "inschrijving": ("DeelnemerIngeschreven", builders.inschrijving()),
        "afteken": ("WerkprocesAfgetekend", builders.afteken()),
        "verklaring": ("PraktijkverklaringUitgegeven", builders.verklaring(["B1-K1-W1"])),
    }[soort]
    romp = codec.encode_romp(event_type, record)
    assert romp is not None
    volledig = codec.encode(event_type, dict(record, recorded_at=recorded_at, warnings=warnings))
    assert codec.met_staart(romp, recorded_at, warnings) == volledig


def test_a_body_that_does_not_encode_is_left_to_the_full_encoding() -> None:
    record = builders.aanmelding()
    del record["pilot"]  # required, no default
    assert codec.encode_romp("KandidaatAangemeld", record) is None
    assert codec.encode_romp("KandidaatAangemeld", dict(builders.aanmelding(), onbekend=1)) is None  # as strict
