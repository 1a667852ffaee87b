"""CLI: ``praktijkregister validator``, ``praktijkregister rejections`` and ``praktijkregister parked``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console

from registry.cli import config, uitvoer
from registry.cli.uitvoer import Formaat, kolom
from registry.domein.parkeren import Geparkeerd, Parkeerplaats, voor_partner, vouw_alles
from registry.domein.relaties import WACHT_OP_SBB
from registry.infra import dienst, metrics
from registry.infra import settings as settings_mod
from registry.infra.sleutelbestanden import SleutelFout
from registry.infra.topics import Topics, read_to_end


def _seconden(value: object) -> str:
    return str(value)[:19]  # the table shows a timestamp to the second; csv and json keep it whole


@dataclass(frozen=True)
class Weigering:
    """A row of ``rejections``: a refused submission, or one that waits (``status`` refused | waiting)."""

    recorded_at: str = kolom(cel=_seconden)
    event_type: str = kolom()
    event_id: str = kolom()
    reden: str = kolom()
    melding: str = kolom()
    status: str = kolom(in_tabel=False)
    wacht_op: tuple[str, ...] = kolom(in_tabel=False)


@dataclass(frozen=True)
class Wachtend:
    """A row of ``parked``: a submission that waits for what it depends on."""

    partner: str = kolom()
    event_type: str = kolom("event type")
    event_id: str = kolom()
    wacht_op: tuple[str, ...] = kolom("waits for")
    reden: str = kolom("reason")
    parked_at: str = kolom("parked since", cel=_seconden)
    melding: str = kolom(in_tabel=False)


def register(app: typer.Typer) -> None:
    app.command("validator")(validator)
    app.command("rejections")(rejections)
    app.command("parked")(parked)


def validator(
    metrics_port: int | None = typer.Option(
        None, help="Serve Prometheus metrics on this port (0: off; default PRAKTIJK_VALIDATOR_METRICS_PORT)."
    ),
    idle_exit: float | None = typer.Option(None, help="Stop after this many idle seconds (demo, tests)."),
    prefix: str = typer.Option("praktijkleren", help="Topic prefix."),
    schema: str = typer.Option("validator", help="PostgreSQL schema of the validator's state."),
    instance: int = typer.Option(
        0,
        "--instance",
        min=0,
        envvar="PRAKTIJK_VALIDATOR_INSTANCE",
        help="This instance's number (0, 1, ...): its transactional id is <group>-<instance> "
        "and its state snapshot its own; instances share the ingress partitions.",
    ),
) -> None:
    """Validate every praktijkleren.ingress.* submission into the canonical log (runs until stopped)."""
    from registry import bootstrap

    config.daemon_logging()
    s = config.settings()
    port = s.validator_metrics_port if metrics_port is None else metrics_port
    metrics.serve("validator", port + instance if port else 0, s.api_host)  # instances on one host: one port each
    try:
        cfg = bootstrap.validator_config(s, prefix, schema)
    except SleutelFout as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    v = bootstrap.build_validator(cfg, instance=instance)
    v.start()
    if idle_exit is None:  # long-running, its state loaded (registry/infra/dienst.py)
        dienst.als_dienst()
    v.run(idle_exit_after=idle_exit)


def read_rejections(
    bootstrap: list[str], prefix: str, partner: str | None, since: dt.datetime | None, own_topic: bool = False
) -> list[dict[str, object]]:
    """Refusals, oldest first. ``own_topic``: from ``<prefix>.rejections.<partner>``, the one topic a partner's
    login may read (else the shared topic, which only the registry reads)."""
    t = Topics(prefix)
    source = t.rejections_of(partner) if own_topic and partner else t.rejections
    rows = [json.loads(rec.value) for rec in read_to_end(bootstrap, source)]
    rows = [
        r
        for r in rows
        if "soort" not in r
        and (not partner or r["partner"] == partner)  # soort: parking notices
        and (since is None or dt.datetime.fromisoformat(r["recorded_at"]) >= since)
    ]
    return sorted(rows, key=lambda r: str(r["recorded_at"]))


def read_parked(bootstrap: list[str], prefix: str, partner: str | None = None) -> list[Geparkeerd]:
    """What waits now (the fold of the parked topic), oldest first; only ``partner``'s when given."""
    plaats: Parkeerplaats = vouw_alles(json.loads(rec.value) for rec in read_to_end(bootstrap, Topics(prefix).parked))
    return sorted((g for g in plaats.entries.values() if not partner or g.partner == partner), key=lambda g: g.volgorde)


def parked_for_partner(bootstrap: list[str], prefix: str, partner: str, own_topic: bool) -> list[dict[str, Any]]:
    """What of ``partner``'s waits now, as the partner may read it (its own pseudonym in the wait keys, never the
    registry's): from its own topic under its own login (the validator's parking notices), else from the parked
    topic. Each row: event_type, event_id, wacht_op, reden, melding, parked_at."""
    if own_topic:
        open_: dict[str, dict[str, Any]] = {}
        for rec in read_to_end(bootstrap, Topics(prefix).rejections_of(partner)):
            j = json.loads(rec.value)
            if j.get("soort") == "geparkeerd":
                open_[str(j["event_id"])] = j
            else:  # its end (opgelost), or its refusal
                open_.pop(str(j.get("event_id")), None)
        return sorted(open_.values(), key=lambda j: str(j["parked_at"]))
    rows = []
    for g in read_parked(bootstrap, prefix):
        if g.partner != partner and not (partner == "sbb" and g.reden == WACHT_OP_SBB):
            continue
        eigen = _ingress_pseudoniem(g)
        rows.append(
            {
                "partner": g.partner,
                "event_type": g.event_type,
                "event_id": g.event_id,
                "reden": g.reden,
                "melding": g.melding,
                "wacht_op": list(voor_partner(g.wacht_op, g.deelnemer, eigen)),
                "parked_at": g.parked_at.isoformat(),
            }
        )
    return rows


def _ingress_pseudoniem(g: Geparkeerd) -> str | None:
    from registry.domein.pseudoniemen import is_pseudoniem
    from registry.infra import codec

    try:
        value = codec.decode(g.waarde)[1].get("deelnemer")
    except Exception:  # noqa: BLE001 - an entry without readable bytes: its keys stay masked
        return "<deelnemer>"
    return str(value) if is_pseudoniem(value) else "<deelnemer>"


def parked(
    as_partner: str | None = typer.Option(None, "--as", help="Only this partner's parked submissions."),
    prefix: str = typer.Option("praktijkleren", help="Topic prefix."),
    formaat: Formaat = uitvoer.format_option(),
) -> None:
    """Show the submissions that wait for an event they depend on (and what they wait for). ``--as sbb`` also shows
    the erasures that wait for sbb's confirmation. A partner's login reads its own topic (its own pseudonyms)."""
    s = config.settings()
    if as_partner:
        rows = parked_for_partner(s.kafka_servers, prefix, as_partner, own_topic=_partner_login(s, as_partner))
    else:
        rows = [
            {
                "partner": g.partner,
                "event_type": g.event_type,
                "event_id": g.event_id,
                "wacht_op": list(g.wacht_op),
                "reden": g.reden,
                "melding": g.melding,
                "parked_at": g.parked_at.isoformat(),
            }
            for g in read_parked(s.kafka_servers, prefix)
        ]
    rijen = [
        Wachtend(
            str(r.get("partner") or as_partner),
            str(r["event_type"]),
            str(r["event_id"]),
            tuple(r["wacht_op"]),
            str(r["reden"]),
            str(r["parked_at"]),
            str(r.get("melding") or ""),
        )
        for r in rows
    ]
    titel = (
        f"{len(rows)} parked submission(s)"
        + (f" of {as_partner}" if as_partner else "")
        + f" (refused after {s.park_timeout})"
    )
    uitvoer.toon(rijen, Wachtend, formaat, titel=titel)


def _partner_login(s: settings_mod.Settings, as_partner: str) -> bool:
    """Logged in to Kafka as a partner (not the admin): it reads its own topic only, and only as itself."""
    from registry.infra import kafka as kafka_mod

    login = kafka_mod.secured(s) and s.kafka_username != kafka_mod.ADMIN
    if login and s.kafka_username != as_partner:
        Console(stderr=True).print(
            f"error: logged in to Kafka as {s.kafka_username!r}: a partner sees only its own "
            f"submissions (--as {s.kafka_username})",
            highlight=False,
        )
        raise typer.Exit(1)
    return login


def rejections(
    as_partner: str = typer.Option(..., "--as", help="The partner whose refusals to show."),
    since: str | None = typer.Option(None, help="Only refusals recorded on or after this date/datetime (ISO 8601)."),
    prefix: str = typer.Option("praktijkleren", help="Topic prefix."),
    formaat: Formaat = uitvoer.format_option(),
) -> None:
    """Show a partner its refused submissions, with reason code and message."""
    s = config.settings()
    since_ts = None
    if since:
        try:
            since_ts = dt.datetime.fromisoformat(since)
        except ValueError:
            Console(stderr=True).print(f"error: --since {since!r} is not a date or datetime (YYYY-MM-DD)")
            raise typer.Exit(2) from None
        if since_ts.tzinfo is None:
            since_ts = since_ts.replace(tzinfo=dt.UTC)
    # a partner's login reads its own rejections topic (and may read nothing else); the admin the shared one
    as_partner_login = _partner_login(s, as_partner)
    rows = read_rejections(s.kafka_servers, prefix, as_partner, since_ts, own_topic=as_partner_login)
    waiting = [
        g
        for g in parked_for_partner(s.kafka_servers, prefix, as_partner, own_topic=as_partner_login)
        if since_ts is None or dt.datetime.fromisoformat(str(g["parked_at"])) >= since_ts
    ]
    rijen = [
        Weigering(
            str(r["recorded_at"]),
            str(r["event_type"]),
            str(r["event_id"]),
            str(r["reden"]),
            str(r["melding"]),
            "refused",
            (),
        )
        for r in rows
    ] + [
        Weigering(
            str(g["parked_at"]),
            str(g["event_type"]),
            str(g["event_id"]),
            str(g["reden"]),
            f"waiting for {', '.join(g['wacht_op'])} (refused as {g['reden']} after {s.park_timeout} if it "
            f"does not come): {g['melding']}",
            "waiting",
            tuple(g["wacht_op"]),
        )
        for g in waiting
    ]
    titel = f"{len(rows)} refused submission(s) of {as_partner}, {len(waiting)} waiting"
    uitvoer.toon(rijen, Weigering, formaat, titel=titel)
