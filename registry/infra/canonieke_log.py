"""Read single events back from the canonical log (``praktijkleren.events``) by partition and offset.

The read models never hold persoonsgegevens, not even encrypted: the printed verklaring reads the ciphertext from
the event in the log itself (its position is in the ``tijdlijn`` projection's ``event_log``) and decrypts it with the
deelnemer's data key (registry/infra/gegevenskluis.py); after an erasure that key is gone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from registry.infra import codec
from registry.infra.kafka import client_config


class LogFout(RuntimeError):
    """The log could not be read (broker unreachable, offset gone)."""


def lees_events(
    bootstrap: list[str], topic: str, posities: list[tuple[int, int]], timeout_s: float = 10.0
) -> dict[tuple[int, int], tuple[str, Mapping[str, Any]]]:
    """The decoded events at ``posities`` ((partition, offset) pairs), read_committed; a position whose record is
    not (or no longer) there is missing from the answer. ``LogFout`` when the broker does not answer in time."""
    if not posities:
        return {}
    try:
        consumer = KafkaConsumer(
            **client_config(bootstrap), group_id=None, enable_auto_commit=False, isolation_level="read_committed"
        )
    except Exception as exc:  # kafka-python raises NoBrokersAvailable and friends
        raise LogFout(f"canonical log unreachable: {type(exc).__name__}") from None
    out: dict[tuple[int, int], tuple[str, Mapping[str, Any]]] = {}
    try:
        for partition, offset in sorted(set(posities)):
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            if offset >= int(consumer.end_offsets([tp]).get(tp, 0)):
                continue  # beyond the end (another log, or not committed): not there, no need to wait
            consumer.seek(tp, offset)
            deadline = time.monotonic() + timeout_s
            found = False
            while not found and time.monotonic() < deadline:
                if consumer.position(tp) > offset:
                    break  # the offset is not there (compacted/transaction marker): nothing to return
                for record in consumer.poll(timeout_ms=500).get(tp, []):
                    if record.offset == offset and record.value is not None:
                        try:
                            out[(partition, offset)] = codec.decode(record.value)
                        except codec.DecodeError:
                            pass
                        found = True
                        break
                    if record.offset > offset:
                        found = True
                        break
            if not found and time.monotonic() >= deadline:
                raise LogFout(f"canonical log did not answer for partition {partition} within {timeout_s:.0f}s")
    finally:
        consumer.close()
    return out
