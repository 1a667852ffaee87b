"""No record stops the validator: hostile bytes on an ingress topic become a small dead letter with a
reason, the validator keeps running, and later good events are accepted. Real broker, real PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from registry.infra import codec
from registry.infra.kafka import client_config
from registry.infra.topics import INGRESS_MAX_BYTES, Topics
from tests.integration.test_validator import reference
from tests.support import validator as h
from tests.support.builders import aanmelding
from tests.support.pseudoniemen import key_file

GEMEENTE = "gemeente.gm0599"
LEGACY = "gemeente.gm0363"  # an ingress topic made before the limit existed (the broker's ~1 MB default, here 2 MiB)
PREFIX_CAP = 4 * 1024  # the default PRAKTIJK_DEADLETTER_PREFIX_BYTES


def _nested_json(levels: int) -> bytes:
    return ('{"a":' * (levels - 1) + "1" + "}" * (levels - 1)).encode()


def _poisons() -> list[tuple[str, str, bytes, str]]:
    """(name, partner, value, expected dead-letter reason)."""
    good = codec.encode("KandidaatAangemeld", aanmelding())
    rnd = random.Random(11)
    avro_header = good[: codec.HEADER_LEN]
    return [
        ("random bytes", GEMEENTE, bytes(rnd.getrandbits(8) for _ in range(5000)), "onleesbaar"),
        ("truncated Avro", GEMEENTE, good[: len(good) // 2], "onleesbaar"),
        ("unknown fingerprint", GEMEENTE, b"\xc3\x01" + b"\x7f" * 8 + good[codec.HEADER_LEN :], "onleesbaar"),
        # a valid header, then a string length of ~2**62: the reader must not try to allocate it
        (
            "huge declared length",
            GEMEENTE,
            avro_header + b"\xfe\xff\xff\xff\xff\xff\xff\xff\x7f" + b"x" * 10,
            "onleesbaar",
        ),
        ("900 KB record", LEGACY, b"\xc3\x01" + bytes(rnd.getrandbits(8) for _ in range(900 * 1024)), "te_groot"),
        ("10-level nested JSON line", GEMEENTE, _nested_json(10), "onleesbaar"),
    ]


def _validator_process(prefix: str, database_url: str, bootstrap: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        PRAKTIJK_KAFKA_BOOTSTRAP=bootstrap,
        PRAKTIJK_DATABASE_URL=database_url,
        PRAKTIJK_VALIDATOR_GROUP=f"{prefix}-validator",  # the same registry pseudonym key as h.validator
        PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE=str(key_file(tmp)),
    )
    args = [sys.executable, "-m", "registry.cli", "validator", "--prefix", prefix, "--schema", f"{prefix}_validator"]
    # stderr to a file, not a pipe nobody reads while the test runs: a full pipe blocks the validator's logging
    log = tmp / "validator.log"
    with log.open("ab") as err:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
    _LOGS[proc.pid] = log
    return proc


_LOGS: dict[int, Path] = {}  # validator pid -> its stderr file


def _wait_for(what: str, proc: subprocess.Popen[bytes], check: Callable[[], bool], limit: float = 90.0) -> None:
    """Poll until ``check()``; fails at once when the validator process has exited (the point of this test)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = _LOGS[proc.pid].read_text(errors="replace")[-3000:]
            pytest.fail(f"the validator exited (code {proc.returncode}) while waiting for {what}:\n{err}")
        if check():
            return
        time.sleep(0.5)
    pytest.fail(f"gave up waiting for {what}")


def _accepted_ids(bootstrap: str, t: Topics) -> set[str]:
    return {str(r["event_id"]) for _, r in h.canonical(bootstrap, t)}


def _legacy_topic(bootstrap: str, t: Topics) -> None:
    admin = KafkaAdminClient(**client_config(bootstrap))
    try:
        admin.create_topics(
            [NewTopic(t.ingress(LEGACY), 6, 1, topic_configs={"max.message.bytes": str(2 * 1024 * 1024)})]
        )
    finally:
        admin.close()


def test_ingress_topics_refuse_records_over_the_configured_limit(kafka_bootstrap: str, unique: str) -> None:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix, [GEMEENTE])
    admin = KafkaAdminClient(**client_config(kafka_bootstrap))
    try:
        from kafka.admin import ConfigResource, ConfigResourceType

        # a topic created moments ago may not be known to the broker's metadata yet: it then answers no configs
        configs: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while "max.message.bytes" not in configs and time.monotonic() < deadline:
            resp: Any = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t.ingress(GEMEENTE))])
            configs = {k: v["value"] for k, v in resp["topic"].get(t.ingress(GEMEENTE), {}).items()}
            time.sleep(0 if "max.message.bytes" in configs else 0.5)
    finally:
        admin.close()
    assert configs["max.message.bytes"] == str(INGRESS_MAX_BYTES) == str(256 * 1024)
    raw = KafkaProducer(**client_config(kafka_bootstrap), max_request_size=4 * 1024 * 1024, retries=0)
    try:
        with pytest.raises(KafkaError):
            raw.send(t.ingress(GEMEENTE), b"\xc3\x01" + b"\x00" * (900 * 1024)).get(timeout=60)
        raw.send(t.ingress(GEMEENTE), b"small").get(timeout=60)  # the topic itself works
    finally:
        raw.close()


def test_no_poison_record_stops_the_validator(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix, ["sbb", "duo", "mbo.albeda", GEMEENTE])
    _legacy_topic(kafka_bootstrap, t)
    h.publish(kafka_bootstrap, prefix, reference()[:3])
    proc = _validator_process(prefix, database_url, kafka_bootstrap, tmp_path)
    raw = KafkaProducer(**client_config(kafka_bootstrap), max_request_size=4 * 1024 * 1024, acks="all")
    try:
        _wait_for("the reference data", proc, lambda: len(h.canonical(kafka_bootstrap, t)) == 3)
        poisons = _poisons()
        for i, (name, partner, value, reden) in enumerate(poisons):
            md = raw.send(t.ingress(partner), key=f"poison-{i}".encode(), value=value).get(timeout=60)
            good = aanmelding() | {"event_id": str(uuid.uuid4())}
            h.publish(kafka_bootstrap, prefix, [("KandidaatAangemeld", good)])
            _wait_for(
                f"the good event after the {name}",
                proc,
                lambda good=good: good["event_id"] in _accepted_ids(kafka_bootstrap, t),
            )
            assert proc.poll() is None, f"validator stopped after the {name}"

            dead = [
                d
                for d in _dead_raw(kafka_bootstrap, t)
                if d[1]["bron"]["offset"] == md.offset
                and d[1]["bron"]["topic"] == md.topic
                and d[1]["bron"]["partition"] == md.partition
            ]
            assert len(dead) == 1, name
            size, d = dead[0]
            assert size < PREFIX_CAP * 2, (
                f"{name}: dead letter of {size} bytes"
            )  # base64 prefix + metadata, never the value
            assert (d["reden"], d["partner"], d["grootte"]) == (reden, partner, len(value)), name
            assert d["sha256"] == hashlib.sha256(value).hexdigest()
            prefix_bytes = base64.b64decode(d["waarde_base64"])
            # only bytes that are no registry event keep a prefix (a decodable one may hold sealed persoonsgegevens)
            kept = value[:PREFIX_CAP] if reden == "onleesbaar" else b""
            assert prefix_bytes == kept and d["afgekapt"] is (len(value) > len(kept))
            assert d["fout"]
        # everything good was accepted exactly once, and nothing else
        assert len(h.canonical(kafka_bootstrap, t)) == 3 + len(poisons)
    finally:
        raw.close()
        proc.terminate()
        proc.wait(timeout=60)
    assert proc.returncode == 0  # it stopped because we asked it to (SIGTERM), not because of a record


def _dead_raw(bootstrap: str, t: Topics) -> list[tuple[int, dict[str, Any]]]:
    return [(len(r.value), json.loads(r.value)) for r in h.read_topic(bootstrap, t.deadletter)]


def test_an_internal_error_for_one_record_is_a_dead_letter_and_the_batch_goes_on(
    kafka_bootstrap: str, database_url: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import consumers.beoordelaar as beoordelaar
    from registry.domein import parkeren

    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix, ["sbb", "duo", "mbo.albeda", GEMEENTE])
    bad, after = aanmelding(), aanmelding()
    real = parkeren.beslis

    def beslis(*args: Any, **kwargs: Any) -> Any:
        if args[2] == "KandidaatAangemeld" and args[3]["event_id"] == bad["event_id"]:
            raise RuntimeError("a bug that only this record triggers")
        return real(*args, **kwargs)

    monkeypatch.setattr(beoordelaar, "beslis", beslis)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    try:
        h.publish(kafka_bootstrap, prefix, [("KandidaatAangemeld", bad), ("KandidaatAangemeld", after)])
        h.drain(v)  # one batch holds both: the second is judged after the first failed
    finally:
        v.close()
    assert _accepted_ids(kafka_bootstrap, t) == {after["event_id"]}
    [(_, d)] = _dead_raw(kafka_bootstrap, t)
    assert (d["reden"], d["partner"], d["fout"]) == ("interne_fout", GEMEENTE, "RuntimeError")
    # no prefix of a decodable record (an erasure could not reach it); where it was read stays
    assert d["waarde_base64"] == "" and d["afgekapt"] is True and d["bron"]["topic"] == t.ingress(GEMEENTE)
