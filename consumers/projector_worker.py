"""One runner of the projector: one consumer for a set of projections and one PostgreSQL transaction per poll
(the steps are in the docstring of consumers/projector.py, which runs the workers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from sqlalchemy import Connection, Engine, text

from consumers import groep
from consumers.bundel import WACHT_S, verder_bundelen
from consumers.projector_config import RunnerConfig, Stats, Track, group_id
from consumers.records import (
    BulkShare,
    Decoded,
    Poll,
    Positions,
    bulk_share,
    changes_for,
    decode,
    lean_types,
    oldest_recorded,
    rewrite,
    share,
    staged_events,
)
from projections import store
from projections.model import Change, Message, Projection, TopicKind
from registry.domein import rotatie
from registry.infra import heap, metrics, pseudoniem_rotatie, topics
from registry.infra.kafka import client_config, posities

log = logging.getLogger("praktijkregister.projector")


class _Moved(Exception):
    """The stored offsets differ from what this runner last wrote."""


# what the writer thread writes for one projection: its row changes (the live path), or its part of a bulk batch
Werk = list[Change] | BulkShare


class Gestaagd(NamedTuple):
    """A bulk batch's staging rows: their ``COPY`` stream (``store.copy_data``) and the first offset per partition."""

    data: bytes
    eerste: dict[int, int]


class Worker:
    """One consumer for a set of projections, their stored offsets as this process last wrote them, and the batches.

    ``schemas`` (replay): a schema per projection name; otherwise all write ``schema``."""

    def __init__(
        self,
        projections: Sequence[Projection],
        engine: Engine,
        schema: str,
        config: RunnerConfig,
        group_suffix: str = "",
        schemas: dict[str, str] | None = None,
    ) -> None:
        if not projections:
            raise ValueError("a runner needs at least one projection")
        self.engine = engine
        self.config = config
        self.group = group_id(projections) + group_suffix
        self.tracks = [
            Track(p, (schemas or {}).get(p.name, schema), frozenset(config.topic_of(k) for k in p.kinds))
            for p in projections
        ]
        self.kinds: dict[str, TopicKind] = {config.topic_of(k): k for p in projections for k in p.kinds}
        self.consumer: KafkaConsumer | None = None
        self.assigned: list[TopicPartition] = []
        self.nieuw: set[TopicPartition] = set()  # group mode: assigned, paused until sought to the stored offsets
        self.toewijzing_sinds = time.monotonic()  # group mode: when the group last gave or took partitions
        self.rotatie: dict[str, str] = {}  # old registry pseudonym -> newest (applied key rotations)
        # the writer thread and the batch it is writing: (its future, the shares it writes, when it was polled)
        self._schrijver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projector-schrijver")
        self._lopend: tuple[Future[dict[str, int]], dict[str, Poll], float, bool] | None = None
        self.bulk = config.bulk_lag == 0  # the bulk path (a replay: always; see ``_kies_pad``)
        self.einden: dict[TopicPartition, int] = {}  # end offsets of partitions not fetched yet (see ``_einden``)
        self.ruim = False  # the collector set for the bulk path (registry/infra/heap.py ``BulkHeap``)
        self.lean = lean_types(projections)  # what the bulk path decodes lean (consumers/records.py)

    # -- one projection's view (tests and callers of a single-projection runner) ----------------------------------
    @property
    def projection(self) -> Projection:
        return self._only().projection

    @property
    def stats(self) -> Stats:
        return self._only().stats

    @property
    def all_stats(self) -> list[Stats]:
        return [t.stats for t in self.tracks]

    def _only(self) -> Track:
        if len(self.tracks) != 1:
            raise AttributeError("this runner feeds several projections: use all_stats / tracks")
        return self.tracks[0]

    # -- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        with self.engine.begin() as conn:
            for t in self.tracks:
                store.ensure(conn, t.schema, [t.projection], rebuild=self.config.rebuild)
            self.rotatie = pseudoniem_rotatie.lees(conn, self.config.schema)  # the live schema's, also in a replay
        self.consumer = KafkaConsumer(
            **client_config(self.config.bootstrap),
            group_id=self.group,
            client_id=self.group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_poll_records=self.config.batch_size,
            session_timeout_ms=groep.SESSIE_TIMEOUT_MS,  # group mode: a killed runner's partitions move within ~10 s
            # the bulk path's batches are large: fetch more of a partition per round trip
            **({"max_partition_fetch_bytes": 4 * 1024 * 1024} if self.config.bulk_lag is not None else {}),
        )
        self.assigned = []
        if self.config.groep:
            for topic in self.kinds:
                self._partitions(topic)  # wait for the topics, as below
            self.consumer.subscribe(topics=sorted(self.kinds), listener=groep.Toewijzing(self))
            return
        for topic in self.kinds:
            parts = self._partitions(topic)
            if self.config.partitions is not None:
                parts &= set(self.config.partitions)
            self.assigned += [TopicPartition(topic, p) for p in sorted(parts)]
        self.consumer.assign(self.assigned)
        self._seek_to_stored()

    def _partitions(self, topic: str) -> set[int]:
        """The topic's partitions, waiting up to ``topic_wait_s`` for it to be created."""
        assert self.consumer is not None
        parts = topics.partitions_of(self.consumer, topic, self.config.topic_wait_s)
        if not parts:
            log.warning("%s: topic %s does not exist; not consuming it", self.group, topic)
        return parts

    def reseek(self) -> None:
        """Forget the in-memory positions: seek to the offsets stored in the database (after the write in flight,
        whose failure, if any, is why we are here)."""
        self._laat_los()
        self._seek_to_stored()

    def _laat_los(self) -> None:
        """Finish the write in flight; a failure only means its batch is projected again from the stored offsets."""
        try:
            self._klaar()
        except Exception as exc:  # noqa: BLE001 - rows and offsets rolled back together: nothing is lost
            log.warning(
                "%s: the last batch was not written (%s); it is projected again", self.group, type(exc).__name__
            )

    def _seek_to_stored(self) -> None:
        """Load every projection's stored offsets; seek each partition to the smallest of those that read it (a
        projection without a stored offset there: to the beginning). The others skip what they already have."""
        assert self.consumer is not None
        self.einden = {}
        with self.engine.connect() as conn:
            for t in self.tracks:
                stored = store.load_offsets(conn, t.schema, t.projection.name)
                mine = t.mine(self.assigned)
                t.committed = {k: v for k, v in stored.items() if k in mine}
        fresh = []
        for tp in self.assigned:
            key = (tp.topic, tp.partition)
            readers = [t for t in self.tracks if tp.topic in t.topics]
            if any(key not in t.committed for t in readers):
                fresh.append(tp)
            else:
                self.consumer.seek(tp, min(t.committed[key] for t in readers))
        if fresh:
            self.consumer.seek_to_beginning(*fresh)

    # -- progress -----------------------------------------------------------------------
    def _remaining(self) -> list[int]:
        """Per assigned partition: records between the current position and the end."""
        assert self.consumer is not None
        return list(topics.remaining(self.consumer, self.assigned).values())

    def backlog(self) -> int:
        """Records between the current positions and the end of the assigned partitions."""
        return sum(self._remaining())

    def caught_up(self) -> bool:
        if self._lopend is not None:
            return False  # the last batch is not committed yet: its rows are not visible
        if self.config.groep and (
            not self.assigned or self.nieuw or not groep.definitief(self.consumer, self.toewijzing_sinds)
        ):
            return False  # not (yet) given partitions by the group, not sought to them yet, or maybe not all of them
        return not any(self._remaining())

    # -- group mode: partitions come and go on rebalance --------------------------------------
    def ingetrokken(self, tps: set[TopicPartition]) -> None:
        """Partitions taken away (no database transaction is open during a poll): stop projecting them."""
        self.nieuw -= tps
        self.toewijzing_sinds = time.monotonic()
        self.assigned = [tp for tp in self.assigned if tp not in tps]
        for t in self.tracks:
            for tp in tps:
                t.committed.pop((tp.topic, tp.partition), None)

    def toegewezen(self, tps: set[TopicPartition]) -> None:
        """Partitions given: paused until ``_neem_over`` has sought them to the offsets stored with the rows."""
        assert self.consumer is not None
        nieuw = tps - set(self.assigned)
        self.consumer.pause(*nieuw)
        self.nieuw |= nieuw
        self.toewijzing_sinds = time.monotonic()

    def _neem_over(self) -> None:
        assert self.consumer is not None
        nieuw = self.nieuw & self.consumer.assignment()
        self.nieuw.clear()
        self.assigned = sorted(set(self.assigned) | nieuw)
        self._seek_to_stored()
        self.consumer.resume(*nieuw)
        log.info(
            "%s: projecting partition(s) %s", self.group, sorted(f"{tp.topic}:{tp.partition}" for tp in self.assigned)
        )

    # -- one batch ------------------------------------------------------------------------
    def step(self, timeout_ms: int) -> int:
        """Poll once, decode once, compute every projection's rows, and hand them to the writer: ONE transaction
        per poll. Returns records polled.

        Pipelined: while the writer thread writes batch N to PostgreSQL (the database's time and the
        round trips), this thread polls, decodes and projects batch N+1; N+1 goes to the writer only after N has
        committed (``_klaar``), so batches still commit in log order, one at a time, each with its offsets. A
        failed write (another runner moved the offsets, a database error) drops N+1 and seeks back to the stored
        offsets. In group mode the write finishes before the next poll, because a rebalance inside that poll
        changes the partitions the write checks."""
        assert self.consumer is not None
        if not self.assigned and not self.config.groep:
            time.sleep(timeout_ms / 1000)
            return 0
        started = time.perf_counter()
        if self.config.groep:
            self._klaar()
        bulk = self._kies_pad()
        self._heap(bulk)
        polled = self._poll(timeout_ms, bulk)
        if self.config.groep:  # revoked and never assigned again (consumers/groep.verweesd)
            self.nieuw |= groep.verweesd(self.consumer, self.nieuw)
        if self.nieuw:
            self._neem_over()
        decoded = self._nieuwste_pseudoniemen(decode(polled, self.kinds, self.lean if bulk else ()))
        n = sum(len(v) for v in decoded.values())
        shares = {t.projection.name: self._share(t, decoded) for t in self.tracks}
        staged: Gestaagd | None = None
        werk: dict[str, Werk]
        if bulk:
            werk, staged = self._bulk(shares)
        else:
            werk = {
                t.projection.name: changes_for(t.projection, shares[t.projection.name].messages) for t in self.tracks
            }
        try:
            self._klaar()  # batch N committed (or raises): only now may N+1 be checked against the stored offsets
        except _Moved:
            log.warning("%s: stored offsets moved (replay or another runner); seeking to them", self.group)
            self._seek_to_stored()
            return 0
        nu = posities(self.consumer, self.assigned)
        for t in self.tracks:  # where the poll moved past transaction markers only, now that N is in
            shares[t.projection.name].positions.update(
                self._moved_past_markers(t, skip=shares[t.projection.name].positions, nu=nu)
            )
        if not any(s.positions for s in shares.values()):
            return n
        verwacht = {t.projection.name: dict(t.committed) for t in self.tracks}
        self._lopend = (self._schrijver.submit(self._schrijf, shares, werk, staged, verwacht), shares, started, bulk)
        return n

    # -- the bulk path --------------------------------------------------------------------------------------
    def _kies_pad(self) -> bool:
        """Per-event ``apply`` (the live path) or the bulk path: set-based statements over a staging table, for a
        runner far behind. Bulk from ``bulk_lag`` records behind on, back to the live path once within one live
        batch of the end (0: always bulk, as a replay; None: never)."""
        lag = self.config.bulk_lag
        if lag is None or lag == 0:
            return lag == 0
        achter = self._lag()
        was = self.bulk
        self.bulk = achter > self.config.batch_size if was else achter >= lag
        if self.bulk != was:
            log.info("%s: %s (%d records behind)", self.group, "bulk path" if self.bulk else "live path", achter)
        return self.bulk

    def _heap(self, bulk: bool) -> None:
        """The collector's thresholds for the bulk path while this runner is on it (``heap.BULK``)."""
        if bulk != self.ruim:
            (heap.BULK.begin if bulk else heap.BULK.end)()
            self.ruim = bulk

    def _lag(self) -> int:
        """Records behind the ends of the assigned partitions: the high watermark the last fetch saw (no broker
        round trip), or, for a partition whose fetched records no poll has handed out yet, its end offset. A poll
        hands out one partition's records at a time and only then learns its high watermark, so counting the
        unknown ones 0 sent a runner far behind down the live path at the start and back to it between partitions
        (batches of ``batch_size`` through ``apply``, several times slower)."""
        assert self.consumer is not None
        behind = 0
        unknown: list[TopicPartition] = []
        positions = posities(self.consumer, self.assigned)
        for tp in self.assigned:
            end = self.consumer.highwater(tp)
            if end is None:
                unknown.append(tp)
            else:
                behind += max(0, end - (positions[tp] or 0))
        if unknown:  # only until each has been fetched once: an empty fetch brings the high watermark too
            ends = self._einden(unknown)
            behind += sum(max(0, ends[tp] - (positions[tp] or 0)) for tp in unknown if tp in ends)
        return behind

    def _einden(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The end offsets of partitions not fetched yet: asked of the broker ONCE per partition after each seek
        to the stored offsets (a stale end only undercounts). A broker that does not answer leaves them out
        (counted 0, the live path) until the next seek, so a leader that is away costs one wait, not one a step."""
        assert self.consumer is not None
        vragen = [tp for tp in tps if tp not in self.einden]
        if vragen:
            try:
                self.einden.update(self.consumer.end_offsets(vragen))
            except KafkaError as exc:
                log.debug("%s: end offsets unknown (%s)", self.group, type(exc).__name__)
                self.einden.update(dict.fromkeys(vragen, -1))
        return {tp: self.einden[tp] for tp in tps if self.einden.get(tp, -1) >= 0}

    def _poll(self, timeout_ms: int, bulk: bool) -> dict[TopicPartition, list[Any]]:
        """One poll, then more: on the bulk path (outside group mode) while they bring records, up to
        ``bulk_batch_size`` (one fetch round holds far fewer records than a bulk batch should); on the live path
        while the previous batch is being written, up to ``batch_size`` (consumers/bundel.py: the batch is what
        arrived while the previous one was written, not what had arrived when its write began)."""
        assert self.consumer is not None
        size = self.config.bulk_batch_size if bulk else self.config.batch_size
        if self.config.groep:
            return dict(groep.poll(self.consumer, timeout_ms, max_records=size))
        polled: dict[TopicPartition, list[Any]] = {}
        n, wacht = 0, timeout_ms
        while True:
            more = self.consumer.poll(timeout_ms=wacht, max_records=size - n)
            for tp, records in more.items():
                polled.setdefault(tp, []).extend(records)
                n += len(records)
            if bulk:
                if not more or n >= size:
                    return polled
                wacht = 0
            elif self._lopend is not None and verder_bundelen(n, size, self._lopend[0].done()):
                # the write's end (at once when it ends): one more poll takes what came meanwhile
                wait([self._lopend[0]], timeout=WACHT_S)
                wacht = 0
            else:
                return polled

    def _bulk(self, shares: dict[str, Poll]) -> tuple[dict[str, Werk], Gestaagd | None]:
        """Every projection's part of a bulk batch, and the staging rows (each event once, for all of them) as
        the ``COPY`` stream the writer thread sends as it is."""
        werk: dict[str, Werk] = {}
        staged: list[Message] = []
        for t in self.tracks:
            part, mine = bulk_share(t.projection, shares[t.projection.name].messages)
            werk[t.projection.name] = part
            staged += mine
        rows = staged_events(staged)
        if not rows:
            return werk, None
        eerste: dict[int, int] = {}
        for row in rows:
            eerste.setdefault(row[0], row[1])
        return werk, Gestaagd(store.copy_data(rows), eerste)

    def _schrijf(
        self,
        shares: dict[str, Poll],
        werk: dict[str, Werk],
        staged: Gestaagd | None,
        verwacht: dict[str, dict[tuple[str, int], int]],
    ) -> dict[str, int]:
        """The writer thread: check the offsets, write every projection's rows and offsets, in ONE transaction."""
        with self.engine.begin() as conn:
            self._check(conn, shares, verwacht)
            eerste: dict[int, int] = {}
            if staged is not None:
                store.stage_data(conn, staged.data)
                eerste = staged.eerste
            return {
                t.projection.name: self._write(conn, t, shares[t.projection.name], werk[t.projection.name], eerste)
                for t in self.tracks
            }

    def _klaar(self) -> None:
        """Wait for the batch being written; once committed, move the projections' offsets and stats past it.
        Re-raises its failure (``_Moved``, a database error) after which nothing is in flight."""
        if self._lopend is None:
            return
        future, shares, started, bulk = self._lopend
        self._lopend = None
        applied = future.result()
        for t in self.tracks:
            self._committed(t, shares[t.projection.name], applied[t.projection.name], bulk)
        metrics.BATCH_SECONDS.labels("projector").observe(time.perf_counter() - started)
        assert self.consumer is not None
        metrics.record_lag(self.group, self.consumer, self.assigned)

    def _share(self, t: Track, decoded: Decoded) -> Poll:
        """A projection's part of the poll; an empty part may still move it past transaction markers."""
        part = share(decoded, t.topics, t.committed)
        t.versheid.polled(oldest_recorded(part.messages) if part.count else None)
        return part

    def _check(
        self, conn: Connection, shares: dict[str, Poll], verwacht: dict[str, dict[tuple[str, int], int]]
    ) -> None:
        """Step 1: lock the offsets rows of every projection about to write; raise _Moved if any moved from what
        this process last wrote (``verwacht``: taken when the batch was handed to the writer)."""
        # no wait for the WAL flush at commit: a PostgreSQL crash may lose the newest batches, but rows and offsets
        # together (the transaction stays atomic), and they are projected again from the offsets that remain
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        moved = False
        for t in self.tracks:
            if shares[t.projection.name].positions:
                stored = store.load_offsets(conn, t.schema, t.projection.name, lock=True, only=t.mine(self.assigned))
                if stored != verwacht[t.projection.name]:
                    t.stats.reseeks += 1
                    moved = True
        if moved:
            raise _Moved()

    def _write(self, conn: Connection, t: Track, part: Poll, werk: Werk, eerste: dict[int, int]) -> int:
        """Steps 2 and 3 for one projection. On the bulk path its set-based statements first, over the staged events
        it has not got yet (``eerste``: the first staged offset per partition), then the rest's changes."""
        if not part.positions:
            return 0
        applied = 0
        if isinstance(werk, BulkShare):
            if werk.staged and t.projection.bulk is not None:
                source = store.bulk_source(None if werk.starts == eerste else werk.starts)
                applied += store.execute_bulk(conn, t.schema, t.projection.bulk, source)
            werk = werk.changes
        applied += store.execute(conn, t.schema, werk)
        store.save_offsets(conn, t.schema, t.projection.name, part.positions)
        return applied

    def _committed(self, t: Track, part: Poll, applied: int, bulk: bool) -> None:
        if not part.positions:
            return
        t.stats.bulk_batches += bulk
        for key, (nxt, _) in part.positions.items():
            t.committed[key] = nxt
        t.stats.consumed += part.count
        t.stats.undecodable += part.undecodable
        t.stats.applied += applied
        t.stats.batches += 1
        t.versheid.applied(max(filter(None, (at for _, at in part.positions.values())), default=None))

    def _nieuwste_pseudoniemen(self, decoded: Decoded) -> Decoded:
        """The canonical log is immutable: events from before a pseudonym key rotation keep the old form, which the
        read models must not (registry/domein/rotatie.py). Done once per poll, for every projection."""
        if not self.rotatie:
            return decoded
        return rewrite(decoded, lambda m: m._replace(record=rotatie.pas_toe(m.record, self.rotatie)))

    def _moved_past_markers(self, t: Track, skip: Positions, nu: dict[TopicPartition, int | None]) -> Positions:
        """A poll may have moved a position past transaction markers without a record for ``t``: store that too
        (``nu``: the consumer's positions, ``posities``)."""
        positions: Positions = {}
        for tp in self.assigned:
            key = (tp.topic, tp.partition)
            if key in t.committed and key not in skip and tp.topic in t.topics:
                pos = nu.get(tp)
                if pos is not None and pos > t.committed[key]:
                    positions[key] = (pos, None)
        return positions

    def close(self) -> None:
        self._heap(False)
        self._laat_los()
        self._schrijver.shutdown(wait=True)
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None
