"""The freshness step per stage: where a sampled event spent its time between the publish call and the API's 200.

A watcher thread in the bench reads the ingress topic (read_uncommitted: a record is there once the broker appended
it) and the canonical topic (read_committed: once the validator's transaction committed), and notes when it first
sees each sampled event in either; a second thread asks the read model every 20 ms for the inschrijvingen of the
sampled trajecten. With the publish time and the prober's first 200 that gives four stages:

- ``publish -> ingress``: the Publisher's linger and the broker's append (with the watcher's own fetch);
- ``ingress -> canonical``: the validator's poll, judging and transaction commit;
- ``canonical -> row``: the projector's poll, projecting and write (with the watcher's 20 ms);
- ``row -> API``: the prober's GET of it (the API reads the row directly, no cache in between); how long the GETs
  themselves took is given beside the stages. The probers ask only about samples whose row was seen: a GET before
  can only 404, and asking back to back for every sample cost the API and the bench more CPU than the projector.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, text

from registry.infra.kafka import client_config

ETAPPES = ("publish -> ingress", "ingress -> canonical", "canonical -> row", "row -> API")
GET = "a prober's GET"  # beside the stages: how long each GET of the prober took (404 or 200)


def etappes(publish: Mapping[str, float], *punten: Mapping[str, float]) -> dict[str, list[float]]:
    """Per stage, the seconds each sample spent in it: between the publish time and the next point, and so on
    (``punten``: a time per traject, one mapping per point, in pipeline order). Only samples seen at every point
    count; a watcher that saw one late makes the stage before it look long and the one after it short, so a stage
    is never negative (clipped at 0)."""
    uit: dict[str, list[float]] = {e: [] for e in ETAPPES[: len(punten)]}
    for traject, t0 in publish.items():
        if all(traject in p for p in punten):
            tijden = (t0, *(p[traject] for p in punten))
            for etappe, van, tot in zip(uit, tijden, tijden[1:], strict=False):
                uit[etappe].append(max(0.0, tot - van))
    return uit


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        velden = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(velden[11]) + int(velden[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def kwantiel(waarden: list[float], q: float) -> float:
    """The ``q`` quantile as the bench reports it (the value at rank ``q * n``), NaN for no values."""
    if not waarden:
        return float("nan")
    ordered = sorted(waarden)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Waarnemer:
    """The watcher thread: the first time (time.monotonic) each sampled event (by its event id) is seen in the
    ingress topic and, committed, in the canonical topic. ``zoek`` adds one before it is published."""

    def __init__(self, bootstrap: str, ingress_topic: str, canonical_topic: str, engine: Engine, schema: str) -> None:
        self.lock = threading.Lock()
        self.gezocht: dict[bytes, str] = {}  # the event id as its bytes in an Avro value -> its traject
        self.trajecten: set[str] = set()  # every sampled traject, until its row is seen
        self.gezien: dict[str, dict[str, float]] = {"ingress": {}, "canoniek": {}, "rij": {}}
        self.engine, self.schema = engine, schema
        self.stop = threading.Event()
        self.consumers = {
            "ingress": self._consumer(bootstrap, ingress_topic, "read_uncommitted"),
            "canoniek": self._consumer(bootstrap, canonical_topic, "read_committed"),
        }
        self.threads = [
            threading.Thread(target=self._lees, daemon=True, name="freshness-watcher"),
            threading.Thread(target=self._vraag_rijen, daemon=True, name="freshness-rows"),
        ]

    @staticmethod
    def _consumer(bootstrap: str, topic: str, isolation: str) -> KafkaConsumer:
        c = KafkaConsumer(
            **client_config(bootstrap), isolation_level=isolation, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        c.assign(tps)
        c.seek_to_end(*tps)
        for tp in tps:
            c.position(tp)  # the end now: only what is published from here on
        return c

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def zoek(self, traject: str, event_id: str) -> None:
        with self.lock:
            self.gezocht[event_id.encode()] = traject
            self.trajecten.add(traject)

    def rij_gezien(self, traject: str) -> bool:
        """Whether the sampled traject's row was seen in the read model (the prober's gate)."""
        with self.lock:
            return traject in self.gezien["rij"]

    def _lees(self) -> None:
        while not self.stop.is_set():
            for waar, consumer in self.consumers.items():
                polled: Any = consumer.poll(timeout_ms=20)
                nu = time.monotonic()
                for records in polled.values():
                    for rec in records:
                        self._noteer(waar, rec.value or b"", nu)

    def _noteer(self, waar: str, value: bytes, nu: float) -> None:
        gezien = self.gezien[waar]
        with self.lock:
            for sleutel, traject in self.gezocht.items():
                if traject not in gezien and sleutel in value:
                    gezien[traject] = nu
                    if waar == "canoniek":
                        del self.gezocht[sleutel]  # seen at both points: no longer looked for
                    return

    def _vraag_rijen(self) -> None:
        sql = text(f'SELECT traject_id FROM "{self.schema}".inschrijvingen WHERE traject_id = ANY(:ids)')
        with self.engine.connect() as conn:
            while not self.stop.wait(0.02):
                with self.lock:
                    open_ = list(self.trajecten)  # not only those seen in the canonical topic: no wait on it
                if not open_:
                    continue
                gevonden = conn.execute(sql, {"ids": open_}).scalars().all()
                conn.rollback()  # a fresh snapshot for the next question
                nu = time.monotonic()
                with self.lock:
                    for traject in gevonden:
                        self.gezien["rij"].setdefault(str(traject), nu)
                        self.trajecten.discard(str(traject))

    def close(self) -> dict[str, dict[str, float]]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        for consumer in self.consumers.values():
            consumer.close(autocommit=False)
        return self.gezien
