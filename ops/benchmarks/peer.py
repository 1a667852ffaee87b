"""Step peer: the same workload through the ``eventsourcing`` library (pyeventsourcing: an
Application over PostgreSQL persistence, its ProjectionRunner with tracking records) and through this registry end
to end (publish -> validator -> projector), events/s side by side.

The workload: per deelnemer an aanmelding, an inschrijving, 5 sign-offs and a verklaring (8 events on each side:
the registry takes an inschrijving only after an aanmelding, registry/domein/relaties.py); the projection counts
deelnemers and verklaringen per pilot. Both sides run their projection in a process of its own, start up and
process one warm-up deelnemer before the clock starts, and stop the clock when the projection has processed the
last event (polled every 50 ms on both sides, each with one small query: the peer's tracking position, the
registry's count of verklaringen); the counts per pilot are checked afterwards.

The peer is a bench-only dependency: ``pip install -e '.[bench]'`` (ops/bench installs it).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application  # noqa: I001 - the bench-only extra, after the product's imports
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier
from sqlalchemy import text
from sqlalchemy.engine import make_url

from benchmarks import ROOT
from benchmarks.meting import must
from benchmarks.servers import log_file, start_pipeline, stop
from benchmarks.werklast import fresh_prefix, reference
from producers.publisher import Publisher
from registry.demo import bouwer
from registry.domein import referentie
from registry.infra.db import engine
from tests.support import builders
from tests.support.builders import MBO, Event
from tests.support.validator import met_aanmeldingen

# builders' dossier 25250 has four werkprocessen (B1-K1-W1..W4): the bench's own has five, for 5 sign-offs
WERKPROCESSEN = [f"B1-K1-W{i}" for i in range(1, 6)]
PILOTS = sorted(referentie.pilots())[:4]
PER_DEELNEMER = 3 + len(WERKPROCESSEN)  # aanmelding, inschrijving, sign-offs, verklaring
POLL_S = 0.05
WARM = 10**9  # the number of the warm-up deelnemer


def deelnemers(n: int, start: int = 0) -> list[tuple[str, str]]:
    """(pseudonym, pilot) of deelnemers ``start`` .. ``start + n``: the same people on both sides."""
    return [(f"{i:064x}", PILOTS[i % len(PILOTS)]) for i in range(start, start + n)]


def verwacht(mensen: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """What the projection must show per pilot: (deelnemers, verklaringen); every deelnemer gets a verklaring."""
    per_pilot = collections.Counter(pilot for _, pilot in mensen)
    return {pilot: (k, k) for pilot, k in per_pilot.items()}


# ---- the registry: publish -> validator -> projector ------------------------------------------------------------
def referentie5() -> list[Event]:
    """builders' reference data (dossier, erkend leerbedrijf, MBO's erkenning) with a dossier of five werkprocessen."""
    dossier = bouwer.dossier(
        "25250", "Assistent bouwen", 1, "Bouw", [("B1-K1", "k", [(w, "w") for w in WERKPROCESSEN])]
    )
    first = builders.canoniek(
        "KwalificatiedossierVastgesteld", dossier, event_id=str(uuid.uuid4()), occurred_at=builders.T0, partner="sbb"
    )
    return [first] + [e for e in reference() if e[0] != "KwalificatiedossierVastgesteld"]


def werkstroom(mensen: list[tuple[str, str]]) -> list[Event]:
    """Per deelnemer: inschrijving, a sign-off per werkproces and a verklaring (builders' MBO, crebo 25250, LB)."""
    out: list[Event] = []
    for i, (p, pilot) in enumerate(mensen):
        traject = str(uuid.uuid4())
        out.append(
            (
                "DeelnemerIngeschreven",
                builders.inschrijving(
                    deelnemer=p, traject_id=traject, pilot=pilot, geslacht="man", leeftijd=20 + i % 40
                ),
            )
        )
        out += [("WerkprocesAfgetekend", builders.afteken(w, deelnemer=p, traject_id=traject)) for w in WERKPROCESSEN]
        out.append(
            (
                "PraktijkverklaringUitgegeven",
                builders.verklaring(WERKPROCESSEN, deelnemer=p, traject_id=traject, verklaring_id=str(uuid.uuid4())),
            )
        )
    return out


def wait_until(done: Callable[[], bool], alive: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        must(alive(), f"{what}: a component stopped")
        must(time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s")
        time.sleep(POLL_S)


def registry_run(bootstrap: str, database_url: str, mensen: list[tuple[str, str]]) -> float:
    """Registry ev/s: publish (Publisher) -> validator -> projector (``feiten``), each in its own process. Timed from
    the first publish until the read models hold every event; start-up, group joins, the reference data and one
    warm-up deelnemer are not timed."""
    pijp = start_pipeline(bootstrap, database_url, referentie5(), "bench-peer-registry.log", ["feiten"])
    prefix, schema, procs, log = pijp.prefix, pijp.schema, pijp.procs, pijp.log
    eng = engine(database_url)
    counts, verklaard = SQL_COUNTS.format(s=schema), SQL_VERKLAARD.format(s=schema)

    def seen() -> tuple[int, int, int]:
        try:
            with eng.connect() as c:
                row = c.execute(text(counts)).one()
            return int(row[0]), int(row[1]), int(row[2])
        except Exception:  # noqa: BLE001 - the tables appear when the projector has started
            return 0, 0, 0

    def verklaringen() -> int:
        with eng.connect() as c:
            return int(c.execute(text(verklaard)).scalar_one())

    def alive() -> bool:
        return all(p.poll() is None for p in procs)

    try:
        with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub:
            warm = deelnemers(1, WARM)
            # an inschrijving needs its aanmelding (registry/domein/relaties.py), else it waits parked for ever
            pub.publish_batch(met_aanmeldingen(werkstroom(warm)))
            wait_until(lambda: seen() == (1, len(WERKPROCESSEN), 1), alive, 180, f"registry warm-up (see {log.name})")
            items = met_aanmeldingen(werkstroom(mensen))
            must(len(items) == len(mensen) * PER_DEELNEMER, f"registry: {len(items)} events, not the peer's count")
            n = len(mensen) + 1
            start = time.perf_counter()
            pub.publish_batch(items)
            # the clock stops at the last verklaring: each deelnemer's comes after its inschrijving and sign-offs in
            # its own partition, which the projector applies in order. One count of the smallest table, as the
            # peer's poll is one index lookup: counting all three tables every 50 ms took a share of PostgreSQL's
            # CPU from the pipeline being timed. All three are checked once the clock has stopped.
            wait_until(
                lambda: verklaringen() >= n,
                alive,
                600,
                f"registry: every verklaring in the read model (see {log.name})",
            )
            seconds = time.perf_counter() - start
            must(seen() == (n, n * len(WERKPROCESSEN), n), f"registry: read models {seen()} at the last verklaring")
        with eng.connect() as c:
            rows = c.execute(text(SQL_PER_PILOT.format(s=schema))).all()
        got = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
        must(got == verwacht(warm + mensen), f"registry per pilot {got} != {verwacht(warm + mensen)}")
        return len(items) / seconds
    finally:
        for p in procs:
            stop(p)
        with eng.begin() as c:
            for s in (schema, f"{prefix}_validator"):
                c.execute(text(f'DROP SCHEMA IF EXISTS "{s}" CASCADE'))
        eng.dispose()


SQL_COUNTS = (
    "SELECT (SELECT count(*) FROM {s}.inschrijvingen), (SELECT count(*) FROM {s}.aftekeningen), "
    "(SELECT count(*) FROM {s}.verklaringen)"
)
SQL_VERKLAARD = "SELECT count(*) FROM {s}.verklaringen"
SQL_PER_PILOT = (
    "SELECT i.pilot, count(DISTINCT i.deelnemer), count(v.verklaring_id) FROM {s}.inschrijvingen i "
    "LEFT JOIN {s}.verklaringen v ON v.traject_id = i.traject_id GROUP BY i.pilot"
)


# ---- the peer: eventsourcing ------------------------------------------------------------------------------------
class Kandidaat(Aggregate):
    """A deelnemer aangemeld for a pilot (the registry's KandidaatAangemeld)."""

    class Aangemeld(Aggregate.Created):
        deelnemer: str
        pilot: str

    @event(Aangemeld)
    def __init__(self, deelnemer: str, pilot: str) -> None:
        self.deelnemer, self.pilot = deelnemer, pilot


class Traject(Aggregate):
    """One deelnemer's traject: ingeschreven in a pilot, werkprocessen signed off, a verklaring."""

    class Ingeschreven(Aggregate.Created):
        deelnemer: str
        pilot: str

    class WerkprocesAfgetekend(Aggregate.Event):
        werkproces: str

    class VerklaringUitgegeven(Aggregate.Event):
        pilot: str
        werkprocessen: list[str]

    @event(Ingeschreven)
    def __init__(self, deelnemer: str, pilot: str) -> None:
        self.deelnemer, self.pilot = deelnemer, pilot
        self.afgetekend: list[str] = []
        self.verklaard = False

    @event(WerkprocesAfgetekend)
    def afteken(self, werkproces: str) -> None:
        self.afgetekend.append(werkproces)

    @event(VerklaringUitgegeven)
    def verklaar(self, pilot: str, werkprocessen: list[str]) -> None:
        self.verklaard = True


class Praktijkleren(Application[UUID]):
    """The commands, each one event in one transaction (the registry judges and appends each event too)."""

    def aanmelden(self, deelnemer: str, pilot: str) -> None:
        self.save(Kandidaat(deelnemer, pilot))

    def inschrijven(self, deelnemer: str, pilot: str) -> UUID:
        traject = Traject(deelnemer, pilot)
        self.save(traject)
        return traject.id

    def afteken(self, traject_id: UUID, werkproces: str) -> None:
        traject: Traject = self.repository.get(traject_id)
        if werkproces not in traject.afgetekend:
            traject.afteken(werkproces)
            self.save(traject)

    def verklaar(self, traject_id: UUID, werkprocessen: list[str]) -> int:
        traject: Traject = self.repository.get(traject_id)
        must(not traject.verklaard and set(werkprocessen) <= set(traject.afgetekend), "peer: verklaring refused")
        traject.verklaar(traject.pilot, werkprocessen)
        return self.save(traject)[-1].notification.id

    def deelnemer(self, deelnemer: str, pilot: str) -> int:
        self.aanmelden(deelnemer, pilot)
        traject_id = self.inschrijven(deelnemer, pilot)
        for w in WERKPROCESSEN:
            self.afteken(traject_id, w)
        return self.verklaar(traject_id, WERKPROCESSEN)


class PerPilot(PostgresTrackingRecorder):
    """The materialised view: deelnemers and verklaringen per pilot, each change with its tracking record."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.table = self.tracking_table_name.replace("_tracking", "_per_pilot")
        s, tbl = Identifier(self.datastore.schema), Identifier(self.table)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} (pilot text PRIMARY KEY, deelnemers bigint NOT NULL DEFAULT 0, "
                "verklaringen bigint NOT NULL DEFAULT 0)"
            ).format(s, tbl)
        )
        self.incr = {
            col: SQL(
                "INSERT INTO {0}.{1} AS t (pilot, {2}) VALUES (%s, 1) ON CONFLICT (pilot) DO UPDATE SET {2} = t.{2} + 1"
            ).format(s, tbl, Identifier(col))
            for col in ("deelnemers", "verklaringen")
        }
        self.select = SQL("SELECT pilot, deelnemers, verklaringen FROM {0}.{1}").format(s, tbl)

    def tel(self, column: str, pilot: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(self.incr[column], (pilot,), prepare=True)

    def per_pilot(self) -> dict[str, tuple[int, int]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select)
            return {r["pilot"]: (int(r["deelnemers"]), int(r["verklaringen"])) for r in curs.fetchall()}


class DeelnemersPerPilot(Projection[PerPilot]):
    name = "perpilot"  # its tables: perpilot_tracking, perpilot_per_pilot

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if isinstance(domain_event, Traject.Ingeschreven):
            self.view.tel("deelnemers", domain_event.pilot, tracking)
        elif isinstance(domain_event, Traject.VerklaringUitgegeven):
            self.view.tel("verklaringen", domain_event.pilot, tracking)
        else:  # an aanmelding or a sign-off: only its tracking record
            self.view.insert_tracking(tracking)


def peer_env(database_url: str, schema: str) -> dict[str, str]:
    url = make_url(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.database or "",
        "POSTGRES_HOST": url.host or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_SCHEMA": schema,
    }


def run_projection() -> None:
    """The peer's projection process (its environment: ``peer_env``): the library's runner until terminated."""
    with ProjectionRunner(
        application_class=Praktijkleren, projection_class=DeelnemersPerPilot, view_class=PerPilot, env=dict(os.environ)
    ) as runner:
        runner.run_forever()


RUN_PROJECTION = "from benchmarks.peer import run_projection; run_projection()"


def peer_run(database_url: str, mensen: list[tuple[str, str]]) -> float:
    """Peer ev/s: the commands in this process, the library's ProjectionRunner in another; timed from the first
    command until the view's tracking record reaches the last event's notification id."""
    schema = f"{fresh_prefix()}_peer"
    eng = engine(database_url)
    with eng.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    env = peer_env(database_url, schema)
    app = Praktijkleren(env=env)  # its tables and the view's exist before the runner starts
    view = (
        InfrastructureFactory[PerPilot]
        .construct(env=Environment(DeelnemersPerPilot.name, env))
        .tracking_recorder(PerPilot)
    )
    log = log_file("bench-peer-eventsourcing.log")
    penv = dict(
        os.environ, **env, PYTHONPATH=os.pathsep.join([str(ROOT / "ops"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.Popen([sys.executable, "-c", RUN_PROJECTION], env=penv, stdout=log, stderr=log, cwd=ROOT)

    def tracked(last: int) -> Callable[[], bool]:
        return lambda: (view.max_tracking_id(app.name) or 0) >= last

    try:
        warm = deelnemers(1, WARM)
        wait_until(tracked(app.deelnemer(*warm[0])), lambda: proc.poll() is None, 180, f"peer warm-up (see {log.name})")
        start = time.perf_counter()
        last = 0
        for p, pilot in mensen:
            last = app.deelnemer(p, pilot)
        wait_until(
            tracked(last), lambda: proc.poll() is None, 600, f"peer: the view at the last event (see {log.name})"
        )
        seconds = time.perf_counter() - start
        got = view.per_pilot()
        must(got == verwacht(warm + mensen), f"peer per pilot {got} != {verwacht(warm + mensen)}")
        return len(mensen) * PER_DEELNEMER / seconds
    finally:
        stop(proc)
        app.close()
        view.datastore.close()
        with eng.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


def bench_peer(bootstrap: str, database_url: str, n_deelnemers: int) -> tuple[float, float, int]:
    """(registry end-to-end ev/s, eventsourcing ev/s, events per side) for the same ``n_deelnemers``."""
    mensen = deelnemers(n_deelnemers)
    registry = registry_run(bootstrap, database_url, mensen)
    peer = peer_run(database_url, mensen)
    return registry, peer, len(mensen) * PER_DEELNEMER


def peer_version() -> str:
    from importlib.metadata import version

    return version("eventsourcing")
