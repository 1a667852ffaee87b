"""CLI: ``praktijkregister reconcile`` (one run, or ``--follow`` to re-run on every new telling)."""

from __future__ import annotations

import datetime as dt
import threading

import typer
from rich.console import Console

from registry.cli import config, uitvoer
from registry.cli.uitvoer import Formaat
from registry.demo.reconciliatie_tabel import ReconciliatieRegel, regels, tabel
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import metrics
from registry.infra import settings as settings_mod
from registry.infra.db import engine
from registry.infra.kafka import client_config
from registry.infra.topics import DEFAULT


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)


def _peildatum(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date of the form YYYY-MM-DD") from None


def reconcile(
    peildatum: str | None = typer.Option(None, "--peildatum", help="Reference date D (YYYY-MM-DD)."),
    pilot: str | None = typer.Option(None, "--pilot", help="Only this pilot (pilot_id)."),
    follow: bool = typer.Option(
        False,
        "--follow",
        help="Keep running: re-run a pilot's reconciliation "
        "whenever a new TellingGemeld for it is accepted (until SIGTERM).",
    ),
    publish: bool = typer.Option(
        True, "--publish/--no-publish", help="Append ReconciliatieUitgevoerd to the canonical log."
    ),
    schema: str = typer.Option(DEFAULT_READ_SCHEMA, "--schema", help="PostgreSQL schema of the read models."),
    events_topic: str = typer.Option(DEFAULT.events, "--events-topic", help="Canonical log topic."),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        help="With --follow: serve Prometheus metrics on this port (0: off; default PRAKTIJK_RECONCILER_METRICS_PORT).",
    ),
    instance: int = typer.Option(
        0,
        "--instance",
        min=0,
        envvar="PRAKTIJK_RECONCILER_INSTANCE",
        help="With --follow: this follower's number (0, 1, ...); followers share the "
        "partitions, each with its own transactional id <group>-<instance>.",
    ),
    formaat: Formaat = uitvoer.format_option(),
) -> None:
    """Compare the register with every partner's telling near D, explain each difference by cause,
    print the table and record the result as a ReconciliatieUitgevoerd event."""
    from consumers import reconciler
    from registry.domein import referentie

    s = config.settings().for_component("reconciler")
    if pilot is not None and pilot not in referentie.pilots():
        raise typer.BadParameter(
            f"unknown pilot {pilot!r}; known: {', '.join(sorted(referentie.pilots()))}", param_hint="--pilot"
        )
    if follow:
        port = s.reconciler_metrics_port if metrics_port is None else metrics_port
        metrics.serve("reconciler", port + instance if port else 0, s.api_host)  # one port per instance on a host
        _follow(s, schema, events_topic, instance)
        return
    if peildatum is None:
        raise typer.BadParameter("give --peildatum YYYY-MM-DD (or --follow)", param_hint="--peildatum")
    d = _peildatum(peildatum)
    rijen = reconciler.reconcile(engine(s.database_url), schema, d, pilot, venster_dagen=s.reconcile_window_days)
    # csv and json: one row per pilot and source (a pilot without any: one row with the source fields empty)
    uitvoer.toon(regels(rijen), ReconciliatieRegel, formaat, tabel=tabel(rijen, d))
    if publish and rijen:
        from kafka import KafkaProducer

        producer = KafkaProducer(**client_config(s.kafka_servers), acks="all")
        try:
            reconciler.publish_results(producer, rijen, topic=events_topic)
        finally:
            producer.close()
        # beside csv or json on stdout, the note goes to stderr: a program reading stdout gets only the rows
        Console(stderr=formaat != Formaat.table).print(
            f"recorded {len(rijen)} ReconciliatieUitgevoerd event(s) on {events_topic}"
        )


def _follow(s: settings_mod.Settings, schema: str, events_topic: str, instance: int = 0) -> None:
    import signal

    from consumers import reconciler
    from registry import bootstrap

    config.daemon_logging()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    follow = bootstrap.reconciler_config(s, schema, events_topic, instance)
    runs = reconciler.follow(engine(s.database_url), follow, stop=stop)
    Console().print(f"reconciler stopped after {runs} run(s)")
