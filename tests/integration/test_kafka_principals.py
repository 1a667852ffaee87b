"""The registry's components each work under their OWN Kafka login against the secured broker, and are
refused what their ACLs (registry/infra/toegang.py::component_rules) do not give them.

Component logins are broker-wide: the tests give every component a login of its own (``validator.t<unique>`` & co.,
the same rules as ``validator`` & co. through ``component_rules(..., logins=...)``), so a test never rotates the
password of a ``validator`` login a running stack may use. Every login made here is removed at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAuthorizationFailedError, TransactionalIdAuthorizationFailedError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from consumers import reconciler
from registry.api.status import ProjectionOffsets, kafka_status
from registry.domein.reconciliatie import PilotRij
from registry.infra import codec, toegang
from registry.infra.db import engine as make_engine
from registry.infra.kafka import client_config
from registry.infra.topics import Topics
from tests.integration.test_kafka_security import PRAKTIJKREGISTER, ROOT, connects, fetch, login, produce, pytestmark  # noqa: F401
from tests.support import validator as h
from tests.support.builders import aanmelding, ev
from tests.support.pseudoniemen import key_file

AANMELDINGEN = 3
DEADLINE_S = 120.0


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.fixture()
def stack(kafka_bootstrap: str, unique: str) -> Iterator[dict[str, Any]]:
    """A private topic set ``t<unique>``, one partner, and a login per component with exactly its ACLs:
    {'prefix', 'partner', 'logins': {component: user}, 'pw': {user: password}}."""
    prefix = f"t{unique}"
    partner = f"gemeente.p{unique}"
    logins = {c: f"{c}.t{unique}" for c in toegang.COMPONENTS}
    h.make_topics(kafka_bootstrap, prefix, [partner])
    admin = toegang.admin_client([kafka_bootstrap])
    pw: dict[str, str] = {}
    try:
        toegang.apply(admin, toegang.component_rules(prefix, f"{prefix}-validator", logins))
        toegang.apply(admin, toegang.partner_rules(partner, prefix))
        for user in (*logins.values(), partner):
            pw[user] = toegang.set_password(admin, user)
        yield {"prefix": prefix, "partner": partner, "logins": logins, "pw": pw}
    finally:
        for user in (*logins.values(), partner):
            toegang.remove(admin, user)
        admin.close()


def _unreadable(bootstrap: str, topic: str) -> bool:
    """This login gets no record of ``topic`` (the fetch is refused, or the broker hands out nothing)."""
    try:
        return fetch(bootstrap, topic) == []
    except TopicAuthorizationFailedError:
        return True


def _as(stack: dict[str, Any], component: str) -> Any:
    user = stack["logins"][component]
    return login(user, stack["pw"][user])


def _env(stack: dict[str, Any], component: str, database_url: str, **extra: str) -> dict[str, str]:
    user = stack["logins"][component]
    return dict(
        os.environ,
        PRAKTIJK_KAFKA_USERNAME=user,
        PRAKTIJK_KAFKA_PASSWORD=stack["pw"][user],
        PRAKTIJK_DATABASE_URL=database_url,
        **extra,
    )


def _publish(kafka_bootstrap: str, stack: dict[str, Any]) -> list[str]:
    """The partner (under its own login) submits AANMELDINGEN accepted events and one it may not publish."""
    partner = stack["partner"]
    good = [aanmelding(partner) | {"deelnemer": uuid.uuid4().hex * 2} for _ in range(AANMELDINGEN)]
    bad = ev(partner, leerbedrijf_id="222222222", naam="x", crebos=[])  # only sbb recognises leerbedrijven
    with login(partner, stack["pw"][partner]):
        h.publish(
            kafka_bootstrap, stack["prefix"], [("KandidaatAangemeld", r) for r in good] + [("LeerbedrijfErkend", bad)]
        )
    return [r["event_id"] for r in good]


def _run_validator(
    kafka_bootstrap: str, database_url: str, stack: dict[str, Any], expected: list[str], tmp: Path
) -> None:
    """The validator as its own process under the validator login, until ``expected`` is in the canonical log."""
    prefix = stack["prefix"]
    keys = key_file(tmp)
    env = _env(
        stack,
        "validator",
        database_url,
        PRAKTIJK_VALIDATOR_GROUP=f"{prefix}-validator",
        PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE=str(keys),
    )
    log = tmp / "validator.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "registry.cli",
                "validator",
                "--prefix",
                prefix,
                "--schema",
                f"{prefix}_validator",
                "--metrics-port",
                "0",
                "--idle-exit",
                "5",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    t = Topics(prefix)
    try:
        _wait(
            lambda: (
                proc.poll() is not None or set(expected) <= {r["event_id"] for _, r in h.canonical(kafka_bootstrap, t)}
            ),
            "the validator's events in the canonical log",
        )
        assert proc.poll() is None or proc.returncode == 0, log.read_text()[-3000:]
        rc = proc.wait(timeout=DEADLINE_S)  # --idle-exit: it stops by itself once idle
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert rc == 0, output[-3000:]
    assert "AuthorizationFailed" not in output, output[-3000:]  # no refused reader, writer or group on the way


def test_validator_and_projector_work_under_their_own_logins(
    kafka_bootstrap: str, database_url: str, stack: dict[str, Any], tmp_path: Path
) -> None:
    prefix, partner = stack["prefix"], stack["partner"]
    t = Topics(prefix)
    accepted = _publish(kafka_bootstrap, stack)
    _run_validator(kafka_bootstrap, database_url, stack, accepted, tmp_path)

    # what the validator wrote (read back as admin): the events, the shared and the partner's own refusals
    canonical = h.canonical(kafka_bootstrap, t)
    assert sorted(r["event_id"] for _, r in canonical) == sorted(accepted)
    assert {(x, r["partner"]) for x, r in canonical} == {("KandidaatAangemeld", partner)}
    assert [(r["partner"], r["reden"]) for r in h.rejections(kafka_bootstrap, t)] == [(partner, "niet_bevoegd")]
    assert len(h.read_uncommitted(kafka_bootstrap, t.rejections_of(partner))) == 1

    # the projector (its own process, its own login) fills the read models from the events and the rejections
    schema = f"{prefix}_rm"
    project = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "project",
            "--once",
            "--schema",
            schema,
            "--events-topic",
            t.events,
            "--rejections-topic",
            t.rejections,
            "--metrics-port",
            "0",
        ],
        env=_env(stack, "projector", database_url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert project.returncode == 0, project.stderr[-3000:]
    assert "AuthorizationFailed" not in project.stderr, project.stderr[-3000:]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(f'SELECT event_id FROM "{schema}".aanmeldingen')).scalars().all()
            refused = conn.execute(text(f'SELECT count(*) FROM "{schema}".afwijzingen')).scalar_one()
            offsets = conn.execute(text(f'SELECT count(*) FROM "{schema}".projection_offsets')).scalar_one()
    finally:
        engine.dispose()
    assert sorted(rows) == sorted(accepted)
    assert refused == 1 and offsets > 0

    # the API's status view works under the api login: the validator group's lag on the ingress topic is 0
    with _as(stack, "api"):
        status = kafka_status([kafka_bootstrap], f"{prefix}-validator", t.ingress_prefix, t.events, {})
    validator = next(s for s in status if s.naam == "validator")
    assert {p.topic for p in validator.partitions} == {t.ingress(partner)}
    assert sum(p.lag for p in validator.partitions) == 0 and any(p.committed_offset for p in validator.partitions)


def test_api_status_under_the_api_login_while_work_is_pending(kafka_bootstrap: str, stack: dict[str, Any]) -> None:
    """/v1/status's Kafka part: the validator's lag on a submission it has not seen and a projection's lag on the
    rejections topic, both pending, without the api reading the submission (it may not)."""
    t, partner = Topics(stack["prefix"]), stack["partner"]
    with login(partner, stack["pw"][partner]):
        produce(kafka_bootstrap, t.ingress(partner))
    producer = KafkaProducer(**client_config(kafka_bootstrap), acks="all", transactional_id=f"{t.prefix}-validator-9")
    try:  # a refusal as the validator writes it: in a transaction (a commit marker follows it)
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(t.rejections, b"{}", partition=0)
        producer.commit_transaction()
    finally:
        producer.close(timeout=5)
    # "klaar" applied the refusal already: only its commit marker is left
    projections: ProjectionOffsets = {
        "tijdlijn": {(t.rejections, p): (0, None) for p in range(6)},
        "klaar": {(t.rejections, 0): (1, None)},
    }
    with _as(stack, "api"):
        status = {
            s.naam: s
            for s in kafka_status([kafka_bootstrap], f"{t.prefix}-validator", t.ingress_prefix, t.events, projections)
        }
    assert (status["validator"].lag, status["validator"].pending) == (1, True)
    assert (status["tijdlijn"].lag, status["tijdlijn"].pending) == (2, True)  # the refusal and its marker
    assert (status["klaar"].lag, status["klaar"].pending) == (1, False)  # the marker alone is no work
    with _as(stack, "api"):
        assert _unreadable(kafka_bootstrap, t.ingress(partner))  # still: the submission is not the api's to read


def test_api_reads_the_canonical_log_and_writes_nothing(kafka_bootstrap: str, stack: dict[str, Any]) -> None:
    t, partner = Topics(stack["prefix"]), stack["partner"]
    produce(kafka_bootstrap, t.events)  # the admin puts a record in the canonical log
    with _as(stack, "api"):
        assert len(fetch(kafka_bootstrap, t.events)) == 1  # the api reads it
        with pytest.raises(KafkaError, match="ClusterAuthorizationFailed"):
            produce(kafka_bootstrap, t.events)  # not even an idempotent producer id
        for topic in (t.events, t.ingress(partner), t.rejections, t.deadletter):
            with pytest.raises(TopicAuthorizationFailedError):
                produce(kafka_bootstrap, topic, idempotent=False)
    assert len(h.read_uncommitted(kafka_bootstrap, t.events)) == 1  # nothing was added
    assert h.read_uncommitted(kafka_bootstrap, t.ingress(partner)) == []


def test_projector_and_reconciler_cannot_forge_submissions_or_refusals(
    kafka_bootstrap: str, stack: dict[str, Any]
) -> None:
    t, partner = Topics(stack["prefix"]), stack["partner"]
    with _as(stack, "projector"):
        for topic in (t.events, t.ingress(partner), t.rejections):
            with pytest.raises(TopicAuthorizationFailedError):
                produce(kafka_bootstrap, topic, idempotent=False)
    with _as(stack, "reconciler"):
        for topic in (t.ingress(partner), t.rejections, t.rejections_of(partner)):
            with pytest.raises(TopicAuthorizationFailedError):
                produce(kafka_bootstrap, topic, idempotent=False)
    assert h.canonical(kafka_bootstrap, t) == [] and h.read_uncommitted(kafka_bootstrap, t.ingress(partner)) == []


def test_validator_is_confined_to_its_prefix_and_creates_no_topics(
    kafka_bootstrap: str, unique: str, stack: dict[str, Any]
) -> None:
    t = Topics(stack["prefix"])
    other = h.make_topics(kafka_bootstrap, f"t{unique}x", [stack["partner"]])  # another registry on the broker
    for topic in (other.events, other.ingress(stack["partner"])):
        produce(kafka_bootstrap, topic)
        assert len(h.read_uncommitted(kafka_bootstrap, topic)) == 1  # the admin sees the record
    with _as(stack, "validator"):
        assert produce(kafka_bootstrap, t.events).topic == t.events  # its own canonical log: allowed
        for topic in (other.events, other.ingress(stack["partner"])):
            assert _unreadable(kafka_bootstrap, topic), topic
        for topic in (other.events, t.ingress(stack["partner"])):  # another log; a partner's submissions
            with pytest.raises(TopicAuthorizationFailedError):
                produce(kafka_bootstrap, topic, idempotent=False)
        admin = KafkaAdminClient(**client_config(kafka_bootstrap))
        try:
            with pytest.raises(KafkaError):
                admin.create_topics([NewTopic(t.ingress_prefix + "nieuw", 1, 1)])
            with pytest.raises(KafkaError):
                admin.delete_topics([t.deadletter])
        finally:
            admin.close()
        # its transactional ids are <group>-<i> only: another id is refused
        producer = KafkaProducer(
            **client_config(kafka_bootstrap), transactional_id=f"iemand-anders-{unique}", max_block_ms=10000
        )
        try:
            with pytest.raises(TransactionalIdAuthorizationFailedError):
                producer.init_transactions()
        finally:
            producer.close(timeout=5)
    assert t.ingress_prefix + "nieuw" not in set(KafkaAdminClient(**client_config(kafka_bootstrap)).list_topics())


def test_reconciler_publishes_its_result_transactionally(
    kafka_bootstrap: str, database_url: str, unique: str, stack: dict[str, Any]
) -> None:
    t = Topics(stack["prefix"])
    rij = PilotRij("rijnmond", dt.date(2020, 6, 30), 1, ())
    with _as(stack, "reconciler"):
        producer = KafkaProducer(
            **client_config(kafka_bootstrap),
            acks="all",
            max_block_ms=10000,
            transactional_id=f"{reconciler.GROUP}-t{unique}",
        )
        try:
            producer.init_transactions()
            producer.begin_transaction()
            sent = reconciler.publish_results(producer, [rij], topic=t.events)
            producer.commit_transaction()
        finally:
            producer.close(timeout=5)
    assert [(x, r["event_id"]) for x, r in h.canonical(kafka_bootstrap, t)] == [
        ("ReconciliatieUitgevoerd", sent[0]["event_id"])
    ]


def test_secret_files_of_the_stack_are_private(kafka_bootstrap: str, database_url: str) -> None:
    cache = Path(os.environ.get("PRAKTIJK_CACHE_DIR", ROOT / ".cache"))  # where ops/lib.sh keeps them
    kafka_pw, pg_pw = cache / "kafka" / "admin.password", cache / "pg" / "password"
    if not (kafka_pw.exists() and pg_pw.exists()):
        pytest.skip(f"the stack under test was not started from {cache} (ops/stack.sh up)")
    for f in (kafka_pw, pg_pw):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    # and they are the secrets in use: the admin login works with the file's password, the database URL has the other
    password = kafka_pw.read_text().strip()
    assert connects(kafka_bootstrap, **client_config(kafka_bootstrap, username="admin", password=password))
    url = make_url(database_url)
    if url.username == "postgres":
        assert url.password == pg_pw.read_text().strip()


def test_partner_onboarding_with_the_real_cli(kafka_bootstrap: str, tmp_path: Path, unique: str) -> None:
    """``eval "$(praktijkregister partners add P)"`` then ``praktijkregister publish --as P FILE``, in one shell that
    starts with the admin's login: after the eval, that shell holds only P's."""
    partner, other, third = f"gemeente.o{unique}", f"gemeente.q{unique}", f"gemeente.r{unique}"
    t = Topics()  # publish writes the registry's own ingress topics
    h.make_topics(kafka_bootstrap, t.prefix, [other])  # another partner's topic exists (no login needed)
    row = {
        "type": "KandidaatAangemeld",
        "bsn": "111222333",
        "occurred_at": "2020-01-15",
        "pilot": "rijnmond",
        "aanmelder_type": "gemeente",
        "doelgroep": "a",
        "werkend": False,
    }
    file = tmp_path / "aanmeldingen.jsonl"
    file.write_text(json.dumps(row) + "\n")
    env = dict(os.environ, PRAKTIJK_KEYS_DIR=str(tmp_path / "keys"), COLUMNS="300")
    script = """set -u
    "$CLI" keys init >/dev/null || exit 10
    eval "$("$CLI" partners add "$P")" || exit 11
    [ "$PRAKTIJK_KAFKA_USERNAME" = "$P" ] || exit 12
    "$CLI" publish --as "$P" "$FILE" || exit 13
    "$CLI" publish --as "$Q" "$FILE" && exit 14
    "$CLI" partners add "$R" >/dev/null && exit 15  # a partner's login manages no logins
    exit 0
    """
    try:
        run = subprocess.run(
            ["bash", "-c", script],
            env=env | {"CLI": str(PRAKTIJKREGISTER), "P": partner, "Q": other, "R": third, "FILE": str(file)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)
        assert f"published 1 event(s) from {file.name} to {t.ingress(partner)}" in run.stdout
        assert "nothing sent" in run.stderr  # publishing as another partner, and it says why:
        assert f"this Kafka login may not write {t.ingress(other)}" in " ".join(run.stderr.split())
        records = h.read_uncommitted(kafka_bootstrap, t.ingress(partner))
        assert [codec.decode(r.value)[1]["partner"] for r in records] == [partner]
        assert h.read_uncommitted(kafka_bootstrap, t.ingress(other)) == []
        admin = toegang.admin_client([kafka_bootstrap])
        try:
            known = toegang.users(admin)
        finally:
            admin.close()
        assert partner in known and third not in known
    finally:
        admin = toegang.admin_client([kafka_bootstrap])
        try:
            for p in (partner, third):
                toegang.remove(admin, p)
            admin.delete_topics(
                [t.ingress(partner), t.rejections_of(partner), t.ingress(other), t.rejections_of(other)]
            )
        finally:
            admin.close()
