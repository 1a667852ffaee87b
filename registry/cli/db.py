"""``praktijkregister db roles``: the least-privilege PostgreSQL roles (registry/infra/rollen.py).

Runs with ``PRAKTIJK_DATABASE_URL`` (a superuser's). Each role's password is kept in ``--secrets DIR/<role>.password``
(mode 0600, generated when missing), so running it again changes nothing. Prints one shell line per component,
``export PRAKTIJK_DATABASE_URL_<COMPONENT>='...'`` (stdout; anything else on stderr), so
``eval "$(praktijkregister db roles --secrets DIR)"`` puts every component on its own login.
"""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path

import typer
from rich.console import Console

from registry.cli import config
from registry.infra.settings import COMPONENTS, Component

app = typer.Typer(help="PostgreSQL: least-privilege roles per component.", no_args_is_help=True)
err = Console(stderr=True)


def wachtwoord(secrets_dir: Path, rol: str) -> str:
    """The role's password from ``secrets_dir/<rol>.password``; generated (mode 0600) when missing. An existing one
    that group or others may read is refused (``SleutelFout``, naming the file and ``chmod 600``), like a key file."""
    from registry.infra.sleutelbestanden import check_mode

    path = secrets_dir / f"{rol}.password"
    if path.exists():
        check_mode(path, f"password of database role {rol}")
        value = path.read_text().strip()
        if value:
            return value
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_hex(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return value


def component_url(admin_url: str, rol: str, password: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(username=rol, password=password).render_as_string(hide_password=False)


@app.command("roles")
def roles(
    secrets_dir: Path = typer.Option(
        ..., "--secrets", help="Folder of the roles' password files (kept private, 0600)."
    ),
    prefix: str = typer.Option("praktijk", "--prefix", hidden=True, help="Role name prefix (tests)."),
    read_schema: list[str] = typer.Option(
        ["praktijk"], "--read-schema", help="Existing read-model schemas to hand to the projector."
    ),
    validator_schema: list[str] = typer.Option(["validator"], "--validator-schema", help="Existing validator schemas."),
    key_table: str = typer.Option("api_keys", "--key-table", help="The API key table (created when missing)."),
) -> None:
    """Create or update the roles owner, projector, api, validator, reconciler and their rights (idempotent);
    print their URLs as export lines."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.api.auth import KeyStore
    from registry.infra.db import engine
    from registry.infra.rollen import Rollen, zorg_voor_rollen

    s = config.settings()
    try:
        rollen = Rollen(prefix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--prefix") from None
    from registry.infra.sleutelbestanden import SleutelFout

    try:
        wachtwoorden: dict[Component, str] = {c: wachtwoord(secrets_dir, rollen.naam(c)) for c in COMPONENTS}
    except SleutelFout as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    admin = engine(s.database_url)
    try:
        KeyStore(
            admin, table=key_table
        ).ensure()  # the key table exists before the API (which may not create it) starts
        with admin.begin() as conn:
            zorg_voor_rollen(
                conn,
                wachtwoorden,
                rollen=rollen,
                read_schemas=read_schema,
                validator_schemas=validator_schema,
                key_tables=[key_table],
            )
    except (SQLAlchemyError, ValueError) as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(f"[red]error:[/red] creating the database roles failed: {cause}", highlight=False)
        raise typer.Exit(1) from None
    for c in COMPONENTS:
        url = component_url(s.database_url, rollen.naam(c), wachtwoorden[c])
        print(f"export PRAKTIJK_DATABASE_URL_{c.upper()}={shlex.quote(url)}")
    err.print(
        f"roles {', '.join(rollen.naam(c) for c in COMPONENTS)} ready; passwords in {secrets_dir}", highlight=False
    )
