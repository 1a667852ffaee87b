"""Disaster recovery of PostgreSQL, over the real broker and database: a world with API keys, an audit trail, the
validator's state, vault keys and an applied pseudonym rotation is backed up (`backup`), restored into a FRESH
database (`restore`), its read models rebuilt from the log (`replay all`): every table equal to the lost one
(checksums per table, also `db checksum --compare`), the same API answers (the verklaring's persoonsgegevens open
with the restored vault), and a second restore into the now non-empty database is refused. An erasure logged after
the backup is applied to the restored vault when the validator starts on it."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from producers.sleutels import Pseudonymiser, Sealer, init_keys
from projections import queries
from registry.api.app import create_app
from registry.api.auth import KeyStore
from registry.cli.backup import leesmodel_tabellen
from registry.cli.main import app as cli
from registry.infra import backup as backup_mod
from registry.infra import pseudoniem_rotatie
from registry.infra import settings as settings_mod
from registry.infra.db import engine as make_engine
from tests.support import validator as h
from tests.support.builders import MBO, T1, V1, ev
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.verklaringen import V2, publiceer_verklaringen
from tests.support.wereld import pijplijn

pytestmark = pytest.mark.integration

PEILDATUM = "2020-12-31"
GEWIST = dt.datetime(2021, 1, 5, 10, tzinfo=dt.UTC)


@pytest.fixture()
def verse_database(database_url: str, unique: str) -> Iterator[str]:
    """A new, empty database on the same server (the superuser's URL to it), dropped at the end."""
    naam = f"praktijk_herstel_{unique}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{naam}"'))
    try:
        yield make_url(database_url).set(database=naam).render_as_string(hide_password=False)
    finally:
        make_engine.cache_clear()  # the engines of this database hold pooled connections to it
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{naam}" WITH (FORCE)'))
        admin.dispose()


def _cli(database_url: str, *args: str, **env: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"PRAKTIJK_DATABASE_URL": database_url, **env})


def _weg_met_rollen(database_url: str, prefix: str) -> None:
    """Drop the test's roles: their connections first, then what they own and were granted in the fresh database."""
    make_engine.cache_clear()
    eng = create_engine(database_url)
    try:
        with eng.begin() as conn:
            namen = conn.execute(
                text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"), {"p": prefix + "_"}
            )
            for rol in namen.scalars().all():
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": rol}
                )
                conn.execute(text(f'DROP OWNED BY "{rol}"'))
                conn.execute(text(f'DROP ROLE "{rol}"'))
    finally:
        eng.dispose()


def _antwoorden(app: Any, key: str, deelnemer: str) -> dict[str, Any]:
    """Status and body of a few answers: the audit trail first (before this client's own reads add to it)."""
    client = TestClient(app)
    hdr = {"Authorization": f"Bearer {key}"}
    paden = [
        "/v1/audit",
        *(f"/v1/overzichten/{naam}?peildatum={PEILDATUM}" for naam in queries.OVERZICHTEN),
        f"/v1/aantallen?peildatum={PEILDATUM}",
        f"/v1/trajecten/{T1}",
        f"/v1/deelnemers/{deelnemer}/tijdlijn",
        f"/v1/verklaringen/{V1}/credential",
        f"/v1/verklaringen/{V2}/verificatie",
    ]
    uit = {}
    for pad in paden:
        r = client.get(pad, headers=hdr)
        uit[pad] = (r.status_code, r.text)
    return uit


def test_backup_restore_replay_gives_equal_tables_and_answers(
    kafka_bootstrap: str, database_url: str, verse_database: str, unique: str, tmp_path: Path
) -> None:
    keydir = tmp_path / "keys"
    init_keys(
        keydir / "pseudonym.key",
        keydir / "registry.pub",
        keydir / "registry.key",
        signing_file=keydir / "signing.key",
        master_file=keydir / "master.key",
    )
    pseudo, sealer = Pseudonymiser.from_file(keydir / "pseudonym.key"), Sealer.from_file(keydir / "registry.pub")
    prefix, schema, t, v, eng, keystore = pijplijn(kafka_bootstrap, database_url, "b", unique=unique, keydir=keydir)
    vault_schema = f"{prefix}_validator"
    validators = [v]
    rollen = f"t{unique}"
    s = replace(
        settings_mod.load(),
        kafka_bootstrap=kafka_bootstrap,
        private_key_file=keydir / "registry.key",
        signing_key_file=keydir / "signing.key",
        master_key_file=keydir / "master.key",
        vault_schema=vault_schema,
        public_url="http://testserver",  # what the TestClient asks for: credentials are signed
    )
    try:
        publiceer_verklaringen(
            kafka_bootstrap,
            prefix,
            v,
            sealer,
            pseudo("111222333"),
            pseudo("123456782"),
            {"naam": "Anna Herstel", "geboortedatum": "1980-01-01"},
            {"naam": "Bram Herstel", "geboortedatum": "1991-02-02"},
        )
        project_once(kafka_bootstrap, database_url, prefix, schema)
        rp = next(r["deelnemer"] for et, r in h.canonical(kafka_bootstrap, t) if et == "DeelnemerIngeschreven")
        landelijk = keystore.create("landelijk", "test")[1]
        keystore.revoke(keystore.create("publiek", "ingetrokken")[0].key_id)
        with eng.begin() as conn:  # an applied rotation (of a pseudonym the log does not hold)
            pseudoniem_rotatie.maak_tabel(conn, schema)
            conn.execute(
                text(f'INSERT INTO "{schema}".{pseudoniem_rotatie.TABLE} VALUES (:o, :n)'),
                {"o": "c" * 64, "n": "d" * 64},
            )

        def bron_app() -> Any:
            return create_app(
                replace(s, database_url=database_url),
                queries=queries,
                engine=eng,
                keys=keystore,
                schema=schema,
                events_topic=t.events,
                ingress_prefix=t.ingress_prefix,
            )

        _antwoorden(bron_app(), landelijk, rp)  # person-level reads: the audit trail has rows
        backup = tmp_path / "backup"
        args = ["--schema", schema, "--validator-schema", vault_schema, "--key-table", keystore.table]
        r = _cli(database_url, "backup", "--uit", str(backup), *args)
        assert r.exit_code == 0, r.output
        eigen = {b.tabel: b.kolommen for b in backup_mod.controleer(backup).tabellen}
        soorten = {b.soort: b.rijen for b in backup_mod.controleer(backup).tabellen}
        assert set(soorten) == {
            "api_keys",
            "audit",
            "validator_staat",
            "gegevenskluis",
            "pseudoniem_rotaties",
            "record_sleutels",  # drawn at random: restored, not replayed (the checksums below compare them)
        }
        assert soorten["record_sleutels"] == 2
        assert soorten["api_keys"] == 2 and soorten["audit"] > 0 and soorten["gegevenskluis"] == 2
        assert (backup.stat().st_mode & 0o777) == 0o700
        assert {p.stat().st_mode & 0o777 for p in backup.iterdir()} == {0o600}
        tabellen = {**leesmodel_tabellen(schema), **dict.fromkeys(eigen)}
        bron = backup_mod.checksums(eng, tabellen)
        voor = _antwoorden(bron_app(), landelijk, rp)  # after the checksums: these reads add to the audit trail

        r = _cli(verse_database, "restore", str(backup))
        assert r.exit_code == 0, r.output
        # as in production: the roles get their tables back, the projector replays under its own login
        r = _cli(
            verse_database,
            *("db", "roles", "--secrets", str(tmp_path / "rollen"), "--prefix", rollen, "--read-schema", schema),
            *("--validator-schema", vault_schema, "--key-table", keystore.table),
        )
        assert r.exit_code == 0, r.output
        urls = dict(
            shlex.split(regel.removeprefix("export PRAKTIJK_DATABASE_URL_"))[0].split("=", 1)
            for regel in r.output.splitlines()
            if regel.startswith("export PRAKTIJK_DATABASE_URL_")
        )
        replay_args = ["--events-topic", t.events, "--rejections-topic", t.rejections, "--no-progress"]
        r = _cli(
            verse_database,
            *("replay", "all", "--schema", schema, *replay_args),
            PRAKTIJK_DATABASE_URL_PROJECTOR=urls["PROJECTOR"],
        )
        assert r.exit_code == 0, r.output

        verse = make_engine(verse_database)
        hersteld = backup_mod.checksums(verse, tabellen)
        assert len(bron) == len(tabellen) and bron["public." + keystore.table]
        assert backup_mod.verschillen(bron, hersteld) == []
        r = _cli(verse_database, "db", "checksum", "--schema", schema, "--compare", str(backup))
        assert r.exit_code == 0 and "equal to the backup's" in r.output, r.output

        api = make_engine(urls["API"])  # the API under its own login: reads, audit appends and the vault
        na = _antwoorden(
            create_app(
                replace(s, database_url=urls["API"]),
                queries=queries,
                engine=api,
                keys=KeyStore(api, table=keystore.table),
                schema=schema,
                events_topic=t.events,
                ingress_prefix=t.ingress_prefix,
            ),
            landelijk,
            rp,
        )
        assert voor[f"/v1/verklaringen/{V1}/credential"][0] == 200  # the vault opened the persoonsgegevens
        assert voor[f"/v1/trajecten/{T1}"][0] == 200 and voor["/v1/audit"][0] == 200
        assert na == voor

        r = _cli(verse_database, "restore", str(backup))
        assert r.exit_code == 1 and "not empty" in r.output, r.output

        # an erasure after the backup: the restored vault holds that deelnemer's data key again until the validator,
        # started on the restored state, rolls forward over the log and deletes it (crypto-shredding stays done)
        wissen = ev(MBO, deelnemer=pseudo("111222333"), grondslag="AVG art. 17") | {"occurred_at": GEWIST}
        h.publish(kafka_bootstrap, prefix, [("DeelnemerGegevensVerwijderd", wissen)])
        h.drain(v)
        kluis = {f"{vault_schema}.data_sleutels": None}
        assert backup_mod.checksums(eng, kluis) != backup_mod.checksums(verse, kluis)
        validators.append(h.validator(kafka_bootstrap, verse_database, prefix, keydir=keydir))
        assert backup_mod.checksums(verse, kluis) == backup_mod.checksums(eng, kluis)
        assert backup_mod.checksums(verse, kluis)[f"{vault_schema}.data_sleutels"].rijen == 1
    finally:
        for validator in validators:
            validator.close()
        _weg_met_rollen(verse_database, rollen)
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table, f"{keystore.table}_audit"])


def test_backup_refuses_a_wrong_validator_schema_and_a_used_folder(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    eng = make_engine(database_url)
    keys = KeyStore(eng, table=f"api_keys_{unique}")
    keys.ensure()
    try:
        r = _cli(
            database_url,
            "backup",
            "--uit",
            str(tmp_path / "b"),
            "--key-table",
            keys.table,
            "--validator-schema",
            f"geen_{unique}",
        )
        assert r.exit_code == 1 and f"geen_{unique}.entiteit" in r.output, r.output
        (tmp_path / "vol").mkdir()
        (tmp_path / "vol" / "iets").write_text("x")
        r = _cli(database_url, "backup", "--uit", str(tmp_path / "vol"), "--key-table", keys.table)
        assert r.exit_code == 1 and "not an empty folder" in r.output, r.output
    finally:
        with eng.begin() as conn:
            conn.execute(text(f'DROP TABLE IF EXISTS "{keys.table}", "{keys.table}_audit"'))


def test_restore_refuses_a_non_empty_database_before_copying(
    database_url: str, verse_database: str, unique: str, tmp_path: Path
) -> None:
    """Restore checks the target before it creates or copies anything: one row anywhere is enough to refuse."""
    verse = make_engine(verse_database)
    with verse.begin() as conn:
        conn.execute(text("CREATE TABLE iets (x int)"))
        conn.execute(text("INSERT INTO iets VALUES (1)"))
    folder = tmp_path / "b"
    folder.mkdir()
    bestand = backup_mod.Bestand(
        "api_keys", f"public.api_keys_{unique}", f"public.api_keys_{unique}.csv", 0, "", (("key_id", "text"),)
    )
    (folder / bestand.bestand).write_text("key_id\n")
    bestand = replace(bestand, sha256=backup_mod.sha256_van(folder / bestand.bestand))
    m = backup_mod.Manifest(1, "nu", "db", "15", "praktijk", (bestand,), {})
    (folder / backup_mod.MANIFEST).write_text(backup_mod.manifest_json(m))
    r = _cli(verse_database, "restore", str(folder))
    assert r.exit_code == 1 and "public.iets holds rows" in r.output, r.output
    with verse.connect() as conn:
        assert conn.execute(text("SELECT to_regclass(:t)"), {"t": f"api_keys_{unique}"}).scalar() is None
