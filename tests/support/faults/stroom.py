"""The steady stream: valid events of new deelnemers at a fixed rate, published by ``mbo.albeda`` with the real
Publisher (idempotent, acks=all), and a ``monitor`` telling every few seconds for the reconciler. Every event is
valid, so the validator refuses none: whatever is published must end up in the canonical log exactly once."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from kafka.errors import KafkaError

from producers.publisher import Publisher, PublishError
from registry.demo import bouwer
from tests.support.builders import LB, MBO, T0, ev

log = logging.getLogger("faults.stroom")

Item = tuple[str, dict[str, Any]]
PILOT = "rijnmond"
PEILDATUM = dt.date(2021, 1, 13)
MONITOR = "monitor"
WERKPROCESSEN = ["B1-K1-W1", "B1-K1-W2", "B1-K1-W3"]


def reference() -> list[Item]:
    """Dossier 25250, leerbedrijf LB erkend for it, MBO's erkenning: what the stream's events refer to."""
    return [
        (
            "KwalificatiedossierVastgesteld",
            ev(
                "sbb",
                crebo="25250",
                naam="Assistent bouwen",
                niveau=1,
                domein="Bouw",
                kerntaken=[
                    {
                        "code": "B1-K1",
                        "naam": "k",
                        "werkprocessen": [{"code": f"B1-K1-W{i}", "naam": "w"} for i in range(1, 5)],
                    }
                ],
            ),
        ),
        ("LeerbedrijfErkend", ev("sbb", leerbedrijf_id=LB, naam="Bouw BV", crebos=["25250"])),
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=MBO, crebo="25250", vanaf=dt.date(2019, 1, 1))),
    ]


def deelnemers(seed: int) -> Iterator[Item]:
    """Six valid events per new deelnemer: the instelling's own aanmelding (an inschrijving needs one for its pilot),
    inschrijving, three sign-offs, a verklaring (in publish order)."""
    rnd = random.Random(seed)
    for i in range(10**9):
        p = f"{seed:08x}{i:056x}"
        traject = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        yield ("KandidaatAangemeld", ev(MBO, deelnemer=p, **bouwer.aanmelding(PILOT, "mbo", "a", None, False)))
        yield (
            "DeelnemerIngeschreven",
            ev(
                MBO,
                deelnemer=p,
                traject_id=traject,
                mbo_instelling=MBO,
                crebo="25250",
                leertraject="OVO",
                pilot=PILOT,
                startdatum=T0.date(),
                leerbedrijf_id=LB,
                geslacht="vrouw",
                leeftijd=18 + i % 40,
                gemeente=None,
                persoonsgegevens=None,
                pok_datum=None,
            ),
        )
        for wp in WERKPROCESSEN:
            yield (
                "WerkprocesAfgetekend",
                ev(MBO, deelnemer=p, traject_id=traject, crebo="25250", werkproces=wp, afgetekend_door="po"),
            )
        yield (
            "PraktijkverklaringUitgegeven",
            ev(
                MBO,
                deelnemer=p,
                traject_id=traject,
                verklaring_id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                werkprocessen=[{"crebo": "25250", "werkproces": w} for w in WERKPROCESSEN],
                leerbedrijf_id=LB,
                brancheorganisaties=["NOA"],
                volgnummer=None,
                ondertekend_door="po",
                ondertekend_op=T0.date(),
            ),
        )


def telling(aantal: int) -> Item:
    return ("TellingGemeld", ev(MONITOR, **bouwer.telling("monitor", PILOT, PEILDATUM, aantal)))


class Stroom:
    """Publishes at ``rate`` events/s in a thread until stopped; ``pause``/``resume`` between faults.

    A batch the broker did not acknowledge is sent again as a whole (same event ids): a resent event_id is a no-op
    at the validator, so a retry can never duplicate. ``sent`` counts what was handed to the producer (an upper
    bound of what the registry may show), ``acked`` maps each acknowledged event_id to its phase."""

    TICK = 0.1
    TELLING_EVERY = 2.0

    def __init__(self, bootstrap: str, rate: float, seed: int) -> None:
        self.bootstrap = bootstrap
        self.rate = rate
        self._items = deelnemers(seed)
        self.fase = "opzet"
        self.acked: dict[str, str] = {}
        self.tellingen: list[str] = []
        self.sent_inschrijvingen = 0
        self.errors = 0
        self.error_causes: list[str] = []  # "Type: message" of each failed publish call, for the report
        self.paused_at = 0.0  # time.monotonic() of the last pause: where a phase's stream ended
        self.ack_moments: list[float] = []  # time.monotonic() of every acknowledged publish call
        # given each inschrijving's traject_id and the moment it was handed to the publisher, once acknowledged
        self.sampler: Callable[[str, float], None] | None = None
        self._publishers: dict[str, Publisher] = {}
        self._running = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stroom", daemon=True)

    # ---- control --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def resume(self, fase: str) -> None:
        self.fase = fase
        self._idle.clear()
        self._running.set()

    def pause(self) -> None:
        """Stop publishing and wait until the batch in flight is acknowledged."""
        self._running.clear()
        self._idle.wait()
        self.paused_at = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        if self._thread.is_alive():
            self._thread.join(timeout=180)
        for pub in self._publishers.values():
            pub.close()

    def publish_now(self, items: list[Item]) -> None:
        """Publish outside the steady flow (reference data, a first telling); retried until acknowledged."""
        self._send(items)

    def of_fase(self, fase: str) -> list[str]:
        return [i for i, f in self.acked.items() if f == fase]

    # ---- the loop -------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        due, last_telling = 0.0, time.monotonic()
        while not self._stop.is_set():
            if not self._running.is_set():
                self._idle.set()
                self._running.wait()
                due, last_telling = 0.0, time.monotonic()
                continue
            started = time.monotonic()
            due = min(due + self.rate * self.TICK, self.rate)  # after an outage: the same rate, no burst
            batch = [next(self._items) for _ in range(int(due))]
            due -= len(batch)
            if started - last_telling >= self.TELLING_EVERY:
                batch.append(telling(self.sent_inschrijvingen))
                last_telling = started
            self._send(batch)
            time.sleep(max(0.0, self.TICK - (time.monotonic() - started)))

    def _send(self, batch: list[Item]) -> None:
        handed_over = time.monotonic()
        self.sent_inschrijvingen += sum(1 for t, _ in batch if t == "DeelnemerIngeschreven")
        by_partner: dict[str, list[Item]] = {}
        for item in batch:
            by_partner.setdefault(item[1]["partner"], []).append(item)
        for partner, items in by_partner.items():
            while True:
                try:
                    self._publisher(partner).publish_batch(items)
                    self.ack_moments.append(time.monotonic())
                    break
                except (PublishError, KafkaError) as exc:  # broker down or restarting: the same batch again
                    self.errors += 1
                    self.error_causes.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    log.info("publish failed (%s); retrying %d event(s)", type(exc).__name__, len(items))
                    self._drop_publisher(partner)
                    time.sleep(1.0)
        for event_type, record in batch:
            self.acked[record["event_id"]] = self.fase
            if event_type == "TellingGemeld":
                self.tellingen.append(record["event_id"])
            elif event_type == "DeelnemerIngeschreven" and self.sampler is not None:
                self.sampler(str(record["traject_id"]), handed_over)

    def _publisher(self, partner: str) -> Publisher:
        if partner not in self._publishers:
            self._publishers[partner] = Publisher(
                [self.bootstrap],
                partner,
                ensure_topic=False,
                producer_config={"request_timeout_ms": 10000, "max_block_ms": 10000},
            )
        return self._publishers[partner]

    def _drop_publisher(self, partner: str) -> None:
        pub = self._publishers.pop(partner, None)
        if pub is not None:
            try:
                pub.close()
            except Exception:  # noqa: BLE001 - a producer of a dead broker may fail to close; it is dropped anyway
                log.info("publisher of %s did not close cleanly", partner)
