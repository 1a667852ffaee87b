"""The ``praktijkregister`` command line. Thin: parses arguments, calls adapters."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from registry.cli import api as api_cli
from registry.cli import backup as cli_backup
from registry.cli import config
from registry.cli import db as cli_db
from registry.cli import nametingen as cli_nametingen
from registry.cli import onthulling as cli_onthulling
from registry.cli import partners as cli_partners_mod
from registry.cli import projector as cli_projector
from registry.cli import reconcile as cli_reconcile
from registry.cli import transacties as cli_transacties
from registry.cli import validator as cli_validator
from registry.cli import verklaring as cli_verklaring
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra.codec import SCHEMA_DIR

app = typer.Typer(help="Praktijkregister: event-sourced registry for praktijkleren.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics of the registry.", no_args_is_help=True)
schemas_app = typer.Typer(help="The Avro schema catalogue in schemas/.", no_args_is_help=True)
keys_app = typer.Typer(help="Key material (pseudonymisation key, registry key pair).", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
app.add_typer(keys_app, name="keys")
app.add_typer(cli_verklaring.app, name="verklaring")
app.add_typer(cli_db.app, name="db")
app.add_typer(cli_transacties.app, name="transactions")
console = Console()
err = Console(stderr=True)


@app.callback()
def _invocation() -> None:
    # every command loads the settings once, when it first needs them (registry/cli/config.py)
    config.begin()


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


@topics_app.command("create")
def topics_create(
    partner: list[str] = typer.Option(
        [], "--partner", help="Also create praktijkleren.ingress.<partner> (repeatable)."
    ),
    known_partners: bool = typer.Option(True, help="Create ingress topics for every partner in the reference data."),
    partitions: int | None = typer.Option(None, help="Partitions per topic (default PRAKTIJK_PARTITIONS or 6)."),
) -> None:
    """Create the canonical, rejection, dead-letter and ingress topics (idempotent)."""
    from registry.domein import referentie
    from registry.infra import topics

    s = config.settings()
    partners = list(partner) + (referentie.default_partners() if known_partners else [])
    try:
        created = topics.create(
            s.kafka_servers,
            partitions or s.partitions,
            sorted(set(partners)),
            max_ingress_bytes=s.max_ingress_bytes,
            replication=s.replication_factor or None,
            retention_days=s.ingress_retention_days,
        )
    except ValueError as exc:
        fail(str(exc))
    console.print(f"created {len(created)} topic(s)")
    for name in created:
        console.print(f"  {name}")
    acls = cli_partners_mod.apply_component_acls(s)  # secured broker: the components' ACLs (idempotent)
    if acls:
        console.print(f"ACLs of the components (validator, projector, reconciler, api): {acls} rule(s) in place")


@topics_app.command("list")
def topics_list() -> None:
    """List the registry's topics."""
    from registry.infra import topics

    for name in topics.list_topics(config.settings().kafka_servers):
        console.print(name)


@schemas_app.command("check")
def schemas_check(
    directory: Path = typer.Option(SCHEMA_DIR, "--dir", help="Schema folder."),
) -> None:
    """Fail when a schema version is not backward compatible with every earlier one."""
    from registry.infra import compatibility

    problems, checked = compatibility.check_directory(directory)
    for p in problems:
        err.print(p, highlight=False)
    if problems:
        fail(f"{len(problems)} incompatibility(ies) in {directory}")
    console.print(f"ok: {checked} event type(s), every version backward compatible with every earlier one")


@keys_app.command("init")
def keys_init(
    force: bool = typer.Option(False, help="Replace existing keys (gives every deelnemer a new pseudonym!)."),
) -> None:
    """Create the pseudonymisation key and the registry's X25519 key pair (kept when present)."""
    from producers import sleutels

    s = config.settings()
    written = sleutels.init_keys(
        s.pseudonym_key_file,
        s.public_key_file,
        s.private_key_file,
        force=force,
        signing_file=s.signing_key_file,
        registry_pseudonym_file=s.registry_pseudonym_key_file,
        master_file=s.master_key_file,
    )
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        console.print(f"keys already present in {s.keys_dir} (use --force to replace)")


@keys_app.command("rotate-registry-pseudonym")
def keys_rotate_registry_pseudonym(
    pseudoniemen: Path = typer.Option(
        ...,
        "--pseudoniemen",
        exists=True,
        dir_okay=False,
        readable=True,
        help="The current canonical pseudonyms, one per line (e.g. SELECT DISTINCT deelnemer).",
    ),
    uit: Path = typer.Option(..., "--uit", help="Where to write the mapping table (CSV: oud,nieuw; mode 0600)."),
) -> None:
    """Add a new generation to the registry pseudonym key and write old -> new canonical pseudonym for every
    pseudonym listed (`keys list-registry-pseudonyms`). Stop the validator and the projector first; then apply the
    mapping with `keys apply-registry-pseudonym` before they start again."""
    from registry.infra import sleutelbestanden

    s = config.settings()
    oud = [line.strip() for line in pseudoniemen.read_text().splitlines() if line.strip()]
    try:
        mapping = sleutelbestanden.roteer(s.registry_pseudonym_key_file, oud)
    except sleutelbestanden.SleutelFout as exc:
        fail(str(exc))
    sleutelbestanden.write_secret(uit, "oud,nieuw\n" + "".join(f"{o},{n}\n" for o, n in mapping.items()))
    skipped = len(oud) - len(mapping)
    console.print(
        f"rotated {s.registry_pseudonym_key_file}; {len(mapping)} pseudonym(s) mapped in {uit}"
        + (f"; {skipped} line(s) were not a pseudonym and are left out" if skipped else "")
    )


@keys_app.command("list-registry-pseudonyms")
def keys_list_registry_pseudonyms(
    uit: Path = typer.Option(..., "--uit", help="Where to write the pseudonyms, one per line (mode 0600)."),
    schema: str = typer.Option(DEFAULT_READ_SCHEMA, "--schema", help="PostgreSQL schema of the read models."),
    validator_schema: str | None = typer.Option(
        None, "--validator-schema", help="The validator's state schema (default: PRAKTIJK_VAULT_SCHEMA)."
    ),
) -> None:
    """Write every canonical pseudonym the database holds (the validator's deelnemers, also erased ones, and the read
    models'): the input of `keys rotate-registry-pseudonym --pseudoniemen`."""
    from registry.infra import pseudoniem_rotatie, sleutelbestanden
    from registry.infra.db import engine

    s = config.settings()
    with engine(s.database_url).connect() as conn:
        lijst = pseudoniem_rotatie.alle_pseudoniemen(conn, schema, validator_schema or s.vault_schema)
    sleutelbestanden.write_secret(uit, "".join(f"{p}\n" for p in lijst))
    console.print(f"{len(lijst)} pseudonym(s) in {uit}")


@keys_app.command("apply-registry-pseudonym")
def keys_apply_registry_pseudonym(
    mapping: Path = typer.Option(
        ...,
        "--mapping",
        exists=True,
        dir_okay=False,
        readable=True,
        help="The mapping `keys rotate-registry-pseudonym` wrote (CSV: oud,nieuw).",
    ),
    schema: str = typer.Option(DEFAULT_READ_SCHEMA, "--schema", help="PostgreSQL schema of the read models."),
    validator_schema: str | None = typer.Option(
        None, "--validator-schema", help="The validator's state schema (default: PRAKTIJK_VAULT_SCHEMA)."
    ),
) -> None:
    """Re-key what the database holds after `keys rotate-registry-pseudonym`, in one transaction: the validator's
    state, the data-key vault and the read models get the new pseudonyms, and the mapping is kept so the projector
    maps old events (replays too) and the API opens their persoonsgegevens. Run it (as the database superuser) with
    the validator and the projector stopped, before they start with the new key generation."""
    from registry.domein import rotatie
    from registry.infra import pseudoniem_rotatie
    from registry.infra.db import engine
    from registry.infra.gegevenskluis import Gegevenskluis, KluisFout

    s = config.settings()
    state = validator_schema or s.vault_schema
    try:
        paren = rotatie.lees_csv(mapping.read_text())
        eng = engine(s.database_url)
        with eng.begin() as conn:
            verslag = pseudoniem_rotatie.pas_toe(
                conn, paren, schema, state, Gegevenskluis.from_file(eng, s.master_key_file, state)
            )
    except (rotatie.MappingFout, KluisFout) as exc:
        fail(str(exc))
    console.print(
        f"applied {mapping}: {verslag.pseudoniemen} pseudonym(s), {verslag.waarden} stored value(s) re-keyed, "
        f"{verslag.sleutels} data key(s) moved; start the validator and the projector again"
    )


@app.command()
def publish(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="JSON lines (.jsonl) or CSV (.csv) file."
    ),
    as_partner: str = typer.Option(..., "--as", help="The publishing partner, e.g. mbo.albeda, gemeente.gm0758, uwv."),
    event_type: str | None = typer.Option(None, "--type", help="Event type of every row of a CSV file."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Send the valid rows even when some are invalid."),
) -> None:
    """Validate and publish a partner file to praktijkleren.ingress.<partner>."""
    from registry.cli import publish as cli_publish

    code = cli_publish.run(config.settings(), file, as_partner, event_type, skip_invalid, console, err)
    raise typer.Exit(code)


@app.command()
def demo(
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Keep the query API running at the end."),
    validators: int = typer.Option(1, "--validators", min=1, help="Validator instances in the background."),
    projectors: int = typer.Option(1, "--projectors", min=1, help="Projector instances in the background."),
    reconcilers: int = typer.Option(
        1, "--reconcilers", min=1, help="Reconciler (--follow) instances in the background."
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Library and component logs on the terminal too (default: only in .cache/logs/<component>.log).",
    ),
) -> None:
    """The main job: publish the simulated pilots, validate, project, print the overzichten, serve the API."""
    from registry.demo import run as demo_mod

    s = config.settings()
    logs = demo_mod.logging_naar(None if verbose else s.keys_dir.parent / "logs")
    demo_mod.run(
        s, console, serve=serve, instanties=demo_mod.Instanties(validators, projectors, reconcilers), logs=logs
    )


# Commands in their own modules (validator, projections, reconciliation, API).
for _module in (cli_validator, cli_projector, cli_reconcile, api_cli, cli_partners_mod, cli_nametingen):
    _module.register(app)
cli_backup.register(app)
cli_onthulling.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
