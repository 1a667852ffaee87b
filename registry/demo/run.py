"""The demo (``./ops/demo``): the simulated pilots, published by their partners
through the producer, validated into the canonical log, and counted.

Partners publish on separate ingress topics, and Kafka does not order events
across topics. The demo publishes every partner's file at the same time (one
thread per partner, no phases); the validator parks what arrives before the event
it depends on and releases it when that arrives, so the result is the same on
every run. The deliberately bad submissions follow once the files are in.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from consumers.validator import Validator
from producers.invoer import Invoer
from producers.publisher import Publisher
from producers.sleutels import Pseudonymiser, Sealer, init_keys
from registry import bootstrap
from registry.demo import data as demodata
from registry.demo import tellingen
from registry.demo.doelen import PEILDATUM
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import codec, topics
from registry.infra.db import engine
from registry.infra.kafka import client_config
from registry.infra.settings import Settings
from registry.infra.topics import Topics

# the lifecycle order the demo used to publish in (phase by phase); kept for tests that compare with it
PHASES: list[set[str]] = [
    {"KwalificatiedossierVastgesteld", "LeerbedrijfErkend", "ErkenningDerdeLeerwegVerleend"},
    {"KandidaatAangemeld", "AdviesUitgebracht"},
    {"DeelnemerIngeschreven"},
    {"LeerbedrijfVastgelegd", "PraktijkafsprakenVastgelegd", "WerkprocesAfgetekend"},
    {"AftekeningIngetrokken", "PraktijkverklaringUitgegeven"},
    {"PraktijkverklaringIngetrokken", "TrajectBeeindigd", "TellingGemeld"},
    {"UitstroomGeregistreerd", "DeelnemerGegevensVerwijderd"},
]
LEERBEDRIJF_PORTALS = 3  # leerbedrijven that sign off through their own topic; others via the instelling


def _route(records: list[demodata.DemoRecord]) -> list[demodata.DemoRecord]:
    """Keep the topic count small: most leerbedrijven sign off via the traject's instelling."""
    instelling = {
        r.record["traject_id"]: r.record["mbo_instelling"]
        for r in records
        if r.record["type"] == "DeelnemerIngeschreven"
    }
    portals = sorted({r.partner for r in records if r.partner.startswith("leerbedrijf.")})[:LEERBEDRIJF_PORTALS]
    out = []
    for r in records:
        if r.partner.startswith("leerbedrijf.") and r.partner not in portals:
            r = demodata.DemoRecord(instelling[r.record["traject_id"]], r.record)
        out.append(r)
    return out


def files(records: Iterable[demodata.DemoRecord]) -> dict[str, list[dict[str, Any]]]:
    """Every partner's file: its rows in data-set order."""
    by_partner: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_partner.setdefault(r.partner, []).append(r.record)
    return by_partner


def publish_file(
    servers: list[str],
    partitions: int,
    partner: str,
    rows: list[dict[str, Any]],
    pseudo: Pseudonymiser,
    sealer: Sealer,
    prefix: str = "praktijkleren",
) -> int:
    invoer = Invoer(partner, pseudo, sealer.seal)
    items = [invoer.row(row, raw=json.dumps(row, sort_keys=True)) for row in rows]
    with Publisher(servers, partner, partitions=partitions, prefix=prefix) as pub:
        return pub.publish_batch(items)


def publish_concurrently(
    servers: list[str],
    partitions: int,
    by_partner: dict[str, list[dict[str, Any]]],
    pseudo: Pseudonymiser,
    sealer: Sealer,
    order: list[str] | None = None,
    prefix: str = "praktijkleren",
) -> int:
    """Every partner's file at the same time, one thread each (started in ``order``, default sorted)."""
    names = order or sorted(by_partner)
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(names)))) as pool:
        futures = [
            pool.submit(publish_file, servers, partitions, p, by_partner[p], pseudo, sealer, prefix) for p in names
        ]
        return sum(f.result() for f in futures)


def _publish(s: Settings, records: Iterable[demodata.DemoRecord], pseudo: Pseudonymiser, sealer: Sealer) -> int:
    return publish_concurrently(s.kafka_servers, s.partitions, files(records), pseudo, sealer)


@dataclass(frozen=True)
class Instanties:
    """How many of each background consumer ``_serve`` starts (each kind is one consumer group)."""

    validators: int = 1
    projectors: int = 1
    reconcilers: int = 1

    def commands(self) -> list[list[str]]:
        """The CLI arguments of every background process; one projector keeps the plain ``project``."""
        project = [["project"]] if self.projectors == 1 else [["project", "--group"]] * self.projectors
        return (
            [["validator", "--instance", str(i)] for i in range(self.validators)]
            + project
            + [["reconcile", "--follow", "--instance", str(i)] for i in range(self.reconcilers)]
        )


def logging_naar(logs: Path | None) -> Path | None:
    """Where the demo's logging goes: ``logs``/demo.log (libraries, kafka-python among them, at WARNING and up), so the
    terminal shows only the demo's own lines; None (``--verbose``): the terminal, at INFO. Returns ``logs``."""
    if logs is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        return None
    logs.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=str(logs / "demo.log"), level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    return logs


def run(
    s: Settings, console: Console, serve: bool = True, instanties: Instanties = Instanties(), logs: Path | None = None
) -> None:
    t = Topics()
    # the registry signs and prints only PRAKTIJK_PUBLIC_URL (never a request's Host): the demo's is where it serves
    s = replace(s, public_url=s.public_url or f"http://{s.api_host}:{s.api_port}")
    console.print(
        f"[bold]Praktijkregister[/bold]  Kafka {s.kafka_bootstrap}  database "
        f"{make_url(s.database_url).render_as_string(hide_password=True)}"
    )
    init_keys(
        s.pseudonym_key_file,
        s.public_key_file,
        s.private_key_file,
        signing_file=s.signing_key_file,
        registry_pseudonym_file=s.registry_pseudonym_key_file,
        master_file=s.master_key_file,
    )
    pseudo, sealer = Pseudonymiser.from_file(s.pseudonym_key_file), Sealer.from_file(s.public_key_file)
    generated = demodata.generate()
    records = _route(generated) + tellingen.tellingen(generated, PEILDATUM)
    partners = sorted({r.partner for r in records} | {r.partner for r in demodata.refusals()})
    topics.create(
        s.kafka_servers,
        s.partitions,
        partners,
        max_ingress_bytes=s.max_ingress_bytes,
        retention_days=s.ingress_retention_days,
    )
    validator = bootstrap.validator(s)  # each step logs in as its component's role
    validator.start()
    try:
        by_partner = files(records)
        sent = publish_concurrently(s.kafka_servers, s.partitions, by_partner, pseudo, sealer)
        published = time.monotonic()
        done = validator.drain()
        p = validator.plaats
        console.print(
            f"  published {sent:5d}  validated {done:5d}  every partner's file at the same time "
            f"({len(by_partner)} partners); {p.geparkeerd_ooit} parked on arrival, "
            f"{p.opgelost_ooit['geaccepteerd']} released and accepted, {len(p)} still waiting; "
            f"caught up {time.monotonic() - published:.1f} s after the last publish"
        )
        sent = _publish(s, demodata.refusals(), pseudo, sealer)
        raw = KafkaProducer(**client_config(s.kafka_servers))
        raw.send(t.ingress("uwv"), b"garbage from a misconfigured partner system")
        raw.flush()
        raw.close()
        done = validator.drain()
        console.print(
            f"  published {sent + 1:5d}  validated {done:5d}  deliberately bad submissions "
            f"({len(validator.plaats)} parked, waiting: praktijkregister parked)"
        )
        _relaties(s, validator, console, generated, pseudo, sealer)
    finally:
        validator.close()
    summarize(s, t, console)
    project(s, console)
    show_overzichten(s, console, PEILDATUM)
    show_publiek(s, console, PUBLIEK_PEILDATA)
    show_doorstroom(s, console, "2019", PEILDATUM)
    show_reconciliatie(s, console, PEILDATUM)
    key = demo_key(s)
    base = f"http://{s.api_host}:{s.api_port}"
    console.print(f"\n[bold]Query API[/bold] on {base}  (OpenAPI: {base}/docs)")
    console.print(
        f"[bold]Praktijkloket[/bold] (browser): {base}/  (publiek view; enter the key below for exact numbers)"
    )
    console.print(f"landelijk API key (shown once): [bold]{key}[/bold]")
    for path in (
        "/v1/overzichten",
        f"/v1/overzichten/kwalificaties?peildatum={PEILDATUM}",
        f"/v1/overzichten/deelnemers-per-pilot?peildatum={PEILDATUM}&format=csv",
        "/v1/aantallen?regio=Rijnmond&van=2019-01-01&tot=2021-06-30",
        f"/v1/reconciliatie?peildatum={PEILDATUM}",
        "/v1/status",
    ):
        console.print(f"  curl -H 'Authorization: Bearer {key}' '{base}{path}'", highlight=False, soft_wrap=True)
    console.print(f"  curl '{base}/v1/verklaringen/<verklaring_id>/verificatie'   (public, no key)", highlight=False)
    _voorbeeld_verklaring(s, console, s.public_url, key)
    if serve:
        _serve(s, console, instanties, logs)


def _serve(s: Settings, console: Console, instanties: Instanties = Instanties(), logs: Path | None = None) -> None:
    """The API in the foreground; validator, projector and reconciler (--follow) in the background,
    so a telling published now (praktijkregister publish) shows up reconciled in /v1/reconciliatie. With ``logs``,
    each background component writes to ``logs/<component>.log`` instead of the terminal."""
    import subprocess
    import sys

    import uvicorn

    import projections.queries
    from registry.api.app import create_app

    cli = [sys.executable, "-m", "registry.cli"]
    workers = []
    for args in instanties.commands():
        naam = "-".join(a for a in args if not a.startswith("--"))
        uit = None if logs is None else (logs / f"{naam}.log").open("ab")
        workers.append(
            subprocess.Popen(
                cli + args, stdout=uit, stderr=None if uit is None else subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        )
    waar = "" if logs is None else f"; their logs: {logs}/<component>.log"
    console.print(
        f"{instanties.validators} validator(s), {instanties.projectors} projector(s) and "
        f"{instanties.reconcilers} reconciler(s) (reconcile --follow) run in the background{waar}; "
        "serving the API until Ctrl-C ...",
        highlight=False,
    )
    ports = (s.validator_metrics_port, s.projector_metrics_port, s.reconciler_metrics_port)
    if any(ports):  # ./ops/demo: the ports ops/prometheus.sh scrapes (its URL: ops/prometheus.sh url)
        console.print(
            "metrics: validator :{}, projector :{}, reconciler :{}, API {}/metrics (landelijk key); "
            "Prometheus: ops/prometheus.sh url".format(*ports, f"http://{s.api_host}:{s.api_port}")
        )
    try:
        uvicorn.run(create_app(s, queries=projections.queries), host=s.api_host, port=s.api_port, log_level="warning")
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)


def project(s: Settings, console: Console) -> None:
    from consumers import projector

    stats = projector.project(bootstrap.projector_config(s), ["all"], once=True)
    for st in stats:
        console.print(f"  projected {st.consumed:5d} event(s) into read model {st.projection}")


def show_overzichten(s: Settings, console: Console, peildatum: dt.date) -> None:
    from projections import queries

    with engine(s.for_component("api").database_url).connect() as conn:
        for naam, beschrijving in queries.OVERZICHTEN.items():
            rows = queries.overzicht(conn, naam, peildatum)
            table = Table(title=f"{naam} @ {peildatum}", caption=beschrijving, caption_justify="left")
            columns = [c for c in (rows[0].keys() if rows else []) if c != "pilot"]
            for col in columns:
                table.add_column(col, justify="right" if isinstance(rows[0][col], int) else "left", overflow="fold")
            for row in rows:
                table.add_row(*["" if row[c] is None else str(row[c]) for c in columns])
            console.print(table)
        dpp = queries.overzicht(conn, "deelnemers-per-pilot", peildatum)
        vpp = queries.overzicht(conn, "verklaringen-per-pilot", peildatum)
        niv = queries.overzicht(conn, "niveaus", peildatum)
    console.print(
        f"[bold]At {peildatum}:[/bold] {sum(r['deelnemers'] for r in dpp)} deelnemers over "
        f"{sum(1 for r in dpp if r['deelnemers'])} pilots, {sum(r['deelnemers_met_verklaring'] for r in vpp)} "
        f"with a verklaring, {sum(r['verklaringen'] for r in niv)} verklaringen "
        "(the evaluation: 784 over 26 pilots, 405, 458)"
    )


# the publiek headline numbers are shown at month ends (publiek gets no other peildata): the two around PEILDATUM
PUBLIEK_PEILDATA = (dt.date(2020, 12, 31), dt.date(2021, 1, 31))


def show_publiek(s: Settings, console: Console, peildata: tuple[dt.date, ...]) -> None:
    """The headline numbers as publiek sees them (the cell key method: afgerond/verstoord) beside the exact ones,
    and what the perturbation costs over every publiek cell at every month end."""
    from projections import queries
    from registry.diensten import bruikbaarheid

    with engine(s.for_component("api").database_url).connect() as conn:
        for d in peildata:
            cijfers = ", ".join(
                f"{label} {gepubliceerd} (exact {exact})"
                for label, exact, gepubliceerd in bruikbaarheid.kerncijfers_op(queries, conn, d)
            )
            console.print(f"[bold]Publiek at {d}[/bold] (afgerond/verstoord): {cijfers}", highlight=False)
        uitkomst = bruikbaarheid.rapport(queries, conn, dt.date(2018, 1, 1), peildata[-1])
    console.print(f"  the cell key method over {uitkomst.regel()}", highlight=False)


def show_doorstroom(s: Settings, console: Console, cohort: str, peildatum: dt.date) -> None:
    """The doorstroom of a cohort (what GET /v1/doorstroom answers landelijk): funnel, lead times, endings, uitstroom."""
    from projections import queries
    from registry.demo.doorstroom_tabel import tabellen
    from registry.domein.doorstroom import Cohort, aggregeer, stand_uit_rij

    c = Cohort.parse(cohort)
    with engine(s.for_component("api").database_url).connect() as conn:
        rows = queries.doorstroom_standen(conn, van=c.van, tot=c.tot, peildatum=peildatum)
    for table in tabellen(aggregeer(stand_uit_rij(r) for r in rows), cohort, peildatum):
        console.print(table)


def show_reconciliatie(s: Settings, console: Console, peildatum: dt.date) -> None:
    """Reconcile every pilot at the peildatum, record the result on the canonical log, project it."""
    from consumers import reconciler
    from registry.demo.reconciliatie_tabel import tabel

    rijen = reconciler.reconcile(
        engine(s.for_component("reconciler").database_url),
        DEFAULT_READ_SCHEMA,
        peildatum,
        venster_dagen=s.reconcile_window_days,
    )
    producer = KafkaProducer(**client_config(s.kafka_servers), acks="all")
    try:
        reconciler.publish_results(producer, rijen)
    finally:
        producer.close()
    project(s, console)
    console.print(tabel([r for r in rijen if r.bronnen], peildatum))
    console.print(
        f"({len(rijen)} pilots reconciled and recorded as ReconciliatieUitgevoerd; "
        f"the table shows the {sum(1 for r in rijen if r.bronnen)} with a telling near {peildatum})"
    )


def demo_key(s: Settings) -> str:
    from registry.api.auth import KeyStore

    _, key = KeyStore(engine(s.for_component("owner").database_url)).create("landelijk", naam="demo")
    return key


def summarize(s: Settings, t: Topics, console: Console) -> None:
    accepted, refused, dead = _counts(s, t)
    console.print(
        _count_table(
            f"canonical log {t.events}: {sum(accepted.values())} accepted events", "event type", "accepted", accepted
        )
    )
    console.print(
        _count_table(f"{t.rejections}: {sum(refused.values())} refused submissions", "reason code", "refused", refused)
    )
    console.print(f"{t.deadletter}: {dead} dead-lettered submission(s) (bytes that are not registry events)")


def _count_table(title: str, name_column: str, count_column: str, counts: Counter[str]) -> Table:
    table = Table(title=title)
    table.add_column(name_column)
    table.add_column(count_column, justify="right")
    for name, n in sorted(counts.items()):
        table.add_row(name, str(n))
    return table


def _counts(s: Settings, t: Topics) -> tuple[Counter[str], Counter[str], int]:
    accepted = Counter(codec.decode(r.value)[0] for r in topics.read_to_end(s.kafka_servers, t.events))
    refused = Counter(json.loads(r.value)["reden"] for r in topics.read_to_end(s.kafka_servers, t.rejections))
    return accepted, refused, len(topics.read_to_end(s.kafka_servers, t.deadletter))


def _relaties(
    s: Settings,
    validator: Validator,
    console: Console,
    generated: list[demodata.DemoRecord],
    pseudo: Pseudonymiser,
    sealer: Sealer,
) -> None:
    """A rogue inschrijving and an erasure of a deelnemer two instellingen hold: both wait (registry/demo/relaties.py)."""
    from registry.demo.relaties import pogingen

    rows = pogingen(generated)
    sent = 0
    for stap in (rows[:2], rows[2:]):  # the second instelling's advies is in the log before the erasure request
        sent += _publish(s, stap, pseudo, sealer)
        validator.drain()
    ids = {r.record["event_id"]: r for r in rows}
    wacht = [g for g in validator.plaats.entries.values() if g.event_id in ids]
    console.print(
        f"  published {sent:5d}  who may say what about whom: "
        + "; ".join(f"{g.partner} {g.event_type} parked ({g.reden})" for g in sorted(wacht, key=lambda g: g.volgorde))
        + " (praktijkregister parked --as sbb)",
        highlight=False,
    )


def _voorbeeld_verklaring(s: Settings, console: Console, base: str, key: str) -> None:
    """One sample PDF of a demo verklaring with its signed credential (and the command that checks it offline), and
    the URL of its real public verification page."""
    import projections.queries
    from registry.api.verklaringen import schrijf_voorbeeld
    from registry.infra.sleutelbestanden import prive_map

    pad = prive_map(s.keys_dir.parent / "demo") / "praktijkverklaring-voorbeeld.pdf"  # a name, a birth date
    try:
        found = schrijf_voorbeeld(s, projections.queries, pad, base)
    except Exception as exc:  # the demo goes on without the sample; say why
        console.print(f"sample praktijkverklaring not written: {type(exc).__name__}: {exc}")
        return
    if found is None:
        console.print("no verklaring to print a sample of")
        return
    vid, url = found.verklaring_id, found.verificatie_url
    console.print(f"\n[bold]Praktijkverklaring[/bold] sample PDF: {pad}", highlight=False, soft_wrap=True)
    console.print(f"  verification page (public): {url}", highlight=False, soft_wrap=True)
    if found.credential is not None:
        console.print(
            f"  signed credential: {found.credential}; check it offline with its status list and the public key:\n"
            f"  praktijkregister verklaring verify {found.credential} --keys {found.sleutels} --issuer {base}"
            f" --status {found.statuslijst}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"  curl -H 'Authorization: Bearer {key}' -o v.pdf '{base}/v1/verklaringen/{vid}/document'",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  curl -H 'Authorization: Bearer {key}' -o v.jwt '{base}/v1/verklaringen/{vid}/credential'"
        f" && curl -o keys.json '{base}/.well-known/praktijkregister-keys.json'"
        f" && praktijkregister verklaring verify v.jwt --keys keys.json --issuer {base} --fetch",
        highlight=False,
        soft_wrap=True,
    )
