"""The one wiring module: every long-running component built from one ``Settings``.

Each entry point (the CLI commands, the demo, the benchmarks, the test support) loads the settings ONCE
(``registry.infra.settings.load``, the one reader of the environment) and hands them here; nothing below reads the
environment or loads the settings again. ``configure`` sets the process's Kafka login from them (every Kafka
client logs in with it, registry/infra/kafka.py); each builder calls it, so a process that builds a component has
its login.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from consumers.gegevens import Herversleutelaar, lees_private_key
from consumers.projector_config import RunnerConfig
from consumers.reconciler import FollowConfig
from consumers.validator import Validator, staat_schema
from consumers.validator_config import StateStore, ValidatorConfig
from producers.publisher import Publisher
from registry.domein.telregels import DEFAULT_READ_SCHEMA
from registry.infra import kafka, topics
from registry.infra.db import engine
from registry.infra.gegevenskluis import Gegevenskluis
from registry.infra.settings import Settings
from registry.infra.sleutelbestanden import RegistryPseudoniemSleutel

if TYPE_CHECKING:
    from fastapi import FastAPI


def configure(settings: Settings) -> Settings:
    """The process's Kafka login from ``settings`` (returned, to chain)."""
    kafka.configure(kafka.KafkaLogin.of(settings))
    return settings


# ---- validator ---------------------------------------------------------------------------------
def validator_config(
    settings: Settings, prefix: str = "praktijkleren", schema: str = "validator", **overrides: object
) -> ValidatorConfig:
    """The validator's configuration from the settings (its own database login, the registry pseudonym key read
    from its file); ``overrides``: fields to set otherwise (tests: a private group, keys, time-out)."""
    configure(settings)
    s = settings.for_component("validator")
    fields: dict[str, object] = {
        "group": s.validator_group,
        "prefix": prefix,
        "schema": schema,
        "park_timeout": s.park_timeout,
        "max_record_bytes": s.max_ingress_bytes,
        "deadletter_prefix_bytes": s.deadletter_prefix_bytes,
        "ingress_retention_days": s.ingress_retention_days,
        "private_key_file": s.private_key_file,
        "master_key_file": s.master_key_file,
    }
    fields.update(overrides)
    if "registry_pseudonym_key" not in fields:
        fields["registry_pseudonym_key"] = RegistryPseudoniemSleutel.from_file(s.registry_pseudonym_key_file).generaties
    return ValidatorConfig(s.kafka_servers, s.database_url, **fields)  # type: ignore[arg-type]


def build_validator(
    config: ValidatorConfig, clock: Callable[[], dt.datetime] | None = None, instance: int = 0
) -> Validator:
    """A validator over ``config``: its state store (its own schema per instance), the data-key vault (shared by
    every instance) and the key that opens partner-sealed persoonsgegevens."""
    if config.private_key_file is None or config.master_key_file is None:
        raise ValueError("the validator needs the registry private key file and the vault's master key file")
    eng = engine(config.database_url)
    kluis = Gegevenskluis.from_file(eng, config.master_key_file, config.schema)
    herversleutelaar = Herversleutelaar(lees_private_key(config.private_key_file), kluis)
    store = StateStore(eng, staat_schema(config.schema, instance))
    return Validator(config, store, kluis, herversleutelaar, clock=clock, instance=instance)


def validator(
    settings: Settings,
    prefix: str = "praktijkleren",
    schema: str = "validator",
    instance: int = 0,
    clock: Callable[[], dt.datetime] | None = None,
) -> Validator:
    return build_validator(validator_config(settings, prefix, schema), clock=clock, instance=instance)


# ---- projector, reconciler ---------------------------------------------------------------------
def projector_config(
    settings: Settings,
    schema: str = DEFAULT_READ_SCHEMA,
    events_topic: str | None = None,
    rejections_topic: str | None = None,
    batch_size: int = 500,
) -> RunnerConfig:
    """The projection runner's configuration (its own database login)."""
    configure(settings)
    s = settings.for_component("projector")
    return RunnerConfig(
        s.kafka_bootstrap,
        s.database_url,
        schema,
        events_topic or topics.DEFAULT.events,
        rejections_topic or topics.DEFAULT.rejections,
        batch_size,
        bulk_lag=s.projector_bulk_lag or None,
    )


def reconciler_config(
    settings: Settings, schema: str = DEFAULT_READ_SCHEMA, topic: str = topics.DEFAULT.events, instance: int = 0
) -> FollowConfig:
    """The reconciler's (``--follow``) configuration; its database login is ``settings.for_component``'s."""
    configure(settings)
    s = settings.for_component("reconciler")
    return FollowConfig(
        s.kafka_servers, schema=schema, topic=topic, instance=instance, venster_dagen=s.reconcile_window_days
    )


# ---- API, publisher ----------------------------------------------------------------------------
def api_app(settings: Settings, schema: str | None = None) -> FastAPI:
    """The query API over the projections' read models (``schema``: their PostgreSQL schema, default theirs)."""
    # imported here so the other components start without loading FastAPI and the queries
    import projections.queries  # a module (or package) satisfying registry.api.ports.ReadQueries
    from registry.api.app import create_app

    configure(settings)
    # the API logs in as its own role (PRAKTIJK_DATABASE_URL_API): it reads read models and keys, writes nothing
    return create_app(settings.for_component("api"), queries=projections.queries, schema=schema)


def publisher(
    settings: Settings,
    partner: str,
    servers: Sequence[str] | None = None,
    prefix: str = "praktijkleren",
    ensure_topic: bool = True,
) -> Publisher:
    """A partner's publisher with the settings' partitions and ingress limits."""
    configure(settings)
    return Publisher(
        list(servers) if servers is not None else settings.kafka_servers,
        partner,
        partitions=settings.partitions,
        prefix=prefix,
        ensure_topic=ensure_topic,
        max_record_bytes=settings.max_ingress_bytes,
        retention_days=settings.ingress_retention_days,
    )
