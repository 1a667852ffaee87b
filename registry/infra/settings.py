"""All settings, read from environment variables with the prefix ``PRAKTIJK_``.

One place so the README can list every knob; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from registry.domein.parkeren import DEFAULT_TIMEOUT, duur

PREFIX = "PRAKTIJK_"
# the processes with their own PostgreSQL role (registry/infra/rollen.py); owner: DDL and API keys (apikey CLI)
Component = Literal["owner", "projector", "api", "validator", "reconciler"]
COMPONENTS: tuple[Component, ...] = ("owner", "projector", "api", "validator", "reconciler")


def _env(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _int(name: str, default: str, *, minimum: int, maximum: int) -> int:
    raw = _env(name, default)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{PREFIX}{name}={value} is outside {minimum}..{maximum}")
    return value


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str
    database_url: str = field(repr=False)  # may carry a password: never printed
    partitions: int
    api_host: str
    api_port: int
    keys_dir: Path
    pseudonym_key_file: Path
    public_key_file: Path
    private_key_file: Path
    validator_group: str
    reconcile_window_days: int  # a telling counts for peildatum D when its own peildatum is within this many days
    signing_key_file: Path  # Ed25519 key that signs verklaringen (credential, status list)
    public_url: str  # the only base URL signed or printed (QR code, iss, ids); empty: those routes answer 503
    # a parked event waiting longer than this (canonical-log time) is refused with its reason (PRAKTIJK_PARK_TIMEOUT)
    park_timeout: dt.timedelta = field(default=DEFAULT_TIMEOUT)
    # hostile input: the ingress topics' max.message.bytes, also the producer's and the validator's
    # limit per record (PRAKTIJK_MAX_INGRESS_BYTES); a dead letter keeps at most this prefix of the value
    # (PRAKTIJK_DEADLETTER_PREFIX_BYTES); the importer refuses longer lines and CSV cells (PRAKTIJK_IMPORT_MAX_*)
    max_ingress_bytes: int = 256 * 1024
    deadletter_prefix_bytes: int = 4 * 1024
    import_max_line_bytes: int = 1024 * 1024
    import_max_cell_bytes: int = 128 * 1024
    # how every Kafka client logs in (registry/infra/kafka.py): sasl_scram | sasl_ssl | plaintext
    kafka_security: str = "sasl_scram"
    kafka_username: str = ""
    kafka_password: str = field(default="", repr=False)
    kafka_ca_file: str = ""  # sasl_ssl: CA bundle that signed the broker's certificate (empty: system CAs)
    # erasure: the master key wrapping the per-deelnemer data keys (registry/infra/gegevenskluis.py), the
    # schema of the key table (the validator's state schema), and the retention of ingress and dead-letter topics
    master_key_file: Path = Path("keys/master.key")
    vault_schema: str = "validator"
    ingress_retention_days: int = 7
    replication_factor: int = 0  # replicas per topic partition; 0: min(3, brokers in the cluster)
    # the registry-only key that re-keys partner pseudonyms (validator) and maps them back in the API
    registry_pseudonym_key_file: Path = Path("keys/registry-pseudonym.key")
    # which peildata a publiek key may ask (PRAKTIJK_PUBLIC_PEILDATA): maandeinde | kwartaaleinde | dag
    public_peildata: str = "maandeinde"
    # how long a signed status list is valid (validUntil; PRAKTIJK_STATUS_LIST_VALIDITY): a replayed list from before
    # a revocation stops verifying after this; a list is signed anew after a revocation or a quarter of this
    status_list_validity: dt.timedelta = dt.timedelta(hours=24)
    # the port each long-running consumer serves /metrics on (PRAKTIJK_<COMPONENT>_METRICS_PORT; 0: none)
    validator_metrics_port: int = 0
    projector_metrics_port: int = 0
    reconciler_metrics_port: int = 0
    # records behind from which the projector catches up by the bulk path (set-based SQL per large batch); 0: never
    projector_bulk_lag: int = 10_000
    # prometheus-client's own variable (not ours): the folder of its multiprocess files when the API runs with
    # several workers (``serve --workers N`` sets it for its workers); empty: one process
    metrics_multiproc_dir: str = ""
    # the bench only (ops/benchmarks/api.py): a file whose bytes GET /v1/bench/baseline answers, the framework's floor
    # for a cached answer in the same app; empty (always in production): that route does not exist
    bench_baseline_file: str = ""

    # PRAKTIJK_DATABASE_URL_<COMPONENT>: each component's own (least-privilege) login; unset: database_url
    component_database_urls: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def for_component(self, component: Component) -> Settings:
        """These settings with ``database_url`` = the component's own URL (PRAKTIJK_DATABASE_URL_<COMPONENT>,
        falling back to PRAKTIJK_DATABASE_URL), so everything the component builds logs in as its role."""
        return replace(self, database_url=dict(self.component_database_urls).get(component) or self.database_url)

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]


def load() -> Settings:
    keys = Path(_env("KEYS_DIR", "keys"))
    return Settings(
        kafka_bootstrap=_env("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        database_url=_env("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/praktijkregister"),
        partitions=int(_env("PARTITIONS", "6")),
        api_host=_env("API_HOST", "127.0.0.1"),
        api_port=int(_env("API_PORT", "8000")),
        keys_dir=keys,
        pseudonym_key_file=Path(_env("PSEUDONYM_KEY_FILE", str(keys / "pseudonym.key"))),
        public_key_file=Path(_env("PUBLIC_KEY_FILE", str(keys / "registry.pub"))),
        private_key_file=Path(_env("PRIVATE_KEY_FILE", str(keys / "registry.key"))),
        validator_group=_env("VALIDATOR_GROUP", "praktijkregister-validator"),
        reconcile_window_days=_int("RECONCILE_WINDOW_DAYS", "31", minimum=0, maximum=366),
        park_timeout=_duration("PARK_TIMEOUT", "7d"),
        max_ingress_bytes=_int("MAX_INGRESS_BYTES", str(256 * 1024), minimum=1024, maximum=16 * 1024 * 1024),
        deadletter_prefix_bytes=_int("DEADLETTER_PREFIX_BYTES", str(4 * 1024), minimum=0, maximum=64 * 1024),
        import_max_line_bytes=_int("IMPORT_MAX_LINE_BYTES", str(1024 * 1024), minimum=1024, maximum=64 * 1024 * 1024),
        import_max_cell_bytes=_int("IMPORT_MAX_CELL_BYTES", str(128 * 1024), minimum=64, maximum=16 * 1024 * 1024),
        signing_key_file=Path(_env("SIGNING_KEY_FILE", str(keys / "signing.key"))),
        registry_pseudonym_key_file=Path(_env("REGISTRY_PSEUDONYM_KEY_FILE", str(keys / "registry-pseudonym.key"))),
        public_url=_env("PUBLIC_URL", "").rstrip("/"),
        status_list_validity=_duration("STATUS_LIST_VALIDITY", "24h", minimum=dt.timedelta(minutes=1)),
        component_database_urls=tuple(
            (c, _env("DATABASE_URL_" + c.upper(), "")) for c in COMPONENTS if _env("DATABASE_URL_" + c.upper(), "")
        ),
        kafka_security=_env("KAFKA_SECURITY", "sasl_scram").strip().lower(),
        kafka_username=_env("KAFKA_USERNAME", ""),
        kafka_password=_env("KAFKA_PASSWORD", ""),
        kafka_ca_file=_env("KAFKA_CA_FILE", ""),
        master_key_file=Path(_env("MASTER_KEY_FILE", str(keys / "master.key"))),
        vault_schema=_env("VAULT_SCHEMA", "validator"),
        ingress_retention_days=_int("INGRESS_RETENTION_DAYS", "7", minimum=1, maximum=3650),
        replication_factor=_int("REPLICATION_FACTOR", "0", minimum=0, maximum=7),
        public_peildata=_choice("PUBLIC_PEILDATA", "maandeinde", ("maandeinde", "kwartaaleinde", "dag")),
        validator_metrics_port=_int("VALIDATOR_METRICS_PORT", "0", minimum=0, maximum=65535),
        projector_metrics_port=_int("PROJECTOR_METRICS_PORT", "0", minimum=0, maximum=65535),
        reconciler_metrics_port=_int("RECONCILER_METRICS_PORT", "0", minimum=0, maximum=65535),
        projector_bulk_lag=_int("PROJECTOR_BULK_LAG", "10000", minimum=0, maximum=10**9),
        metrics_multiproc_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""),
        bench_baseline_file=_env("BENCH_BASELINE_FILE", ""),
    )


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = _env(name, default).strip().lower()
    if raw not in allowed:
        raise ValueError(f"{PREFIX}{name}: {raw!r} is not one of {', '.join(allowed)}")
    return raw


def _duration(name: str, default: str, minimum: dt.timedelta = dt.timedelta(0)) -> dt.timedelta:
    raw = _env(name, default)
    try:
        value = duur(raw)
    except ValueError as exc:
        raise ValueError(f"{PREFIX}{name}: {exc}") from None
    if value < minimum:
        raise ValueError(f"{PREFIX}{name}={raw!r} is shorter than {minimum}")
    return value
