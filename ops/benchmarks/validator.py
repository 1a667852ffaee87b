"""Step validator: the Validator (decode, judge with parking, transactional append, state to PostgreSQL) vs a
kafka-python *transactional copy* of the same ingress records at its best records-per-transaction."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata

from benchmarks.meting import als_dienst, must
from benchmarks.werklast import FETCH, fresh_prefix, reference, stream
from producers.publisher import Publisher
from registry import bootstrap as wiring
from registry.infra import gil, topics
from registry.infra.kafka import TRANSACTIE_RETRY_BACKOFF_MS, client_config
from registry.infra.settings import Settings
from registry.infra.topics import Topics
from tests.support.builders import MBO
from tests.support.validator import met_aanmeldingen

# what the validator's own transactional producer uses (consumers/validator.py), so the copy is a fair baseline: the
# client at its best, with the same retry back-off (registry/infra/kafka.py TRANSACTIE_RETRY_BACKOFF_MS)
TXN_PRODUCER: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "batch_size": 512 * 1024,
    "retry_backoff_ms": TRANSACTIE_RETRY_BACKOFF_MS,
}


def transactional_copy(bootstrap: str, source: str, expected: int, per_txn: int) -> float:
    """kafka-python copying ``source`` (read_committed) into a new topic in transactions of ``per_txn`` records,
    with the consumed offsets in each transaction: the client's own limit for a consume-transform-produce step.
    Timed from the first record to the last commit (the group join is not counted, as for the validator)."""
    prefix = fresh_prefix()
    topics.create([bootstrap], 6, [], prefix)
    target = Topics(prefix).events
    consumer = KafkaConsumer(
        **client_config([bootstrap]),
        group_id=f"{prefix}-copy",
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=per_txn,
        **FETCH,
    )
    consumer.subscribe([source])
    producer = KafkaProducer(**client_config([bootstrap]), transactional_id=f"{prefix}-copy", **TXN_PRODUCER)
    producer.init_transactions()
    n, start, deadline = 0, 0.0, time.monotonic() + 300
    while n < expected and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=500, max_records=per_txn)
        if not batch:
            continue
        start = start or time.perf_counter()
        producer.begin_transaction()
        offsets = {}
        for tp, records in batch.items():
            for rec in records:
                producer.send(target, key=rec.key, value=rec.value)
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            n += len(records)
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        producer.commit_transaction()
    seconds = time.perf_counter() - start
    consumer.close()
    producer.close()
    must(n >= expected, f"transactional copy ({per_txn}/txn) copied {n} of {expected} records")
    return n / seconds


def bench_validator(
    settings: Settings,
    bootstrap: str,
    database_url: str,
    n_deelnemers: int,
    txn_sizes: Sequence[int],
    max_poll_records: int,
) -> tuple[float, dict[int, float]]:
    """(validator ev/s, {records per transaction: copy rec/s}) on the same ingress records."""
    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, ["sbb", "duo", MBO], prefix)
    cfg = wiring.validator_config(
        dataclasses.replace(settings, kafka_bootstrap=bootstrap, database_url=database_url, component_database_urls=()),
        prefix,
        f"{prefix}_validator",
        group=f"{prefix}-validator",
        registry_pseudonym_key=(os.urandom(32),),
        max_poll_records=max_poll_records,
    )
    for partner in ("sbb", "duo"):
        with Publisher([bootstrap], partner, prefix=prefix, ensure_topic=False) as pub:
            pub.publish_batch([(et, r) for et, r in reference() if r["partner"] == partner])
    v = wiring.build_validator(cfg)
    v.start()
    v.drain()  # the reference data, the group join: not timed
    als_dienst()  # from here on, in every run: the copies run beside the same heap thread
    # with the mbo's own aanmelding before each inschrijving (an inschrijving needs one): without it every event
    # parks, and the step would measure parking instead of judging into the canonical log
    items = met_aanmeldingen(stream(n_deelnemers))
    with Publisher([bootstrap], MBO, prefix=prefix, ensure_topic=False) as pub:
        pub.publish_batch(items)
    expected = len(items)
    del items  # the published events are in Kafka now: not in this process's heap while the validator runs
    # the copies at their best: CPython's switch interval (with the validator's 1 ms a copy was ~20% slower)
    sys.setswitchinterval(gil.PYTHON_SECONDS)
    copies = {size: transactional_copy(bootstrap, t.ingress(MBO), expected, size) for size in txn_sizes}
    gil.quick_handover()  # the validator as the long-running command runs (registry/infra/dienst.py)
    done, start, deadline = 0, time.perf_counter(), time.monotonic() + 600
    while done < expected and time.monotonic() < deadline:  # timed to the last record, not to idle detection
        done += v.run_once(timeout_ms=300)
    seconds = time.perf_counter() - start
    v.close()
    must(done >= expected, f"validator judged {done} of {expected} events")
    must(len(v.plaats) == 0, f"validator parked {len(v.plaats)} of {expected} events (the workload should not)")
    return done / seconds, copies
