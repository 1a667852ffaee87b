"""The event catalogue (registry/domein/events.py) is the one list of event types: every
dispatch table handles each of them or says it ignores it, every one has a schema file
and a Kafka key, and no schema file is missing from the catalogue."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from types import ModuleType
from typing import Any, get_args

import pytest

from producers import invoer
from projections.catalogus import ALL as PROJECTIONS
from registry.domein import events, regels, staat
from registry.domein.identifiers import PARTNER_SOORTEN
from registry.infra import codec

ALL_TYPES = frozenset(events.EVENT_TYPES)


def dekking(handled: frozenset[str], ignored: frozenset[str], alle: frozenset[str] = ALL_TYPES) -> list[str]:
    """What is wrong with a dispatch table's coverage ([] when handled + ignored is exactly ``alle``)."""
    problems = [f"neither handled nor ignored: {sorted(alle - handled - ignored)}"] if alle - handled - ignored else []
    if handled & ignored:
        problems.append(f"both handled and ignored: {sorted(handled & ignored)}")
    if (handled | ignored) - alle:
        problems.append(f"not in the catalogue: {sorted((handled | ignored) - alle)}")
    return problems


def _dispatchers() -> dict[str, ModuleType]:
    found = {"regels": regels, "staat": staat}
    for name, projection in PROJECTIONS.items():
        found[f"projection {name}"] = importlib.import_module(projection.apply.__module__)
    return found


@pytest.mark.parametrize("name, module", sorted(_dispatchers().items()))
def test_every_dispatch_table_handles_or_ignores_every_event_type(name: str, module: ModuleType) -> None:
    handled, ignored = getattr(module, "HANDLED", None), getattr(module, "IGNORED", None)
    assert isinstance(handled, frozenset) and isinstance(ignored, frozenset), f"{name}: declare HANDLED and IGNORED"
    assert dekking(handled, ignored) == [], name


def test_every_projection_is_checked() -> None:
    assert {f"projection {n}" for n in PROJECTIONS} <= set(_dispatchers())
    assert {"projection feiten", "projection referentie", "projection tijdlijn"} <= set(_dispatchers())


def test_invoer_pseudonymises_every_event_kind_or_says_why_not() -> None:
    assert dekking(invoer.HANDLED_KINDS, invoer.IGNORED_KINDS, frozenset(get_args(events.EventKind))) == []


def test_the_coverage_check_reports_a_missing_a_double_and_a_stray_type() -> None:
    some = next(iter(ALL_TYPES))
    assert dekking(ALL_TYPES - {some}, frozenset()) == [f"neither handled nor ignored: [{some!r}]"]
    assert dekking(ALL_TYPES, frozenset({some})) == [f"both handled and ignored: [{some!r}]"]
    assert dekking(ALL_TYPES | {"Bestaat"}, frozenset()) == ["not in the catalogue: ['Bestaat']"]


# ---- the catalogue itself -------------------------------------------------------------------------
def test_catalogue_lists_each_event_type_once() -> None:
    assert [s.name for s in events.CATALOGUE] == list(events.EVENT_TYPES)
    assert len(set(events.EVENT_TYPES)) == len(events.EVENT_TYPES)
    assert events.ALL_EVENTS == ALL_TYPES
    assert events.PERSON_EVENTS | events.REFERENCE_EVENTS | events.REGISTRY_EVENTS | {events.TELLING} == ALL_TYPES
    assert not events.PERSON_EVENTS & events.REFERENCE_EVENTS and events.TELLING not in events.PERSON_EVENTS


def test_every_catalogue_entry_has_a_schema_file_and_every_schema_file_an_entry() -> None:
    # the codec reads only <EventType>.v<N>.avsc at the top of schemas/ (fixtures/ is test data);
    # named types inside a file (Werkproces, Kerntaak, enums) are not event types
    files = set(codec.load_catalogue(codec.SCHEMA_DIR).event_types)
    schemas = {s.schema for s in events.CATALOGUE}
    assert schemas - files == set(), "catalogue entries without schemas/<schema>.v<N>.avsc"
    assert files - schemas == set(), "schema files without a catalogue entry"
    for path in codec.SCHEMA_DIR.glob("*.avsc"):
        assert json.loads(path.read_text(encoding="utf-8"))["name"] in schemas, path.name


def test_person_events_carry_a_deelnemer() -> None:
    cat = codec.catalogue()
    for spec in events.CATALOGUE:
        fields = {f["name"] for f in cat.current(spec.schema).parsed["fields"]}
        assert ("deelnemer" in fields) is (spec.kind == "person"), spec.name


def test_publishers_are_known_partner_soorten() -> None:
    for spec in events.CATALOGUE:
        assert spec.publishers <= set(PARTNER_SOORTEN), spec.name
        # only the registry's own events have no partner publisher at all
        assert bool(spec.publishers) == (spec.kind != "registry"), spec.name


def _sample(schema: dict[str, Any]) -> dict[str, Any]:
    """A record with a distinct text per top-level field (enough for a key)."""
    return {f["name"]: f"<{f['name']}>" for f in schema["fields"]}


@pytest.mark.parametrize("spec", events.CATALOGUE, ids=lambda s: s.name)
def test_key_works_for_every_event_type(spec: events.EventSpec) -> None:
    record = _sample(codec.catalogue().current(spec.schema).parsed)
    key = events.key(spec.name, record)
    assert key and isinstance(key, bytes)
    expected = {"person": "<deelnemer>", "telling": "<pilot>"}.get(spec.kind)
    if expected:
        assert key == expected.encode()


def test_keys_of_reference_data_and_unknown_types() -> None:
    assert events.key("KwalificatiedossierVastgesteld", {"crebo": "25250"}) == b"25250"
    assert events.key("LeerbedrijfErkend", {"leerbedrijf_id": "123456789"}) == b"123456789"
    assert (
        events.key("ErkenningDerdeLeerwegVerleend", {"mbo_instelling": "mbo.albeda", "crebo": "25250"})
        == b"mbo.albeda:25250"
    )
    with pytest.raises(ValueError, match="unknown event type 'Bestaat'"):
        events.key("Bestaat", {})


def test_the_catalogue_refuses_a_soort_that_a_rule_forgot_to(monkeypatch: pytest.MonkeyPatch) -> None:
    # today every finer rule implies the catalogue's publishers; this is the safety net behind them
    monkeypatch.setitem(regels._REGELS._handlers, "LeerbedrijfErkend", lambda ctx: None)
    erkend = {
        "event_id": "11111111-1111-4111-8111-111111111111",
        "partner": "mbo.albeda",
        "leerbedrijf_id": "123456789",
        "naam": "Bouw BV",
        "crebos": ["25250"],
        "occurred_at": dt.datetime(2020, 6, 1, tzinfo=dt.UTC),
    }
    now = dt.datetime(2021, 1, 13, tzinfo=dt.UTC)
    besluit = regels.beoordeel(staat.Staat(), "LeerbedrijfErkend", erkend, "mbo.albeda", now)
    assert (besluit.reden, besluit.melding) == (
        "niet_bevoegd",
        "mbo.albeda may not publish LeerbedrijfErkend (only sbb)",
    )
    assert regels.beoordeel(staat.Staat(), "LeerbedrijfErkend", erkend | {"partner": "sbb"}, "sbb", now).geaccepteerd


def test_a_reconciliation_result_from_a_partner_is_a_forgery() -> None:
    # the registry appends ReconciliatieUitgevoerd itself; on an ingress topic it must never pass
    forged = {
        "event_id": "22222222-2222-4222-8222-222222222222",
        "partner": "mbo.albeda",
        "pilot": "rijnmond",
        "peildatum": dt.date(2021, 1, 13),
        "register": 1,
        "gereconcilieerd": 999,
        "bronnen": [],
        "occurred_at": dt.datetime(2021, 1, 13, tzinfo=dt.UTC),
    }
    now = dt.datetime(2021, 1, 14, tzinfo=dt.UTC)
    besluit = regels.beoordeel(staat.Staat(), "ReconciliatieUitgevoerd", forged, "mbo.albeda", now)
    assert besluit.reden == "niet_bevoegd" and "only the registry" in besluit.melding
    sbb = regels.beoordeel(staat.Staat(), "ReconciliatieUitgevoerd", forged | {"partner": "sbb"}, "sbb", now)
    assert sbb.reden == "niet_bevoegd"


def test_publish_refuses_a_registry_event_before_sending() -> None:
    from producers.invoer import FieldError, Invoer

    line = {
        "type": "ReconciliatieUitgevoerd",
        "pilot": "rijnmond",
        "peildatum": "2021-01-13",
        "register": 1,
        "gereconcilieerd": 2,
        "bronnen": [],
    }
    parser = Invoer("mbo.albeda", lambda bsn: "0" * 64, lambda data: b"", now=dt.datetime(2021, 1, 14, tzinfo=dt.UTC))
    with pytest.raises(FieldError, match="written by the registry itself"):
        parser.row(dict(line), json.dumps(line))


def test_a_pilots_own_monitor_reports_only_that_pilot() -> None:
    telling = {
        "event_id": "33333333-3333-4333-8333-333333333333",
        "partner": "monitor.groningen",
        "bron_type": "monitor",
        "pilot": "groningen",
        "peildatum": dt.date(2021, 1, 13),
        "aantal_deelnemers": 3,
        "aantal_verklaringen": None,
        "deelnemers": None,
        "occurred_at": dt.datetime(2021, 1, 13, tzinfo=dt.UTC),
    }
    now = dt.datetime(2021, 1, 14, tzinfo=dt.UTC)
    assert regels.beoordeel(staat.Staat(), "TellingGemeld", telling, "monitor.groningen", now).geaccepteerd
    other = telling | {"partner": "monitor.twente"}
    besluit = regels.beoordeel(staat.Staat(), "TellingGemeld", other, "monitor.twente", now)
    assert (besluit.reden, besluit.melding) == (
        "niet_bevoegd",
        "monitor.twente may not report a telling for pilot groningen",
    )
    national = telling | {"partner": "monitor"}
    assert regels.beoordeel(staat.Staat(), "TellingGemeld", national, "monitor", now).geaccepteerd


def test_every_pilot_has_a_monitor_partner_with_its_own_topic() -> None:
    from registry.domein import referentie

    partners = referentie.default_partners()
    assert {f"monitor.{p}" for p in referentie.pilots()} <= set(partners)


def test_a_dispatch_table_that_misses_or_misspells_an_event_type_fails_when_it_is_built() -> None:
    from registry.domein.handlers import CatalogueMismatch, EventHandlers

    alle: dict[Any, int] = dict.fromkeys(events.EVENT_TYPES, 1)
    assert EventHandlers("alle", alle).get("TellingGemeld") == 1
    with pytest.raises(CatalogueMismatch, match=r"missend: neither handled nor ignored: \['TellingGemeld'\]"):
        EventHandlers("missend", {k: v for k, v in alle.items() if k != "TellingGemeld"})
    with pytest.raises(CatalogueMismatch, match=r"typo: .*not in the catalogue: \['TelingGemeld'\]"):
        EventHandlers("typo", {**{k: v for k, v in alle.items() if k != "TellingGemeld"}, "TelingGemeld": 1})
    with pytest.raises(CatalogueMismatch, match="both handled and ignored"):
        EventHandlers("dubbel", alle, ignored={"TellingGemeld"})


def test_the_rules_fold_and_projections_are_typed_dispatch_tables() -> None:
    from projections import feiten, referentie
    from registry.domein import parkeren
    from registry.domein.handlers import EventHandlers

    for table in (regels._REGELS, staat._HANDLERS, feiten._FEITEN, referentie._REFERENTIE, parkeren._VERVULT):
        assert isinstance(table, EventHandlers)
