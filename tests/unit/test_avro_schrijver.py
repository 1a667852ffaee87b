"""The generated Avro writers (registry/infra/avro_schrijver.py) write the bytes fastavro writes, and leave to
fastavro (``Anders``, or any error) every value they are not sure of: through ``codec.encode`` a record is written
the same, or refused the same, as by fastavro alone."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.domein.identifiers import Gecontroleerd
from registry.infra import codec
from registry.infra.avro_bron import GEZIEN_MAX
from registry.infra.avro_schrijver import Anders, schrijver
from registry.infra.codec import EncodeError
from tests.support import builders
from tests.support.avro_waarden import CAT, SETTINGS, VERSIES, alles, strategy_for

# what the registry's schemas do not use, or use once: the generator writes it all the same (a union of three
# branches it leaves to fastavro, so the map's values are a union of two)
ALLES = alles(
    ["null", "long"],
    binnen=[{"name": "sinds", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
    extra=[
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "met_standaard", "type": "string", "default": "x"},
        # logical types in a union: fastavro picks the branch by validating the value (a UUID, a date, a time)
        {"name": "misschien_id", "type": ["null", {"type": "string", "logicalType": "uuid"}]},
        {"name": "misschien_dag", "type": ["null", {"type": "int", "logicalType": "date"}]},
        {"name": "misschien_tijd", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
    ],
)
SCHRIJF_ALLES = schrijver(ALLES)

# values of the wrong kind for some field or other, and of the right kind at an edge: each either written as
# fastavro writes it or left to fastavro
VREEMD = [
    None,
    True,
    False,
    0,
    -1,
    2**31,
    -(2**31) - 1,
    2**63,
    1.5,
    float("nan"),
    "",
    "a",
    "\ud800",  # a lone surrogate: no UTF-8
    b"x",
    bytearray(b"x"),
    [],
    [1],
    {},
    {"a": 1},
    ("string", "a"),  # fastavro's tuple notation for a union branch
    dt.datetime(2024, 5, 1, 12, 30),  # naive: fastavro reads it in the machine's local time
    dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.date(2024, 5, 1),
    "2024-05-01",
    uuid.UUID(int=7),
    "a",
]


class _Str(str):
    pass


VREEMD.append(_Str("a"))


def _fastavro(schema: Any, record: Any) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, schema, record, strict_allow_default=True)
    return buf.getvalue()


def _uitkomst(schrijf: Any, record: Any) -> bytes | None:
    """Its bytes, or None when it leaves the record to fastavro."""
    try:
        return bytes(schrijf(record))
    except Exception:  # noqa: BLE001 - any error: fastavro decides
        return None


@pytest.fixture(autouse=True)
def _amsterdam() -> Iterator[None]:
    """A machine that is not on UTC: fastavro writes a naive date-time in local time."""
    oud = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Amsterdam"
    time.tzset()
    yield
    if oud is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = oud
    time.tzset()


def test_every_schema_version_gets_a_generated_writer_and_every_romp_one() -> None:
    missing = [
        (sv.event_type, sv.version)
        for sv in CAT.by_fingerprint.values()
        if sv.schrijver is None or (sv.romp is not None and sv.romp_schrijver is None)
    ]
    assert missing == []
    assert any(sv.romp is not None for sv in CAT.by_fingerprint.values())


@pytest.mark.parametrize(("event_type", "version"), VERSIES)
@SETTINGS
@given(data=st.data())
def test_a_generated_writer_writes_what_fastavro_writes(event_type: str, version: int, data: st.DataObject) -> None:
    sv = CAT.versions[event_type][version]
    record = data.draw(strategy_for(sv.parsed))
    assert sv.schrijver is not None
    assert sv.schrijver(record) == sv.header + _fastavro(sv.parsed, record)
    if sv.romp is not None:  # the record as the validator's reading child has it: the last two fields ignored
        assert sv.romp_schrijver is not None
        romp = {k: v for k, v in record.items() if k not in codec.STAART}
        assert sv.romp_schrijver(record) == sv.romp_schrijver(romp) == sv.header + _fastavro(sv.romp, romp)


@SETTINGS
@given(data=st.data())
def test_maps_doubles_floats_bytes_nested_records_and_named_references_write_as_fastavro_writes_them(
    data: st.DataObject,
) -> None:
    assert SCHRIJF_ALLES is not None
    record = data.draw(strategy_for(ALLES))
    assert SCHRIJF_ALLES(record) == _fastavro(ALLES, record)
    zonder = {k: v for k, v in record.items() if k != "met_standaard"}  # the default written for it
    assert SCHRIJF_ALLES(zonder) == _fastavro(ALLES, zonder)


def _velden(record: Any, pad: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every value in ``record`` (keys of dicts, indexes of lists)."""
    if isinstance(record, dict):
        for k, v in record.items():
            yield (*pad, k)
            yield from _velden(v, (*pad, k))
    elif isinstance(record, list):
        for i, v in enumerate(record):
            yield (*pad, i)
            yield from _velden(v, (*pad, i))


def _vervang(record: Any, pad: tuple[Any, ...], nieuw: Any, weg: bool) -> Any:
    kopie = dict(record) if isinstance(record, dict) else list(record)
    if len(pad) == 1:
        if weg and isinstance(kopie, dict):
            del kopie[pad[0]]
        else:
            kopie[pad[0]] = nieuw
        return kopie
    kopie[pad[0]] = _vervang(kopie[pad[0]], pad[1:], nieuw, weg)
    return kopie


@given(data=st.data(), event_type=st.sampled_from([*CAT.event_types, "Alles"]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_changed_missing_or_extra_value_is_written_as_fastavro_writes_it_or_left_to_it(
    data: st.DataObject, event_type: str
) -> None:
    schema = ALLES if event_type == "Alles" else CAT.current(event_type).parsed
    schrijf = SCHRIJF_ALLES if event_type == "Alles" else CAT.current(event_type).schrijver
    kop = b"" if event_type == "Alles" else CAT.current(event_type).header
    record = data.draw(strategy_for(schema))
    paden = list(_velden(record))
    wat = data.draw(st.sampled_from(["vervang", "weg", "extra"]))
    if wat == "extra":
        record = {**record, data.draw(st.sampled_from(["extra", "recorded_at_", ""])): 1}
    elif paden:
        record = _vervang(record, data.draw(st.sampled_from(paden)), data.draw(st.sampled_from(VREEMD)), wat == "weg")
    ons = _uitkomst(schrijf, record)
    try:
        hun: bytes | None = kop + _fastavro(schema, record)
    except Exception:  # noqa: BLE001 - fastavro refuses it: so must the generated writer
        hun = None
    assert ons is None or ons == hun, f"{wat}: written where fastavro writes otherwise"
    if event_type != "Alles":  # through codec: fastavro's bytes, or an EncodeError where fastavro refuses
        try:
            via_codec: bytes | None = codec.encode(event_type, record)
        except EncodeError:
            via_codec = None
        assert via_codec == hun


def test_codec_falls_back_to_fastavro_for_a_value_the_writer_leaves_to_it() -> None:
    sv = CAT.current("WerkprocesAfgetekend")
    record = builders.afteken("B1-K1-W1")
    naief = dict(record, occurred_at=dt.datetime(2024, 5, 1, 12, 30))  # naive: local time, as fastavro has it
    assert sv.schrijver is not None
    with pytest.raises(Anders):
        sv.schrijver(naief)
    assert codec.encode("WerkprocesAfgetekend", naief) == sv.header + _fastavro(sv.parsed, naief)
    assert codec.encode("WerkprocesAfgetekend", naief) != codec.encode(
        "WerkprocesAfgetekend", dict(record, occurred_at=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC))
    )
    with pytest.raises(EncodeError):
        codec.encode("WerkprocesAfgetekend", dict(record, onbekend=1))


@pytest.mark.parametrize(
    "veld",
    [
        {"name": "u", "type": ["null", "string", "long"]},  # fastavro validates each branch in turn
        {"name": "f", "type": {"type": "fixed", "name": "F", "size": 2}},
    ],
)
def test_what_it_does_not_write_is_left_to_fastavro_whole(veld: dict[str, Any]) -> None:
    assert schrijver(parse_schema({"type": "record", "name": "R", "fields": [veld]})) is None


@settings(max_examples=20, deadline=None)
@given(data=st.data(), event_type=st.sampled_from(CAT.event_types))
def test_a_re_keyed_record_takes_the_generated_path(data: st.DataObject, event_type: str) -> None:
    """The validator's reading child writes records as ``herschrijf`` leaves them (a ``Gecontroleerd``, a dict
    subclass): those are written here, not left to fastavro (the same bytes, at a third of the cost)."""
    sv = CAT.current(event_type)
    record = Gecontroleerd(data.draw(strategy_for(sv.parsed)), None)
    assert sv.schrijver is not None
    assert sv.schrijver(record) == sv.header + _fastavro(sv.parsed, record)
    if sv.romp_schrijver is not None:
        romp = {k: v for k, v in record.items() if k not in codec.STAART}
        assert sv.romp_schrijver(record) == sv.header + _fastavro(sv.romp, romp)


def test_dates_and_times_written_are_remembered_within_a_bound() -> None:
    """A date or time's bytes are remembered per value (a batch's events share their times): the bytes fastavro
    writes, whatever time comes; the memory empties when full, so distinct times never grow it past the bound."""
    sv = CAT.current("WerkprocesAfgetekend")
    assert sv.schrijver is not None
    record = builders.afteken()
    for i in range(GEZIEN_MAX + 10):
        r = dict(record, occurred_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=7 * i))
        assert sv.schrijver(r) == sv.header + _fastavro(sv.parsed, r)
    herinnerd = [
        v
        for v in sv.schrijver.__globals__.values()
        if isinstance(v, dict) and v and all(isinstance(k, dt.datetime) for k in v)
    ]
    assert herinnerd and all(len(v) <= GEZIEN_MAX for v in herinnerd)
