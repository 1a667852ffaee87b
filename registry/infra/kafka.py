"""How every Kafka client of the registry logs in: ONE place that turns the settings into client kwargs.

``PRAKTIJK_KAFKA_SECURITY``:
- ``sasl_scram`` (default): SASL/SCRAM-SHA-512 over a plain connection (the loopback broker of ``ops/``); only
  accepted when every bootstrap host is loopback (off the machine the session itself would travel in clear);
- ``sasl_ssl``: SASL/SCRAM-SHA-512 inside TLS, for a broker on another machine (``PRAKTIJK_KAFKA_CA_FILE``:
  the CA that signed the broker's certificate; empty: the system's CAs);
- ``plaintext``: no login at all, only accepted when every bootstrap host is loopback.

Every client is built as ``KafkaConsumer(**kafka.client_config(bootstrap), ...)`` (also producers, admin
clients). The login comes from the process's ``Settings``: its entry point loads them once and hands them to
``registry/bootstrap.py``, which sets the process's ``KafkaLogin`` (``configure``); nothing here reads the
environment. ``settings`` (a command that has them at hand) and ``username``/``password`` (tests that act as a
partner, ``partners add``) override it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.structs import MemberState

from registry.infra.settings import PREFIX, Settings

SECURITY = ("sasl_scram", "sasl_ssl", "plaintext")
MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"  # the super user of the broker ops/kafka.sh runs


class KafkaSecurityError(ValueError):
    """A Kafka security setting that cannot be used; the message is one line naming the setting."""


@dataclass(frozen=True)
class KafkaLogin:
    """How this process's Kafka clients log in (from ``Settings``)."""

    security: str = "sasl_scram"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""

    @classmethod
    def of(cls, settings: Settings) -> KafkaLogin:
        return cls(settings.kafka_security, settings.kafka_username, settings.kafka_password, settings.kafka_ca_file)


_login: KafkaLogin | None = None


def configure(login: KafkaLogin) -> None:
    """The login of every client this process builds without settings at hand; set by its entry point."""
    global _login
    _login = login


def login() -> KafkaLogin:
    """The process's login (``configure``); an entry point that forgot to set it is a bug, said in one line."""
    if _login is None:
        raise KafkaSecurityError(
            "no Kafka login configured: the entry point loads the settings and calls registry.bootstrap.configure"
        )
    return _login


def host_of(server: str) -> str:
    """``host`` of ``host:port``, ``[v6]:port``, ``v6`` or ``host``."""
    server = server.strip()
    if server.startswith("["):
        return server[1 : server.index("]")] if "]" in server else server[1:]
    if server.count(":") == 1:
        return server.split(":", 1)[0]
    return server  # a bare name or a bare IPv6 address


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_security(security: str, servers: Iterable[str]) -> str:
    """The normalised security mode, or KafkaSecurityError (plaintext or sasl_scram, both without TLS, towards a
    host that is not loopback)."""
    mode = security.strip().lower()
    if mode not in SECURITY:
        raise KafkaSecurityError(f"{PREFIX}KAFKA_SECURITY={security!r} is not one of {', '.join(SECURITY)}")
    remote = [s for s in servers if not is_loopback(host_of(s))]
    if remote and mode in ("plaintext", "sasl_scram"):
        raise KafkaSecurityError(
            f"{PREFIX}KAFKA_SECURITY={mode} is refused for {remote[0]!r}, which is not a loopback host "
            "(no TLS): use sasl_ssl"
        )
    return mode


# kafka-python (3.0.x) does not refresh its metadata when a fetch to a partition's leader fails to connect: with one
# of three brokers killed, a consumer kept fetching from the dead node until its metadata aged (default 5 minutes)
# while the partitions had new leaders within seconds (seen in the fault suite's cluster run). A metadata request
# every 10 s per client costs nothing beside that.
METADATA_MAX_AGE_MS = 10_000


def client_config(
    bootstrap: str | Iterable[str],
    settings: Settings | None = None,
    *,
    username: str | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """kafka-python kwargs (``bootstrap_servers`` + security) for a client of ``bootstrap``."""
    s = KafkaLogin.of(settings) if settings is not None else login()
    # "h1:p1,h2:p2" may come as one string or as one item of a list: a cluster's bootstrap is a comma list
    items = [bootstrap] if isinstance(bootstrap, str) else list(bootstrap)
    servers = [x.strip() for item in items for x in item.split(",") if x.strip()]
    mode = check_security(s.security, servers)
    config: dict[str, Any] = {"bootstrap_servers": servers, "metadata_max_age_ms": METADATA_MAX_AGE_MS}
    if mode == "plaintext":
        return config
    user = s.username if username is None else username
    secret = s.password if password is None else password
    if not user or not secret:
        raise KafkaSecurityError(
            f"{PREFIX}KAFKA_USERNAME and {PREFIX}KAFKA_PASSWORD must be set for {PREFIX}KAFKA_SECURITY={mode} "
            '(eval "$(ops/stack.sh env)", or the lines `praktijkregister partners add P` printed)'
        )
    config.update(
        security_protocol="SASL_SSL" if mode == "sasl_ssl" else "SASL_PLAINTEXT",
        sasl_mechanism=MECHANISM,
        sasl_plain_username=user,
        sasl_plain_password=secret,
    )
    if mode == "sasl_ssl" and s.ca_file:
        config["ssl_cafile"] = s.ca_file
    return config


def secured(settings: Settings | None = None) -> bool:
    """True when clients log in (ACLs and credentials are then managed by the project)."""
    mode = settings.kafka_security if settings is not None else login().security
    return mode.strip().lower() != "plaintext"


# kafka-python 3.0.x workarounds (``einde_flush``, ``verlaten_join``) reach into its private attributes;
# tests/unit/test_kafka_omwegen.py fails on another version, so each is checked again before the pin moves.
KAFKA_PYTHON = "3.0."


# A transactional producer's retry back-off. A transaction begun right after the last one committed (the validator's
# pipeline) reaches the coordinator while it still writes the last one's markers: its first AddPartitionsToTxn or
# AddOffsetsToTxn is refused with CONCURRENT_TRANSACTIONS, and kafka-python 3.0.x sleeps ``retry_backoff_ms`` (100
# by default) before each retry, whatever back-off its handler chose. At 1,000 events/s the validator's commits took
# ~120 or ~230 ms (one or two such retries) instead of ~30; the Java client retries that first request after 20 ms.
TRANSACTIE_RETRY_BACKOFF_MS = 20


def stabiel(consumer: Any) -> bool:
    """The group member is in the group with its assignment (not joining or rebalancing)."""
    return bool(consumer.group_metadata().state == MemberState.STABLE)


def verlaten_join(consumer: Any) -> bool:
    """kafka-python 3.0.x drops a join whose poll ended before its answer came (consumers/groep.py): a member that is
    not stable while its coordinator no longer wants to rejoin has a join nobody will finish. Ask for the rejoin, so
    the next poll awaits the join in flight (or sends a new one). True when it did; a client without a coordinator
    (``_coordinator``) is left be."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or not consumer.subscription() or stabiel(consumer) or coordinator.need_rejoin():
        return False
    coordinator.request_rejoin()
    return True


def einde_flush(producer: Any) -> None:
    """End the flush kafka-python (3.0.x) starts when a transaction commits or aborts: its sender begins one on the
    accumulator and nothing ends it, so from the first transaction on every batch is ready at once (``linger_ms`` is
    ignored) and a producer that sends record by record wakes its sender and makes a produce request for every few
    records (most of the validator's time went there). Called right after ``commit_transaction``/
    ``abort_transaction`` returned, when every batch of the transaction is done; a no-op when no flush is open."""
    teller = getattr(getattr(producer, "_accumulator", None), "_flushes_in_progress", None)
    if teller is not None and teller.get() > 0:
        teller.decrement()


def posities(consumer: Any, tps: Sequence[Any]) -> dict[Any, int | None]:
    """The consumer's position on each of ``tps`` (assigned partitions), at the cost of one ``position`` call.
    kafka-python 3.0.x's ``position`` refreshes, resets and validates the positions of EVERY assigned partition on
    each call, so asking it partition by partition is quadratic: 1.1 s for the 582 partitions of the demo's
    validator, every time it asked whether it was caught up. After one call every position is what a call would
    give, so the others are read from the subscription state (``_subscription``); one that is still unknown (a
    reset that has not answered) is asked as before."""
    if not tps:
        return {}
    out: dict[Any, int | None] = {tps[0]: consumer.position(tps[0])}
    staat = getattr(getattr(consumer, "_subscription", None), "assignment", None)
    for tp in tps[1:]:
        deel = staat.get(tp) if staat is not None else None
        positie = getattr(deel, "position", None)
        out[tp] = positie.offset if positie is not None else consumer.position(tp)
    return out
