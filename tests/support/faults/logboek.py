"""What the registry recorded, read incrementally (read_committed): every event_id of the canonical log with how
often it occurs, the refused event ids, the dead letters, the tellingen and reconciliation runs, and per partition
the offset of the last record (to tell whether the projector has caught up)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from registry.infra import codec
from registry.infra.kafka import client_config
from registry.infra.topics import Topics, batches_to_end

log = logging.getLogger("faults.logboek")


@dataclass
class Logboek:
    bootstrap: str
    topics: Topics = field(default_factory=Topics)
    ids: Counter[str] = field(default_factory=Counter)  # canonical event_id -> occurrences
    refused: set[str] = field(default_factory=set)
    deadletters: int = 0
    inschrijvingen: int = 0
    tellingen: dict[str, dt.datetime] = field(default_factory=dict)  # event_id -> recorded_at
    reconciliaties: list[dt.datetime] = field(default_factory=list)  # occurred_at of every ReconciliatieUitgevoerd
    last_offset: dict[tuple[str, int], int] = field(default_factory=dict)
    _consumer: KafkaConsumer | None = None

    def refresh(self) -> bool:
        """Read what was added since the last call; False when the broker did not answer (try again later)."""
        try:
            consumer = self._open()
            tps = list(consumer.assignment())
            for tp, records in batches_to_end(consumer, tps, timeout_ms=500):
                for rec in records:
                    self._take(tp.topic, rec.value)
                    self.last_offset[(tp.topic, tp.partition)] = rec.offset
            return True
        except KafkaError as exc:
            log.info("log not readable now: %s", type(exc).__name__)
            return False

    def _open(self) -> KafkaConsumer:
        if self._consumer is None:
            consumer = KafkaConsumer(
                **client_config(self.bootstrap),
                group_id=None,
                enable_auto_commit=False,
                isolation_level="read_committed",
                request_timeout_ms=15000,
            )
            tps = [
                TopicPartition(t, p)
                for t in (self.topics.events, self.topics.rejections, self.topics.deadletter)
                for p in sorted(consumer.partitions_for_topic(t) or [])
            ]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            self._consumer = consumer
        return self._consumer

    def _take(self, topic: str, value: bytes | None) -> None:
        if value is None:
            return
        if topic == self.topics.deadletter:
            self.deadletters += 1
        elif topic == self.topics.rejections:
            self.refused.add(str(json.loads(value)["event_id"]))
        else:
            event_type, record = codec.decode(value)
            self.ids[str(record["event_id"])] += 1
            if event_type == "DeelnemerIngeschreven":
                self.inschrijvingen += 1
            elif event_type == "TellingGemeld":
                self.tellingen[str(record["event_id"])] = record["recorded_at"]
            elif event_type == "ReconciliatieUitgevoerd":
                self.reconciliaties.append(record["occurred_at"])

    def latest_reconciliation(self) -> dt.datetime | None:
        return max(self.reconciliaties, default=None)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
