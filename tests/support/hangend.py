"""A hanging transaction made on purpose, on the real broker: records of a transactional producer on a partition
its transaction coordinator never recorded, so no marker will ever close them (coordinator state ``Empty``,
partition open: what the fault suite found after a Kafka restart, docs/operations.md "Hanging transactions").

The broker refuses such a write while partition verification (KIP-890 part 1) is on, so it is switched off for the
write only (a dynamic broker setting), as on a broker before 3.6 or when a coordinator's record and a partition
disagree; the producer skips ``AddPartitionsToTxn`` by marking the partition as added."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from registry.infra.kafka import client_config

VERIFICATIE = "transaction.partition.verification.enable"


def lso_en_hw(bootstrap: str, tp: TopicPartition) -> tuple[int, int]:
    """``tp``'s last stable offset and high watermark: a transaction is open on it while the first is below."""
    ends = []
    for isolation in ("read_committed", "read_uncommitted"):
        c = KafkaConsumer(**client_config(bootstrap), isolation_level=isolation)
        try:
            ends.append(int(c.end_offsets([tp])[tp]))
        finally:
            c.close()
    return ends[0], ends[1]


@contextlib.contextmanager
def zonder_partitieverificatie(bootstrap: str) -> Iterator[None]:
    admin = KafkaAdminClient(**client_config(bootstrap))
    brokers = [str(b.node_id) for b in admin._manager.cluster.brokers()]  # noqa: SLF001 - the ids of every broker
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.BROKER, b, configs={VERIFICATIE: "false"}) for b in brokers]
        )
        yield
    finally:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.BROKER, b, configs={VERIFICATIE: "true"}) for b in brokers]
        )
        admin.close()


def _markers_geschreven(bootstrap: str, tps: list[TopicPartition], timeout_s: float = 30.0) -> None:
    """Wait until no transaction is open on ``tps`` (the abort markers have landed)."""
    from registry.infra.toegang import admin_client

    admin = admin_client(bootstrap)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            staat = admin.describe_producers(tps)
            if all(p.current_transaction_start_offset < 0 for s in staat.values() for p in s.active_producers):
                return
            time.sleep(0.1)
        raise TimeoutError(f"abort markers not written on {tps} within {timeout_s:.0f} s")
    finally:
        admin.close()


def hangende_transactie(
    bootstrap: str,
    tps: list[TopicPartition],
    transactional_id: str,
    waarde: bytes = b"hanging",
    gedateerd_ms: int | None = None,
) -> tuple[int, int]:
    """Leave a transaction open on ``tps`` that the coordinator does not know of: (producer id, epoch). The producer
    first commits one ordinary transaction there, so the partitions hold a coordinator epoch for it (>= 0), as in the
    fault suite's case: an abort must carry that epoch. ``gedateerd_ms``: the hanging records' timestamp (epoch
    ms; default now), which the broker reports as the producer's last activity: a transaction quiet for a while."""
    with zonder_partitieverificatie(bootstrap):
        p = KafkaProducer(**client_config(bootstrap), transactional_id=transactional_id, transaction_timeout_ms=10_000)
        try:
            p.init_transactions()
            p.begin_transaction()
            for tp in tps:
                p.send(tp.topic, waarde, partition=tp.partition).get(timeout=30)
            p.abort_transaction()  # its marker records the coordinator epoch on each partition
            _markers_geschreven(bootstrap, tps)  # EndTxn returns before the coordinator's markers are written
            p.begin_transaction()
            tm = p._transaction_manager  # noqa: SLF001 - the client must skip AddPartitionsToTxn on purpose
            assert tm is not None
            tm._partitions_in_transaction.update(tps)  # noqa: SLF001
            tm._transaction_started = True  # noqa: SLF001
            for tp in tps:
                p.send(tp.topic, waarde, partition=tp.partition, timestamp_ms=gedateerd_ms).get(timeout=30)
            pid = tm.producer_id_and_epoch
            return int(pid.producer_id), int(pid.epoch)
        finally:
            p.close(timeout=0)  # no EndTxn: the coordinator holds nothing open for it
