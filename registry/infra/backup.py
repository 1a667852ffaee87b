"""Disaster recovery of what only PostgreSQL holds (``praktijkregister backup`` / ``restore``).

The canonical log in Kafka is the source of truth and the read models are rebuilt from it (``replay all``); what
the log does not hold lives only here: the API keys and the audit trail of person-level reads, the validator's state
(``entiteit``, ``canoniek_offset`` per instance schema), the data-key vault (``data_sleutels``, whose loss would make
every name unreadable), the applied pseudonym rotations (``pseudoniem_rotaties``) and the deelnemers' record keys of
the disclosure control (``record_sleutels``, drawn at random: new ones would change every publiek number).

PostgreSQL does the work: every table is written with its own ``COPY .. TO STDOUT (FORMAT csv, HEADER)``, in
primary-key order, all inside ONE ``REPEATABLE READ`` read-only transaction (one snapshot: the keys, the audit trail
and the vault belong to the same moment). The folder (0700) gets one file per table (0600) and, last, a manifest
(``manifest.json``: per table its file, rows, SHA-256 and columns with their types). Vault keys are copied as they are
stored (wrapped under the master key, never opened here): the master key file is kept elsewhere.

A restore checks the whole folder against its manifest before it touches the database, refuses a target where any
table holds a row, lets the caller create each table with its component's own DDL, checks the columns against the
manifest and then ``COPY .. FROM STDIN (FORMAT csv, HEADER MATCH)``s every file in one transaction.

Read-model checksums (``checksum``): the rows of a table in a total order (their text, collation "C"), hashed as
PostgreSQL's COPY text streams them, so a rebuilt read model can be shown equal to the one the backup saw.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, text

from registry.infra import gegevenskluis, pseudoniem_rotatie
from registry.infra.sleutelbestanden import prive_map

FORMAT = 1
MANIFEST = "manifest.json"
_CHUNK = 1 << 20
_QUALIFIED = re.compile(r"^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$")
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SOORTEN = ("api_keys", "audit", "validator_staat", "gegevenskluis", "pseudoniem_rotaties", "record_sleutels")
RECORD_SLEUTELS = "record_sleutels"  # the feiten projection's record keys: drawn at random, no replay gives them back
# the session settings every text COPY runs under, so the same rows give the same bytes on any server and session
_VASTE_INSTELLINGEN = (
    "SET LOCAL TIME ZONE 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'iso_8601'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)


class BackupFout(RuntimeError):
    """A backup or restore that cannot go on: a one-line message naming the folder, file or table."""


@dataclass(frozen=True)
class Tabel:
    """A table only PostgreSQL holds. ``soort``: which component's DDL makes it (one of ``_SOORTEN``)."""

    soort: str
    naam: str  # schema-qualified


@dataclass(frozen=True)
class Bestand:
    """One table's entry in the manifest."""

    soort: str
    tabel: str
    bestand: str
    rijen: int
    sha256: str
    kolommen: tuple[tuple[str, str], ...]  # (name, type) in table order: the schema version the rows fit


@dataclass(frozen=True)
class Telling:
    """A table's checksum: rows and the SHA-256 of its rows in a total order."""

    rijen: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    database: str
    server_version: str
    read_schema: str
    tabellen: tuple[Bestand, ...]
    leesmodellen: dict[str, Telling]  # the read models' checksums in the same snapshot (empty: not asked)


# ---- the manifest (pure) ---------------------------------------------------------------------------------------
def manifest_json(m: Manifest) -> str:
    return json.dumps(
        {
            "format": m.format,
            "created_at": m.created_at,
            "database": m.database,
            "server_version": m.server_version,
            "read_schema": m.read_schema,
            "tables": [
                {
                    "kind": b.soort,
                    "table": b.tabel,
                    "file": b.bestand,
                    "rows": b.rijen,
                    "sha256": b.sha256,
                    "columns": [list(k) for k in b.kolommen],
                }
                for b in m.tabellen
            ],
            "read_models": {t: {"rows": c.rijen, "sha256": c.sha256} for t, c in sorted(m.leesmodellen.items())},
        },
        indent=2,
    )


def lees_manifest(raw: str) -> Manifest:
    """The manifest from its JSON; ``BackupFout`` for anything that is not a manifest this version can restore
    (the names in it end up in SQL and in file paths, so each is checked)."""
    try:
        j = json.loads(raw)
        if j["format"] != FORMAT:
            raise BackupFout(f"manifest format {j['format']!r}: this version restores format {FORMAT}")
        tabellen = tuple(_bestand(t) for t in j["tables"])
        leesmodellen = {
            _naam(t): Telling(int(c["rows"]), str(c["sha256"])) for t, c in dict(j.get("read_models", {})).items()
        }
        return Manifest(
            FORMAT,
            str(j["created_at"]),
            str(j["database"]),
            str(j["server_version"]),
            str(j["read_schema"]),
            tabellen,
            leesmodellen,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupFout(f"{MANIFEST} is not a valid manifest ({type(exc).__name__}: {exc})") from None


def _naam(tabel: str) -> str:
    if not _QUALIFIED.match(tabel):
        raise ValueError(f"invalid table name {tabel!r}")
    return tabel


def _bestand(t: dict[str, Any]) -> Bestand:
    tabel, soort = _naam(str(t["table"])), str(t["kind"])
    if soort not in _SOORTEN:
        raise ValueError(f"unknown kind {soort!r}")
    if t["file"] != bestandsnaam(tabel):
        raise ValueError(f"file {t['file']!r} of {tabel}")
    kolommen = tuple((str(n), str(ty)) for n, ty in t["columns"])
    if not kolommen or not all(_COLUMN.match(n) for n, _ in kolommen):
        raise ValueError(f"columns of {tabel}")
    return Bestand(soort, tabel, str(t["file"]), int(t["rows"]), str(t["sha256"]), kolommen)


def bestandsnaam(tabel: str) -> str:
    return f"{tabel}.csv"


def sha256_van(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def controleer(folder: Path) -> Manifest:
    """The folder's manifest, after checking every file it lists is there with its SHA-256; ``BackupFout`` naming
    the first problem. Nothing is restored from a folder that fails this."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupFout(f"{path} is missing: {folder} is no (finished) backup")
    m = lees_manifest(path.read_text())
    for b in m.tabellen:
        f = folder / b.bestand
        if not f.is_file():
            raise BackupFout(f"{f} is missing (listed in {MANIFEST})")
        if sha256_van(f) != b.sha256:
            raise BackupFout(f"{f} does not match its SHA-256 in {MANIFEST}: changed or damaged")
    return m


def verschillen(voor: dict[str, Telling], na: dict[str, Telling]) -> list[str]:
    """The tables whose checksum differs (or that one side lacks), sorted."""
    return sorted(t for t in voor.keys() | na.keys() if voor.get(t) != na.get(t))


# ---- PostgreSQL ------------------------------------------------------------------------------------------------
def _driver(conn: Connection) -> psycopg.Connection[Any]:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _q(tabel: str) -> str:
    return ".".join(f'"{deel}"' for deel in _naam(tabel).split("."))


def _vast(conn: Connection) -> None:
    for stmt in _VASTE_INSTELLINGEN:
        conn.execute(text(stmt))


def gekwalificeerd(conn: Connection, tabel: str) -> str | None:
    """``schema.table`` of an existing table (an unqualified name resolved on the search path), else None."""
    row = conn.execute(
        text(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(:t)"
        ),
        {"t": tabel},
    ).first()
    return None if row is None else f"{row[0]}.{row[1]}"


def kolommen(conn: Connection, tabel: str) -> tuple[tuple[str, str], ...]:
    rows = conn.execute(
        text(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass(:t) AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        {"t": _q(tabel)},
    ).all()
    return tuple((str(n), str(t)) for n, t in rows)


def _sleutel(conn: Connection, tabel: str) -> list[str]:
    """The primary key's columns (in key order), empty without one."""
    rows = conn.execute(
        text(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = to_regclass(:t) AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)"
        ),
        {"t": _q(tabel)},
    ).all()
    return [str(r[0]) for r in rows]


def _kolomlijst(cols: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def _schrijf(conn: Connection, tabel: Tabel, folder: Path) -> Bestand:
    cols = kolommen(conn, tabel.naam)
    volgorde = _kolomlijst(_sleutel(conn, tabel.naam) or [c for c, _ in cols])
    rijen = int(conn.execute(text(f"SELECT count(*) FROM {_q(tabel.naam)}")).scalar_one())
    naam = bestandsnaam(tabel.naam)
    h = hashlib.sha256()
    fd = os.open(folder / naam, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f, _driver(conn).cursor() as cur:
        stmt = (
            f"COPY (SELECT {_kolomlijst(c for c, _ in cols)} FROM {_q(tabel.naam)} ORDER BY {volgorde}) "
            "TO STDOUT (FORMAT csv, HEADER true)"
        )
        with cur.copy(stmt) as copy:
            for chunk in copy:
                f.write(chunk)
                h.update(chunk)
    return Bestand(tabel.soort, tabel.naam, naam, rijen, h.hexdigest(), cols)


def checksum(conn: Connection, tabel: str, cols: Sequence[str] | None = None) -> Telling:
    """The table's rows (``cols``, default all) in a total order, hashed as they stream out: the same rows give the
    same checksum whatever their physical order or the database they are in."""
    names = list(cols) if cols else [c for c, _ in kolommen(conn, tabel)]
    lijst = _kolomlijst(names)
    h, rijen = hashlib.sha256(), 0
    stmt = f'COPY (SELECT {lijst} FROM {_q(tabel)} ORDER BY ROW({lijst})::text COLLATE "C") TO STDOUT'
    with _driver(conn).cursor() as cur, cur.copy(stmt) as copy:
        for chunk in copy:
            h.update(chunk)
            rijen += bytes(chunk).count(b"\n")  # text COPY escapes newlines in values: one line per row
    return Telling(rijen, h.hexdigest())


def checksums(engine: Engine, tabellen: dict[str, Sequence[str] | None]) -> dict[str, Telling]:
    """``checksum`` of every existing table of ``tabellen`` (name -> columns, None: all) in one snapshot."""
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        _vast(conn)
        return _checksums(conn, tabellen)


def _checksums(conn: Connection, tabellen: dict[str, Sequence[str] | None]) -> dict[str, Telling]:
    return {t: checksum(conn, t, cols) for t, cols in tabellen.items() if gekwalificeerd(conn, _q(t)) is not None}


def weiger_gebruikte_map(folder: Path) -> None:
    """``BackupFout`` when ``folder`` exists and is not an empty folder (a backup never mixes with other files)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupFout(f"{folder} exists and is not an empty folder: give a new one")


def maak_backup(
    engine: Engine,
    tabellen: Sequence[Tabel],
    folder: Path,
    read_schema: str,
    leesmodellen: dict[str, Sequence[str] | None],
) -> Manifest:
    """Write every table of ``tabellen`` to ``folder`` (new or empty; made 0700) in one snapshot, the read models'
    checksums of that same snapshot in the manifest, and the manifest last."""
    weiger_gebruikte_map(folder)
    prive_map(folder)
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        _vast(conn)
        bestanden = tuple(_schrijf(conn, t, folder) for t in tabellen)
        m = Manifest(
            FORMAT,
            datetime.now(UTC).isoformat(timespec="seconds"),
            str(conn.execute(text("SELECT current_database()")).scalar_one()),
            str(conn.execute(text("SHOW server_version")).scalar_one()),
            read_schema,
            bestanden,
            _checksums(conn, leesmodellen),
        )
    fd = os.open(folder / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(manifest_json(m) + "\n")
    return m


def eerste_rij(conn: Connection) -> str | None:
    """The first table (``schema.table``) of the database that holds a row, or None when every table is empty
    (empty tables, e.g. the vault ``db roles`` makes, do not count)."""
    tabellen = conn.execute(
        text(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2"
        )
    ).all()
    for schema, naam in tabellen:
        q = f'"{schema}"."{naam}"'
        if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {q})")).scalar():
            return f"{schema}.{naam}"
    return None


def herstel(engine: Engine, folder: Path, maak: Callable[[Bestand], None]) -> Manifest:
    """Restore a checked backup folder into the (empty) database of ``engine``: ``maak`` creates each table with its
    component's DDL, then every file is copied in in one transaction and identity sequences continue after it."""
    m = controleer(folder)
    with engine.connect() as conn:
        bezet = eerste_rij(conn)
    if bezet is not None:
        raise BackupFout(f"the target database is not empty ({bezet} holds rows): restore into a new database")
    for b in m.tabellen:
        maak(b)
    with engine.begin() as conn:
        _vast(conn)
        for b in m.tabellen:
            _laad(conn, b, folder / b.bestand)
    return m


def _laad(conn: Connection, b: Bestand, path: Path) -> None:
    nu = kolommen(conn, b.tabel)
    if nu != b.kolommen:
        raise BackupFout(f"{b.tabel}: the backup's columns {_toon(b.kolommen)} differ from this version's {_toon(nu)}")
    lijst = _kolomlijst(c for c, _ in b.kolommen)
    # identity columns take the file's values (COPY behaves like OVERRIDING SYSTEM VALUE)
    stmt = f"COPY {_q(b.tabel)} ({lijst}) FROM STDIN (FORMAT csv, HEADER MATCH)"
    with _driver(conn).cursor() as cur, path.open("rb") as f, cur.copy(stmt) as copy:
        while chunk := f.read(_CHUNK):
            copy.write(chunk)
    rijen = int(conn.execute(text(f"SELECT count(*) FROM {_q(b.tabel)}")).scalar_one())
    if rijen != b.rijen:
        raise BackupFout(f"{b.tabel}: {rijen} row(s) restored, the manifest says {b.rijen}")
    for kolom, _ in b.kolommen:  # an identity column continues after the restored ids, not at 1
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :k)"), {"t": _q(b.tabel), "k": kolom}).scalar()
        if seq is not None:
            conn.execute(
                text(f'SELECT setval(:s, coalesce(max("{kolom}"), 1), count(*) > 0) FROM {_q(b.tabel)}'), {"s": seq}
            )


def _toon(cols: Sequence[tuple[str, str]]) -> str:
    return "(" + ", ".join(f"{n} {t}" for n, t in cols) + ")"


def te_bewaren(
    conn: Connection, *, key_table: str, audit_table: str, validator_schema: str, read_schema: str
) -> list[Tabel]:
    """The tables only PostgreSQL holds, as they exist now: the key table, the vault and instance 0's validator
    state are required (a missing one means a wrong name given, and a backup without it would be useless);
    the audit trail, other instances' state (``<validator schema>_<i>``) and applied rotations when present."""
    if not _COLUMN.match(validator_schema) or not _COLUMN.match(read_schema):
        raise BackupFout(f"invalid schema name {validator_schema!r} or {read_schema!r}")
    keys = gekwalificeerd(conn, key_table)
    if keys is None:
        raise BackupFout(f"the API key table {key_table} does not exist (is --key-table right?)")
    gevonden = [Tabel("api_keys", keys)]
    audit = gekwalificeerd(conn, audit_table)
    if audit is not None:
        gevonden.append(Tabel("audit", audit))
    instanties = [
        str(n)
        for (n,) in conn.execute(text("SELECT nspname FROM pg_namespace ORDER BY nspname"))
        if re.fullmatch(re.escape(validator_schema) + r"(_[0-9]+)?", str(n))
    ]
    for schema in instanties:
        for naam in ("entiteit", "canoniek_offset"):
            if gekwalificeerd(conn, f'"{schema}".{naam}') is not None:
                gevonden.append(Tabel("validator_staat", f"{schema}.{naam}"))
    verplicht = [f"{validator_schema}.entiteit", f"{validator_schema}.canoniek_offset"]
    if gekwalificeerd(conn, f'"{validator_schema}".{gegevenskluis.TABLE}') is None:
        verplicht.append(f"{validator_schema}.{gegevenskluis.TABLE}")
    else:
        gevonden.append(Tabel("gegevenskluis", f"{validator_schema}.{gegevenskluis.TABLE}"))
    ontbreekt = [t for t in verplicht if t not in {g.naam for g in gevonden}]
    if ontbreekt:
        raise BackupFout(f"{', '.join(ontbreekt)} does not exist (is --validator-schema right?)")
    if gekwalificeerd(conn, f'"{read_schema}".{pseudoniem_rotatie.TABLE}') is not None:
        gevonden.append(Tabel("pseudoniem_rotaties", f"{read_schema}.{pseudoniem_rotatie.TABLE}"))
    if gekwalificeerd(conn, f'"{read_schema}".{RECORD_SLEUTELS}') is not None:
        gevonden.append(Tabel("record_sleutels", f"{read_schema}.{RECORD_SLEUTELS}"))
    return gevonden
