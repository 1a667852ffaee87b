"""The fault suite: a private stack, the registry's processes under a supervisor, a steady stream of events, and
one fault after another. After each fault (all its repetitions) the stream pauses and the checks run: every event
published meanwhile is in the canonical log exactly once, the read models equal a clean ``replay all``, and each
repetition's recovery time (fault, or the server answering again, -> first new event visible) is recorded."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from registry import bootstrap
from registry.infra import settings as settings_mod
from tests.support.faults import controle, gif, stilstand
from tests.support.faults.api_last import ApiLast, deelnemers
from tests.support.faults.controle import Telling
from tests.support.faults.logboek import Logboek
from tests.support.faults.stapel import ROOT, PrivateStack, clean_environ
from tests.support.faults.stroom import Stroom, reference, telling
from tests.support.faults.supervisor import Dienst, Supervisor
from tests.support.serve import free_port

log = logging.getLogger("faults")

Probe = Callable[[], bool]
# the short run (./ops/faults --short, in ./ops/test) keeps one fault of each kind: a process killed, the broker
# killed, the database stopped without a checkpoint, the API killed under load, poison; the full run does all nine
SHORT = frozenset(
    {
        "validator SIGKILL",
        "Kafka SIGKILL + restart",
        "PostgreSQL stop -m immediate + start",
        "API SIGKILL under load",
        "poison input",
    }
)
# a recovery that takes longer than this fails the run (a supervisor restarts what exits; nothing may need a person)
RECOVERY_LIMIT_S = 60.0
HEADER = (
    "fault",
    "repetitions",
    "events in",
    "in canonical log",
    "duplicates",
    "lost",
    "read models equal",
    "recovery time (s)",
)


# with a cluster (./ops/faults --brokers 3) the run is about losing a broker: the other faults are the single node's
NODE_FAULT = "Kafka node SIGKILL (quorum leader first) + restart"


@dataclass(frozen=True)
class Opzet:
    short: bool
    seed: int
    only: tuple[str, ...] = ()  # words: only the faults whose name contains one (case-insensitive)
    brokers: int = 1

    def doet(self, fault: str) -> bool:
        if (fault == NODE_FAULT) != (self.brokers > 1):
            return False
        if self.short and fault not in SHORT | {NODE_FAULT}:
            return False
        return not self.only or any(w.lower() in fault.lower() for w in self.only)

    @property
    def rate(self) -> float:
        return 100.0 if self.short else 200.0

    def reps(self, kind: str) -> int:
        full = {"kill": 10, "server": 3, "api": 10, "poison": 3}
        return 1 if self.short else full[kind]

    def pause(self, rnd: random.Random) -> float:
        """A random moment: how long to wait before the next fault (or to keep a server down)."""
        return rnd.uniform(0.5, 1.5) if self.short else rnd.uniform(1.0, 3.0)


@dataclass
class Rij:
    fault: str
    reps: int
    telling: Telling
    equal: bool
    recoveries: list[float | None]
    notes: list[str] = field(default_factory=list)  # failures
    info: str = ""  # what else was measured

    @property
    def ok(self) -> bool:
        return (
            self.telling.lost == 0
            and self.telling.duplicates == 0
            and self.equal
            and not self.notes
            and all(r is not None and r < RECOVERY_LIMIT_S for r in self.recoveries)
        )

    def cells(self) -> tuple[str, ...]:
        done = [r for r in self.recoveries if r is not None]
        rec = f"{statistics.median(done):.1f} median, {max(done):.1f} max" if done else "-"
        if None in self.recoveries:
            rec += f" ({self.recoveries.count(None)} never)"
        slow = sum(1 for r in done if r >= RECOVERY_LIMIT_S)
        if slow:
            rec += f" ({slow} over {RECOVERY_LIMIT_S:.0f} s)"
        t = self.telling
        return (
            self.fault,
            str(self.reps),
            str(t.events_in),
            str(t.in_log),
            str(t.duplicates),
            str(t.lost),
            "yes" if self.equal else "NO",
            rec,
        )


class Suite:
    """Holds the running pieces; ``run`` goes through the faults and returns the table rows."""

    def __init__(self, opzet: Opzet, workdir: Path) -> None:
        self.opzet = opzet
        self.rnd = random.Random(opzet.seed)
        self.workdir = workdir
        self.stack = PrivateStack(workdir / "stack", opzet.brokers)
        self.sup = Supervisor()
        self.env: dict[str, str] = {}

    # ---- set-up -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        stack_env = self.stack.up()
        for name in [n for n in os.environ if n.startswith("PRAKTIJK_") and n != "PRAKTIJK_TEST_RUN"]:
            del os.environ[name]
        os.environ.update(stack_env)  # the suite's own Kafka clients log in like the stack's admin
        bootstrap.configure(settings_mod.load())
        port = free_port()
        self.env = clean_environ() | stack_env | {"PRAKTIJK_API_PORT": str(port)}
        self.base = f"http://127.0.0.1:{port}"
        self.bootstrap = stack_env["PRAKTIJK_KAFKA_BOOTSTRAP"]
        self.db = controle.database(stack_env["PRAKTIJK_DATABASE_URL"])
        self.boek = Logboek(self.bootstrap)
        self.stroom = Stroom(self.bootstrap, self.opzet.rate, self.opzet.seed)
        self.key = self._cli("apikey", "create", "--scope", "landelijk", "--naam", "faults").strip().splitlines()[-1]
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name, args in (
            ("validator", ["validator"]),
            ("projector", ["project"]),
            ("reconciler", ["reconcile", "--follow"]),
            ("api", ["serve", "--log-level", "warning"]),
        ):
            self.sup.add(Dienst(name, args, self.env, logs / f"{name}.log"))
        self.sup.start()
        self.stroom.publish_now(reference())
        self._first_reconciliation()
        self.stroom.start()
        log.info("stack and processes up, first telling reconciled")

    def _first_reconciliation(self) -> None:
        """``reconcile --follow`` starts a new group at the log's end: publish tellingen until one is reconciled,
        so its group has committed a position before any fault (what a deployment does once)."""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            self.stroom.publish_now([telling(0)])
            if (
                controle.wait_recovered(
                    lambda: self.boek.refresh() and self.boek.latest_reconciliation() is not None, time.monotonic(), 5.0
                )
                is not None
            ):
                return
        raise RuntimeError(f"the reconciler never reconciled a telling; see {self.workdir / 'logs'}")

    def stop(self) -> None:
        """Stream, processes, log reader, then the private stack (purged); also after a failed start."""
        steps: list[Callable[[], None]] = [self.sup.stop]
        if hasattr(self, "stroom"):
            steps.insert(0, self.stroom.stop)
        if hasattr(self, "boek"):
            steps.append(self.boek.close)
        for step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - whatever failed, the stack must still go down
                log.warning("stopping: %s", exc)
        self.stack.down()

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "registry.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"praktijkregister {args[0]} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    # ---- probes: "a new event is visible again" -------------------------------------------------------------
    def data_visible(self) -> Probe:
        """The projector applied an event the validator recorded after now."""
        since = dt.datetime.now(dt.UTC)
        return lambda: (t := controle.newest_projected(self.db)) is not None and t > since

    def reconciliation_visible(self) -> Probe:
        since = dt.datetime.now(dt.UTC)
        return lambda: self.boek.refresh() and (t := self.boek.latest_reconciliation()) is not None and t > since

    # ---- faults: each injects once and returns (probe, moment the recovery clock starts) ----------------------
    def kill(self, name: str) -> Callable[[], tuple[Probe, float]]:
        def fault() -> tuple[Probe, float]:
            probe = self.reconciliation_visible() if name == "reconciler" else self.data_visible()
            started = time.monotonic()
            self.sup.kill(name)
            return probe, started

        return fault

    def kafka(self, kill: bool) -> Callable[[], tuple[Probe, float]]:
        def fault() -> tuple[Probe, float]:
            self.stack.kafka_kill() if kill else self.stack.kafka_terminate()
            time.sleep(self.opzet.pause(self.rnd))  # down for a moment, while the stream keeps trying
            self.stack.kafka_start()
            return self.data_visible(), time.monotonic()

        return fault

    def postgres(self, mode: str) -> Callable[[], tuple[Probe, float]]:
        def fault() -> tuple[Probe, float]:
            self.stack.postgres_stop(mode)
            time.sleep(self.opzet.pause(self.rnd))
            self.stack.postgres_start()
            return self.data_visible(), time.monotonic()

        return fault

    def api_kill(self, last: ApiLast) -> Callable[[], tuple[Probe, float]]:
        def fault() -> tuple[Probe, float]:
            started = time.monotonic()
            self.sup.kill("api")
            return (lambda: last.last_ok() > started), started

        return fault

    def poison(self, count: list[int]) -> Callable[[], tuple[Probe, float]]:
        def fault() -> tuple[Probe, float]:
            probe = self.data_visible()
            started = time.monotonic()
            count[0] += gif.inject(self.bootstrap, self.rnd.randrange(10**6))
            return probe, started

        return fault

    # ---- one row ------------------------------------------------------------------------------------------------
    def row(self, name: str, reps: int, fault: Callable[[], tuple[Probe, float]]) -> Rij:
        self.stroom.resume(name)
        recoveries: list[float | None] = []
        for _ in range(reps):
            time.sleep(self.opzet.pause(self.rnd))  # a random moment in the stream
            probe, started = fault()
            took = controle.wait_recovered(probe, started, 180.0)
            recoveries.append(took)
            log.info("%s: recovered in %s s", name, f"{took:.1f}" if took is not None else "never")
        self.stroom.pause()
        notes: list[str] = []
        t0 = time.monotonic()
        waiting, differ = controle.compare_drained(self.env, self.stroom, self.boek, self.db, 300.0)
        if waiting:
            notes.append(f"{name}: not drained after 300 s: {waiting}")
        log.info("%s: drained, replayed and compared in %.1f s", name, time.monotonic() - t0)
        if differ:
            notes.append(f"{name}: read models differ from a clean replay in {', '.join(differ)}")
        return Rij(name, reps, controle.account(self.stroom.of_fase(name), self.boek), not differ, recoveries, notes)

    def run(self, done: Callable[[Rij], None]) -> list[Rij]:
        """Every fault in turn; ``done`` gets each row as soon as it is checked (a long run shows progress)."""
        o = self.opzet
        steps: list[tuple[str, Callable[[], Rij]]] = [
            *[
                (f"{name} SIGKILL", lambda n=name: self.row(f"{n} SIGKILL", o.reps("kill"), self.kill(n)))
                for name in ("validator", "projector", "reconciler")
            ],
            (
                "Kafka SIGTERM + restart",
                lambda: self.row("Kafka SIGTERM + restart", o.reps("server"), self.kafka(kill=False)),
            ),
            (
                "Kafka SIGKILL + restart",
                lambda: self.row("Kafka SIGKILL + restart", o.reps("server"), self.kafka(kill=True)),
            ),
            (
                "PostgreSQL stop -m fast + start",
                lambda: self.row("PostgreSQL stop -m fast + start", o.reps("server"), self.postgres("fast")),
            ),
            (
                "PostgreSQL stop -m immediate + start",
                lambda: self.row("PostgreSQL stop -m immediate + start", o.reps("server"), self.postgres("immediate")),
            ),
            ("API SIGKILL under load", self.api_row),
            ("poison input", self.poison_row),
            (NODE_FAULT, self.node_row),
        ]
        rows = []
        for name, step in steps:
            if not o.doet(name):
                continue
            rows.append(step())
            done(rows[-1])
        return rows

    def api_row(self) -> Rij:
        last = ApiLast(self.base, self.key, self.stroom)
        last.start()
        try:
            rij = self.row("API SIGKILL under load", self.opzet.reps("api"), self.api_kill(last))
        finally:
            last.stop()
        rij.notes += last.wrong[:5] + last.order_violations()[:5]
        truth, answer = self.boek.inschrijvingen, self._api_answer()
        if answer != truth:
            rij.notes.append(
                f"API answers {answer} deelnemers after the stream drained; the canonical log holds {truth}"
            )
        rij.info = (
            f"API: {len(last.answers)} answers checked, {last.errors} errors while it was down, "
            f"{len(last.wrong) + len(last.order_violations())} wrong; after draining the API says {answer}, the log holds {truth}"
        )
        return rij

    def _api_answer(self) -> int | None:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                try:
                    return deelnemers(client, self.base, self.key)
                except httpx.HTTPError:
                    time.sleep(0.5)
        return None

    def poison_row(self) -> Rij:
        before, count = self.boek.deadletters, [0]
        rij = self.row("poison input", self.opzet.reps("poison"), self.poison(count))
        added = self.boek.deadletters - before
        if added != count[0]:
            rij.notes.append(f"poison: {count[0]} poison record(s) sent, {added} dead letter(s) written")
        rij.info = f"poison: {count[0]} records sent, {added} dead letters (validator never stopped the flow)"
        return rij

    def node_row(self) -> Rij:
        """Kill -9 one node of the cluster at a time (the quorum leader first, then a random one) while the stream
        publishes; the recovery time is the stall: from the kill to the first event visible after it. Before the
        next kill the node comes back and must catch up (every partition's replicas in sync again)."""
        errors_before, down, catchups, victims = self.stroom.errors, [0], [], []
        kills: list[float] = []
        aanvoer = stilstand.Aanvoer(self.bootstrap, self.boek.topics.events)
        versheid = stilstand.Versheid(self.base, self.key)
        aanvoer.start()
        versheid.start()
        self.stroom.sampler = versheid.sample

        def back() -> None:
            if down[0]:
                started = time.monotonic()
                self.stack.node_start(down[0])
                catchups.append(self._wait_in_sync(started))
                down[0] = 0

        def fault() -> tuple[Probe, float]:
            back()
            victim = self.stack.quorum_leader() if not victims else self.rnd.randint(1, self.opzet.brokers)
            probe, started = self.data_visible(), time.monotonic()
            self.stack.node_kill(victim)
            down[0] = victim
            victims.append(victim)
            kills.append(started)
            return probe, started

        try:
            rij = self.row(NODE_FAULT, self.opzet.reps("server"), fault)
        finally:
            self.stroom.sampler = None
            versheid.stop()
            aanvoer.stop()
        # the row's stream ends where ``row`` paused it; each kill's window runs to the next kill
        stalls = stilstand.summary(
            stilstand.gaps_per_window(self.stroom.ack_moments, kills, self.stroom.paused_at),
            stilstand.gaps_per_window(aanvoer.moments, kills, self.stroom.paused_at),
            versheid,
        )
        back()
        errors = self.stroom.errors - errors_before
        if errors:
            causes = "; ".join(self.stroom.error_causes[-errors:][:3])
            rij.notes.append(f"{NODE_FAULT}: {errors} publish call(s) failed while a node was down ({causes})")
        if None in catchups:
            rij.notes.append(f"{NODE_FAULT}: a restarted node did not catch up within 300 s")
        took = ", ".join(f"{c:.1f}" if c is not None else "never" for c in catchups)
        rij.info = (
            f"nodes killed: {victims} (first: the quorum leader); publish errors: {errors}; "
            f"restarted node back in every ISR after (s): {took}; {stalls}"
        )
        return rij

    def _wait_in_sync(self, started: float, limit: float = 300.0) -> float | None:
        """Seconds from ``started`` until every partition of the registry's topics has all its replicas in sync."""
        from kafka import KafkaAdminClient

        from registry.infra.kafka import client_config

        admin = KafkaAdminClient(**client_config(self.bootstrap))
        try:
            names = [t for t in admin.list_topics() if t.startswith("praktijkleren.")]
            while time.monotonic() - started < limit:
                parts = [p for t in admin.describe_topics(names) for p in t["partitions"]]
                if parts and all(len(p["isr_nodes"]) == len(p["replica_nodes"]) for p in parts):
                    return time.monotonic() - started
                time.sleep(0.5)
            return None
        finally:
            admin.close()


def table(rows: list[Rij]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


PARENT_ENV = "PRAKTIJK_FAULTS_PARENT"


def watch_parent(pid: int, every_s: float = 1.0) -> threading.Thread:
    """End this run (SIGTERM: as Ctrl-C, the private stack still goes down) once process ``pid`` is gone. The test
    run starts the suite in a session of its own (tests/support/faults/kort.py), so a test run killed without its
    teardown would otherwise leave it running, with its stack, until its last fault."""

    def watch() -> None:
        while True:
            time.sleep(every_s)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                print(f"== the process that started this run ({pid}) is gone: stopping", file=sys.stderr)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    thread = threading.Thread(target=watch, name="faults-parent", daemon=True)
    thread.start()
    return thread


def _show(row: Rij, rows: list[Rij]) -> None:
    rows.append(row)
    print(table([row]).splitlines()[-1], flush=True)


def main(
    short: bool,
    seed: int | None,
    keep: bool,
    workdir: Path | None = None,
    only: list[str] | None = None,
    brokers: int = 1,
) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    for noisy in ("kafka", "faults.stroom", "faults.logboek", "httpx", "praktijkregister"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)  # the broker's restarts are expected, not news
    opzet = Opzet(short, seed if seed is not None else random.randrange(10**6), tuple(only or ()), brokers)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="praktijk-faults-"))
    print(
        f"== fault suite ({'short' if short else 'full'}, seed {opzet.seed}, {brokers} broker(s)"
        f"{', only ' + ', '.join(opzet.only) if opzet.only else ''}); logs in {workdir / 'logs'}",
        file=sys.stderr,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # like Ctrl-C: the private stack still goes down
    if os.environ.get(PARENT_ENV):
        watch_parent(int(os.environ[PARENT_ENV]))
    suite, started = Suite(opzet, workdir), time.monotonic()
    rows: list[Rij] = []
    print(table([]), flush=True)
    error = ""
    try:
        suite.start()
        suite.run(lambda r: _show(r, rows))
    except Exception as exc:  # noqa: BLE001 - reported as a failed run after the rows done so far
        error = f"{type(exc).__name__}: {exc}"
    finally:
        suite.stop()
    print(
        "- recovery time: from the kill (processes; API: to its first successful answer) or the injection "
        "(poison), and from the moment the restarted server answers again (Kafka, PostgreSQL), to the first event "
        "recorded after it that the read models show (reconciler: the first new ReconciliatieUitgevoerd)"
    )
    for r in rows:
        for note in [r.info, *r.notes]:
            if note:
                print(f"- {note}")
    vlog = workdir / "logs" / "validator.log"
    if vlog.exists():
        aborted = vlog.read_text(errors="replace").count("hanging transaction aborted")
        print(f"- hanging transactions the validator found and aborted: {aborted} (logs/validator.log)")
    whole = suite.boek.ids if hasattr(suite, "boek") else {}
    dups = sum(1 for n in whole.values() if n > 1)
    published = len(suite.stroom.acked) if hasattr(suite, "stroom") else 0
    print(
        f"- whole canonical log: {len(whole)} distinct events, {dups} duplicated; {published} published by the "
        f"stream; {time.monotonic() - started:.0f} s in all"
    )
    failed = [r.fault for r in rows if not r.ok] + (["whole log"] if dups else []) + ([error] if error else [])
    print(
        f"== {'FAILED: ' + '; '.join(failed) if failed else 'every fault: nothing lost, nothing duplicated, read models equal'}"
    )
    if failed and not keep:
        _print_log_tails(workdir / "logs")
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def _print_log_tails(logs: Path, lines: int = 40) -> None:
    """The work folder goes (unless --keep): what a failed run's components said last, on stderr."""
    for log in sorted(logs.glob("*.log")) if logs.is_dir() else []:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"== last {len(tail)} lines of {log.name}\n" + "\n".join(tail), file=sys.stderr)
