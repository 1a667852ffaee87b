"""The partner producer: encode and publish events to ``praktijkleren.ingress.<partner>``.

Idempotent producer with ``acks=all``: a retried send never duplicates a record in
the partition, and an event_id resent later is a no-op at the validator.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from kafka import KafkaProducer
from kafka.errors import KafkaError

from registry.infra import codec, topics
from registry.domein import events


class PublishError(RuntimeError):
    pass


class Publisher:
    def __init__(self, bootstrap: Sequence[str] | str, partner: str, *, ensure_topic: bool = True,
                 partitions: int = 6, producer_config: Mapping[str, Any] | None = None, prefix: str = "praktijkleren") -> None:
        self.topic = topics.Topics(prefix).ingress(partner)
        self.partner = partner
        self.bootstrap = [bootstrap] if isinstance(bootstrap, str) else list(bootstrap)
        if ensure_topic:
            topics.create(self.bootstrap, partitions, [partner], prefix)
        config: dict[str, Any] = dict(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
            linger_ms=20, batch_size=256 * 1024, max_in_flight_requests_per_connection=5,
            client_id=f"praktijkregister-publisher-{partner}",
        )
        config.update(producer_config or {})
        self._producer = KafkaProducer(**config)
        self._pending: list[Any] = []  # futures, checked at flush: kafka-python's flush does not raise

    def publish(self, event_type: str, record: Mapping[str, Any]) -> None:
        """Queue one event (sent in the background; ``flush`` waits for the broker)."""
        if record.get("partner") != self.partner:
            raise PublishError(f"record partner {record.get('partner')!r} is not {self.partner!r}")
        self._pending.append(
            self._producer.send(self.topic, key=events.key(event_type, record), value=codec.encode(event_type, record))
        )

    def publish_batch(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        """Queue many events and wait until the broker acknowledged all of them."""
        n = 0
        for event_type, record in items:
            self.publish(event_type, record)
            n += 1
        self.flush()
        return n

    def flush(self, timeout: float = 120.0) -> None:
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            raise PublishError(f"broker did not acknowledge every event: {exc}") from exc
        failed = [f.exception for f in self._pending if f.failed()]
        self._pending.clear()
        if failed:
            raise PublishError(f"{len(failed)} event(s) not acknowledged by the broker; first: {failed[0]}")

    def close(self) -> None:
        self._producer.close()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
