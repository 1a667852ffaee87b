"""Identity on Kafka, against the secured broker ops/kafka.sh runs (SASL/SCRAM-SHA-512 + StandardAuthorizer).

Every partner login here is unique to the test (logins are broker-wide), and removed at the end.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from registry.cli.validator import read_rejections
from registry.infra import kafka as kafka_mod
from registry.infra import settings as settings_mod
from registry.infra import toegang
from registry.infra.kafka import client_config, secured
from registry.infra.topics import Topics
from tests.support import validator as h
from tests.support.builders import ev

ROOT = Path(__file__).resolve().parents[2]
PRAKTIJKREGISTER = ROOT / ".venv" / "bin" / "praktijkregister"

pytestmark = pytest.mark.skipif(
    not secured(settings_mod.load()) and bool(os.environ.get("PRAKTIJK_KAFKA_BOOTSTRAP")),
    reason="PRAKTIJK_KAFKA_SECURITY=plaintext: this broker has no logins (ops/kafka.sh starts a secured one)",
)


@contextmanager
def login(user: str, password: str) -> Iterator[None]:
    """Every client built inside acts as ``user``: the process's Kafka login, and the settings a command loads."""
    old = {k: os.environ.get(k) for k in ("PRAKTIJK_KAFKA_USERNAME", "PRAKTIJK_KAFKA_PASSWORD")}
    before = kafka_mod.login()
    os.environ.update(PRAKTIJK_KAFKA_USERNAME=user, PRAKTIJK_KAFKA_PASSWORD=password)
    kafka_mod.configure(dataclasses.replace(before, username=user, password=password))
    try:
        yield
    finally:
        kafka_mod.configure(before)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture()
def partners(kafka_bootstrap: str, unique: str) -> Iterator[dict[str, Any]]:
    """Two partners with logins, topics and ACLs under a private prefix: {'prefix', 'a', 'b', 'pw': {a: .., b: ..}}."""
    prefix = f"t{unique}"
    a, b = f"mbo.a{unique}", f"mbo.b{unique}"
    h.make_topics(kafka_bootstrap, prefix, [a, b])
    admin = toegang.admin_client([kafka_bootstrap])
    pw = {}
    try:
        for p in (a, b):
            toegang.apply(admin, toegang.partner_rules(p, prefix))
            pw[p] = toegang.set_password(admin, p)
        toegang.apply(admin, toegang.component_rules(prefix, f"{prefix}-validator"))
        yield {"prefix": prefix, "a": a, "b": b, "pw": pw}
    finally:
        for p in (a, b):
            toegang.remove(admin, p)
        admin.close()


def produce(bootstrap: str, topic: str, idempotent: bool = True, **over: Any) -> Any:
    """One record to ``topic``; a missing or forbidden topic raises within 3 s. ``idempotent=False``: without the
    idempotent producer (which a login without IDEMPOTENT_WRITE may not even start), so the topic's WRITE rule
    is what decides."""
    producer = KafkaProducer(
        **client_config(bootstrap, **over), max_block_ms=3000, acks="all", enable_idempotence=idempotent
    )
    try:
        return producer.send(topic, b"x").get(timeout=20)
    finally:
        producer.close(timeout=5)


def connects(bootstrap: str, **config: Any) -> bool:
    """An admin client gets through the handshake (SASL included) within 3 s."""
    try:
        client = KafkaAdminClient(**config, bootstrap_timeout_ms=3000, request_timeout_ms=3000)
    except KafkaError:  # NoBrokersAvailable / KafkaTimeoutError: every attempt was refused
        return False
    client.close()
    return True


def fetch(bootstrap: str, topic: str, seconds: float = 1.5) -> list[Any]:
    """The records of partition 0..5 of ``topic`` (assign, no group) in the first poll that has any, or none
    within ``seconds``: a refused read gets nothing (kafka-python does not raise), an allowed one of a topic with
    one record returns as soon as it is there."""
    consumer = KafkaConsumer(**client_config(bootstrap), group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(6)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            polled = consumer.poll(timeout_ms=200)
            if polled:
                return [r for records in polled.values() for r in records]
        return []
    finally:
        consumer.close()


def test_partner_writes_only_its_own_ingress(kafka_bootstrap: str, partners: dict[str, Any]) -> None:
    t, a, b = Topics(partners["prefix"]), partners["a"], partners["b"]
    with login(a, partners["pw"][a]):
        assert produce(kafka_bootstrap, t.ingress(a)).topic == t.ingress(a)
        with pytest.raises(TopicAuthorizationFailedError):
            produce(kafka_bootstrap, t.ingress(b))
        with pytest.raises(TopicAuthorizationFailedError):
            produce(kafka_bootstrap, t.events)  # no forged events in the canonical log
        with pytest.raises(TopicAuthorizationFailedError):
            produce(kafka_bootstrap, t.rejections_of(a))  # its refusals are the validator's to write


def test_partner_reads_neither_canonical_log_nor_other_rejections(
    kafka_bootstrap: str, partners: dict[str, Any]
) -> None:
    t, a, b = Topics(partners["prefix"]), partners["a"], partners["b"]
    forbidden = (t.events, t.rejections, t.rejections_of(b), t.ingress(b), t.deadletter)
    for topic in (*forbidden, t.rejections_of(a)):  # the admin puts a record in each, and can read it back
        produce(kafka_bootstrap, topic)
        assert len(h.read_uncommitted(kafka_bootstrap, topic)) == 1  # to the end offsets: no idle polls
    with login(a, partners["pw"][a]):
        # its own: allowed, read the way the forbidden ones are below (so an empty answer there means refused)
        assert len(fetch(kafka_bootstrap, t.rejections_of(a))) == 1
        for topic in forbidden:
            assert fetch(kafka_bootstrap, topic) == [], topic  # the broker hands out nothing (authorisation failed)
            consumer = KafkaConsumer(**client_config(kafka_bootstrap), group_id=None)
            try:
                assert not consumer.partitions_for_topic(topic)  # not even its existence
            finally:
                consumer.close()


def test_partner_cannot_create_or_delete_topics(kafka_bootstrap: str, partners: dict[str, Any]) -> None:
    t, a = Topics(partners["prefix"]), partners["a"]
    with login(a, partners["pw"][a]):
        admin = KafkaAdminClient(**client_config(kafka_bootstrap))
        try:
            with pytest.raises(KafkaError):
                admin.create_topics([NewTopic(t.prefix + ".ingress.nieuw", 1, 1)])
            with pytest.raises(KafkaError):
                admin.delete_topics([t.ingress(a)])
        finally:
            admin.close()
    assert t.prefix + ".ingress.nieuw" not in set(KafkaAdminClient(**client_config(kafka_bootstrap)).list_topics())


def test_unauthenticated_and_wrong_password_are_refused(kafka_bootstrap: str, partners: dict[str, Any]) -> None:
    a, pw = partners["a"], partners["pw"][partners["a"]]
    assert connects(kafka_bootstrap, **client_config(kafka_bootstrap, username=a, password=pw))  # the right one works
    assert not connects(kafka_bootstrap, bootstrap_servers=[kafka_bootstrap])  # no SASL handshake at all
    assert not connects(kafka_bootstrap, **client_config(kafka_bootstrap, username=a, password=pw + "x"))
    assert not connects(kafka_bootstrap, **client_config(kafka_bootstrap, username="niemand", password=pw))


def test_revoked_partner_is_refused(kafka_bootstrap: str, partners: dict[str, Any]) -> None:
    t, a = Topics(partners["prefix"]), partners["a"]
    with login(a, partners["pw"][a]):
        produce(kafka_bootstrap, t.ingress(a))
    admin = toegang.admin_client([kafka_bootstrap])
    try:
        had, removed = toegang.remove(admin, a)
        assert had and removed >= 4
        assert a not in toegang.users(admin)
    finally:
        admin.close()
    assert not connects(kafka_bootstrap, **client_config(kafka_bootstrap, username=a, password=partners["pw"][a]))


def test_topic_auto_creation_is_off(kafka_bootstrap: str, unique: str) -> None:
    admin = KafkaAdminClient(**client_config(kafka_bootstrap))
    try:
        with pytest.raises(KafkaError):  # the super user writing to a missing topic does not create it
            produce(kafka_bootstrap, f"t{unique}.nergens")
        assert f"t{unique}.nergens" not in set(admin.list_topics())
    finally:
        admin.close()


def test_partners_add_prints_two_lines_and_rotates(kafka_bootstrap: str, unique: str) -> None:
    prefix, partner = f"t{unique}", f"mbo.c{unique}"
    run = lambda *args: subprocess.run([str(PRAKTIJKREGISTER), *args], capture_output=True, text=True, timeout=120)  # noqa: E731
    try:
        first = run("partners", "add", partner, "--prefix", prefix)
        assert first.returncode == 0, first.stderr
        lines = first.stdout.splitlines()
        assert len(lines) == 2 and lines[0] == f"export PRAKTIJK_KAFKA_USERNAME='{partner}'", first.stdout
        assert lines[1].startswith("export PRAKTIJK_KAFKA_PASSWORD='") and lines[1].endswith("'")
        password = lines[1].split("'")[1]
        assert password not in first.stderr and len(password) >= 32
        # eval "$(partners add P)" then publish --as P: the lines are shell, the login works
        shell = subprocess.run(
            ["bash", "-c", 'eval "$1"; echo "$PRAKTIJK_KAFKA_USERNAME:$PRAKTIJK_KAFKA_PASSWORD"', "_", first.stdout],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.stdout == f"{partner}:{password}\n"
        with login(partner, password):
            assert produce(kafka_bootstrap, Topics(prefix).ingress(partner)).topic == Topics(prefix).ingress(partner)
        again = run("partners", "add", partner, "--prefix", prefix)
        assert again.returncode == 0 and "rotated" in again.stderr
        new_password = again.stdout.splitlines()[1].split("'")[1]
        assert new_password != password
        assert not connects(kafka_bootstrap, **client_config(kafka_bootstrap, username=partner, password=password))
        assert connects(kafka_bootstrap, **client_config(kafka_bootstrap, username=partner, password=new_password))
        assert partner in run("partners", "list").stdout.split()
        assert run("partners", "add", "validator").returncode == 1  # component names are not partners
    finally:
        gone = run("partners", "revoke", partner)
    assert gone.returncode == 0 and gone.stdout == ""
    assert partner not in run("partners", "list").stdout.split()
    assert run("partners", "revoke", partner).returncode == 1  # nothing left to revoke


def test_rejections_per_partner(kafka_bootstrap: str, database_url: str, partners: dict[str, Any]) -> None:
    prefix, a, b = partners["prefix"], partners["a"], partners["b"]
    t = Topics(prefix)
    for p in (a, b):  # only sbb may recognise a leerbedrijf: both are refused (niet_bevoegd)
        with login(p, partners["pw"][p]):
            h.publish(
                kafka_bootstrap, prefix, [("LeerbedrijfErkend", ev(p, leerbedrijf_id="222222222", naam="x", crebos=[]))]
            )
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        h.drain(v)
    finally:
        v.close()
    assert sorted(r["partner"] for r in h.rejections(kafka_bootstrap, t)) == sorted([a, b])  # the registry sees all
    assert [r.topic for r in fetch(kafka_bootstrap, t.rejections_of(b))] == [t.rejections_of(b)]
    with login(a, partners["pw"][a]):
        own = read_rejections([kafka_bootstrap], prefix, a, None, own_topic=True)
        assert [(r["partner"], r["reden"]) for r in own] == [(a, "niet_bevoegd")]
        assert fetch(kafka_bootstrap, t.rejections_of(b)) == []  # b's refusal exists, a gets none of it
    env = dict(os.environ, PRAKTIJK_KAFKA_USERNAME=a, PRAKTIJK_KAFKA_PASSWORD=partners["pw"][a])
    cli = subprocess.run(
        [str(PRAKTIJKREGISTER), "rejections", "--as", a, "--prefix", prefix],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "niet_bevoegd" in cli.stdout and b not in cli.stdout
    other = subprocess.run(
        [str(PRAKTIJKREGISTER), "rejections", "--as", b, "--prefix", prefix],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 1 and "only its own" in other.stderr
