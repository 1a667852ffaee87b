"""The generated Avro readers (registry/infra/avro_lezer.py) read what fastavro reads, and refuse what is not a
whole, well-formed record."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.infra import avro_bron, codec
from registry.infra.avro_lezer import lezer
from registry.infra.codec import DecodeError
from tests.support import builders
from tests.support.avro_waarden import CAT, SETTINGS, VERSIES, alles, strategy_for

# what the registry's schemas do not use, or use once: the generator reads it all the same (the map's values a union
# of three branches)
ALLES = alles(["null", "long", "string"])
LEES_ALLES = lezer(ALLES)


def _avro(schema: Any, record: Any) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, schema, record)
    return buf.getvalue()


def _fastavro(schema: Any, body: bytes) -> Any:
    return schemaless_reader(io.BytesIO(body), schema, None)


def test_every_schema_version_gets_a_generated_reader_both_ways() -> None:
    missing = [(sv.event_type, sv.version) for sv in CAT.by_fingerprint.values() if not (sv.lezer and sv.lezer_lean)]
    assert missing == []


@pytest.mark.parametrize(("event_type", "version"), VERSIES)
@SETTINGS
@given(data=st.data())
def test_a_generated_reader_reads_what_fastavro_reads(event_type: str, version: int, data: st.DataObject) -> None:
    sv = CAT.versions[event_type][version]
    body = _avro(sv.parsed, data.draw(strategy_for(sv.parsed)))
    for schema, lees in ((sv.reading, sv.lezer), (sv.lean, sv.lezer_lean)):
        assert lees is not None
        assert lees(body, 0) == (_fastavro(schema, body), len(body))


@SETTINGS
@given(data=st.data())
def test_maps_doubles_floats_bytes_nested_records_and_named_references_read_as_fastavro_reads_them(
    data: st.DataObject,
) -> None:
    assert LEES_ALLES is not None
    body = _avro(ALLES, data.draw(strategy_for(ALLES)))
    assert LEES_ALLES(body, 0) == (_fastavro(ALLES, body), len(body))


def test_an_array_in_blocks_with_their_sizes_reads_whole() -> None:
    # items 1, 2 in a block of count -2 with its size in bytes (2), then 3 in a block of 1, then the end (0)
    schema = parse_schema(
        {"type": "record", "name": "R", "fields": [{"name": "xs", "type": {"type": "array", "items": "long"}}]}
    )
    body = bytes([0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00])
    lees = lezer(schema)
    assert (
        lees is not None
        and lees(body, 0) == ({"xs": [1, 2, 3]}, len(body))
        and _fastavro(schema, body) == {"xs": [1, 2, 3]}
    )


def test_a_recursive_type_is_left_to_fastavro() -> None:
    lijst = {"type": "record", "name": "Lijst", "fields": [{"name": "rest", "type": ["null", "Lijst"]}]}
    assert lezer(parse_schema(lijst)) is None


@pytest.mark.parametrize(("event_type", "version"), VERSIES)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_every_cut_of_a_record_is_refused(event_type: str, version: int, data: st.DataObject) -> None:
    sv = CAT.versions[event_type][version]
    body = _avro(sv.parsed, data.draw(strategy_for(sv.parsed)))
    for lees in (sv.lezer, sv.lezer_lean):
        assert lees is not None
        for cut in range(len(body)):
            try:
                _, einde = lees(body[:cut], 0)
            except (IndexError, ValueError):
                continue
            assert einde > cut, f"{event_type} v{version} cut at {cut} of {len(body)} read as whole"


@SETTINGS
@given(data=st.data(), event_type=st.sampled_from(CAT.event_types))
def test_a_changed_byte_reads_as_fastavro_reads_it_or_is_refused(data: st.DataObject, event_type: str) -> None:
    sv = CAT.current(event_type)
    body = bytearray(_avro(sv.parsed, data.draw(strategy_for(sv.parsed))))
    body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    try:
        record, einde = sv.lezer_lean(bytes(body), 0)  # type: ignore[misc]
    except (IndexError, ValueError):
        return
    if einde == len(body):  # what it reads as a whole record, fastavro reads the same
        assert record == _fastavro(sv.lean, bytes(body))


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (bytes([0x01]), "negative length"),  # a string of length -1
        (bytes([0x80] * 11 + [0x00]), "varint too long"),
    ],
)
def test_malformed_lengths_are_refused(body: bytes, refused: str) -> None:
    lees = lezer(parse_schema({"type": "record", "name": "S", "fields": [{"name": "s", "type": "string"}]}))
    assert lees is not None
    with pytest.raises(ValueError, match=refused):
        lees(body, 0)


def test_an_enum_or_union_index_out_of_range_is_refused() -> None:
    assert LEES_ALLES is not None
    with pytest.raises(ValueError, match="enum index"):
        LEES_ALLES(bytes([0x06]), 0)  # symbol 3 of three
    with pytest.raises(ValueError, match="union index"):
        LEES_ALLES(bytes([0x00, 0x00, 0x02, 0x00, 0x06]), 0)  # a map entry whose union index is 3 of three


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_codec_decodes_the_current_version_with_the_generated_reader_and_says_what_is_wrong(
    data: st.DataObject,
) -> None:
    sv = CAT.current("WerkprocesAfgetekend")
    encoded = codec.encode("WerkprocesAfgetekend", data.draw(strategy_for(sv.parsed)))
    assert codec.decode(encoded)[1] == _fastavro(sv.reading, encoded[codec.HEADER_LEN :])
    assert codec.decode(encoded, lean={"WerkprocesAfgetekend"})[1] == _fastavro(sv.lean, encoded[codec.HEADER_LEN :])
    with pytest.raises(DecodeError, match="trailing bytes"):
        codec.decode(encoded + b"\x00")
    with pytest.raises(DecodeError, match="does not decode \\(IndexError\\)|cut short"):
        codec.decode(encoded[:-1])


def test_times_and_dates_read_are_remembered_within_a_bound() -> None:
    """A time or date converted from an int is remembered (a batch's events share recorded_at), the same value
    fastavro gives; the memory empties when full, so a log of distinct times never grows it past the bound."""
    sv = CAT.current("WerkprocesAfgetekend")
    gezien = avro_bron.GEZIEN.setdefault("lees timestamp-millis", {})
    record = builders.afteken()
    for i in range(avro_bron.GEZIEN_MAX + 10):
        tijd = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=i)
        body = codec.encode("WerkprocesAfgetekend", dict(record, occurred_at=tijd))
        assert (
            codec.decode(body)[1]["occurred_at"]
            == tijd
            == _fastavro(sv.reading, body[codec.HEADER_LEN :])["occurred_at"]
        )
        assert 0 < len(gezien) <= avro_bron.GEZIEN_MAX
