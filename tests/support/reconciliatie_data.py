"""Test data for the reconciliation: canonical-log event dicts, applying them with the real projections,
a Python reference of the whole reconciliation, a random scenario, and a bulk generator for timing."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from projections import feiten, store, tijdlijn
from projections.model import Message
from registry.domein import referentie
from registry.domein.reconciliatie import BronResultaat, PilotRij, classify, telt_mee
from registry.domein.telregels import AMSTERDAM

Event = tuple[str, dict[str, Any]]
UTC = dt.UTC
PROJECTIONS = (feiten.PROJECTION, tijdlijn.PROJECTION)


def pseudo(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@dataclass
class Log:
    """Canonical-log events as the validator appends them; each event one minute after the previous."""

    seed: str = "recon"
    events: list[Event] = field(default_factory=list)

    def _env(self, event_type: str, partner: str, on: dt.date, **fields: Any) -> dict[str, Any]:
        n = len(self.events) + 1
        at = dt.datetime.combine(on, dt.time(9), AMSTERDAM).astimezone(UTC) + dt.timedelta(minutes=n)
        record = {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.seed}/{n}")),
            "occurred_at": at,
            "partner": partner,
            **fields,
            "recorded_at": at + dt.timedelta(minutes=5),
            "warnings": [],
        }
        self.events.append((event_type, record))
        return record

    def inschrijving(
        self, deelnemer: str, pilot: str, startdatum: dt.date, leeftijd: int = 30, on: dt.date | None = None
    ) -> dict[str, Any]:
        return self._env(
            "DeelnemerIngeschreven",
            "mbo.albeda",
            on or startdatum,
            deelnemer=deelnemer,
            traject_id=str(uuid.uuid4()),
            mbo_instelling="mbo.albeda",
            crebo="25251",
            leertraject="OVO",
            pilot=pilot,
            startdatum=startdatum,
            leerbedrijf_id=None,
            geslacht="vrouw",
            leeftijd=leeftijd,
            gemeente=None,
            pok_datum=None,
            persoonsgegevens=b"\x01sealed",
        )

    def aanmelding(self, deelnemer: str, pilot: str, on: dt.date) -> dict[str, Any]:
        return self._env(
            "KandidaatAangemeld",
            "gemeente.gm0014",
            on,
            deelnemer=deelnemer,
            pilot=pilot,
            aanmelder_type="gemeente",
            doelgroep="a",
            gemeente="GM0014",
            werkend=False,
            persoonsgegevens=b"\x01sealed",
        )

    def advies(self, deelnemer: str, on: dt.date) -> dict[str, Any]:
        return self._env(
            "AdviesUitgebracht",
            "mbo.albeda",
            on,
            deelnemer=deelnemer,
            mbo_instelling="mbo.albeda",
            advies="praktijkverklaring",
            duo_check="niet_uitgevoerd",
            startkwalificatie_verouderd=False,
        )

    def telling(
        self,
        partner: str,
        bron_type: str,
        pilot: str,
        peildatum: dt.date,
        aantal: int,
        deelnemers: Sequence[tuple[str, str]] | None = None,
        on: dt.date | None = None,
    ) -> dict[str, Any]:
        lijst = None if deelnemers is None else [{"deelnemer": d, "status": s} for d, s in deelnemers]
        return self._env(
            "TellingGemeld",
            partner,
            on or peildatum,
            bron_type=bron_type,
            pilot=pilot,
            peildatum=peildatum,
            aantal_deelnemers=aantal,
            aantal_verklaringen=None,
            deelnemers=lijst,
        )


def apply(conn: Connection, schema: str, events: Iterable[Event]) -> None:
    """Create the feiten + tijdlijn tables and apply the events with the real projections (offset = position)."""
    store.ensure(conn, schema, PROJECTIONS)
    for offset, (event_type, record) in enumerate(events):
        msg = Message("events", 0, offset, event_type, record)
        store.execute(conn, schema, [c for p in PROJECTIONS for c in p.apply(msg)])


# --- reference: the whole reconciliation in Python ------------------------------------------------------------------


def reference(
    events: Sequence[Event], peildatum: dt.date, venster_dagen: int = 31, pilot: str | None = None
) -> list[PilotRij]:
    """The rows the SQL must return, computed record by record with the pure classifier."""
    ins = [r for t, r in events if t == "DeelnemerIngeschreven"]
    eerste: dict[str, dict[str, Any]] = {}
    for r in sorted(ins, key=lambda r: (r["startdatum"], r["occurred_at"], r["event_id"])):
        eerste.setdefault(r["deelnemer"], r)
    reg = {d: r for d, r in eerste.items() if r["startdatum"] <= peildatum}
    bekend = {r["deelnemer"] for t, r in events if t in ("KandidaatAangemeld", "AdviesUitgebracht")}
    aangemeld = frozenset(bekend - set(eerste))
    gekozen: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for offset, (t, r) in enumerate(events):
        if t != "TellingGemeld" or not telt_mee(r["peildatum"], peildatum, venster_dagen):
            continue
        k = (r["pilot"], r["partner"])
        if k not in gekozen or (r["peildatum"], r["recorded_at"], offset) > (
            gekozen[k][1]["peildatum"],
            gekozen[k][1]["recorded_at"],
            gekozen[k][0],
        ):
            gekozen[k] = (offset, r)
    pilots = {r["pilot"] for r in reg.values()} | {p for p, _ in gekozen}
    order = {p.pilot_id: p.nr for p in referentie.pilots().values()}
    out = []
    for p in sorted((x for x in pilots if pilot is None or x == pilot), key=lambda x: (order.get(x, 10**6), x)):
        register = {d: r["leeftijd"] for d, r in reg.items() if r["pilot"] == p}
        andere = frozenset(d for d, r in reg.items() if r["pilot"] != p)
        later = frozenset(r["deelnemer"] for r in ins if r["pilot"] == p and r["startdatum"] > peildatum)
        bronnen: list[BronResultaat] = []
        for (bp, partner), (_, tel) in sorted(gekozen.items()):
            if bp != p:
                continue
            lijst = tel["deelnemers"]
            entries = None if lijst is None else [(e["deelnemer"], e["status"]) for e in lijst]
            bronnen.append(
                classify(
                    register,
                    entries,
                    andere,
                    later,
                    aangemeld,
                    aantal=tel["aantal_deelnemers"],
                    partner=partner,
                    bron_type=tel["bron_type"],
                    event_id=tel["event_id"],
                    peildatum=tel["peildatum"],
                )
            )
        out.append(PilotRij(p, peildatum, len(register), tuple(bronnen)))
    return out


# --- random scenario ------------------------------------------------------------------------------------------------

RANDOM_PILOTS = ("drenthe", "groningen", "twente", "zwolle", "rijnmond")
PARTNERS = (
    ("gemeente.gm0014", "gemeente"),
    ("uwv", "uwv"),
    ("mbo.albeda", "mbo"),
    ("mbo.noorderpoort", "mbo"),
    ("monitor", "monitor"),
)
STATUSES = ("aangemeld", "in_traject", "afgerond", "gestopt")


def random_log(seed: int, peildatum: dt.date, people: int = 300) -> list[Event]:
    """Inschrijvingen (0-2 per person, some late-registered, some after D), aanmeldingen, adviezen, and several
    tellingen per partner and pilot (with and without list, with duplicates, inside and outside the window)."""
    rnd = random.Random(seed)
    log = Log(f"random-{seed}")
    persons = [pseudo(f"{seed}/{i}") for i in range(people)]

    def day(spread: int) -> dt.date:
        return peildatum + dt.timedelta(days=rnd.randint(-spread, spread))

    for d in persons:
        k = rnd.choices((0, 1, 2), (3, 5, 2))[0]
        for _ in range(k):
            start = day(200)
            log.inschrijving(
                d,
                rnd.choice(RANDOM_PILOTS),
                start,
                rnd.randint(16, 40),
                on=start + dt.timedelta(days=rnd.choice((0, 0, 40))),
            )
        if rnd.random() < 0.5:
            log.aanmelding(d, rnd.choice(RANDOM_PILOTS), day(200))
        if rnd.random() < 0.2:
            log.advies(d, day(200))
    for pilot in RANDOM_PILOTS:
        for partner, bron_type in PARTNERS:
            for _ in range(rnd.randint(0, 3)):
                entries: list[tuple[str, str]] | None = None
                if rnd.random() < 0.7:
                    entries = [(rnd.choice(persons), rnd.choice(STATUSES)) for _ in range(rnd.randint(0, 60))]
                log.telling(
                    partner,
                    bron_type,
                    pilot,
                    day(45),
                    rnd.randint(0, 80),
                    entries,
                    on=peildatum + dt.timedelta(days=rnd.randint(0, 60)),
                )
    events = log.events
    rnd.shuffle(events)  # log order is not business order
    return events


# --- bulk data for timing -------------------------------------------------------------------------------------------


def bulk(conn: Connection, schema: str, n: int = 100_000, peildatum: dt.date = dt.date(2020, 11, 30)) -> None:
    """``n`` deelnemers over the 26 pilots straight into the read-model tables (set-based, seconds): one
    inschrijving each (11% a second in another pilot, 1 in 7 of those earlier), aanmeldingen for everyone plus
    5% not enrolled, and per pilot a monitor list (registered + extras + duplicates), an mbo list and a
    gemeente total. Lists are also written to ``event_log`` as the tijdlijn projection would."""
    store.ensure(conn, schema, PROJECTIONS)
    pilots = sorted(referentie.pilots())

    def q(statement: str) -> None:
        conn.execute(text(store.sql(statement, schema)), {"pilots": pilots, "n": n, "d": peildatum})

    q("""INSERT INTO {s}.inschrijvingen (event_id, deelnemer, traject_id, pilot, mbo_instelling, crebo, leertraject,
            startdatum, geslacht, leeftijd, partner, occurred_at, occurred_on)
        SELECT 'i' || g, md5('p' || g) || md5('q' || g), 't' || g, (CAST(:pilots AS text[]))[1 + g % 26], 'mbo.albeda',
               '25251', 'OVO', CAST(:d AS date) - 500 + (g % 530), 'vrouw', 16 + g % 40, 'mbo.albeda',
               now(), CAST(now() AS date)
        FROM generate_series(1, :n) g""")
    q("""INSERT INTO {s}.inschrijvingen (event_id, deelnemer, traject_id, pilot, mbo_instelling, crebo, leertraject,
            startdatum, geslacht, leeftijd, partner, occurred_at, occurred_on)
        SELECT 'j' || g, md5('p' || g) || md5('q' || g), 'u' || g, (CAST(:pilots AS text[]))[1 + (g + 7) % 26],
               'mbo.albeda', '25251', 'OVO',
               CAST(:d AS date) - 500 + (g % 530) + CASE WHEN g % 7 = 0 THEN -30 ELSE 60 END,
               'vrouw', 16 + g % 40, 'mbo.albeda', now(), CAST(now() AS date)
        FROM generate_series(1, :n, 9) g""")  # odd steps reach every pilot (g % 26)
    q("""INSERT INTO {s}.aanmeldingen (event_id, deelnemer, pilot, partner, occurred_at, occurred_on)
        SELECT 'a' || g, md5('p' || g) || md5('q' || g), (CAST(:pilots AS text[]))[1 + g % 26], 'gemeente.gm0014',
               now(), CAST(now() AS date)
        FROM generate_series(1, :n + :n / 20) g""")
    # list entries: each pilot's persons (1 in 20 left out), 2% extra unknowns, 1% duplicates
    q("""CREATE TEMP TABLE lijst ON COMMIT DROP AS
        SELECT 'monitor-' || p AS event_id, p AS pilot, deelnemer, 'in_traject' AS status, pos
        FROM (SELECT (CAST(:pilots AS text[]))[1 + g % 26] AS p, md5('p' || g) || md5('q' || g) AS deelnemer, g AS pos
              FROM generate_series(1, :n + :n / 20) g WHERE g % 20 <> 3
              UNION ALL SELECT (CAST(:pilots AS text[]))[1 + g % 26], md5('x' || g) || md5('y' || g), :n * 2 + g
              FROM generate_series(1, :n / 50) g
              UNION ALL SELECT (CAST(:pilots AS text[]))[1 + g % 26], md5('p' || g) || md5('q' || g), :n * 3 + g
              FROM generate_series(1, :n, 97) g) x""")
    q("""INSERT INTO lijst SELECT 'mbo-' || pilot, pilot, deelnemer, 'in_traject', pos FROM lijst WHERE pos % 3 = 0""")
    q("""INSERT INTO {s}.tellingen (event_id, partner, bron_type, pilot, peildatum, aantal_deelnemers, occurred_at,
            occurred_on)
        SELECT 'monitor-' || p, 'monitor', 'monitor', p, :d, 0, now(), CAST(now() AS date)
        FROM unnest(CAST(:pilots AS text[])) p
        UNION ALL SELECT 'mbo-' || p, 'mbo.albeda', 'mbo', p, CAST(:d AS date) - 3, 0, now(), CAST(now() AS date)
        FROM unnest(CAST(:pilots AS text[])) p
        UNION ALL SELECT 'gemeente-' || p, 'gemeente.gm0014', 'gemeente', p, CAST(:d AS date) + 5, 4000, now(),
               CAST(now() AS date) FROM unnest(CAST(:pilots AS text[])) p""")
    q("""INSERT INTO {s}.telling_deelnemers (event_id, deelnemer, status)
        SELECT DISTINCT ON (event_id, deelnemer) event_id, deelnemer, status FROM lijst
        ORDER BY event_id, deelnemer, pos""")
    q("""INSERT INTO {s}.event_log (event_id, log_partition, log_offset, event_type, partner, occurred_at, recorded_at,
            warnings, gegevens)
        SELECT t.event_id, 0, row_number() OVER (ORDER BY t.event_id), 'TellingGemeld', t.partner, now(), now(),
               '{}', jsonb_build_object('pilot', t.pilot, 'deelnemers', (
                   SELECT jsonb_agg(jsonb_build_object('deelnemer', l.deelnemer, 'status', l.status) ORDER BY l.pos)
                   FROM lijst l WHERE l.event_id = t.event_id))
        FROM {s}.tellingen t""")
    conn.execute(
        text(
            store.sql(
                "ANALYZE {s}.inschrijvingen; ANALYZE {s}.telling_deelnemers; "
                "ANALYZE {s}.tellingen; ANALYZE {s}.aanmeldingen; ANALYZE {s}.event_log",
                schema,
            )
        )
    )
