"""Clients that keep asking the API for the number of deelnemers of the stream's pilot while the API is killed.

The truth only grows (the stream adds deelnemers, nothing ends), so every successful answer must be
* at most the number of inschrijvingen handed to the producer by the time the answer arrived, and
* at least every answer that had arrived before this request was sent (read models never go back).
Errors (connection refused while the API restarts) are expected and counted; wrong numbers are failures."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.support.faults.stroom import PEILDATUM, PILOT, Stroom

PATH = f"/v1/overzichten/deelnemers-per-pilot?peildatum={PEILDATUM.isoformat()}&pilot={PILOT}"


@dataclass(frozen=True)
class Antwoord:
    sent: float
    received: float
    value: int


def deelnemers(client: httpx.Client, base: str, key: str) -> int:
    """The pilot's deelnemers as the API answers them (raises on any error status)."""
    resp = client.get(base + PATH, headers={"Authorization": f"Bearer {key}"})
    resp.raise_for_status()
    rows = [r for r in resp.json()["rijen"] if r.get("pilot") == PILOT]
    return int(rows[0]["deelnemers"]) if rows else 0


@dataclass
class ApiLast:
    base: str
    key: str
    stroom: Stroom
    clients: int = 4
    answers: list[Antwoord] = field(default_factory=list)
    errors: int = 0
    wrong: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._client, daemon=True, name=f"api-client-{i}") for i in range(self.clients)
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def last_ok(self) -> float:
        with self._lock:
            return max((a.received for a in self.answers), default=0.0)

    def _client(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    value = deelnemers(client, self.base, self.key)
                except (httpx.HTTPError, KeyError, ValueError):
                    with self._lock:
                        self.errors += 1
                    time.sleep(0.05)
                    continue
                upper = self.stroom.sent_inschrijvingen
                with self._lock:
                    self.answers.append(Antwoord(sent, time.monotonic(), value))
                    if value > upper:
                        self.wrong.append(f"{value} deelnemers answered, only {upper} inschrijvingen published")

    def order_violations(self) -> list[str]:
        """Answers lower than one that had already arrived before they were asked for."""
        with self._lock:
            by_received = sorted(self.answers, key=lambda a: a.received)
        out, highest, i = [], 0, 0
        for a in sorted(by_received, key=lambda a: a.sent):
            while i < len(by_received) and by_received[i].received < a.sent:
                highest = max(highest, by_received[i].value)
                i += 1
            if a.value < highest:
                out.append(f"{a.value} deelnemers answered after {highest} had been answered")
        return out
