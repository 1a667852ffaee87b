"""Partner values (JSON, or CSV text) -> the Python values fastavro writes for a schema type.

Pure: every bad value raises ``FieldError`` naming the field path and what is wrong,
so a partner can fix the row.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from producers.lezen import schema_diepte, te_diep
from registry.domein.telregels import AMSTERDAM


class FieldError(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


def date(value: Any, path: str) -> dt.date:
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
    return ts.astimezone(dt.UTC)


_TRUE, _FALSE = {"true", "1", "ja", "yes", "j", "y"}, {"false", "0", "nee", "no", "n"}


def coerce(value: Any, typ: Any, path: str, from_text: bool) -> Any:
    """Value from JSON (or CSV text) -> the Python value fastavro writes for ``typ``."""
    if isinstance(typ, list):  # union: only ["null", T] is used in the catalogue
        if value is None:
            return None
        non_null = [t for t in typ if t != "null"]
        return coerce(value, non_null[0], path, from_text)
    if isinstance(typ, dict):
        kind = typ.get("type")
        logical = typ.get("logicalType")
        if logical == "timestamp-millis":
            return _timestamp(value, path)
        if logical == "date":
            return date(value, path)
        if logical == "uuid" or kind == "string":
            return coerce(value, "string", path, from_text)
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
            return [coerce(v, typ["items"], f"{path}[{i}]", from_text) for i, v in enumerate(value)]
        if kind == "record":
            if not isinstance(value, dict):
                raise FieldError(path, "must be an object")
            unknown = sorted(set(value) - {f["name"] for f in typ["fields"]})
            if unknown:
                raise FieldError(f"{path}.{unknown[0]}", "unknown field")
            return {f["name"]: _record_field(f, value, path, from_text) for f in typ["fields"]}
        return coerce(value, kind, path, from_text)
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
    return coerce(value[f["name"]], f["type"], f"{path}.{f['name']}", from_text)


def _split_text_array(text: str, items: Any, path: str) -> Any:
    """CSV cells: a JSON array, or for lists of text 'a;b;c'."""
    text = text.strip()
    if text.startswith("["):
        grens = 1 + schema_diepte(items)
        if te_diep(text, grens) is not None:
            raise FieldError(path, f"nested deeper than {grens} levels, more than the schema allows")
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
            out.append(dict(zip(names, pieces, strict=False)))
        return out
    raise FieldError(path, "must be a JSON array")
