"""CLI: ``praktijkregister partners add|list|revoke`` and ``praktijkregister principals add``.

A partner's Kafka login: ``partners add P`` creates (or rotates) the SCRAM-SHA-512 credential of ``P``,
its topics ``<prefix>.ingress.P`` and ``<prefix>.rejections.P`` and its ACLs, and prints exactly two
lines on stdout, so that ``eval "$(praktijkregister partners add P)"`` logs the shell in as ``P``:

    export PRAKTIJK_KAFKA_USERNAME='P'
    export PRAKTIJK_KAFKA_PASSWORD='...'

Everything else goes to stderr. Run as the broker's admin (``eval "$(ops/stack.sh env)"``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from rich.console import Console

from registry.cli import config, uitvoer
from registry.cli.uitvoer import Formaat
from registry.infra import kafka as kafka_mod
from registry.infra import settings as settings_mod
from registry.infra import toegang
from registry.infra import topics as topics_mod

partners_app = typer.Typer(help="Partners' Kafka logins: credential, ingress topic, ACLs.", no_args_is_help=True)
principals_app = typer.Typer(help="Kafka logins of the registry's own components.", no_args_is_help=True)
err = Console(stderr=True)
T = TypeVar("T")


@dataclass(frozen=True)
class Partnerlogin:
    """A row of ``partners list``."""

    partner: str


def register(app: typer.Typer) -> None:
    app.add_typer(partners_app, name="partners")
    app.add_typer(principals_app, name="principals")


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


@contextmanager
def _admin(s: settings_mod.Settings) -> Iterator[Any]:
    if not kafka_mod.secured(s):
        _fail("PRAKTIJK_KAFKA_SECURITY=plaintext: that broker has no logins or ACLs to manage")
    admin = toegang.admin_client(s.kafka_servers, settings=s)
    try:
        yield admin
    finally:
        admin.close()


def _guarded(action: Callable[[], T]) -> T:
    """One line on stderr instead of a traceback for what the broker or the input refuses."""
    try:
        return action()
    except typer.Exit:
        raise
    except (ValueError, toegang.ToegangError) as exc:
        _fail(str(exc))
    except Exception as exc:  # kafka.errors.*: authentication, authorisation, unreachable broker
        _fail(f"Kafka refused: {type(exc).__name__}: {exc}".splitlines()[0])
    raise AssertionError("unreachable")


def _print_login(user: str, password: str) -> None:
    sys.stdout.write(f"export PRAKTIJK_KAFKA_USERNAME='{user}'\nexport PRAKTIJK_KAFKA_PASSWORD='{password}'\n")
    sys.stdout.flush()


@partners_app.command("add")
def add(
    partner: str = typer.Argument(..., help="Partner id, e.g. mbo.albeda, gemeente.gm0758, uwv."),
    prefix: str = typer.Option("praktijkleren", help="Topic prefix."),
) -> None:
    """Create (or, when it exists, rotate) a partner's login, its topics and ACLs; prints two export lines."""
    s = config.settings()

    def run() -> tuple[bool, str, list[str]]:
        toegang.check_partner_name(partner)
        created = topics_mod.create(
            s.kafka_servers, s.partitions, [partner], prefix, retention_days=s.ingress_retention_days
        )
        with _admin(s) as admin:
            bestond = partner in toegang.users(admin)
            toegang.apply(admin, toegang.partner_rules(partner, prefix))
            return bestond, toegang.set_password(admin, partner), created

    bestond, password, created = _guarded(run)
    t = topics_mod.Topics(prefix)
    err.print(
        f"partner {partner}: {'password rotated (the old one no longer works)' if bestond else 'login created'}; "
        f"writes {t.ingress(partner)}, reads {t.rejections_of(partner)}"
        + (f"; created {len(created)} topic(s)" if created else ""),
        highlight=False,
    )
    _print_login(partner, password)


@partners_app.command("list")
def list_partners(formaat: Formaat = uitvoer.format_option()) -> None:
    """The partners that have a login (the table form: one per line)."""
    s = config.settings()

    def run() -> list[str]:
        with _admin(s) as admin:
            return [u for u in toegang.users(admin) if u not in toegang.RESERVED]

    names = _guarded(run)
    if formaat != Formaat.table:
        uitvoer.toon([Partnerlogin(n) for n in names], Partnerlogin, formaat)
        return
    for name in names:
        print(name)


@partners_app.command("revoke")
def revoke(partner: str = typer.Argument(..., help="Partner id.")) -> None:
    """Remove a partner's login and every ACL naming it (its topics and their records stay)."""
    s = config.settings()

    def run() -> tuple[bool, int]:
        toegang.check_partner_name(partner)
        with _admin(s) as admin:
            return toegang.remove(admin, partner)

    had, removed = _guarded(run)
    if not had and not removed:
        _fail(f"partner {partner!r} has no login and no ACLs")
    err.print(
        f"partner {partner}: login {'removed' if had else 'was absent'}, {removed} ACL(s) removed", highlight=False
    )


@principals_app.command("add")
def add_principal(
    name: str = typer.Argument(..., help="validator | projector | reconciler | api"),
    prefix: str = typer.Option("praktijkleren", help="Topic prefix."),
) -> None:
    """Create (or rotate) the login of a registry component, with the ACLs of every component; prints two export lines."""
    s = config.settings()
    if name not in toegang.COMPONENTS:
        _fail(f"{name!r} is not one of {', '.join(toegang.COMPONENTS)}")

    def run() -> str:
        with _admin(s) as admin:
            toegang.apply(admin, toegang.component_rules(prefix, s.validator_group))
            return toegang.set_password(admin, name)

    password = _guarded(run)
    err.print(f"component {name}: login set, ACLs applied", highlight=False)
    _print_login(name, password)


def apply_component_acls(s: settings_mod.Settings, prefix: str = "praktijkleren") -> int:
    """The components' ACLs (idempotent); 0 on a plaintext broker. ``topics create`` runs this."""
    if not kafka_mod.secured(s):
        return 0
    with _admin(s) as admin:
        return toegang.apply(admin, toegang.component_rules(prefix, s.validator_group))
