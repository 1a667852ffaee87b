"""Partner input (JSON lines, CSV) -> registry events, with a specific error per bad field.

Pure apart from the key material it is given: no Kafka here. Every refusal names
file, line, field and reason, so a partner can fix the row. Files are streamed line by line within
limits (``producers.lezen.Grenzen``): an over-long line, a too-deep nesting, an over-long CSV cell and a
row whose ENCODED event exceeds the ingress limit are refused like any bad field, before anything is sent.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from producers.lezen import RECORD_OVERHEAD, Grenzen, max_diepte, regels, te_diep
from producers.velden import FieldError, coerce, date
from registry.domein import identifiers, referentie, verwijzingen
from registry.domein.controles import DATUM_VOORUIT, DATUMVELDEN, VROEGSTE_DATUM
from registry.domein.events import ALL_EVENTS, REGISTRY_FIELDS, SPECS, EventKind, key
from registry.domein.telregels import EARLIEST
from registry.infra import codec

__all__ = ["EVENT_NS", "Bericht", "FieldError", "Fout", "Grenzen", "Invoer", "Resultaat"]  # FieldError lives in velden

# UUID5 namespace of the unkeyed event ids before keyed event ids (kept for reference; no longer used: an unkeyed hash of
# a line that holds a BSN lets anyone recover the BSN from the event id)
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
    key: bytes = b""
    value: bytes = b""  # the encoded record, checked against the ingress limit (what the publisher sends)


@dataclass
class Resultaat:
    berichten: list[Bericht] = field(default_factory=list)
    fouten: list[Fout] = field(default_factory=list)


class Invoer:
    """Turns rows of one partner into events. ``pseudonymise`` maps BSN -> pseudonym,
    ``seal`` encrypts persoonsgegevens to the registry's public key. ``event_ids(partner, line)`` derives the
    event id of a row without one: KEYED (default: ``pseudonymise.event_id`` of a ``Pseudonymiser``), so the same
    file published again publishes nothing new while no one without the key can recover the line from the id;
    a plain function as ``pseudonymise`` and no ``event_ids``: random ids (not idempotent). ``bij_regel`` is called
    once per line read (a progress bar counts the rows checked)."""

    def __init__(
        self,
        partner: str,
        pseudonymise: Callable[[str], str],
        seal: Callable[[dict[str, str]], bytes],
        now: dt.datetime | None = None,
        catalogue: codec.Catalogue | None = None,
        grenzen: Grenzen | None = None,
        event_ids: Callable[[str, str], str] | None = None,
        bij_regel: Callable[[int], object] | None = None,
    ) -> None:
        problem = identifiers.partner(partner)
        if problem:
            raise ValueError(f"--as {partner}: {problem}")
        self.partner = partner
        self.pseudonymise = pseudonymise
        self.seal = seal
        self.now = now or dt.datetime.now(dt.UTC)
        self.cat = catalogue or codec.catalogue()
        self.grenzen = grenzen or Grenzen()
        self.bij_regel: Callable[[int], object] = bij_regel or (lambda _n: None)
        self.event_ids: Callable[[str, str], str] = (
            event_ids or getattr(pseudonymise, "event_id", None) or (lambda _partner, _line: str(uuid.uuid4()))
        )

    # ---- files -------------------------------------------------------------
    def jsonl(self, path: Path) -> Resultaat:
        res = Resultaat()
        diepte = max_diepte(self.cat)
        for regel in regels(path, self.grenzen.max_line_bytes):
            self.bij_regel(1)
            line_no, raw = regel.nummer, regel.text
            if regel.fout:
                res.fouten.append(Fout(path.name, line_no, "-", regel.fout))
                continue
            if not raw.strip():
                continue
            veld = te_diep(raw, diepte)
            if veld is not None:
                res.fouten.append(
                    Fout(
                        path.name,
                        line_no,
                        veld,
                        f"nested deeper than {diepte} levels, more than any event's schema allows",
                    )
                )
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                res.fouten.append(Fout(path.name, line_no, "-", f"not valid JSON: {exc.msg} at column {exc.colno}"))
                continue
            except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits
                res.fouten.append(Fout(path.name, line_no, "-", f"not valid JSON: {str(exc)[:200]}"))
                continue
            if not isinstance(obj, dict):
                res.fouten.append(Fout(path.name, line_no, "-", "each line must be a JSON object"))
                continue
            self._add(res, obj, line_no, raw, path.name, from_text=False)
        return res

    def csv(self, path: Path, event_type: str) -> Resultaat:
        res = Resultaat()
        g = self.grenzen
        te_lang: dict[int, str] = {}

        def lines() -> Iterator[str]:
            for regel in regels(path, g.max_line_bytes):
                self.bij_regel(1)
                if regel.fout:
                    te_lang[regel.nummer] = regel.fout
                yield regel.text + "\n"  # an over-long line reads as blank: the csv reader skips it

        previous = csv.field_size_limit(max(g.max_line_bytes, g.max_cell_bytes) + 1)
        try:
            reader = csv.DictReader(lines())
            rows = iter(reader)
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except csv.Error as exc:  # e.g. a quoted cell running over many lines
                    res.fouten.append(Fout(path.name, reader.line_num, "-", f"not valid CSV: {exc}"))
                    continue
                line_no = reader.line_num
                groot = [k for k, v in row.items() if isinstance(v, str) and len(v.encode()) > g.max_cell_bytes]
                if groot:
                    res.fouten.append(
                        Fout(
                            path.name,
                            line_no,
                            str(groot[0]),
                            f"cell of {len(row[groot[0]].encode())} bytes is longer than the limit of "
                            f"{g.max_cell_bytes} bytes (PRAKTIJK_IMPORT_MAX_CELL_BYTES)",
                        )
                    )
                    continue
                obj: dict[str, Any] = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
                if None in row:
                    res.fouten.append(Fout(path.name, line_no, "-", "more cells than header columns"))
                    continue
                obj.setdefault("type", event_type)
                raw = ",".join(f"{k}={row[k]}" for k in reader.fieldnames or [])
                self._add(res, obj, line_no, raw, path.name, from_text=True)
        finally:
            csv.field_size_limit(previous)
        res.fouten += [Fout(path.name, n, "-", fout) for n, fout in sorted(te_lang.items())]
        res.fouten.sort(key=lambda f: f.line)
        return res

    def _add(self, res: Resultaat, obj: dict[str, Any], line: int, raw: str, file: str, from_text: bool) -> None:
        try:
            event_type, record = self.row(obj, raw, from_text)
            value = codec.encode(event_type, record, self.cat)
            sleutel = key(event_type, record)
        except FieldError as exc:
            res.fouten.append(Fout(file, line, exc.path[:100], exc.reason[:300]))  # a hostile value is not echoed whole
            return
        except (codec.EncodeError, ValueError, TypeError, OverflowError) as exc:
            res.fouten.append(Fout(file, line, "-", f"does not fit the event's schema: {str(exc)[:200]}"))
            return
        size = len(value) + len(sleutel) + RECORD_OVERHEAD
        if size > self.grenzen.max_record_bytes:
            grootste = max(record, key=lambda k: len(repr(record[k])))
            res.fouten.append(
                Fout(
                    file,
                    line,
                    grootste,
                    f"the encoded event is {size} bytes, more than the ingress limit of "
                    f"{self.grenzen.max_record_bytes} bytes (PRAKTIJK_MAX_INGRESS_BYTES)",
                )
            )
            return
        res.berichten.append(Bericht(event_type, record, line, sleutel, value))

    # ---- one row -----------------------------------------------------------
    def row(self, obj: dict[str, Any], raw: str, from_text: bool = False) -> tuple[str, dict[str, Any]]:
        obj = dict(obj)
        event_type = obj.pop("type", None)
        if not event_type:
            raise FieldError("type", "missing: every row names its event type")
        if event_type not in ALL_EVENTS:
            raise FieldError("type", f"unknown event type {event_type!r}; known: {', '.join(sorted(ALL_EVENTS))}")
        if SPECS[event_type].kind == "registry":
            raise FieldError("type", f"{event_type} is written by the registry itself; partners cannot publish it")
        for name in REGISTRY_FIELDS & obj.keys():
            raise FieldError(name, "set by the registry, partners must not send it")
        sent_partner = obj.pop("partner", self.partner)
        if sent_partner != self.partner:
            raise FieldError("partner", f"{sent_partner!r} differs from --as {self.partner}")
        obj["partner"] = self.partner
        schema = self.cat.current(event_type).parsed
        field_names = {f["name"] for f in schema["fields"]}
        pseudonimiseer = _PSEUDONIEMEN.get(SPECS[event_type].kind)
        if pseudonimiseer:
            pseudonimiseer(self, obj)
        self._persoonsgegevens(obj, field_names, event_type)
        if "event_id" not in obj:
            obj["event_id"] = self.event_ids(self.partner, raw.strip())
        unknown = sorted(set(obj) - field_names)
        if unknown:
            raise FieldError(
                unknown[0], f"not a field of {event_type}; fields: {', '.join(sorted(field_names - REGISTRY_FIELDS))}"
            )
        record = {f["name"]: self._field(f, obj, from_text) for f in schema["fields"]}
        self._domain_checks(record)
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

    def _person_deelnemer(self, obj: dict[str, Any]) -> None:
        obj["deelnemer"] = self._deelnemer(obj, "")

    def _telling_deelnemers(self, obj: dict[str, Any]) -> None:
        if isinstance(obj.get("deelnemers"), list):
            obj["deelnemers"] = [self._telling_deelnemer(d, i) for i, d in enumerate(obj["deelnemers"])]

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
            born = date(gegevens["geboortedatum"], "geboortedatum")
            if born > self.now.date():
                raise FieldError("geboortedatum", "lies in the future")
        obj["persoonsgegevens"] = self.seal(gegevens)

    def _field(self, f: dict[str, Any], obj: dict[str, Any], from_text: bool) -> Any:
        name = f["name"]
        if name not in obj or obj[name] is None:
            if "default" in f:
                return f["default"]
            raise FieldError(name, "missing: required field")
        value = coerce(obj[name], f["type"], name, from_text)
        if name in _FUTURE_CHECKED:
            self._not_future(name, value)
        if name in DATUMVELDEN and isinstance(value, dt.date):
            if value > self.now.date() + DATUM_VOORUIT:
                raise FieldError(name, f"{value.isoformat()} is more than {DATUM_VOORUIT.days} days in the future")
            if value < VROEGSTE_DATUM:
                raise FieldError(name, f"{value.isoformat()} is before {VROEGSTE_DATUM.isoformat()}")
        return value

    def _not_future(self, name: str, value: Any) -> None:
        if isinstance(value, dt.datetime):
            if value > self.now + dt.timedelta(days=1):
                raise FieldError(name, f"{value.isoformat()} lies in the future")
            if value < EARLIEST:
                raise FieldError(name, f"{value.isoformat()} is before 2015-01-01, older than any praktijkleren")
        elif isinstance(value, dt.date) and value > self.now.date():
            raise FieldError(name, f"{value.isoformat()} lies in the future")

    def _domain_checks(self, record: dict[str, Any]) -> None:
        """Identifier formats by field name, wherever they occur (also inside arrays)."""
        fout = identifiers.eerste_fout(record)
        if fout is None:
            return
        if fout.soort == "instelling":
            raise FieldError(fout.path, f"unknown mbo-instelling {fout.waarde!r}: use the partner id (e.g. mbo.albeda)")
        if fout.soort == "pilot":
            raise FieldError(
                fout.path, f"unknown pilot {fout.waarde!r}; known: {', '.join(sorted(referentie.pilots()))}"
            )
        # a bad deelnemer value is not echoed: it may be a BSN sent by mistake; nor a bad reference: it may be a name
        stil = fout.veld == "deelnemer" or fout.veld in verwijzingen.VELDEN
        raise FieldError(fout.path, fout.probleem if stil else f"{fout.probleem}; got {fout.waarde!r}")


# which BSNs an event kind carries, turned into pseudonyms before the fields are read
_PSEUDONIEMEN: dict[EventKind, Callable[[Invoer, dict[str, Any]], None]] = {
    "person": Invoer._person_deelnemer,
    "telling": Invoer._telling_deelnemers,  # optional list of {bsn, status}
}
HANDLED_KINDS = frozenset(_PSEUDONIEMEN)
# reference data names no deelnemer; registry events are refused before this table is read
IGNORED_KINDS: frozenset[EventKind] = frozenset({"reference", "registry"})
