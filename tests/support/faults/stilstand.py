"""Stalls while a broker is lost: how long partners, the canonical log and the API stood still.

Three clocks, each a list of moments (time.monotonic):
* publish: every batch the broker acknowledged to the stream's producer (what a partner sees);
* accepted: every event that became readable in the canonical log (read_committed: the validator's commit);
* freshness: sampled inschrijvingen, from the hand-over to the publisher until ``GET /v1/trajecten/{id}`` is 200.
The stall of the first two is the longest stretch of a window without a moment; of the last the longest wait."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from registry.infra.kafka import client_config

log = logging.getLogger("faults.stilstand")


def longest_gap(moments: list[float], start: float, end: float) -> float:
    """The longest stretch of [start, end] with no moment in it (the edges count: nothing at all = end - start)."""
    inside = sorted(m for m in moments if start <= m <= end)
    edges = [start, *inside, end]
    return max(b - a for a, b in zip(edges, edges[1:], strict=False))


def gaps_per_window(moments: list[float], starts: list[float], end: float) -> list[float]:
    """``longest_gap`` from each start to the next one (the last to ``end``): one figure per kill."""
    ends = [*starts[1:], end]
    return [longest_gap(moments, s, e) for s, e in zip(starts, ends, strict=True)]


class Aanvoer:
    """Reads the canonical log (read_committed) in a thread and notes when each event became readable."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.moments: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aanvoer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        consumer = KafkaConsumer(
            **client_config(self.bootstrap) | {"metadata_max_age_ms": 5000},  # a lost leader's successor, soon
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=15000,
        )
        try:
            tps = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or [])]
            consumer.assign(tps)
            consumer.seek_to_end(*tps)  # only what is accepted from now on
            while not self._stop.is_set():
                try:
                    polled = consumer.poll(timeout_ms=100)
                except KafkaError as exc:  # a lost leader: the client finds the new one
                    log.info("canonical log not readable now: %s", type(exc).__name__)
                    time.sleep(0.1)
                    continue
                now = time.monotonic()
                self.moments += [now] * sum(len(records) for records in polled.values())
        finally:
            consumer.close()


@dataclass
class Versheid:
    """Probes sampled trajecten until the API shows them; ``latencies`` in seconds from hand-over to 200."""

    base: str
    key: str
    every: int = 5  # sample one inschrijving in ``every``: a long stall leaves few pending, probed often
    probers: int = 4
    offered: int = 0
    latencies: list[float] = field(default_factory=list)
    pending: dict[str, float] = field(default_factory=dict)
    zichtbaar: dict[str, float] = field(default_factory=dict)  # traject -> when it answered 200 (time.monotonic)
    get_seconds: list[float] = field(default_factory=list)  # how long each GET took, 404 or 200
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _probing: set[str] = field(default_factory=set)  # a GET in flight
    _last: dict[str, float] = field(default_factory=dict)  # when each pending sample was last asked about
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    # which pending samples are worth a GET: all (None), or those the caller knows to be in the read model already.
    # The API reads the row itself, so a GET before it is there can only 404; on two cores, probing those back to
    # back kept the API and the probers busier than the pipeline being measured.
    klaar: Callable[[str], bool] | None = None

    def sample(self, traject: str, handed_over: float) -> None:
        with self._lock:
            self.offered += 1
            if self.offered % self.every == 0:
                self.pending[traject] = handed_over

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._probe, daemon=True) for _ in range(self.probers)]
        for t in self._threads:
            t.start()

    def stop(self, grace: float = 120.0) -> None:
        """Wait until every sample is visible (or ``grace`` passed: those count as never), then stop."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with self._lock:
                if not self.pending:
                    break
            time.sleep(0.1)
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def never(self) -> int:
        with self._lock:
            return len(self.pending)

    def _next(self) -> str | None:
        """The pending sample probed longest ago (a new one first) that no prober is asking about now: each gets its
        turn, and no GET (each with its audit write) is spent twice on one sample at a time."""
        with self._lock:
            free = [t for t in self.pending if t not in self._probing and (self.klaar is None or self.klaar(t))]
            if not free:
                return None
            traject = min(free, key=lambda t: self._last.get(t, 0.0))
            self._probing.add(traject)
            self._last[traject] = time.monotonic()
            return traject

    def _probe(self) -> None:
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=5.0) as c:
            while not self._stop.is_set():
                traject = self._next()
                if traject is None:
                    time.sleep(0.005)
                    continue
                begin = time.monotonic()
                try:
                    visible = c.get(f"/v1/trajecten/{traject}").status_code == 200
                except httpx.HTTPError:
                    visible = False
                with self._lock:
                    self.get_seconds.append(time.monotonic() - begin)
                    self._probing.discard(traject)
                    if visible and traject in self.pending:
                        self.zichtbaar[traject] = time.monotonic()
                        self.latencies.append(self.zichtbaar[traject] - self.pending.pop(traject))
                        self._last.pop(traject, None)


def summary(publish: list[float], accepted: list[float], versheid: Versheid) -> str:
    """One line for the report: the longest stall per kill of the publish and accepted clocks, and freshness."""
    lat = sorted(versheid.latencies)
    fresh = (
        f"freshness (publish -> GET /v1/trajecten 200) over {len(lat)} samples: p50 {statistics.median(lat):.2f} s, "
        f"max {lat[-1]:.1f} s"
        if lat
        else "freshness: no sample became visible"
    )
    never = versheid.never()
    return (
        f"longest stall per kill: publish acknowledgements {_list(publish)} s, accepted events (canonical log, "
        f"read_committed) {_list(accepted)} s; {fresh}" + (f"; {never} sample(s) never visible" if never else "")
    )


def _list(figures: list[float]) -> str:
    return ", ".join(f"{f:.1f}" for f in figures) or "-"
