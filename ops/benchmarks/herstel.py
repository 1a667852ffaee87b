"""The disaster-recovery drill (``./ops/drill``): build a registry of N events through the real pipeline, lose its
database, and time what docs/production.md promises brings it back: ``backup``, ``restore`` into an empty
database, ``db roles``, ``replay all``, and ``db checksum --compare`` (the rebuilt read models equal the lost ones).

Every command is its own process, as an operator runs it; the work happens on a fresh topic prefix and schemas and
a database of its own, all removed at the end."""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from benchmarks import ROOT
from benchmarks.meting import must
from benchmarks.servers import component_env, start_pipeline, stop
from benchmarks.werklast import reference, stream
from producers.publisher import Publisher
from producers.sleutels import Sealer
from tests.support.builders import MBO
from tests.support.opruimen import ruim_op
from tests.support.validator import met_aanmeldingen

STAPPEN = ("backup", "create database", "restore", "db roles", "replay all", "db checksum --compare")
# the recovery itself: what runs between "the database is gone" and "the read models answer again"
RTO_STAPPEN = ("create database", "restore", "db roles", "replay all")


@dataclass
class Oefening:
    """One drill's figures: the size of what was lost and the seconds of each step."""

    events: int = 0
    deelnemers: int = 0
    rijen: dict[str, int] = field(default_factory=dict)  # backup table -> rows
    backup_bytes: int = 0
    seconden: dict[str, float] = field(default_factory=dict)
    opbouw: float = 0.0  # publish -> validator -> projector caught up (not part of the RTO)

    @property
    def rto(self) -> float:
        return sum(self.seconden[s] for s in RTO_STAPPEN)


def oefen(bootstrap: str, database_url: str, keys_dir: Path, deelnemers: int, log: Callable[[str], None]) -> Oefening:
    """Build, back up, restore, replay, compare; everything made on the way is removed, also on failure."""
    o = Oefening(deelnemers=deelnemers)
    pijp = start_pipeline(bootstrap, database_url, reference(), "drill.log")
    source = create_engine(database_url)
    werk = Path(tempfile.mkdtemp(prefix="praktijk-drill-"))
    verse = f"praktijk_drill_{uuid.uuid4().hex[:8]}"
    rollen = f"drill{uuid.uuid4().hex[:6]}"
    try:
        t0 = time.monotonic()
        o.events = len(reference()) + _bouw(bootstrap, keys_dir, pijp.prefix, deelnemers)
        _wacht_tot_geprojecteerd(source, pijp.schema, o.events, pijp.procs, log)
        o.opbouw = time.monotonic() - t0
        for proc in pijp.procs:
            stop(proc)
        backup = werk / "backup"
        # the API keys and their audit trail are the stack's own (api_keys): copied, never changed
        args = ("--schema", pijp.schema, "--validator-schema", f"{pijp.prefix}_validator")
        o.seconden["backup"] = _timed(database_url, "backup", "--uit", str(backup), *args)
        o.backup_bytes = sum(f.stat().st_size for f in backup.iterdir())
        o.rijen = _rijen(backup)
        t = time.monotonic()
        _maak_database(database_url, verse)
        o.seconden["create database"] = time.monotonic() - t
        nieuw = make_url(database_url).set(database=verse).render_as_string(hide_password=False)
        o.seconden["restore"] = _timed(nieuw, "restore", str(backup))
        roles_args = ["--secrets", str(werk / "rollen"), "--prefix", rollen, "--read-schema", pijp.schema]
        roles_args += ["--validator-schema", f"{pijp.prefix}_validator"]
        t = time.monotonic()
        urls = _urls(_cli(nieuw, "db", "roles", *roles_args))
        o.seconden["db roles"] = time.monotonic() - t
        o.seconden["replay all"] = _timed(
            nieuw,
            "replay",
            "all",
            "--schema",
            pijp.schema,
            "--events-topic",
            pijp.topics.events,
            "--rejections-topic",
            pijp.topics.rejections,
            "--no-progress",
            PRAKTIJK_DATABASE_URL_PROJECTOR=urls["PROJECTOR"],
        )
        o.seconden["db checksum --compare"] = _timed(
            nieuw, "db", "checksum", "--schema", pijp.schema, "--compare", str(backup)
        )
        return o
    finally:
        for proc in pijp.procs:
            if proc.poll() is None:
                stop(proc)
        _weg(database_url, verse, rollen)
        ruim_op(source, bootstrap, pijp.prefix, pijp.schema)
        source.dispose()
        subprocess.run(["rm", "-rf", str(werk)], check=False)


def _bouw(bootstrap: str, keys_dir: Path, prefix: str, deelnemers: int) -> int:
    """The bench's stream (each inschrijving after its aanmelding), every inschrijving with sealed persoonsgegevens
    (so the vault holds a data key per deelnemer, as in production); published in chunks."""
    sealer = Sealer.from_file(keys_dir / "registry.pub")
    n, chunk = 0, 5000
    with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub:
        for start in range(0, deelnemers, chunk):
            items = met_aanmeldingen(stream(min(chunk, deelnemers - start), start=start))
            for event_type, record in items:
                if event_type == "DeelnemerIngeschreven":
                    record["persoonsgegevens"] = sealer.seal({"naam": f"D {record['deelnemer'][:8]}"})
            pub.publish_batch(items)
            n += len(items)
    return n


def _wacht_tot_geprojecteerd(
    source: Engine,
    schema: str,
    verwacht: int,
    procs: list[subprocess.Popen[bytes]],
    log: Callable[[str], None],
    geduld: float = 180.0,
) -> None:
    """Until the read models hold every event published (``event_log``: the canonical log, one row per event);
    fails when nothing moved for ``geduld`` seconds or a process stopped."""
    gezien, sinds, gelogd = -1, time.monotonic(), -10.0
    while True:
        must(all(p.poll() is None for p in procs), "the validator or the projector stopped (see .cache/drill.log)")
        with source.connect() as conn:
            try:
                n = int(conn.execute(text(f'SELECT count(*) FROM "{schema}".event_log')).scalar_one())
            except SQLAlchemyError:  # the projector has not made its tables yet
                n = 0
        if n >= verwacht:
            return
        if n != gezien:
            gezien, sinds = n, time.monotonic()
            if sinds - gelogd >= 10:  # a line every 10 s at most
                gelogd = sinds
                log(f"read models: {n:,} of {verwacht:,} events")
        must(time.monotonic() - sinds < geduld, f"the read models stopped at {n:,} of {verwacht:,} events")
        time.sleep(2.0)


def _cli(database_url: str, *args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        env=component_env(database_url) | {"PRAKTIJK_DATABASE_URL": database_url, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    must(done.returncode == 0, f"praktijkregister {' '.join(args[:2])} failed: {done.stderr.strip()[-600:]}")
    return done.stdout


def _timed(database_url: str, *args: str, **env: str) -> float:
    t = time.monotonic()
    _cli(database_url, *args, **env)
    return time.monotonic() - t


def _urls(roles_output: str) -> dict[str, str]:
    """The component URLs `db roles` prints as export lines."""
    pairs = (
        shlex.split(line.removeprefix("export PRAKTIJK_DATABASE_URL_"))[0].split("=", 1)
        for line in roles_output.splitlines()
        if line.startswith("export PRAKTIJK_DATABASE_URL_")
    )
    return dict(pairs)


def _rijen(backup: Path) -> dict[str, int]:
    from registry.infra import backup as backup_mod

    return {b.tabel: b.rijen for b in backup_mod.controleer(backup).tabellen}


def _maak_database(database_url: str, naam: str) -> None:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{naam}"'))
    admin.dispose()


def _weg(database_url: str, naam: str, rollen: str) -> None:
    """Drop the drill's database, then its roles (they own nothing elsewhere)."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{naam}" WITH (FORCE)'))
        for (rol,) in conn.execute(text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"), {"p": rollen}):
            conn.execute(text(f'DROP ROLE IF EXISTS "{rol}"'))
    admin.dispose()


def verslag(o: Oefening) -> str:
    """The drill as a table, then the RTO line."""
    regels = [
        f"drill: {o.events:,} events ({o.deelnemers:,} deelnemers), built in {o.opbouw:.0f} s; backup "
        f"{o.backup_bytes / 1e6:.1f} MB: " + ", ".join(f"{t.split('.')[-1]} {n:,}" for t, n in o.rijen.items()),
        "| step | seconds |",
        "|---|---|",
        *[f"| `{s}` | {o.seconden[s]:.1f} |" for s in STAPPEN],
        f"RTO (create database + restore + db roles + replay all) = {o.rto:.1f} s; "
        f"replay {o.events / o.seconden['replay all']:,.0f} events/s; read models equal to the lost ones",
    ]
    return "\n".join(regels)
