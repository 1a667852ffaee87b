"""Projector over the real broker and PostgreSQL: a hand-made log, every overzicht at two peildata,
aantallen, traject, tijdlijn, verificatie, idempotency and replay.

Each test writes to its own topics and its own PostgreSQL schema."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from sqlalchemy import Connection, Engine, event, text

from consumers import projector, replay
from projections import feiten, queries, store
from projections.catalogus import ALL
from registry.domein import events
from registry.infra import codec
from registry.infra.db import engine as make_engine
from registry.infra.kafka import client_config
from tests.support import builders

D1 = dt.date(2020, 6, 30)
D2 = dt.date(2021, 1, 13)
d = dt.date


def pseudo(name: str) -> str:
    return (name * 64)[:64]


A, B, C, DD, E, F = (pseudo(x) for x in "abcdef")
TA1, TA2, TB, TC, TE1, TE2, TF = (f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 8))
VA1, VA2, VB1, VC1 = (f"11111111-0000-4000-8000-00000000000{i}" for i in range(1, 5))


def hand_log() -> list[builders.Event]:
    b = builders.Bouwer("hand")
    return [
        b.dossier(
            "25251",
            "Assistent dienstverlening en zorg (dossier)",
            1,
            "Zorg en welzijn",
            [("W1", "Ondersteunt bij zorg"), ("W2", "Helpt bij huishouden"), ("W3", "Begeleidt activiteiten")],
        ),
        b.dossier(
            "99001", "Testkwalificatie", 3, "Testdomein", [("W1", "Test een"), ("W2", "Test twee"), ("W3", "Test drie")]
        ),
        b.leerbedrijf_erkend("100000001", "Zorghuis De Linde", ["25251"]),
        # A: rijnmond, albeda, 34, vrouw; a 2nd traject and a 2nd verklaring spanning two crebos
        b.aanmelding(A, "rijnmond", d(2020, 1, 15), gemeente="GM0599"),
        b.advies(A, "mbo.albeda", d(2020, 2, 1)),
        b.inschrijving(
            A,
            TA1,
            "rijnmond",
            "mbo.albeda",
            "25251",
            d(2020, 3, 1),
            leerbedrijf_id="100000001",
            geslacht="vrouw",
            leeftijd=34,
            gemeente="GM0599",
        ),
        b.aftekening(A, TA1, "25251", "W1", d(2020, 4, 1)),
        b.aftekening(A, TA1, "25251", "W2", d(2020, 4, 2)),
        b.verklaring(
            A, TA1, VA1, [("25251", "W1"), ("25251", "W2")], d(2020, 5, 15), volgnummer=1, brancheorganisaties=["ActiZ"]
        ),
        b.inschrijving(
            A,
            TA2,
            "rijnmond",
            "mbo.albeda",
            "99001",
            d(2020, 9, 1),
            leerbedrijf_id="100000001",
            geslacht="vrouw",
            leeftijd=34,
        ),
        b.verklaring(
            A,
            TA2,
            VA2,
            [("99001", "W1"), ("25251", "W3")],
            d(2020, 11, 1),
            volgnummer=2,
            brancheorganisaties=["SBB", "ActiZ"],
        ),
        # B: rijnmond, 20, man; leerbedrijf only after D1; a retracted sign-off; verklaring revoked between D1 and D2
        b.inschrijving(B, TB, "rijnmond", "mbo.albeda", "25251", d(2020, 6, 1), geslacht="man", leeftijd=20),
        b.aftekening(B, TB, "25251", "W1", d(2020, 6, 10)),
        b.aftekening(B, TB, "25251", "W2", d(2020, 6, 15)),
        b.aftekening_ingetrokken(B, TB, "25251", "W1", d(2020, 6, 20)),
        b.verklaring(B, TB, VB1, [("25251", "W2")], d(2020, 6, 25), volgnummer=1),
        b.leerbedrijf(B, TB, "100000002", d(2020, 8, 1)),
        b.verklaring_ingetrokken(B, VB1, d(2020, 10, 1)),
        # C: twente, 16, onbekend; starts after D1, ends before D2
        b.inschrijving(
            C,
            TC,
            "twente",
            "mbo.roc-van-twente",
            "99001",
            d(2020, 7, 1),
            leerbedrijf_id="100000003",
            geslacht="onbekend",
            leeftijd=16,
        ),
        b.verklaring(
            C,
            TC,
            VC1,
            [("99001", "W1"), ("99001", "W2"), ("99001", "W3")],
            d(2020, 11, 20),
            volgnummer=1,
            instelling="mbo.roc-van-twente",
        ),
        b.beeindigd(C, TC, "afgerond", d(2020, 12, 1), instelling="mbo.roc-van-twente"),
        b.uitstroom(C, "betaald_werk", d(2020, 12, 15)),
        # DD: aangemeld only
        b.aanmelding(DD, "zwolle", d(2020, 2, 1), gemeente="GM0193"),
        # E: zwolle registered first, but a late-registered twente inschrijving has the earlier startdatum
        b.inschrijving(E, TE2, "zwolle", "mbo.landstede", "25251", d(2020, 5, 1), geslacht="man", leeftijd=60),
        b.inschrijving(
            E,
            TE1,
            "twente",
            "mbo.roc-van-twente",
            "25251",
            d(2020, 2, 1),
            leerbedrijf_id="100000004",
            geslacht="man",
            leeftijd=60,
            on=d(2020, 12, 1),
        ),
        b.verwijderd(E, d(2020, 12, 20)),
        # F: starts after D2
        b.inschrijving(F, TF, "drenthe", "mbo.drenthe-college", "25251", d(2021, 2, 1), leeftijd=40),
        b.telling("rijnmond", d(2021, 1, 13), 3, [A, B]),
    ]


REJECTION = {
    "event_id": "22222222-0000-4000-8000-000000000001",
    "event_type": "WerkprocesAfgetekend",
    "partner": "leerbedrijf.100000001",
    "deelnemer": B,
    "traject_id": TB,
    "reden": "werkproces_onbekend",
    "melding": "werkproces W9 is not in dossier 25251",
    "recorded_at": "2020-06-12T10:00:00+00:00",
    "bron": {"topic": "praktijkleren.ingress.leerbedrijf.100000001", "partition": 0, "offset": 7},
}


def create_topics(bootstrap: str, *names: str, partitions: int = 6) -> None:
    admin = KafkaAdminClient(**client_config(bootstrap))
    try:
        admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        admin.close()


def delete_topics(bootstrap: str, *names: str) -> None:
    admin = KafkaAdminClient(**client_config(bootstrap))
    try:
        admin.delete_topics(list(names))
    finally:
        admin.close()


def produce(
    bootstrap: str,
    topic: str,
    log: Iterable[builders.Event],
    rejections_topic: str | None = None,
    rejections: Sequence[dict[str, Any]] = (),
) -> int:
    producer = KafkaProducer(**client_config(bootstrap), acks="all")
    n = 0
    for event_type, record in log:
        producer.send(topic, key=events.key(event_type, record), value=codec.encode(event_type, record))
        n += 1
    for r in rejections:
        assert rejections_topic
        producer.send(rejections_topic, key=(r.get("deelnemer") or r["partner"]).encode(), value=json.dumps(r).encode())
    producer.flush()
    producer.close()
    return n


def snapshot(conn: Connection, schema: str, names: Sequence[str] = tuple(ALL)) -> dict[str, list[str]]:
    """Every row of every projection table (and the offsets, without their wall-clock stamp), sorted."""
    out: dict[str, list[str]] = {}
    for p in (ALL[n] for n in names):
        for table in p.tables:
            rows = conn.execute(text(store.sql(f"SELECT * FROM {{s}}.{table}", schema))).all()
            out[table] = sorted(repr(tuple(r)) for r in rows)
    offs = conn.execute(
        text(
            store.sql(
                "SELECT projection, topic, partition, next_offset, last_recorded_at FROM {s}.projection_offsets", schema
            )
        )
    ).all()
    out["projection_offsets"] = sorted(repr(tuple(r)) for r in offs)
    return out


class Setup:
    def __init__(self, kafka_bootstrap: str, database_url: str, unique: str) -> None:
        self.bootstrap = kafka_bootstrap
        self.events_topic = f"test.projector.{unique}.events"
        self.rejections_topic = f"test.projector.{unique}.rejections"
        self.schema = f"t_proj_{unique}"
        self.config = projector.RunnerConfig(
            kafka_bootstrap,
            database_url,
            self.schema,
            self.events_topic,
            self.rejections_topic,
            batch_size=7,
            poll_timeout_ms=200,
        )
        self.engine: Engine = make_engine(database_url)
        create_topics(kafka_bootstrap, self.events_topic, self.rejections_topic)

    def conn(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            # autocommit: a test's reads must not hold table locks that a replay's swap waits for
            yield conn.execution_options(praktijk_schema=self.schema, isolation_level="AUTOCOMMIT")

    def drop(self, *schemas: str) -> None:
        with self.engine.begin() as conn:
            for s in (self.schema, *schemas):
                store.drop_schema(conn, s)


@pytest.fixture()
def setup(kafka_bootstrap: str, database_url: str, unique: str) -> Iterator[Setup]:
    s = Setup(kafka_bootstrap, database_url, unique)
    produce(kafka_bootstrap, s.events_topic, hand_log(), s.rejections_topic, [REJECTION])
    yield s
    s.drop(*(replay.staging_schema(s.schema, name) for name in ALL))
    delete_topics(kafka_bootstrap, s.events_topic, s.rejections_topic)


@pytest.fixture()
def conn(setup: Setup) -> Iterator[Connection]:
    projector.project(setup.config, once=True)
    yield from setup.conn()


def rows_by_pilot(rows: list[dict[str, Any]], *fields: str) -> dict[str, tuple[Any, ...]]:
    return {r["pilot"]: tuple(r[f] for f in fields) for r in rows if any(r[f] for f in fields)}


def test_every_overzicht_at_two_peildata(conn: Connection) -> None:
    o = lambda naam, day, **kw: queries.overzicht(conn, naam, day, **kw)  # noqa: E731

    dpp1 = o("deelnemers-per-pilot", D1)
    assert len(dpp1) == 26 and [r["pilot"] for r in dpp1][:2] == ["drenthe", "flevoland"]
    assert list(dpp1[0]) == ["pilot", "pilot_naam", "tranche", "deelnemers"]
    assert rows_by_pilot(dpp1, "deelnemers") == {"rijnmond": (2,), "twente": (1,)}
    assert rows_by_pilot(o("deelnemers-per-pilot", D2), "deelnemers") == {"rijnmond": (2,), "twente": (2,)}

    g1 = o("geslacht-per-pilot", D1)
    assert list(g1[0]) == ["pilot", "pilot_naam", "man", "vrouw", "onbekend"]
    assert rows_by_pilot(g1, "man", "vrouw", "onbekend") == {"rijnmond": (1, 1, 0), "twente": (1, 0, 0)}
    assert rows_by_pilot(o("geslacht-per-pilot", D2), "man", "vrouw", "onbekend") == {
        "rijnmond": (1, 1, 0),
        "twente": (1, 0, 1),
    }

    assert o("leeftijdsgroepen", D1) == [
        {"leeftijdsgroep": "17 jaar en jonger", "deelnemers": 0},
        {"leeftijdsgroep": "18-22 jaar", "deelnemers": 1},
        {"leeftijdsgroep": "23-27 jaar", "deelnemers": 0},
        {"leeftijdsgroep": "28-54 jaar", "deelnemers": 1},
        {"leeftijdsgroep": "55 jaar en ouder", "deelnemers": 1},
    ]
    assert [r["deelnemers"] for r in o("leeftijdsgroepen", D2)] == [1, 1, 0, 1, 1]

    assert o("werkprocessen-per-verklaring", D1) == [
        {"aantal_werkprocessen": 1, "verklaringen": 1},
        {"aantal_werkprocessen": 2, "verklaringen": 1},
    ]
    assert o("werkprocessen-per-verklaring", D2) == [
        {"aantal_werkprocessen": 2, "verklaringen": 1},
        {"aantal_werkprocessen": 3, "verklaringen": 1},
    ]

    assert o("domeinen", D1) == [{"domein": "Zorg en welzijn", "verklaringen": 2}]
    assert o("domeinen", D2) == [
        {"domein": "Testdomein", "verklaringen": 1},
        {"domein": "Zorg en welzijn", "verklaringen": 2},
    ]

    lb1 = o("leerbedrijven-per-pilot", D1)
    assert list(lb1[0]) == ["pilot", "pilot_naam", "deelnemers", "leerbedrijven", "leerbedrijf_onbekend"]
    assert rows_by_pilot(lb1, "deelnemers", "leerbedrijven", "leerbedrijf_onbekend") == {
        "rijnmond": (2, 1, 1),
        "twente": (1, 1, 0),
    }
    assert rows_by_pilot(o("leerbedrijven-per-pilot", D2), "deelnemers", "leerbedrijven", "leerbedrijf_onbekend") == {
        "rijnmond": (2, 2, 0),
        "twente": (2, 2, 0),
    }

    vpp1 = o("verklaringen-per-pilot", D1)
    assert len(vpp1) == 26 and list(vpp1[0]) == ["pilot", "pilot_naam", "deelnemers_met_verklaring"]
    assert rows_by_pilot(vpp1, "deelnemers_met_verklaring") == {"rijnmond": (2,)}
    assert rows_by_pilot(o("verklaringen-per-pilot", D2), "deelnemers_met_verklaring") == {
        "rijnmond": (1,),
        "twente": (1,),
    }

    assert o("niveaus", D1) == [
        {"niveau": 1, "verklaringen": 2, "deelnemers_met_verklaring": 2},
        {"niveau": 2, "verklaringen": 0, "deelnemers_met_verklaring": 0},
        {"niveau": 3, "verklaringen": 0, "deelnemers_met_verklaring": 0},
        {"niveau": 4, "verklaringen": 0, "deelnemers_met_verklaring": 0},
    ]
    assert [(r["verklaringen"], r["deelnemers_met_verklaring"]) for r in o("niveaus", D2)] == [
        (1, 1),
        (0, 0),
        (2, 2),
        (0, 0),
    ]

    assert o("instellingen", D1) == [
        {"mbo_instelling": "Albeda", "deelnemers": 2},
        {"mbo_instelling": "ROC van Twente", "deelnemers": 1},
    ]
    assert o("instellingen", D2) == [
        {"mbo_instelling": "Albeda", "deelnemers": 2},
        {"mbo_instelling": "ROC van Twente", "deelnemers": 2},
    ]

    assert o("brancheorganisaties", D1) == [
        {"brancheorganisaties": "ActiZ", "eerste": 1, "tweede": 0, "derde": 0, "totaal": 1},
        {"brancheorganisaties": "Niet geregistreerd", "eerste": 1, "tweede": 0, "derde": 0, "totaal": 1},
    ]
    assert o("brancheorganisaties", D2) == [
        {"brancheorganisaties": "ActiZ", "eerste": 1, "tweede": 0, "derde": 0, "totaal": 1},
        {"brancheorganisaties": "ActiZ, SBB", "eerste": 0, "tweede": 1, "derde": 0, "totaal": 1},
        {"brancheorganisaties": "Niet geregistreerd", "eerste": 1, "tweede": 0, "derde": 0, "totaal": 1},
    ]

    naam = "Assistent dienstverlening en zorg"  # kwalificaties.csv wins over the dossier event's name
    assert o("kwalificaties", D1) == [
        {"kwalificatie": "25251", "naam": naam, "niveau": 1, "eerste": 2, "tweede": 0, "derde": 0, "totaal": 2}
    ]
    assert o("kwalificaties", D2) == [
        {"kwalificatie": "25251", "naam": naam, "niveau": 1, "eerste": 1, "tweede": 0, "derde": 0, "totaal": 1},
        {
            "kwalificatie": "25251,99001",
            "naam": f"{naam} / Testkwalificatie",
            "niveau": 3,
            "eerste": 0,
            "tweede": 1,
            "derde": 0,
            "totaal": 1,
        },
        {
            "kwalificatie": "99001",
            "naam": "Testkwalificatie",
            "niveau": 3,
            "eerste": 1,
            "tweede": 0,
            "derde": 0,
            "totaal": 1,
        },
    ]


def test_filters(conn: Connection) -> None:
    assert queries.overzicht(conn, "deelnemers-per-pilot", D2, pilot="twente") == [
        {"pilot": "twente", "pilot_naam": "Twente", "tranche": 1, "deelnemers": 2}
    ]
    assert queries.overzicht(conn, "deelnemers-per-pilot", D2, regio="Rijnmond") == [
        {"pilot": "rijnmond", "pilot_naam": "Rijnmond", "tranche": 1, "deelnemers": 2}
    ]
    assert [r["kwalificatie"] for r in queries.overzicht(conn, "kwalificaties", D2, instelling="mbo.albeda")] == [
        "25251",
        "25251,99001",
    ]
    assert queries.overzicht(conn, "instellingen", D2, instelling="mbo.roc-van-twente") == [
        {"mbo_instelling": "ROC van Twente", "deelnemers": 2}
    ]
    assert queries.overzicht(conn, "verklaringen-per-pilot", D2, regio="Twente") == [
        {"pilot": "twente", "pilot_naam": "Twente", "deelnemers_met_verklaring": 1}
    ]
    with pytest.raises(KeyError):
        queries.overzicht(conn, "bestaat-niet", D1)


def test_aantallen(conn: Connection) -> None:
    rows = queries.aantallen(conn, regio=None, pilot=None, gemeente=None, van=d(2020, 1, 1), tot=d(2020, 12, 31))
    by = {r["maand"]: r for r in rows}
    assert [r["maand"] for r in rows] == [f"2020-{m:02d}" for m in range(1, 13)]
    assert [by[m]["aangemeld"] for m in ("2020-01", "2020-02", "2020-03")] == [1, 1, 0]
    assert [r["ingeschreven"] for r in rows] == [0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0]
    assert by["2020-06"]["actief"] == 4 and by["2020-11"]["actief"] == 6 and by["2020-12"]["actief"] == 5
    assert [r["verklaringen"] for r in rows] == [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 2, 0]
    assert by["2020-12"]["beeindigd"] == {"afgerond": 1} and by["2020-12"]["uitstroom"] == {"betaald_werk": 1}
    assert by["2020-11"]["beeindigd"] == {} and by["2020-11"]["uitstroom"] == {}
    twente = queries.aantallen(conn, regio="Twente", pilot=None, gemeente=None, van=d(2020, 12, 1), tot=d(2020, 12, 31))
    assert twente == [
        {
            "maand": "2020-12",
            "aangemeld": 0,
            "ingeschreven": 0,
            "actief": 1,
            "verklaringen": 0,
            "beeindigd": {"afgerond": 1},
            "uitstroom": {"betaald_werk": 1},
        }
    ]
    gm = queries.aantallen(conn, regio=None, pilot=None, gemeente="GM0599", van=d(2020, 1, 1), tot=d(2020, 3, 31))
    assert [(r["aangemeld"], r["ingeschreven"], r["actief"]) for r in gm] == [(1, 0, 0), (0, 0, 0), (0, 1, 1)]


def test_a_trajects_history_is_read_by_index_not_by_scanning_the_event_log(conn: Connection) -> None:
    """``queries.traject`` finds its events by two index lookups (its traject_id, its verklaringen's ids): with the
    scan of the table forbidden, no plan of its statements reads event_log whole."""
    statements: list[tuple[str, Any]] = []
    listener = lambda *a: statements.append((a[2], a[3]))  # noqa: E731
    event.listen(conn, "before_cursor_execute", listener)
    try:
        assert queries.traject(conn, TB) is not None
    finally:
        event.remove(conn, "before_cursor_execute", listener)
    on_log = [(s, p) for s, p in statements if "event_log" in s]
    assert on_log
    conn.exec_driver_sql("SET enable_seqscan = off")
    try:
        for statement, params in on_log:
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
            assert "Seq Scan on event_log" not in plan, plan
    finally:
        conn.exec_driver_sql("RESET enable_seqscan")


def test_traject_tijdlijn_verificatie(conn: Connection) -> None:
    tb = queries.traject(conn, TB)
    assert tb is not None
    assert (tb["deelnemer"], tb["mbo_instelling"], tb["pilot"], tb["status"]) == (B, "mbo.albeda", "rijnmond", "open")
    assert tb["leerbedrijf_id"] == "100000002"
    assert [(w["crebo"], w["werkproces"], w["naam"]) for w in tb["afgetekende_werkprocessen"]] == [
        ("25251", "W2", "Helpt bij huishouden")
    ]  # W1 was retracted
    assert [(v["verklaring_id"], v["status"]) for v in tb["verklaringen"]] == [(VB1, "ingetrokken")]
    # the rejection (recorded 2020-06-12) sits between the sign-offs of 06-10 and 06-15, marked
    assert [(e["event_type"], e["afgewezen"]) for e in tb["events"]] == [
        ("DeelnemerIngeschreven", False),
        ("WerkprocesAfgetekend", False),
        ("WerkprocesAfgetekend", True),
        ("WerkprocesAfgetekend", False),
        ("AftekeningIngetrokken", False),
        ("PraktijkverklaringUitgegeven", False),
        ("LeerbedrijfVastgelegd", False),
        ("PraktijkverklaringIngetrokken", False),
    ]
    assert (tb["events"][2]["reden"], tb["events"][2]["melding"]) == ("werkproces_onbekend", REJECTION["melding"])
    assert tb["events"][4]["gegevens"] == {
        "crebo": "25251",
        "werkproces": "W1",
        "reden": "onterecht_afgetekend",
        "reden_label": "Onterecht afgetekend",
    }

    tc = queries.traject(conn, TC)
    assert tc is not None and (tc["status"], tc["reden"]) == ("beeindigd", "afgerond")
    assert queries.traject(conn, "99999999-0000-4000-8000-000000000000") is None

    ta = queries.tijdlijn(conn, A)
    assert ta is not None
    assert [e["event_type"] for e in ta] == [
        "KandidaatAangemeld",
        "AdviesUitgebracht",
        "DeelnemerIngeschreven",
        "WerkprocesAfgetekend",
        "WerkprocesAfgetekend",
        "PraktijkverklaringUitgegeven",
        "DeelnemerIngeschreven",
        "PraktijkverklaringUitgegeven",
    ]
    assert ta[0]["occurred_at"] == builders.moment(d(2020, 1, 15)) and ta[0]["partner"] == "gemeente.gm0599"
    assert ta[5]["gegevens"]["volgnummer"] == 1 and ta[5]["verklaring_id"] == VA1
    assert "SECRET" not in repr(ta) and "persoonsgegevens" not in repr(ta)
    tl_b = queries.tijdlijn(conn, B)
    assert tl_b is not None and sum(e["afgewezen"] for e in tl_b) == 1
    assert queries.tijdlijn(conn, pseudo("z")) is None

    v = queries.verificatie(conn, VB1)
    assert v is not None
    assert (v["status"], v["ingetrokken_op"], v["reden_intrekking"]) == (
        "ingetrokken",
        d(2020, 10, 1),
        "Administratieve fout bij de uitgifte",
    )
    assert v["mbo_instelling"] == "Albeda" and v["uitgegeven_op"] == d(2020, 6, 25)
    assert v["brancheorganisaties"] == []
    v2 = queries.verificatie(conn, VA2)
    assert v2 is not None and v2["status"] == "geldig" and v2["ingetrokken_op"] is None
    assert v2["kwalificatie"] == "25251,99001"
    assert [(k["crebo"], k["niveau"]) for k in v2["kwalificaties"]] == [("25251", 1), ("99001", 3)]
    assert v2["werkprocessen"] == [
        {"crebo": "25251", "werkproces": "W3", "naam": "Begeleidt activiteiten"},
        {"crebo": "99001", "werkproces": "W1", "naam": "Test een"},
    ]
    assert v2["leerbedrijf"] == {"leerbedrijf_id": "100000001", "naam": "Zorghuis De Linde"}
    assert v2["brancheorganisaties"] == ["ActiZ", "SBB"]
    assert A not in repr(v2) and TA2 not in repr(v2) and "deelnemer" not in repr(v2)
    assert queries.verificatie(conn, "99999999-0000-4000-8000-000000000000") is None

    assert queries.instelling_of_traject(conn, TA1) == "mbo.albeda"
    assert queries.instelling_of_traject(conn, "nope") is None
    # E was erased (DeelnemerGegevensVerwijderd): the read models no longer know its pseudonym
    assert queries.instellingen_of_deelnemer(conn, E) == set()
    assert queries.instellingen_of_deelnemer(conn, pseudo("z")) == set()


def test_projection_status(setup: Setup, conn: Connection) -> None:
    rows = queries.projection_status(conn)
    assert {r["projection"] for r in rows} == set(ALL)
    feiten = [r for r in rows if r["projection"] == "feiten"]
    assert sum(r["next_offset"] for r in feiten) == len(hand_log())
    assert {r["topic"] for r in feiten} == {setup.events_topic}
    assert max(r["last_recorded_at"] for r in feiten if r["last_recorded_at"]) == builders.moment(
        d(2021, 2, 1)
    ) + dt.timedelta(minutes=5)
    tijdlijn = [r for r in rows if r["projection"] == "tijdlijn" and r["topic"] == setup.rejections_topic]
    assert sum(r["next_offset"] for r in tijdlijn) == 1


def test_no_personal_data_stored(setup: Setup, conn: Connection) -> None:
    dump = json.dumps(snapshot(conn, setup.schema))
    assert "SECRET" not in dump and "persoonsgegevens" not in dump


def test_reapplying_events_changes_nothing(setup: Setup, conn: Connection) -> None:
    before = snapshot(conn, setup.schema)
    expected = {n: queries.overzicht(conn, n, D2) for n in queries.OVERZICHTEN}
    # the erased E keeps only its verklaringen (status list) and the erasure itself in event_log
    bewaard = [
        e
        for e in hand_log()
        if e[1].get("deelnemer") != E or e[0] in ("PraktijkverklaringUitgegeven", "DeelnemerGegevensVerwijderd")
    ]
    assert len(before["verklaringen"]) == 4 and len(before["event_log"]) == len(bewaard)
    with setup.engine.begin() as c:  # forget the offsets: every event is applied a second time
        c.execute(text(store.sql("DELETE FROM {s}.projection_offsets", setup.schema)))
    stats = projector.project(setup.config, once=True)
    assert sum(s.consumed for s in stats) == 3 * len(hand_log()) + 1
    assert snapshot(conn, setup.schema) == before
    # the same events appended to the log again (a duplicate publication): same read models
    produce(setup.bootstrap, setup.events_topic, hand_log())
    projector.project(setup.config, once=True)
    after = snapshot(conn, setup.schema)
    assert after["projection_offsets"] != before["projection_offsets"]  # it did consume the duplicates
    assert {k: v for k, v in after.items() if k != "projection_offsets"} == {
        k: v for k, v in before.items() if k != "projection_offsets"
    }
    assert {n: queries.overzicht(conn, n, D2) for n in queries.OVERZICHTEN} == expected


def _record_sleutels(conn: Connection, schema: str) -> dict[str, int]:
    return dict(conn.execute(text(store.sql("SELECT deelnemer, sleutel FROM {s}.record_sleutels", schema))).all())


def test_a_read_model_older_than_the_record_keys_gets_them_when_a_projector_starts(
    setup: Setup, conn: Connection
) -> None:
    with setup.engine.begin() as c:  # as a read model projected before the record keys existed
        c.execute(text(store.sql("DELETE FROM {s}.record_sleutels", setup.schema)))
    projector.project(setup.config, ["feiten"], once=True)
    gezien = conn.execute(
        text(
            store.sql(
                "SELECT deelnemer FROM {s}.aanmeldingen UNION SELECT deelnemer FROM {s}.inschrijvingen "
                "UNION SELECT deelnemer FROM {s}.telling_deelnemers",
                setup.schema,
            )
        )
    ).scalars()
    sleutels = _record_sleutels(conn, setup.schema)
    assert set(sleutels) == set(gezien) and len(set(sleutels.values())) > 1
    projector.project(setup.config, ["feiten"], once=True)  # a no-op once filled
    assert _record_sleutels(conn, setup.schema) == sleutels


def test_a_run_of_record_keys_is_one_statement_and_keeps_the_keys_there_are(setup: Setup, conn: Connection) -> None:
    """A batch's record-key inserts go as one statement (``Change.samen``): a deelnemer new to the read model gets
    one key drawn at random, one listed twice gets one, and one that has a key keeps it."""
    er = _record_sleutels(conn, setup.schema)
    nieuw = [f"{i:064x}" for i in range(40)]
    changes = [feiten.record_sleutel(d) for d in nieuw + nieuw[:5] + sorted(er)[:2]]
    statements: list[tuple[str, bool]] = []  # (statement, executemany)
    with setup.engine.begin() as c:
        event.listen(c, "before_cursor_execute", lambda *a: statements.append((a[2], a[5])))
        assert store.execute(c, setup.schema, changes) == len(changes)
    assert [many for s, many in statements if "record_sleutels" in s] == [False]  # one statement, not one a row
    na = _record_sleutels(conn, setup.schema)
    assert set(na) == set(er) | set(nieuw) and {d: na[d] for d in er} == er
    assert all(0 <= na[d] <= 255 for d in nieuw) and len({na[d] for d in nieuw}) > 1  # drawn, not one value


def test_offsets_of_every_partition_go_in_one_statement_and_keep_the_last_recorded_at(
    setup: Setup, conn: Connection
) -> None:
    """``save_offsets``: a batch's offsets of all its partitions in one statement (not a round trip a partition);
    a partition without a recorded_at in this batch keeps the one it had."""
    at = dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    statements: list[tuple[str, bool]] = []
    with setup.engine.begin() as c:
        event.listen(c, "before_cursor_execute", lambda *a: statements.append((a[2], a[5])))
        store.save_offsets(c, setup.schema, "proef", {("t", p): (10 + p, at) for p in range(6)})
        store.save_offsets(c, setup.schema, "proef", {("t", 0): (20, None), ("t", 4): (30, at + dt.timedelta(1))})
    assert [many for s, many in statements if "projection_offsets" in s] == [False, False]
    rows = conn.execute(
        text(
            store.sql(
                "SELECT partition, next_offset, last_recorded_at FROM {s}.projection_offsets "
                "WHERE projection = 'proef' ORDER BY partition",
                setup.schema,
            )
        )
    ).all()
    expected = [(p, 10 + p, at) for p in range(6)]
    expected[0], expected[4] = (0, 20, at), (4, 30, at + dt.timedelta(1))
    assert [tuple(r) for r in rows] == expected
    assert store.load_offsets(conn, setup.schema, "proef", only=[("t", 0), ("t", 4)]) == {("t", 0): 20, ("t", 4): 30}


def test_replay_equals_live_and_swaps_in_one_go(setup: Setup, conn: Connection) -> None:
    live = snapshot(conn, setup.schema)
    sleutels = _record_sleutels(conn, setup.schema)
    assert sleutels and all(0 <= k <= 255 for k in sleutels.values())
    expected = {n: queries.overzicht(conn, n, D2) for n in queries.OVERZICHTEN}
    with setup.engine.begin() as c:  # damage the live read model: the replay must restore it
        c.execute(text(store.sql("DELETE FROM {s}.verklaringen", setup.schema)))
    assert queries.overzicht(conn, "kwalificaties", D2) == []
    stats = replay.replay(setup.config, ["all"], progress=False)
    assert [s.projection for s in stats] == ["referentie", "feiten", "tijdlijn"]
    assert snapshot(conn, setup.schema) == live
    assert {n: queries.overzicht(conn, n, D2) for n in queries.OVERZICHTEN} == expected
    # the record keys of the cell key method were drawn at random: the replay keeps the live ones
    assert _record_sleutels(conn, setup.schema) == sleutels
    # the staging schemas are gone
    left = conn.execute(
        text("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE :p"),
        {"p": setup.schema + "_replay_%"},
    ).scalar_one()
    assert left == 0
    # the swapped-in tables have their statistics and autovacuum, which the load went without
    tabellen = conn.execute(
        text(
            "SELECT c.relname, c.reloptions, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind = 'r' AND c.relname <> 'projection_offsets'"
        ),
        {"s": setup.schema},
    ).all()
    assert {t.relname for t in tabellen} >= {"verklaringen", "aftekeningen", "event_log"}
    assert [(t.relname, t.reloptions) for t in tabellen if t.reloptions] == []
    behouden = {name for p in projector.projections_of(["all"]) for name in p.behouden}  # kept, not swapped
    assert [t.relname for t in tabellen if t.reltuples < 0 and t.relname not in behouden] == []  # -1: never analysed
    # and the live runner continues on the swapped-in tables
    produce(
        setup.bootstrap,
        setup.events_topic,
        [
            builders.Bouwer("extra").inschrijving(
                pseudo("g"),
                "00000000-0000-4000-8000-0000000000aa",
                "twente",
                "mbo.roc-van-twente",
                "25251",
                d(2020, 3, 1),
            )
        ],
    )
    projector.project(setup.config, ["feiten"], once=True)
    assert rows_by_pilot(queries.overzicht(conn, "deelnemers-per-pilot", D2), "deelnemers") == {
        "rijnmond": (2,),
        "twente": (3,),
    }
    nu = _record_sleutels(conn, setup.schema)  # a deelnemer seen for the first time gets a key; the others keep theirs
    assert set(nu) == set(sleutels) | {pseudo("g")} and {k: nu[k] for k in sleutels} == sleutels


def test_tables_a_replay_loads_go_without_autovacuum_until_they_are_whole(setup: Setup, unique: str) -> None:
    schema = f"t_laden_{unique}"
    ps = projector.projections_of(["all"])
    opties = (
        "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relname = ANY(:t)"
    )
    namen = [name for p in ps for name in {**p.tables, **p.behouden}]
    try:
        with setup.engine.begin() as c:
            store.ensure(c, schema, ps, rebuild=True)
            bij_laden = {r.relname: r.reloptions for r in c.execute(text(opties), {"s": schema, "t": namen})}
        assert sorted(bij_laden) == sorted(namen)
        assert {t: o for t, o in bij_laden.items() if o != ["autovacuum_enabled=false"]} == {}
        store.afronden(setup.engine, [(schema, p) for p in ps])
        with setup.engine.connect() as c:
            assert {t: o for t, o in c.execute(text(opties), {"s": schema, "t": namen}) if o} == {}
    finally:
        with setup.engine.begin() as c:
            store.drop_schema(c, schema)


def test_runner_reseeks_when_stored_offsets_move_under_it(setup: Setup) -> None:
    """Another runner or a replay swap moved the offsets: the batch rolls back and the runner seeks to them."""
    [worker] = projector.make_workers(setup.config, ["feiten"])
    worker.start()
    try:
        projector.run([worker], once=True)
        with setup.engine.connect() as c:
            before = snapshot(c, setup.schema, ["feiten"])
        with setup.engine.begin() as c:  # as if a replay had reset feiten to the start of the log
            c.execute(text(store.sql("DELETE FROM {s}.projection_offsets WHERE projection = 'feiten'", setup.schema)))
        extra = builders.Bouwer("reseek").inschrijving(
            pseudo("h"), "00000000-0000-4000-8000-0000000000bb", "zwolle", "mbo.landstede", "25251", d(2020, 4, 1)
        )
        produce(setup.bootstrap, setup.events_topic, [extra])
        projector.run([worker], once=True)
        assert worker.stats.reseeks == 1
        assert worker.stats.consumed == 2 * len(hand_log()) + 1  # everything again after the reseek, plus the new one
        with setup.engine.connect() as c:
            after = snapshot(c, setup.schema, ["feiten"])
        assert len(after["inschrijvingen"]) == len(before["inschrijvingen"]) + 1
        assert after["verklaringen"] == before["verklaringen"] and after["aftekeningen"] == before["aftekeningen"]
    finally:
        worker.close()


def test_two_runners_on_disjoint_partitions_build_the_same_read_model(setup: Setup, unique: str) -> None:
    """Scale-out: one runner per partition subset, concurrently, into one schema == one runner for all."""
    import threading
    from dataclasses import replace

    halves = [replace(setup.config, partitions=(0, 1, 2)), replace(setup.config, partitions=(3, 4, 5))]
    workers = [w for cfg in halves for w in projector.make_workers(cfg, ["all"])]
    for w in workers:
        w.start()
    assert {len(w.assigned) for w in workers if w.projection.name != "tijdlijn"} == {3}
    try:
        threads = [threading.Thread(target=projector.run, args=([w],), kwargs={"once": True}) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for w in workers:
            w.close()
    single = f"t_single_{unique}"
    try:
        projector.project(replace(setup.config, schema=single), once=True)
        with setup.engine.connect() as c:
            a, b = snapshot(c, setup.schema), snapshot(c, single)
        assert len(a["inschrijvingen"]) == 7 and a == b
    finally:
        setup.drop(single)


def test_database_error_rolls_back_the_batch_and_the_runner_recovers(setup: Setup, unique: str) -> None:
    """A batch that fails in PostgreSQL (here: a table dropped under the runner) changes nothing; the runner
    backs off, seeks to its stored offsets and, once the database is fine again, finishes with the same rows."""
    import threading

    [worker] = projector.make_workers(setup.config, ["feiten"])
    worker.start()  # creates the tables
    with setup.engine.begin() as c:
        c.execute(text(store.sql("DROP TABLE {s}.beeindigingen", setup.schema)))
    errors: list[BaseException] = []

    def go() -> None:
        try:
            projector.run([worker], once=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=go)
    thread.start()
    try:
        deadline = dt.datetime.now() + dt.timedelta(seconds=60)
        while worker.stats.retries == 0 and dt.datetime.now() < deadline:
            thread.join(timeout=0.05)
        assert worker.stats.retries > 0, "the dropped table never caused a failed batch"
        with setup.engine.begin() as c:  # the database is fine again
            store.ensure(c, setup.schema, [ALL["feiten"]])
        thread.join(timeout=120)
        assert not thread.is_alive() and not errors
    finally:
        worker.close()
    single = f"t_ok_{unique}"
    try:
        projector.project(replace_schema(setup.config, single), ["feiten"], once=True)
        with setup.engine.connect() as c:
            assert snapshot(c, setup.schema, ["feiten"]) == snapshot(c, single, ["feiten"])
    finally:
        setup.drop(single)


def replace_schema(config: projector.RunnerConfig, schema: str) -> projector.RunnerConfig:
    from dataclasses import replace

    return replace(config, schema=schema)
