"""The Avro schema files in ``schemas/`` (the partner contract) and their README.

Pure file checks: no Kafka, no database.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import io
import json
import re
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import avro.schema
import fastavro
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from fastavro.schema import fingerprint, to_parsing_canonical_form

from tests.support.avro_spec import crc64

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
README = SCHEMAS / "README.md"
DATA = ROOT / "registry" / "domein" / "data"
NS = "nl.praktijkregister"

SCHEMA_FILES = sorted(SCHEMAS.glob("*.avsc"))
FIXTURE_V3 = SCHEMAS / "fixtures" / "DeelnemerIngeschreven.v3-incompatible.avsc"
FILE_RE = re.compile(r"^(?P<name>[A-Z][A-Za-z]+)\.v(?P<version>[1-9][0-9]*)\.avsc$")

EVENT_TYPES = {
    "KandidaatAangemeld",
    "AdviesUitgebracht",
    "DeelnemerIngeschreven",
    "LeerbedrijfVastgelegd",
    "PraktijkafsprakenVastgelegd",
    "WerkprocesAfgetekend",
    "AftekeningIngetrokken",
    "PraktijkverklaringUitgegeven",
    "PraktijkverklaringIngetrokken",
    "TrajectBeeindigd",
    "UitstroomGeregistreerd",
    "TellingGemeld",
    "ReconciliatieUitgevoerd",
    "DeelnemerGegevensVerwijderd",
    "KwalificatiedossierVastgesteld",
    "LeerbedrijfErkend",
    "ErkenningDerdeLeerwegVerleend",
}
UUID_T = {"type": "string", "logicalType": "uuid"}
TS_T = {"type": "long", "logicalType": "timestamp-millis"}
DATE_T = {"type": "int", "logicalType": "date"}
HEAD = ["event_id", "occurred_at", "partner"]
TAIL = ["recorded_at", "warnings"]
COMMON = set(HEAD) | set(TAIL)


def raw(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def split_name(path: Path) -> tuple[str, int]:
    m = FILE_RE.match(path.name)
    assert m, f"{path.name} is not named <EventType>.v<N>.avsc"
    return m["name"], int(m["version"])


def versions() -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for p in SCHEMA_FILES:
        name, _ = split_name(p)
        out.setdefault(name, []).append(p)
    return {k: sorted(v, key=lambda p: split_name(p)[1]) for k, v in out.items()}


def walk_types(t):
    """Yield every (sub)schema object inside a type."""
    yield t
    if isinstance(t, list):
        for b in t:
            yield from walk_types(b)
    elif isinstance(t, dict):
        if t.get("type") == "record":
            for f in t["fields"]:
                yield from walk_types(f["type"])
        elif t.get("type") == "array":
            yield from walk_types(t["items"])
        elif t.get("type") == "map":
            yield from walk_types(t["values"])


def write_read(writer: dict, record: dict, reader: dict | None = None) -> dict:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer, record, strict_allow_default=True)
    buf.seek(0)
    return fastavro.schemaless_reader(buf, writer, reader)


def fp_hex(parsed: dict) -> str:
    return fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")


# --- the set of files -------------------------------------------------------


def test_every_event_type_has_a_schema_and_nothing_else_is_live():
    assert set(versions()) == EVENT_TYPES
    for name, paths in versions().items():
        nums = [split_name(p)[1] for p in paths]
        assert nums == list(range(1, len(nums) + 1)), f"{name}: versions must be 1..N without gaps: {nums}"
    assert [p.name for p in versions()["DeelnemerIngeschreven"]] == [
        "DeelnemerIngeschreven.v1.avsc",
        "DeelnemerIngeschreven.v2.avsc",
    ]


# --- per file ----------------------------------------------------------------


@pytest.mark.parametrize("path", SCHEMA_FILES + [FIXTURE_V3], ids=lambda p: p.name)
def test_parses_with_fastavro_and_avro(path):
    fastavro.parse_schema(raw(path))
    avro.schema.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_record_name_matches_file_name(path):
    s = raw(path)
    name, _ = split_name(path)
    assert s["type"] == "record"
    assert s["name"] == name
    assert s.get("namespace") == NS
    assert s.get("doc")


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_common_head_and_tail_fields(path):
    fields = raw(path)["fields"]
    names = [f["name"] for f in fields]
    assert names[:3] == HEAD
    assert names[-2:] == TAIL
    assert len(names) == len(set(names))
    by = {f["name"]: f for f in fields}
    assert by["event_id"]["type"] == UUID_T
    assert by["occurred_at"]["type"] == TS_T
    assert by["partner"]["type"] == "string"
    assert by["recorded_at"]["type"] == ["null", TS_T]
    assert by["recorded_at"]["default"] is None
    assert by["warnings"]["type"] == {"type": "array", "items": "string"}
    assert by["warnings"]["default"] == []
    for n in HEAD:
        assert "default" not in by[n]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_conventions(path):
    s = raw(path)
    # every field, at every depth, is documented; unions are ["null", T] with default null
    records = [t for t in walk_types(s) if isinstance(t, dict) and t.get("type") == "record"]
    for rec in records:
        for f in rec["fields"]:
            assert f.get("doc"), f"{rec['name']}.{f['name']} has no doc"
            if isinstance(f["type"], list):
                assert len(f["type"]) == 2 and f["type"][0] == "null", f"{f['name']}: optional = [null, T]"
                assert "default" in f and f["default"] is None, f"{f['name']}: optional needs default null"
    # named types are unique within the file and in our namespace; enum defaults are symbols
    named = [t for t in walk_types(s) if isinstance(t, dict) and t.get("type") in ("record", "enum", "fixed")]
    names = [t["name"] for t in named]
    assert len(names) == len(set(names)), names
    for t in named:
        assert t.get("namespace") == NS, t["name"]
        if t["type"] == "enum" and "default" in t:
            assert t["default"] in t["symbols"]
    # person-level events: deelnemer right after the common head
    own = [f["name"] for f in s["fields"]]
    if "deelnemer" in own:
        assert own.index("deelnemer") == 3
        assert s["fields"][3]["type"] == "string"
    # the registry-only field volgnummer is optional so partners can leave it out
    for f in s["fields"]:
        if f["name"] == "volgnummer":
            assert f["type"] == ["null", "int"] and f["default"] is None


def test_enum_defaults_exactly_where_a_catch_all_exists():
    expected = {
        "AanmelderType": "overig",
        "BeeindigingReden": "overig",
        "Uitstroom": "onbekend",
        "Geslacht": "onbekend",
        "DuoCheck": "niet_uitgevoerd",
        "Leertraject": "OVO",
        "Uitkering": "onbekend",
        "Uitvalreden": "overig",
        "UitkeringNa": "onbekend",
    }
    seen: dict[str, str | None] = {}
    for p in SCHEMA_FILES:
        for t in walk_types(raw(p)):
            if isinstance(t, dict) and t.get("type") == "enum":
                seen[t["name"]] = t.get("default")
    assert {k: v for k, v in seen.items() if v is not None} == expected
    # enums without a natural catch-all have no default
    assert {k for k, v in seen.items() if v is None} == {
        "Doelgroep",
        "Advies",
        "BronType",
        "TellingStatus",
        "Peilmoment",
        "Contract",
    }


def test_fingerprints_are_unique_and_follow_the_spec():
    # CRC-64-AVRO straight from the Avro specification (tests/support/avro_spec.py), to pin fastavro's value and byte order
    assert crc64(b'"int"') == 0x7275D51A3F395C8F  # test vector from the specification
    fps = {}
    for p in SCHEMA_FILES:
        parsed = fastavro.parse_schema(raw(p))
        pcf = to_parsing_canonical_form(parsed)
        assert fp_hex(parsed) == crc64(pcf.encode()).to_bytes(8, "little").hex()
        fps[p.name] = fp_hex(parsed)
    assert len(set(fps.values())) == len(fps), "two live schemas share a fingerprint"


# --- evolution ---------------------------------------------------------------


def _v1_inschrijving() -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime(2020, 3, 1, 9, 0, tzinfo=dt.UTC),
        "partner": "mbo.albeda",
        "deelnemer": "a" * 64,
        "traject_id": str(uuid.uuid4()),
        "mbo_instelling": "mbo.albeda",
        "crebo": "25498",
        "leertraject": "OVO",
        "pilot": "rijnmond",
        "startdatum": dt.date(2020, 3, 1),
        "leerbedrijf_id": "100234567",
        "geslacht": "vrouw",
        "leeftijd": 34,
        "gemeente": "GM0599",
        "persoonsgegevens": b"\x00sealed",
        "recorded_at": None,
        "warnings": [],
    }


def test_v2_is_v1_plus_pok_datum_before_recorded_at():
    v1 = raw(SCHEMAS / "DeelnemerIngeschreven.v1.avsc")["fields"]
    v2 = raw(SCHEMAS / "DeelnemerIngeschreven.v2.avsc")["fields"]
    assert [f["name"] for f in v2] == [f["name"] for f in v1][:-2] + ["pok_datum"] + TAIL
    pok = v2[-3]
    assert pok["type"] == ["null", DATE_T] and pok["default"] is None and pok["doc"]
    assert [{k: v for k, v in f.items() if k != "doc"} for f in v2 if f["name"] != "pok_datum"] == [
        {k: v for k, v in f.items() if k != "doc"} for f in v1
    ]


def test_v2_reads_v1_data():
    v1 = fastavro.parse_schema(raw(SCHEMAS / "DeelnemerIngeschreven.v1.avsc"))
    v2 = fastavro.parse_schema(raw(SCHEMAS / "DeelnemerIngeschreven.v2.avsc"))
    rec = _v1_inschrijving()
    got = write_read(v1, rec, v2)
    assert got["pok_datum"] is None
    assert got["deelnemer"] == rec["deelnemer"]
    assert got["startdatum"] == rec["startdatum"]
    assert got["occurred_at"] == rec["occurred_at"]
    assert set(got) == set(rec) | {"pok_datum"}


def test_every_later_version_reads_every_earlier_one():
    checker = ReaderWriterCompatibilityChecker()
    for _name, paths in versions().items():
        for i, newer in enumerate(paths):
            for older in paths[:i]:
                res = checker.get_compatibility(
                    avro.schema.parse(newer.read_text()), avro.schema.parse(older.read_text())
                )
                assert res.compatibility is SchemaCompatibilityType.compatible, (newer.name, older.name, res)


def test_v3_fixture_is_incompatible_and_not_live():
    assert FIXTURE_V3.parent != SCHEMAS
    assert not list(SCHEMAS.glob("*v3*.avsc"))
    v3_raw = raw(FIXTURE_V3)
    assert v3_raw["name"] == "DeelnemerIngeschreven"
    vest = next(f for f in v3_raw["fields"] if f["name"] == "vestiging")
    assert vest["type"] == "string" and "default" not in vest
    v1 = fastavro.parse_schema(raw(SCHEMAS / "DeelnemerIngeschreven.v1.avsc"))
    v3 = fastavro.parse_schema(v3_raw)
    with pytest.raises(fastavro.read.SchemaResolutionError):
        write_read(v1, _v1_inschrijving(), v3)
    checker = ReaderWriterCompatibilityChecker()
    for older in versions()["DeelnemerIngeschreven"]:
        res = checker.get_compatibility(avro.schema.parse(FIXTURE_V3.read_text()), avro.schema.parse(older.read_text()))
        assert res.compatibility is SchemaCompatibilityType.incompatible


def test_old_reader_maps_unknown_enum_symbol_to_its_default():
    v1 = raw(SCHEMAS / "UitstroomGeregistreerd.v1.avsc")
    future = copy.deepcopy(v1)
    enum_t = future["fields"][4]["type"]
    enum_t["symbols"] = enum_t["symbols"] + ["zelfstandig_ondernemer"]
    rec = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
        "partner": "uwv",
        "deelnemer": "b" * 64,
        "uitstroom": "zelfstandig_ondernemer",
    }
    got = write_read(fastavro.parse_schema(future), rec, fastavro.parse_schema(v1))
    assert got["uitstroom"] == "onbekend"


# --- README ------------------------------------------------------------------

README_TEXT = README.read_text(encoding="utf-8") if README.exists() else ""


def readme_section(name: str) -> str:
    m = re.search(rf"^### {name}\n(.*?)(?=^### |\Z)", README_TEXT, re.S | re.M)
    assert m, f"README has no '### {name}' section"
    return m.group(1)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_schema_is_documented_in_readme(path):
    name, _ = split_name(path)
    section = readme_section(name)
    assert path.name in section, f"section {name} does not mention {path.name}"
    assert "**Who may publish:**" in section
    # the field table lists exactly the event's own fields (all versions together)
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    own = {f["name"] for p in versions()[name] for f in raw(p)["fields"]} - COMMON
    assert documented == own


def test_readme_fingerprint_table_is_current():
    for p in SCHEMA_FILES:
        assert f"| `{p.name}` | `{fp_hex(fastavro.parse_schema(raw(p)))}` |" in README_TEXT


def test_readme_encoding_snippet_produces_single_object_encoding(monkeypatch):
    snippet = re.search(r"```python\n(.*?)```", README_TEXT, re.S).group(1)
    monkeypatch.chdir(ROOT)
    rec = dict(_v1_inschrijving(), pok_datum=dt.date(2020, 2, 24))
    ns = {"record": rec}
    exec(snippet, ns)  # noqa: S102 - our own documentation
    value = ns["value"]
    v2 = fastavro.parse_schema(raw(SCHEMAS / "DeelnemerIngeschreven.v2.avsc"))
    assert value[:2] == b"\xc3\x01"
    assert value[2:10] == bytes.fromhex(fp_hex(v2))
    assert fastavro.schemaless_reader(io.BytesIO(value[10:]), v2)["pok_datum"] == dt.date(2020, 2, 24)


# README example lines, converted the way the publish client does, must encode with the
# newest schema of their type.


def _csv_column(file: str, column: str) -> set[str]:
    with open(DATA / file, newline="", encoding="utf-8") as fh:
        return {row[column] for row in csv.DictReader(fh)}


PILOTS = _csv_column("pilots.csv", "pilot_id")
MBOS = _csv_column("mbo_instellingen.csv", "partner")
CREBOS = _csv_column("kwalificaties.csv", "crebo")
BRANCHES = _csv_column("brancheorganisaties.csv", "afkorting")
PARTNER_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)?$")
REGISTRY_ONLY = {"partner", "recorded_at", "warnings", "volgnummer", "persoonsgegevens", "deelnemer"}


def elfproef(bsn: str) -> bool:
    if not re.fullmatch(r"\d{9}", bsn) or bsn == "000000000":
        return False
    d = [int(c) for c in bsn]
    return (sum(w * x for w, x in zip(range(9, 1, -1), d[:8], strict=False)) - d[8]) % 11 == 0


def test_elfproef_helper():
    assert elfproef("111222333")
    assert not elfproef("111222334")
    assert not elfproef("000000000")


def readme_examples() -> list[tuple[str, dict]]:
    """(partner from the preceding --as, parsed line) for every jsonl block."""
    out = []
    for m in re.finditer(r"```jsonl\n(.*?)```", README_TEXT, re.S):
        before = README_TEXT[: m.start()]
        partners = re.findall(r"publish --as (\S+)", before)
        for line in m.group(1).splitlines():
            if line.strip():
                out.append((partners[-1], json.loads(line)))
    return out


def _check_ids(obj) -> None:
    if isinstance(obj, list):
        for x in obj:
            _check_ids(x)
        return
    if not isinstance(obj, dict):
        return
    for k, v in obj.items():
        if k == "crebo":
            assert re.fullmatch(r"\d{5}", v) and v in CREBOS, v
        elif k == "crebos":
            assert all(c in CREBOS for c in v), v
        elif k == "leerbedrijf_id":
            assert re.fullmatch(r"\d{9}", v) and 100000000 <= int(v) <= 999999999, v
        elif k == "gemeente":
            assert re.fullmatch(r"GM\d{4}", v), v
        elif k == "pilot":
            assert v in PILOTS, v
        elif k == "mbo_instelling":
            assert v in MBOS, v
        elif k == "brancheorganisaties":
            assert all(b in BRANCHES for b in v), v
        elif k == "bsn":
            assert elfproef(v), v
        _check_ids(v)


def _convert(value, t):
    """JSON-lines value -> Python value for fastavro, mimicking the publish client."""
    if isinstance(t, list):
        if value is None:
            return None
        return _convert(value, next(b for b in t if b != "null"))
    if isinstance(t, dict):
        if t.get("logicalType") == "date":
            return dt.date.fromisoformat(value)
        if t.get("type") == "array":
            return [_convert(v, t["items"]) for v in value]
        if t.get("type") == "record":
            value = dict(value)
            if "bsn" in value:
                assert "deelnemer" not in value
                value["deelnemer"] = hashlib.sha256(value.pop("bsn").encode()).hexdigest()
            fields = {f["name"]: f for f in t["fields"]}
            unknown = set(value) - set(fields)
            assert not unknown, f"unknown keys {unknown} for {t['name']}"
            return {k: _convert(v, fields[k]["type"]) for k, v in value.items()}
    return value


def test_readme_has_an_example_for_every_event_type():
    # the registry's own result is not partner input: its example is a json block, not jsonl
    assert {line["type"] for _, line in readme_examples()} == EVENT_TYPES - {"ReconciliatieUitgevoerd"}
    assert '"type": "ReconciliatieUitgevoerd"' in readme_section("ReconciliatieUitgevoerd")


@pytest.mark.parametrize(
    "partner,line", readme_examples(), ids=[f"{i}-{line['type']}" for i, (_, line) in enumerate(readme_examples())]
)
def test_readme_example_encodes(partner, line):
    assert PARTNER_RE.match(partner)
    assert {partner} <= MBOS or not partner.startswith("mbo.")
    _check_ids(line)
    line = dict(line)
    name = line.pop("type")
    schema_raw = raw(versions()[name][-1])
    field_names = {f["name"] for f in schema_raw["fields"]}
    assert not (set(line) & REGISTRY_ONLY), "partners never send these"
    person_level = "deelnemer" in field_names
    assert ("bsn" in line) == person_level
    if "bsn" in line:
        line["deelnemer"] = hashlib.sha256(line.pop("bsn").encode()).hexdigest()
    if "persoonsgegevens" in field_names:  # naam/geboortedatum are sealed into persoonsgegevens
        personal = {k: line.pop(k) for k in ("naam", "geboortedatum") if k in line}
        if personal:
            dt.date.fromisoformat(personal.get("geboortedatum", "2000-01-01"))
            line["persoonsgegevens"] = b"sealed:" + json.dumps(personal).encode()
    occurred = dt.datetime.fromisoformat(line.pop("occurred_at"))
    if occurred.tzinfo is None:
        assert occurred.time() == dt.time(0), "a datetime needs an offset"
        occurred = occurred.replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    record = {"event_id": line.pop("event_id", str(uuid.uuid4())), "occurred_at": occurred, "partner": partner}
    for f in schema_raw["fields"]:
        if f["name"] in line:
            record[f["name"]] = _convert(line.pop(f["name"]), f["type"])
    assert not line, f"keys not in {name}: {sorted(line)}"
    parsed = fastavro.parse_schema(schema_raw)
    got = write_read(parsed, record)
    assert got["partner"] == partner and got["recorded_at"] is None and got["warnings"] == []
    if person_level:
        assert re.fullmatch(r"[0-9a-f]{64}", got["deelnemer"])
