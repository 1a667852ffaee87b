"""Reading an ingress record before it is judged: the size limit, decoding and re-keying, in a child process.

What ``lees`` does with a record needs nothing of the validator's state: the record's own bytes and the registry
pseudonym key. It was a third of the validator's main thread (decode ~15 µs, re-key ~12 µs an event), so a poll's
records are read by a child process (``Voorleesproces``, registry/infra/hulpproces.py) while the main thread judges
what was read before: the records go over in parts (``EERSTE``, then ``DEEL`` each) and come back read, in order,
with at most ``VOORUIT`` parts on their way (so neither side ever blocks on a full pipe). A poll smaller than
``KLEIN`` is read in place.

The outcome of reading one record (``Gelezen``, a plain tuple so it crosses the pipe cheaply) is one of
``(OK, event_type, re-keyed record, body)``, ``(TE_GROOT, size, None, None)``, ``(ONLEESBAAR, why, None, None)`` or
``(FOUT, event_type, (exception type, where), None)``: the judge (consumers/beoordelaar.py) turns the last three into
dead letters as it did when it read the record itself. ``FOUT`` never carries the exception's message (it may quote
the record). ``body`` (the child's only; None in place or when it does not encode) is the record's canonical bytes
but the registry's last two fields (``codec.encode_romp``), which the judge completes for an event it accepts as
read (``codec.met_staart``).
"""

from __future__ import annotations

import atexit
import pickle
import threading
import traceback
from collections.abc import Iterator, Sequence
from functools import lru_cache
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from registry.domein import events, pseudoniemen
from registry.infra import codec, hulpproces
from registry.infra.codec import DecodeError

OK, TE_GROOT, ONLEESBAAR, FOUT = "ok", "te_groot", "onleesbaar", "fout"
Gelezen = tuple[str, Any, Any, bytes | None]
# records per part sent to the child, and in a poll's first part, which the main thread waits for (~25 x 30 µs);
# 100/25/3 judged ~2% more events a second than 200/50/2 or 400/50/2 (docs/benchmarks.md)
DEEL = 100
EERSTE = 25
# parts on their way to (or being read by) the child at any time: it is never idle while a poll is being judged
VOORUIT = 3
# a poll of fewer records is read in place: a backlog brings polls of max_poll_records (2,000 by default), the live
# path at 1,000 ev/s ~100 a poll, for which waking the child on a busy machine only adds latency
KLEIN = 500
SLUIT_S = 5.0


class Start(NamedTuple):
    """What the child needs (the first message on the pipe): the limit, the key generations, its parent's pid."""

    max_record_bytes: int
    sleutels: tuple[bytes, ...]
    ouder: int


def waar(exc: BaseException) -> str:
    """Where ``exc`` was raised (``file:line in function``), without its message (which may quote a record)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}"


def lees(
    value: bytes | None, key: bytes | None, max_record_bytes: int, sleutels: Sequence[bytes], romp: bool = False
) -> Gelezen:
    """One record's bytes -> its ``Gelezen``; never raises for a record. With ``romp``, a record that reads also
    comes with its canonical bytes but the registry's last two fields (``codec.encode_romp``): what the judge sends
    if it accepts the record as it is."""
    size = len(value or b"") + len(key or b"")
    if size > max_record_bytes:  # only an ingress topic made without the limit lets one through
        return (TE_GROOT, size, None, None)
    try:
        event_type, record = codec.decode(value)  # type: ignore[arg-type]  # None: "no bytes to decode"
    except DecodeError as exc:
        return (ONLEESBAAR, str(exc), None, None)
    except Exception as exc:  # hostile bytes may trip the Avro reader in ways it does not wrap
        return (ONLEESBAAR, f"{type(exc).__name__}: {exc}", None, None)
    try:
        # partner pseudonym -> registry pseudonym, an invalid identifier -> a marker, BEFORE judging, state,
        # parking, rejections or the canonical log see the record
        herschreven = pseudoniemen.herschrijf(record, sleutels)
    except Exception as exc:
        return (FOUT, event_type, (type(exc).__name__, waar(exc.__cause__ or exc)), None)
    nuttig = romp and event_type not in _genummerd() and not herschreven.get("persoonsgegevens")
    return (OK, event_type, herschreven, codec.encode_romp(event_type, herschreven) if nuttig else None)


@lru_cache(maxsize=1)
def _genummerd() -> frozenset[str]:
    """Event types the judge always completes with a registry field besides the last two (``volgnummer``): it
    encodes those whole, so a romp of them would be thrown away. So is one with ``persoonsgegevens``, which the
    judge seals again (consumers/beoordelaar.py ``_herversleuteld``)."""
    cat = codec.catalogue()
    eigen = events.REGISTRY_FIELDS - set(codec.STAART)
    return frozenset(t for t in cat.event_types if eigen & {f["name"] for f in cat.current(t).parsed["fields"]})


class TerPlekke:
    """Reads in the caller's own process (unit tests, and a command without the child)."""

    def __init__(self, max_record_bytes: int, sleutels: Sequence[bytes]) -> None:
        self.max_record_bytes, self.sleutels = max_record_bytes, tuple(sleutels)

    def lees_alles(self, records: Sequence[Any]) -> Iterator[Gelezen]:
        for rec in records:
            yield lees(rec.value, rec.key, self.max_record_bytes, self.sleutels)

    def close(self) -> None:
        pass


class Voorleesproces(TerPlekke):
    """Reads a poll's records in a child process, part by part, while the caller judges the parts already read."""

    def __init__(self, max_record_bytes: int, sleutels: Sequence[bytes], ouder: int) -> None:
        super().__init__(max_record_bytes, sleutels)
        self.proces, self.conn = hulpproces.start("consumers.voorlezer:kind")
        self.lock = threading.Lock()  # ``close`` (atexit) against a last request; the validator reads on one thread
        atexit.register(self.close)
        self.conn.send(Start(max_record_bytes, self.sleutels, ouder))

    def lees_alles(self, records: Sequence[Any]) -> Iterator[Gelezen]:
        if len(records) < KLEIN:
            yield from super().lees_alles(records)
            return
        delen = [records[:EERSTE]] + [records[i : i + DEEL] for i in range(EERSTE, len(records), DEEL)]
        verzonden = ontvangen = 0
        try:
            while ontvangen < len(delen):
                while verzonden < len(delen) and verzonden - ontvangen < VOORUIT:
                    self._stuur([(r.value, r.key) for r in delen[verzonden]])
                    verzonden += 1
                gelezen = self._antwoord()
                ontvangen += 1
                yield from gelezen
        finally:
            while ontvangen < verzonden:  # a caller that stopped early (an exception): the pipe is left in step
                self._antwoord()
                ontvangen += 1

    def _stuur(self, deel: list[tuple[bytes | None, bytes | None]]) -> None:
        try:
            self.conn.send_bytes(pickle.dumps(deel, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            raise self._geeindigd() from exc

    def _antwoord(self) -> list[Gelezen]:
        try:
            gelezen: list[Gelezen] = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            raise self._geeindigd() from exc
        return gelezen

    def _geeindigd(self) -> RuntimeError:
        return RuntimeError(f"the reading process ended (status {self.proces.poll()})")

    def close(self) -> None:
        atexit.unregister(self.close)
        hulpproces.sluit(self.proces, self.conn, self.lock, SLUIT_S)


# ---- the child ------------------------------------------------------------------------------------------------------
def kind(conn: Connection) -> None:
    """The child's loop: read each part it is sent, in order, until ``None`` or the end of the pipe."""
    start: Start = conn.recv()
    hulpproces.als_kind(start.ouder)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            break
        deel = pickle.loads(data)
        if deel is None:
            break
        uit = [lees(v, k, start.max_record_bytes, start.sleutels, romp=True) for v, k in deel]
        conn.send_bytes(pickle.dumps(uit, protocol=pickle.HIGHEST_PROTOCOL))
