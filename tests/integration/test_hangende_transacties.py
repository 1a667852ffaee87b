"""Hanging transactions on the real broker: found, told apart from live ones, aborted; the validator recovers by itself.

The hanging transaction is made as tests/support/hangend.py describes (the state the fault suite found after a
Kafka restart: coordinator ``Empty``, partition open for ever)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumers.validator import HANGT_NA_S
from registry.infra import metrics, topics
from registry.infra.hangende_transacties import Transactiewacht
from registry.infra.kafka import client_config
from registry.infra.toegang import admin_client
from tests.integration.test_validator import reference
from tests.support import validator as h
from tests.support.builders import aanmelding
from tests.support.hangend import hangende_transactie, lso_en_hw

NOG_S = 15.0  # how much longer than its age the validator must wait for the hanging transaction (asked every 5 s)


def _aborted(topic: str) -> float:
    return metrics.HANGING_TRANSACTIONS_ABORTED.labels(topic)._value.get()  # type: ignore[no-any-return]


def test_only_the_hanging_transaction_is_found_never_a_live_one(kafka_bootstrap: str, unique: str) -> None:
    t = h.make_topics(kafka_bootstrap, f"t{unique}", partners=["sbb"], partitions=2)
    hangt = TopicPartition(t.events, 0)
    pid, epoch = hangende_transactie(kafka_bootstrap, [hangt], f"t{unique}-stuk")
    live = KafkaProducer(
        **client_config(kafka_bootstrap), transactional_id=f"t{unique}-levend", transaction_timeout_ms=60_000
    )
    admin = admin_client(kafka_bootstrap)
    try:
        live.init_transactions()
        live.begin_transaction()
        live.send(t.events, b"live", partition=1).get(timeout=30)  # open, and its coordinator knows it
        wacht = Transactiewacht(admin, lambda: [hangt, TopicPartition(t.events, 1)], min_stil_s=0)
        assert {(o.tp.partition, o.producer_id) for o in wacht.open_transacties()} >= {(0, pid)}
        assert len(wacht.open_transacties()) == 2
        gevonden = wacht.hangende()
        assert [(g.tp, g.producer_id, g.producer_epoch) for g in gevonden] == [(hangt, pid, epoch)]
        # a young one is left alone: nothing is aborted before it has been quiet for min_stil_s
        assert Transactiewacht(admin, lambda: [hangt], min_stil_s=3600).hangende() == []
        lso, hw = lso_en_hw(kafka_bootstrap, hangt)
        assert lso < hw
        assert [g.tp for g in wacht.ruim_op()] == [hangt]
        lso, hw = lso_en_hw(kafka_bootstrap, hangt)
        assert lso == hw  # past the abort marker: read_committed readers go on
        assert (
            lso_en_hw(kafka_bootstrap, TopicPartition(t.events, 1))[0]
            < lso_en_hw(kafka_bootstrap, TopicPartition(t.events, 1))[1]
        )
        live.commit_transaction()  # the live one was not touched: it still commits
        committed = KafkaConsumer(
            **client_config(kafka_bootstrap), isolation_level="read_committed", auto_offset_reset="earliest"
        )
        both = [hangt, TopicPartition(t.events, 1)]
        deadline = time.monotonic() + 30  # EndTxn returns before the coordinator has written the commit marker
        while any(lso < hw for lso, hw in (lso_en_hw(kafka_bootstrap, tp) for tp in both)):
            assert time.monotonic() < deadline, "a transaction still open 30 s after its commit and its abort"
            time.sleep(0.1)
        committed.assign(both)
        committed.seek_to_beginning(*both)
        # up to the end offsets (no transaction is open on either any more): all a committed reader ever gets there
        values = sorted(r.value for _tp, records in topics.batches_to_end(committed, both) for r in records)
        committed.close()
        assert values == [b"live"]  # the hanging record was aborted, never read as committed
    finally:
        live.close(timeout=0)
        admin.close()


def test_a_validator_that_waits_on_a_hanging_transaction_aborts_it_and_goes_on(
    kafka_bootstrap: str, database_url: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix)
    v = h.validator(kafka_bootstrap, database_url, prefix)
    h.publish(kafka_bootstrap, prefix, reference())
    h.drain(v)
    v.close()
    before = len(h.canonical(kafka_bootstrap, t))
    stuck = [TopicPartition(t.events, p) for p in (1, 2, 3)]
    # dated as if written NOG_S short of HANGT_NA_S ago (after a Kafka restart it is older still): the validator
    # must go on asking for NOG_S more, not the whole HANGT_NA_S the suite would otherwise wait
    gedateerd_ms = int((time.time() - (HANGT_NA_S - NOG_S)) * 1000)
    hangende_transactie(
        kafka_bootstrap, stuck, f"{prefix}-validator-stuk", waarde=b"\xc3\x01not an event", gedateerd_ms=gedateerd_ms
    )
    assert all(lso < hw for lso, hw in (lso_en_hw(kafka_bootstrap, tp) for tp in stuck))
    aborted_before = _aborted(t.events)
    caplog.set_level(logging.WARNING, logger="praktijkregister.transacties")
    started = time.monotonic()
    v = h.validator(kafka_bootstrap, database_url, prefix)  # its start-up rolls forward to the canonical log's end
    took = time.monotonic() - started
    try:
        stil = time.time() - gedateerd_ms / 1000  # how long the transaction had been quiet when start-up ended
        assert stil + 1 >= HANGT_NA_S and NOG_S <= took + 1 < 60, f"start-up took {took:.1f} s, quiet {stil:.1f} s"
        assert _aborted(t.events) - aborted_before == 3
        lines = [r.getMessage() for r in caplog.records if "hanging transaction aborted" in r.getMessage()]
        assert len(lines) == 3 and all(t.events in line for line in lines)
        assert all(lso == hw for lso, hw in (lso_en_hw(kafka_bootstrap, tp) for tp in stuck))
        record: dict[str, Any] = aanmelding(partner="gemeente.gm0599")
        h.publish(kafka_bootstrap, prefix, [("KandidaatAangemeld", record)])
        h.drain(v)
        after = h.canonical(kafka_bootstrap, t)
        assert len(after) == before + 1 and record["event_id"] in {e["event_id"] for _, e in after}
    finally:
        v.close()


def test_operators_list_and_abort_hanging_transactions_by_hand(kafka_bootstrap: str, unique: str) -> None:
    import subprocess
    import sys

    prefix = f"t{unique}"
    t = h.make_topics(kafka_bootstrap, prefix, partners=["sbb"], partitions=2)
    tp = TopicPartition(t.parked, 1)
    pid, epoch = hangende_transactie(kafka_bootstrap, [tp], f"{prefix}-stuk")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "registry.cli",
                "transactions",
                "hanging",
                "--prefix",
                prefix,
                "--min-quiet",
                "0",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = cli()
    assert listed.returncode == 1, listed.stderr
    assert listed.stdout.splitlines() == [
        f"hanging\t{t.parked}[1] producer id {pid} epoch {epoch} open since offset 2"
    ]  # after its aborted first one
    aborted = cli("--abort")
    assert aborted.returncode == 0 and aborted.stdout.startswith("aborted\t"), aborted.stderr
    assert lso_en_hw(kafka_bootstrap, tp)[0] == lso_en_hw(kafka_bootstrap, tp)[1]
    again = cli()
    assert again.returncode == 0 and again.stdout == "" and "0 hanging transaction(s)" in again.stderr
