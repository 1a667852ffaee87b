"""``praktijkregister backup``, ``restore`` and ``db checksum``: disaster recovery of what only PostgreSQL holds
(registry/infra/backup.py), registered by registry/cli/main.py.

Both run with ``PRAKTIJK_DATABASE_URL`` (a superuser's): no component role reads everything that must be saved (the
owner has the keys and the audit trail, the validator its state and the vault, the projector the read schema), and
a restore creates schemas and tables that belong to several roles; ``db roles`` hands them over afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from registry.cli import db as cli_db
from registry.cli import uitvoer
from registry.cli.uitvoer import Formaat
from registry.domein.telregels import DEFAULT_READ_SCHEMA

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from registry.infra.backup import Bestand, Telling

console = uitvoer.console()
err = uitvoer.console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
    # on the ``db`` group next to ``db roles``, registered from here so this module stays the one that knows it
    cli_db.app.command("checksum")(checksum)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def leesmodel_tabellen(schema: str) -> dict[str, Sequence[str] | None]:
    """Every read-model table of the catalogue in ``schema`` (all columns), and the projection offsets without
    ``updated_at`` (when a row was written, not what it says)."""
    from projections import catalogus, store

    store.check_schema(schema)
    tabellen: dict[str, Sequence[str] | None] = {
        f"{schema}.{t}": None for p in catalogus.ALL.values() for t in sorted(p.tables)
    }
    tabellen[f"{schema}.projection_offsets"] = ("projection", "topic", "partition", "next_offset", "last_recorded_at")
    return dict(sorted(tabellen.items()))


def backup(
    uit: Path = typer.Option(..., "--uit", help="A new (or empty) folder for the backup; made mode 0700."),
    schema: str = typer.Option(DEFAULT_READ_SCHEMA, "--schema", help="PostgreSQL schema of the read models."),
    validator_schema: str | None = typer.Option(
        None, "--validator-schema", help="The validator's state schema (default: PRAKTIJK_VAULT_SCHEMA)."
    ),
    key_table: str = typer.Option("api_keys", "--key-table", help="The API key table."),
    read_models: bool = typer.Option(
        True, "--read-models/--no-read-models", help="Also record the read models' checksums (one more read of them)."
    ),
) -> None:
    """Write what only PostgreSQL holds (API keys, audit trail, validator state, data-key vault as stored, applied
    pseudonym rotations) to a folder: one CSV per table (0600) and a manifest with rows and SHA-256, one snapshot."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.api.audit import audit_table_of
    from registry.infra import backup as backup_mod
    from registry.infra import settings as settings_mod
    from registry.infra.db import engine

    s = settings_mod.load()
    eng = engine(s.database_url)
    try:
        backup_mod.weiger_gebruikte_map(uit)  # before any work
        with eng.connect() as conn:
            tabellen = backup_mod.te_bewaren(
                conn,
                key_table=key_table,
                audit_table=audit_table_of(key_table),
                validator_schema=validator_schema or s.vault_schema,
                read_schema=schema,
            )
        m = backup_mod.maak_backup(eng, tabellen, uit, schema, leesmodel_tabellen(schema) if read_models else {})
    except backup_mod.BackupFout as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"backup failed: {_oorzaak(exc)}")
    for b in m.tabellen:
        console.print(f"{b.tabel}: {b.rijen} row(s) -> {b.bestand}", highlight=False)
    console.print(
        f"backup of {len(m.tabellen)} table(s) in {uit} (manifest {backup_mod.MANIFEST}"
        + (f", checksums of {len(m.leesmodellen)} read-model table(s))" if m.leesmodellen else ")"),
        highlight=False,
    )


def restore(
    folder: Path = typer.Argument(..., help="A folder `backup --uit` wrote."),
) -> None:
    """Restore a backup into an EMPTY database (PRAKTIJK_DATABASE_URL): checks every file against the manifest
    first, creates each table with its component's DDL, copies the rows in one transaction. Then run `db roles`
    and `replay all`."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.infra import backup as backup_mod
    from registry.infra import settings as settings_mod
    from registry.infra.db import engine

    s = settings_mod.load()
    eng = engine(s.database_url)
    try:
        m = backup_mod.herstel(eng, folder, lambda b: maak_tabel(eng, b))
    except backup_mod.BackupFout as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"restore failed: {_oorzaak(exc)}")
    for b in m.tabellen:
        console.print(f"{b.tabel}: {b.rijen} row(s)", highlight=False)
    console.print(
        f"restored {len(m.tabellen)} table(s) of the backup made {m.created_at}; next: `praktijkregister db roles` "
        f"(hands the tables to their roles), `praktijkregister replay all --schema {m.read_schema}`, "
        f"`praktijkregister db checksum --schema {m.read_schema} --compare {folder}`",
        highlight=False,
    )


def maak_tabel(eng: Engine, b: Bestand) -> None:
    """Create the table of manifest entry ``b`` with its own component's DDL (the same code that makes it in
    production), so the restored rows land in the table that version of the component expects."""
    from consumers.validator_config import StateStore
    from projections import feiten
    from projections.store import ensure
    from registry.api.audit import create_audit_table
    from registry.api.auth import KeyStore
    from registry.infra import gegevenskluis, pseudoniem_rotatie

    schema, naam = b.tabel.split(".")
    if b.soort == "api_keys":
        KeyStore(eng, table=b.tabel).ensure()
    elif b.soort == "validator_staat":
        StateStore(eng, schema).ensure()
    else:
        with eng.begin() as conn:
            if b.soort == "audit":
                create_audit_table(conn, b.tabel)
            elif b.soort == "gegevenskluis":
                gegevenskluis.maak_tabel(conn, schema)
            elif b.soort == "record_sleutels":
                ensure(conn, schema, [feiten.PROJECTION])
            else:
                pseudoniem_rotatie.maak_tabel(conn, schema)


@dataclass(frozen=True)
class Checksumregel:
    """One read-model table's checksum (``backup``: equal / DIFFERS beside a backup's manifest, else empty)."""

    tabel: str
    rijen: int | None
    sha256: str | None
    backup: str | None = None


def checksum(
    schema: str = typer.Option(DEFAULT_READ_SCHEMA, "--schema", help="PostgreSQL schema of the read models."),
    compare: Path | None = typer.Option(
        None, "--compare", help="A backup folder: compare with the checksums its manifest recorded (exit 1: differ)."
    ),
    formaat: Formaat = uitvoer.format_option(),
) -> None:
    """A checksum per read-model table (rows in a total order, SHA-256): equal read models give equal checksums,
    e.g. the ones rebuilt by `restore` + `replay all` and the ones a backup saw."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.infra import backup as backup_mod
    from registry.infra import settings as settings_mod
    from registry.infra.db import engine

    s = settings_mod.load()
    try:
        voor = backup_mod.controleer(compare).leesmodellen if compare is not None else None
        nu = backup_mod.checksums(engine(s.database_url), leesmodel_tabellen(schema))
    except backup_mod.BackupFout as exc:
        _fail(str(exc))
    except (SQLAlchemyError, ValueError) as exc:
        _fail(f"checksum failed: {_oorzaak(exc)}")
    if voor is not None:
        if not voor:
            _fail(f"{compare}/{backup_mod.MANIFEST} holds no read-model checksums (made with --no-read-models)")
        # the backup's table names carry its read schema: compare by table name within the schema
        voor = {f"{schema}.{t.split('.', 1)[1]}": c for t, c in voor.items()}
    uitvoer.toon(regels(nu, voor), Checksumregel, formaat)
    if voor is not None:
        anders = backup_mod.verschillen(voor, nu)
        if anders:
            _fail(f"{len(anders)} table(s) differ from the backup: {', '.join(anders)}")
        err.print(f"all {len(nu)} read-model table(s) equal to the backup's", highlight=False)


def regels(nu: dict[str, Telling], voor: dict[str, Telling] | None) -> list[Checksumregel]:
    """A row per table of either side, sorted; ``voor`` None: no comparison."""
    uit = []
    for tabel in sorted(nu.keys() | (voor or {}).keys()):
        c = nu.get(tabel)
        oordeel = None if voor is None else ("equal" if voor.get(tabel) == c else "DIFFERS")
        uit.append(Checksumregel(tabel, c.rijen if c else None, c.sha256 if c else None, oordeel))
    return uit


def _oorzaak(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
