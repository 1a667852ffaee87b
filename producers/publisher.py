"""The partner producer: encode and publish events to ``praktijkleren.ingress.<partner>``.

Idempotent producer with ``acks=all``: a retried send never duplicates a record in
the partition, and an event_id resent later is a no-op at the validator.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from registry.domein import events
from registry.infra import codec, topics
from registry.infra.kafka import client_config

log = logging.getLogger("praktijkregister.publisher")


class PublishError(RuntimeError):
    """Not every event was acknowledged. ``sent``: the tags (e.g. file lines) the broker DID acknowledge;
    ``failed``: (tag, error) of the refused ones; anything else queued was never sent."""

    def __init__(
        self, message: str, sent: Sequence[Any] = (), failed: Sequence[tuple[Any, BaseException | None]] = ()
    ) -> None:
        super().__init__(message)
        self.sent, self.failed = list(sent), list(failed)


@lru_cache(maxsize=65536)
def partition_of(key: bytes, partitions: tuple[int, ...]) -> int:
    """kafka-python's default partition for ``key`` over ``partitions`` (sorted; its DefaultPartitioner, the
    Java client's murmur2 rule), cached per key."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """kafka-python's ``murmur2`` (the Java client's ``Utils.murmur2``), the same value for every input, a few
    times quicker: the 4-byte words are unpacked at once instead of byte by byte (the validator asks it for every
    new deelnemer's key)."""
    m, mask = _M, _MASK
    length = len(data)
    h = 0x9747B28C ^ length
    for k in struct.unpack_from(f"<{length // 4}I", data):
        k = (k * m) & mask
        h = ((h * m) & mask) ^ (((k ^ (k >> 24)) * m) & mask)
    rest = length & 3
    if rest:
        staart = length & ~3
        if rest >= 3:
            h ^= data[staart + 2] << 16
        if rest >= 2:
            h ^= data[staart + 1] << 8
        h = ((h ^ data[staart]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


class Publisher:
    def __init__(
        self,
        bootstrap: Sequence[str] | str,
        partner: str,
        *,
        ensure_topic: bool = True,
        partitions: int = 6,
        producer_config: Mapping[str, Any] | None = None,
        prefix: str = "praktijkleren",
        max_record_bytes: int = topics.INGRESS_MAX_BYTES,
        retention_days: int = topics.INGRESS_RETENTION_DAYS,
    ) -> None:
        self.topic = topics.Topics(prefix).ingress(partner)
        self.partner = partner
        self.bootstrap = [bootstrap] if isinstance(bootstrap, str) else list(bootstrap)
        if ensure_topic and not topics.exists(self.bootstrap, self.topic):  # a partner may not create topics
            try:
                topics.create(
                    self.bootstrap,
                    partitions,
                    [partner],
                    prefix,
                    max_ingress_bytes=max_record_bytes,
                    retention_days=retention_days,
                )
            except ValueError:  # a partner's login sees only its own topics: another partner's looks missing
                raise ValueError(
                    f"this Kafka login may not write {self.topic}: a partner publishes only as itself "
                    f"(the registry gives {partner} its own login: praktijkregister partners add "
                    f"{partner})"
                ) from None
        config: dict[str, Any] = dict(
            **client_config(self.bootstrap),
            acks="all",
            enable_idempotence=True,
            # a batch of several records stays under the ingress topic's max.message.bytes; a bigger single
            # record (checked by the importer against max_record_bytes) goes in a batch of its own
            linger_ms=20,
            batch_size=max(16 * 1024, min(256 * 1024, max_record_bytes // 2)),
            max_in_flight_requests_per_connection=5,
            client_id=f"praktijkregister-publisher-{partner}",
        )
        config.update(producer_config or {})
        self._producer = KafkaProducer(**config)
        self._pending: list[
            tuple[Any, Any]
        ] = []  # (tag, future), checked at flush: kafka-python's flush does not raise
        self._partitions: tuple[int, ...] | None = None  # of self.topic, asked once (counts never change in place)

    def publish(self, event_type: str, record: Mapping[str, Any]) -> None:
        """Queue one event (sent in the background; ``flush`` waits for the broker)."""
        if record.get("partner") != self.partner:
            raise PublishError(f"record partner {record.get('partner')!r} is not {self.partner!r}")
        self.send_encoded(events.key(event_type, record), codec.encode(event_type, record))

    def send_encoded(self, key: bytes | None, value: bytes, tag: Any = None) -> None:
        """Queue one already encoded event; ``tag`` (e.g. a file line) names it in a PublishError."""
        try:
            partition = None if key is None else self._partition(key)
            self._pending.append((tag, self._producer.send(self.topic, key=key, value=value, partition=partition)))
        except KafkaError as exc:  # refused before sending (e.g. larger than the client's max_request_size)
            sent = self._settle(None)[0]
            raise PublishError(
                f"event {tag if tag is not None else ''} refused before sending: {exc}", sent, [(tag, exc)]
            ) from exc

    def _partition(self, key: bytes) -> int:
        """The partition kafka-python's default partitioner picks for ``key`` (so co-partitioning is unchanged),
        remembered per key: its pure-Python murmur2 cost a third of a send, and a deelnemer's events share a key."""
        if self._partitions is None:
            self._partitions = tuple(sorted(self._producer.partitions_for(self.topic)))
        return partition_of(key, self._partitions)

    def publish_batch(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        """Queue many events and wait until the broker acknowledged all of them."""
        n = 0
        for event_type, record in items:
            self.publish(event_type, record)
            n += 1
        self.flush()
        return n

    def flush(self, timeout: float = 120.0) -> list[Any]:
        """Wait for the broker; the tags of the acknowledged events, or PublishError naming sent and failed ones."""
        sent, failed = self._settle(timeout)
        if failed:
            raise PublishError(
                f"{len(failed)} event(s) not acknowledged by the broker; first: {failed[0][1]}", sent, failed
            )
        return sent

    def _settle(self, timeout: float | None) -> tuple[list[Any], list[tuple[Any, BaseException | None]]]:
        """Wait until every queued event has its answer; (acknowledged tags, [(tag, error)] of the others)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 120.0)
        error: BaseException | None = None
        try:
            self._producer.flush(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:  # a refused batch is split and retried; flush may give up before that ends
            error = exc
        for _tag, f in self._pending:
            if not f.is_done:
                try:
                    f.get(timeout=max(0.1, deadline - time.monotonic()))
                except Exception:  # noqa: BLE001 - the outcome is read from the future below
                    pass
        sent: list[Any] = []
        failed: list[tuple[Any, BaseException | None]] = []
        for tag, f in self._pending:  # one pass: this runs once per event of a batch
            if f.succeeded():
                sent.append(tag)
            else:
                failed.append(
                    (
                        tag,
                        f.exception
                        if f.failed()
                        else error
                        or KafkaError("no answer from the broker: this event may or may not have been written"),
                    )
                )
        self._pending.clear()
        return sent, failed

    def close(self) -> None:
        try:
            self._producer.close(timeout=30)
        except KafkaError as exc:  # after a refused event the client may not flush cleanly; the outcome is known
            log.warning("publisher did not close cleanly: %s", exc)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
