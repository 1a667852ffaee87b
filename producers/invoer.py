"""Partner input (JSON lines, CSV) -> registry events, with a specific error per bad field.

Pure apart from the key material it is given: no Kafka here. Every refusal names
file, line, field and reason, so a partner can fix the row.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

from registry.infra import codec
from registry.domein import identifiers, referentie
from registry.domein.events import ALL_EVENTS, PERSON_EVENTS, REGISTRY_FIELDS, TELLING

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EARLIEST = dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc)
# UUID5 namespace for event ids derived from partner + line content (stable forever)
EVENT_NS = uuid.UUID("6f1d3b0c-5a7e-4c1e-9a52-2d0b3c9f7e11")
_FUTURE_CHECKED = ("occurred_at", "peildatum", "geboortedatum")


@dataclass(frozen=True)
class Fout:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class Bericht:
    """One event ready to publish."""

    event_type: str
    record: dict[str, Any]
    line: int


@dataclass
class Resultaat:
    berichten: list[Bericht] = field(default_factory=list)
    fouten: list[Fout] = field(default_factory=list)


class FieldError(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


class Invoer:
    """Turns rows of one partner into events. ``pseudonymise`` maps BSN -> pseudonym,
    ``seal`` encrypts persoonsgegevens to the registry's public key."""

    def __init__(
        self,
        partner: str,
        pseudonymise: Callable[[str], str],
        seal: Callable[[dict[str, str]], bytes],
        now: dt.datetime | None = None,
        catalogue: codec.Catalogue | None = None,
    ) -> None:
        problem = identifiers.partner(partner)
        if problem:
            raise ValueError(f"--as {partner}: {problem}")
        self.partner = partner
        self.pseudonymise = pseudonymise
        self.seal = seal
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.cat = catalogue or codec.catalogue()

    # ---- files -------------------------------------------------------------
    def jsonl(self, path: Path) -> Resultaat:
        res = Resultaat()
        for line_no, raw in _lines(path):
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                res.fouten.append(Fout(path.name, line_no, "-", f"not valid JSON: {exc.msg} at column {exc.colno}"))
                continue
            if not isinstance(obj, dict):
                res.fouten.append(Fout(path.name, line_no, "-", "each line must be a JSON object"))
                continue
            self._add(res, obj, line_no, raw, path.name, from_text=False)
        return res

    def csv(self, path: Path, event_type: str) -> Resultaat:
        res = Resultaat()
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                line_no = reader.line_num
                obj: dict[str, Any] = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
                if None in row:
                    res.fouten.append(Fout(path.name, line_no, "-", "more cells than header columns"))
                    continue
                obj.setdefault("type", event_type)
                raw = ",".join(f"{k}={row[k]}" for k in reader.fieldnames or [])
                self._add(res, obj, line_no, raw, path.name, from_text=True)
        return res

    def _add(self, res: Resultaat, obj: dict[str, Any], line: int, raw: str, file: str, from_text: bool) -> None:
        try:
            event_type, record = self.row(obj, raw, from_text)
        except FieldError as exc:
            res.fouten.append(Fout(file, line, exc.path, exc.reason))
            return
        res.berichten.append(Bericht(event_type, record, line))

    # ---- one row -----------------------------------------------------------
    def row(self, obj: dict[str, Any], raw: str, from_text: bool = False) -> tuple[str, dict[str, Any]]:
        obj = dict(obj)
        event_type = obj.pop("type", None)
        if not event_type:
            raise FieldError("type", "missing: every row names its event type")
        if event_type not in ALL_EVENTS:
            raise FieldError("type", f"unknown event type {event_type!r}; known: {', '.join(sorted(ALL_EVENTS))}")
        for name in REGISTRY_FIELDS & obj.keys():
            raise FieldError(name, "set by the registry, partners must not send it")
        sent_partner = obj.pop("partner", self.partner)
        if sent_partner != self.partner:
            raise FieldError("partner", f"{sent_partner!r} differs from --as {self.partner}")
        obj["partner"] = self.partner
        schema = self.cat.current(event_type).parsed
        field_names = {f["name"] for f in schema["fields"]}
        if event_type in PERSON_EVENTS:
            obj["deelnemer"] = self._deelnemer(obj, "")
        if event_type == TELLING and isinstance(obj.get("deelnemers"), list):
            obj["deelnemers"] = [self._telling_deelnemer(d, i) for i, d in enumerate(obj["deelnemers"])]
        self._persoonsgegevens(obj, field_names, event_type)
        obj.setdefault("event_id", str(uuid.uuid5(EVENT_NS, self.partner + "\n" + raw.strip())))
        unknown = sorted(set(obj) - field_names)
        if unknown:
            raise FieldError(unknown[0], f"not a field of {event_type}; fields: {', '.join(sorted(field_names - REGISTRY_FIELDS))}")
        record = {f["name"]: self._field(f, obj, from_text) for f in schema["fields"]}
        self._domain_checks(record, "")
        return event_type, record

    def _deelnemer(self, obj: dict[str, Any], path: str) -> str:
        bsn = obj.pop("bsn", None)
        if bsn is not None:
            text = str(bsn)
            problem = identifiers.bsn(text)
            if problem:
                raise FieldError(path + "bsn", problem)  # the value itself is never echoed
            if "deelnemer" in obj:
                raise FieldError(path + "deelnemer", "send either bsn or deelnemer, not both")
            return self.pseudonymise(text)
        if "deelnemer" in obj:
            return str(obj["deelnemer"])
        raise FieldError(path + "bsn", "missing: person-level events need the deelnemer's bsn")

    def _telling_deelnemer(self, entry: Any, i: int) -> Any:
        if not isinstance(entry, dict):
            raise FieldError(f"deelnemers[{i}]", "must be an object {bsn, status}")
        entry = dict(entry)
        entry["deelnemer"] = self._deelnemer(entry, f"deelnemers[{i}].")
        return entry

    def _persoonsgegevens(self, obj: dict[str, Any], field_names: set[str], event_type: str) -> None:
        if "persoonsgegevens" not in field_names:
            return  # e.g. a dossier's or leerbedrijf's `naam` is an ordinary field
        if "persoonsgegevens" in obj:
            raise FieldError("persoonsgegevens", "send naam and geboortedatum; the client seals them")
        gegevens = {k: str(obj.pop(k)) for k in ("naam", "geboortedatum") if obj.get(k) not in (None, "")}
        obj.pop("naam", None), obj.pop("geboortedatum", None)
        if not gegevens:
            return
        if "geboortedatum" in gegevens:
            born = _date(gegevens["geboortedatum"], "geboortedatum")
            if born > self.now.date():
                raise FieldError("geboortedatum", "lies in the future")
        obj["persoonsgegevens"] = self.seal(gegevens)

    def _field(self, f: dict[str, Any], obj: dict[str, Any], from_text: bool) -> Any:
        name = f["name"]
        if name not in obj or obj[name] is None:
            if "default" in f:
                return f["default"]
            raise FieldError(name, "missing: required field")
        value = _coerce(obj[name], f["type"], name, from_text)
        if name in _FUTURE_CHECKED:
            self._not_future(name, value)
        return value

    def _not_future(self, name: str, value: Any) -> None:
        if isinstance(value, dt.datetime):
            if value > self.now + dt.timedelta(days=1):
                raise FieldError(name, f"{value.isoformat()} lies in the future")
            if value < EARLIEST:
                raise FieldError(name, f"{value.isoformat()} is before 2015-01-01, older than any praktijkleren")
        elif isinstance(value, dt.date) and value > self.now.date():
            raise FieldError(name, f"{value.isoformat()} lies in the future")

    def _domain_checks(self, value: Any, path: str) -> None:
        """Identifier formats by field name, wherever they occur (also inside arrays)."""
        if isinstance(value, dict):
            for k, v in value.items():
                where = f"{path}{k}"
                check = identifiers.FIELD_CHECKS.get(k)
                if check and isinstance(v, str):
                    problem = check(v)
                    if problem:
                        raise FieldError(where, f"{problem}; got {v!r}" if k != "deelnemer" else problem)
                if k == "mbo_instelling" and v not in referentie.mbo_instellingen():
                    raise FieldError(where, f"unknown mbo-instelling {v!r}: use the partner id (e.g. mbo.albeda)")
                if k == "pilot" and v not in referentie.pilots():
                    raise FieldError(where, f"unknown pilot {v!r}; known: {', '.join(sorted(referentie.pilots()))}")
                self._domain_checks(v, where + ".")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._domain_checks(v, f"{path.rstrip('.')}[{i}].")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        for no, raw in enumerate(fh, start=1):
            if raw.strip():
                yield no, raw.rstrip("\n")


def _date(value: Any, path: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise FieldError(path, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _timestamp(value: Any, path: str) -> dt.datetime:
    """A date means the start of that day in the Netherlands; a naive datetime is Dutch time."""
    if isinstance(value, dt.datetime):
        ts = value
    else:
        text = str(value)
        try:
            ts = dt.datetime.fromisoformat(text)
        except ValueError:
            raise FieldError(path, f"{value!r} is not a date or datetime (ISO 8601)") from None
        if len(text) == 10:
            ts = dt.datetime.combine(ts.date(), dt.time(), AMSTERDAM)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=AMSTERDAM)
    return ts.astimezone(dt.timezone.utc)


_TRUE, _FALSE = {"true", "1", "ja", "yes", "j", "y"}, {"false", "0", "nee", "no", "n"}


def _coerce(value: Any, typ: Any, path: str, from_text: bool) -> Any:
    """Value from JSON (or CSV text) -> the Python value fastavro writes for ``typ``."""
    if isinstance(typ, list):  # union: only ["null", T] is used in the catalogue
        if value is None:
            return None
        non_null = [t for t in typ if t != "null"]
        return _coerce(value, non_null[0], path, from_text)
    if isinstance(typ, dict):
        kind = typ.get("type")
        logical = typ.get("logicalType")
        if logical == "timestamp-millis":
            return _timestamp(value, path)
        if logical == "date":
            return _date(value, path)
        if logical == "uuid" or kind == "string":
            return _coerce(value, "string", path, from_text)
        if kind == "enum":
            symbols = typ["symbols"]
            if value not in symbols:
                raise FieldError(path, f"{value!r} is not one of {', '.join(symbols)}")
            return value
        if kind == "array":
            if from_text and isinstance(value, str):
                value = _split_text_array(value, typ["items"], path)
            if not isinstance(value, list):
                raise FieldError(path, "must be a list")
            return [_coerce(v, typ["items"], f"{path}[{i}]", from_text) for i, v in enumerate(value)]
        if kind == "record":
            if not isinstance(value, dict):
                raise FieldError(path, "must be an object")
            unknown = sorted(set(value) - {f["name"] for f in typ["fields"]})
            if unknown:
                raise FieldError(f"{path}.{unknown[0]}", "unknown field")
            return {f["name"]: _record_field(f, value, path, from_text) for f in typ["fields"]}
        return _coerce(value, kind, path, from_text)
    if typ == "string":
        if isinstance(value, (dict, list, bool)):
            raise FieldError(path, "must be text")
        return str(value)
    if typ in ("int", "long"):
        if isinstance(value, bool):
            raise FieldError(path, "must be a whole number")
        try:
            return int(value) if isinstance(value, int) or from_text else _strict_int(value)
        except (ValueError, TypeError):
            raise FieldError(path, f"{value!r} is not a whole number") from None
    if typ == "boolean":
        if isinstance(value, bool):
            return value
        if from_text and str(value).strip().lower() in _TRUE | _FALSE:
            return str(value).strip().lower() in _TRUE
        raise FieldError(path, f"{value!r} is not true or false")
    if typ == "bytes":
        if isinstance(value, bytes):
            return value
        raise FieldError(path, "binary field: not accepted from input files")
    raise FieldError(path, f"unsupported schema type {typ!r}")


def _strict_int(value: Any) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(value)


def _record_field(f: dict[str, Any], value: dict[str, Any], path: str, from_text: bool) -> Any:
    if f["name"] not in value or value[f["name"]] is None:
        if "default" in f:
            return f["default"]
        raise FieldError(f"{path}.{f['name']}", "missing: required field")
    return _coerce(value[f["name"]], f["type"], f"{path}.{f['name']}", from_text)


def _split_text_array(text: str, items: Any, path: str) -> Any:
    """CSV cells: a JSON array, or for lists of text 'a;b;c'."""
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise FieldError(path, "not a valid JSON array") from None
    if items == "string" or (isinstance(items, dict) and items.get("type") == "string"):
        return [part.strip() for part in text.split(";") if part.strip()]
    if isinstance(items, dict) and items.get("type") == "record":
        # werkprocessen as 'crebo:code;crebo:code'
        names = [f["name"] for f in items["fields"]]
        out = []
        for part in filter(None, (p.strip() for p in text.split(";"))):
            pieces = part.split(":")
            if len(pieces) != len(names):
                raise FieldError(path, f"{part!r}: expected {':'.join(names)}")
            out.append(dict(zip(names, pieces)))
        return out
    raise FieldError(path, "must be a JSON array")
