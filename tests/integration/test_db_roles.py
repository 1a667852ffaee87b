"""Least privilege in PostgreSQL: each component's role can do its job and nothing more.

The roles are made by ``praktijkregister db roles`` (registry/infra/rollen.py) with a prefix of this test's own,
so the stack's ``praktijk_*`` roles and their passwords stay untouched; everything is dropped afterwards.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from projections import store
from projections.catalogus import ALL
from registry.api.auth import KeyStore
from registry.infra.settings import COMPONENTS


@dataclass
class Roles:
    prefix: str
    urls: dict[str, str]  # component -> URL
    read_schema: str
    key_table: str
    secrets: Path

    def engine(self, component: str) -> Engine:
        return create_engine(self.urls[component], poolclass=NullPool)


def _run_roles(database_url: str, prefix: str, secrets: Path) -> subprocess.CompletedProcess[str]:
    # never the stack's own schemas or key table: the test's roles are dropped with everything they own
    env = dict(os.environ, PRAKTIJK_DATABASE_URL=database_url)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "db",
            "roles",
            "--secrets",
            str(secrets),
            "--prefix",
            prefix,
            "--read-schema",
            f"{prefix}_rm",
            "--validator-schema",
            f"{prefix}_val",
            "--key-table",
            f"{prefix}_keys",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def roles(database_url: str, unique: str, tmp_path: Path) -> Iterator[Roles]:
    prefix = f"t{unique}"
    admin = create_engine(database_url, poolclass=NullPool)
    try:
        out = _run_roles(database_url, prefix, tmp_path / "roles")
        assert out.returncode == 0, out.stderr
        urls: dict[str, str] = {}
        for line in out.stdout.splitlines():
            assert line.startswith("export PRAKTIJK_DATABASE_URL_"), line
            name, _, value = line.removeprefix("export PRAKTIJK_DATABASE_URL_").partition("=")
            urls[name.lower()] = value.strip("'")
        assert sorted(urls) == sorted(COMPONENTS)
        r = Roles(prefix, urls, f"{prefix}_rm", f"{prefix}_keys", tmp_path / "roles")
        # the read models are created by the projector role, after the roles (as `project` does at run time)
        with r.engine("projector").begin() as conn:
            store.ensure(conn, r.read_schema, ALL.values())
        # the owner role (apikey create) makes keys in the key table the roles step created
        KeyStore(r.engine("owner"), table=r.key_table).create("landelijk", naam="test")
        again = _run_roles(database_url, prefix, tmp_path / "roles")  # idempotent, with the schema now there
        assert again.returncode == 0, again.stderr
        assert again.stdout == out.stdout, "a second run keeps the passwords"
        yield r
    finally:
        with admin.begin() as conn:
            for c in COMPONENTS:
                if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": f"{prefix}_{c}"}).first():
                    conn.execute(text(f'DROP OWNED BY "{prefix}_{c}"'))  # its schemas, tables and grants
                    conn.execute(text(f'DROP ROLE "{prefix}_{c}"'))
            conn.execute(text(f'DROP TABLE IF EXISTS "{prefix}_keys"'))


def _refused(engine: Engine, sql: str) -> str:
    with pytest.raises(ProgrammingError) as info, engine.begin() as conn:
        conn.execute(text(sql))
    return str(info.value.orig)


def test_password_files_are_private(roles: Roles) -> None:
    files = sorted(roles.secrets.iterdir())
    assert len(files) == len(COMPONENTS)
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        assert make_url(roles.urls[f.name.split("_", 1)[1].removesuffix(".password")]).password == f.read_text().strip()


def test_the_api_reads_but_cannot_write_a_read_model_or_create_a_key(roles: Roles) -> None:
    api = roles.engine("api")
    s = roles.read_schema
    with api.connect() as conn:  # SELECT on read models made after the roles: the default privileges
        assert conn.execute(text(f'SELECT count(*) FROM "{s}".inschrijvingen')).scalar_one() == 0
        assert conn.execute(text(f'SELECT count(*) FROM "{s}".projection_offsets')).scalar_one() == 0
    keys = KeyStore(api, table=roles.key_table)
    assert [k.naam for k in keys.list()] == ["test"], "the API reads the keys (ensure does not try to create the table)"
    assert "permission denied" in _refused(api, f'DELETE FROM "{s}".inschrijvingen')
    assert "permission denied" in _refused(api, f'UPDATE "{s}".projection_offsets SET next_offset = 0')
    assert "permission denied" in _refused(
        api,
        f"INSERT INTO \"{s}\".projection_offsets (projection, topic, partition, next_offset) VALUES ('x', 'y', 0, 0)",
    )
    assert "permission denied" in _refused(api, f'CREATE TABLE "{s}".extra (x int)')
    assert "must be owner" in _refused(api, f'DROP TABLE "{s}".inschrijvingen')
    # no key of its own making, and no key table
    assert "permission denied" in _refused(
        api, f"INSERT INTO {roles.key_table} (key_id, key_hash, scope) VALUES ('x', repeat('0', 64), 'landelijk')"
    )
    with pytest.raises(ProgrammingError, match="permission denied"):
        KeyStore(api, table=roles.key_table).create("landelijk", naam="forged")
    assert "permission denied" in _refused(api, "CREATE TABLE api_keys_forged (key_id text)")
    assert "permission denied" in _refused(api, "CREATE SCHEMA forged")


def test_the_projector_writes_read_models_but_cannot_touch_api_keys(roles: Roles) -> None:
    projector = roles.engine("projector")
    s = roles.read_schema
    with projector.begin() as conn:
        conn.execute(
            text(
                f'INSERT INTO "{s}".projection_offsets (projection, topic, partition, next_offset) '
                "VALUES ('feiten', 't', 0, 7)"
            )
        )
    with roles.engine("reconciler").connect() as conn:  # the reconciler reads what the projector wrote
        assert conn.execute(text(f'SELECT next_offset FROM "{s}".projection_offsets')).scalar_one() == 7
    assert "permission denied" in _refused(roles.engine("reconciler"), f'DELETE FROM "{s}".projection_offsets')
    assert "permission denied" in _refused(projector, f"SELECT key_hash FROM {roles.key_table}")
    assert "must be owner" in _refused(projector, f"ALTER TABLE {roles.key_table} ADD COLUMN x int")
    assert "permission denied" in _refused(projector, f"UPDATE {roles.key_table} SET revoked_at = now()")


def test_the_validator_keeps_its_own_state_and_sees_nothing_else(roles: Roles) -> None:
    validator = roles.engine("validator")
    with validator.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{roles.prefix}_val"'))
        conn.execute(text(f'CREATE TABLE "{roles.prefix}_val".entiteit (id text)'))
        conn.execute(text(f"INSERT INTO \"{roles.prefix}_val\".entiteit VALUES ('a')"))
    assert "permission denied" in _refused(validator, f'SELECT * FROM "{roles.read_schema}".inschrijvingen')
    assert "permission denied" in _refused(validator, f"SELECT * FROM {roles.key_table}")
    assert "permission denied" in _refused(roles.engine("api"), f'SELECT * FROM "{roles.prefix}_val".entiteit')


def test_a_wrong_password_is_refused(roles: Roles, database_url: str) -> None:
    for who, url in (("api role", roles.urls["api"]), ("superuser", database_url)):
        wrong = make_url(url).set(password="wrong-" + (make_url(url).password or "none"))
        with (
            pytest.raises(OperationalError, match="password authentication failed"),
            create_engine(wrong, poolclass=NullPool).connect(),
        ):
            pass
        u = make_url(url)
        nopw = URL.create(u.drivername, u.username, None, u.host, u.port, u.database)
        with pytest.raises(OperationalError, match="password"), create_engine(nopw, poolclass=NullPool).connect():
            pass
        with create_engine(url, poolclass=NullPool).connect() as conn:  # the right one is accepted
            assert conn.execute(text("SELECT current_user")).scalar_one() == make_url(url).username, who
