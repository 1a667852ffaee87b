"""The bulk path without a database: which messages go set-based, what a staging row holds, and when a runner
switches between the live path and the bulk path (consumers/records.py, consumers/projector_worker.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError
from sqlalchemy import Engine

from consumers.projector_config import RunnerConfig
from consumers.projector_worker import Worker
from consumers.records import bulk_share, lean_types, oldest_recorded, recorded_at, staged_events
from projections import feiten, referentie, tijdlijn
from projections.model import ENVELOP, Message, _dumps, json_value, pg_tijd
from registry.infra import codec
from tests.support.builders import Bouwer

B = Bouwer("bulk-unit")
D = "d" * 64
AT = dt.date(2020, 3, 1)


def _msg(event: tuple[str, dict[str, Any]], offset: int, partition: int = 0) -> Message:
    event_type, record = codec.decode(codec.encode(*event))
    return Message("events", partition, offset, event_type, record)


def test_frequent_facts_go_set_based_and_the_rare_ones_through_apply() -> None:
    aftekening = _msg(B.aftekening(D, "t1", "25250", "B1-K1-W1", AT), 5)
    intrekking = _msg(B.verklaring_ingetrokken(D, "v1", AT), 6)
    telling = _msg(B.telling("rijnmond", AT, 1, [D]), 7)
    verwijdering = _msg(B.verwijderd(D, AT), 8, partition=1)
    part, mine = bulk_share(feiten.PROJECTION, [aftekening, intrekking, telling, verwijdering])
    assert mine == [aftekening, intrekking] and part.staged == 2
    assert part.starts == {0: 5, 1: 8}  # the first event it takes per partition, staged or not
    # the telling's and the erasure's own changes, as apply makes them
    assert sorted(part.changes, key=repr) == sorted(feiten.apply(telling) + feiten.apply(verwijdering), key=repr)
    _, tijdlijn_mine = bulk_share(tijdlijn.PROJECTION, [aftekening, intrekking, telling, verwijdering])
    assert tijdlijn_mine == [aftekening, intrekking, telling]  # every event but the erasure
    ref, ref_mine = bulk_share(referentie.PROJECTION, [aftekening])
    assert ref_mine == [] and ref.changes == []  # no set-based path: apply, which ignores it


def test_a_staging_row_holds_the_envelope_as_columns_and_the_rest_as_gegevens() -> None:
    m = _msg(B.inschrijving(D, "t1", "rijnmond", "mbo.albeda", "25250", AT, gemeente="GM0599"), 3, partition=2)
    rows = staged_events([m, m])  # the same event of two projections: one row
    assert len(rows) == 1
    part, off, event_type, event_id, deelnemer, traject, verklaring, partner, at, rec_at, warnings, rec = rows[0]
    assert (part, off, event_type, deelnemer, traject, verklaring) == (2, 3, "DeelnemerIngeschreven", D, "t1", None)
    assert event_id == m.record["event_id"] and partner == "mbo.albeda" and warnings is None
    # the timestamps in the binary form of a timestamptz: microseconds since 2000-01-01 UTC
    assert at == (m.record["occurred_at"] - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    assert rec_at == pg_tijd(m.record["recorded_at"]) and at == pg_tijd(m.record["occurred_at"].replace(tzinfo=None))
    gegevens = json.loads(rec)
    assert not ENVELOP & set(gegevens)  # no persoonsgegevens, no envelope: what tijdlijn keeps as gegevens
    assert gegevens["startdatum"] == "2020-03-01" and gegevens["gemeente"] == "GM0599"
    live = tijdlijn.apply(m)[0].params["gegevens"]
    assert json.loads(str(live)) == gegevens


def test_a_lean_decode_stages_the_same_row_as_a_full_decode() -> None:
    """The bulk path decodes the frequent events lean (timestamps as epoch milliseconds): the same staging row."""
    for event in (
        B.inschrijving(D, "t1", "rijnmond", "mbo.albeda", "25250", AT),
        B.aftekening(D, "t1", "25250", "B1-K1-W1", AT),
    ):
        data = codec.encode(*event)
        full = Message("events", 0, 1, *codec.decode(data))
        lean = Message("events", 0, 1, *codec.decode(data, lean={event[0]}))
        assert type(lean.record["occurred_at"]) is int
        assert staged_events([lean]) == staged_events([full])
        assert recorded_at(lean.record["recorded_at"]) == full.record["recorded_at"]
        assert oldest_recorded([lean, full]) == full.record["recorded_at"]


def test_the_copy_stream_is_binary_copy_and_reads_back_as_the_staging_rows() -> None:
    """``store.copy_data`` formats the staging rows away from any connection (in the runner's main thread): a whole
    binary COPY stream that psycopg's own parser reads back as the same rows."""
    import psycopg
    from psycopg import adapt
    from psycopg._copy_base import parse_row_binary
    from psycopg.pq import Format

    from projections import store
    from projections.model import STAGING_WIRE

    events = [
        B.inschrijving(D, "t1", "rijnmond", "mbo.albeda", "25250", AT, gemeente="GM0599"),
        B.aftekening(D, "t1", "25250", "B1-K1-W1", AT),
        B.verklaring_ingetrokken(D, "v1", AT),
    ]
    rows = staged_events([_msg(e, i, partition=i % 2) for i, e in enumerate(events)])
    data = store.copy_data(rows)
    signature, trailer = b"PGCOPY\n\xff\r\n\x00" + bytes(8), b"\xff\xff"
    assert data.startswith(signature) and data.endswith(trailer)
    tx = adapt.Transformer()
    tx.set_loader_types([psycopg.adapters.types.get_oid(t) for t in STAGING_WIRE], Format.BINARY)
    body, back = memoryview(data)[len(signature) : -len(trailer)], []
    while body:  # each row: its field count, then per field its length and bytes
        n = int.from_bytes(body[:2], "big")
        pos = 2
        for _ in range(n):
            size = int.from_bytes(body[pos : pos + 4], "big", signed=True)
            pos += 4 + max(size, 0)
        back.append(parse_row_binary(body[:pos], tx))
        body = body[pos:]
    assert [(*row[:-1], row[-1]) for row in back] == [(*row[:-1], json.loads(row[-1])) for row in rows]
    assert store.copy_data([]) == signature + trailer  # an empty batch: still a whole (empty) stream


def test_oldest_recorded_compares_lean_and_full_records_and_rejections() -> None:
    early = dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC)
    msgs = [
        Message("events", 0, 0, "X", {"recorded_at": _ms(early + dt.timedelta(hours=1))}),
        Message("events", 0, 1, "X", {"recorded_at": early + dt.timedelta(hours=2)}),
        Message("rejections", 0, 0, "Afwijzing", {"recorded_at": "2020-01-01T10:00:00Z"}),
        Message("events", 0, 2, "X", {"recorded_at": None}),
    ]
    assert oldest_recorded(msgs) == early
    assert oldest_recorded(msgs[:2]) == early + dt.timedelta(hours=1)
    assert oldest_recorded(msgs[1:2]) == early + dt.timedelta(hours=2)
    assert oldest_recorded(msgs[3:]) is None


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def test_lean_types_are_those_no_apply_sees_and_bulk_share_skips_what_apply_ignores() -> None:
    """Only the events every projection makes set-based or ignores are decoded lean: the erasure, tellingen and the
    reference data still reach an ``apply`` with their datetimes."""
    alle = [referentie.PROJECTION, feiten.PROJECTION, tijdlijn.PROJECTION]
    lean = lean_types(alle)
    assert "WerkprocesAfgetekend" in lean and "DeelnemerIngeschreven" in lean
    assert not {"DeelnemerGegevensVerwijderd", "TellingGemeld", "KwalificatiedossierVastgesteld"} & lean
    assert lean_types([tijdlijn.PROJECTION]) == tijdlijn.PROJECTION.bulk.types  # type: ignore[union-attr]
    dossier = _msg(B.dossier("25250", "Kok", 2, "Horeca", [("B1-K1-W1", "Koken")]), 4)
    part, mine = bulk_share(feiten.PROJECTION, [dossier])  # reference data: feiten ignores it
    assert mine == [] and part.changes == [] and part.starts == {0: 4}
    ref, _ = bulk_share(referentie.PROJECTION, [dossier])
    assert ref.changes == referentie.apply(dossier) != []


@pytest.mark.parametrize(
    "rest",
    [
        {},
        {"startdatum": AT, "naam": 'Zoë ‘t Hart\n"x"', "n": 3, "f": 1.5, "ok": True, "leeg": None},
        {"werkprocessen": [{"crebo": "25250", "werkproces": "B1-K1-W1"}], "b": b"geheim", "d": [AT, None]},
        {"at": dt.datetime(2020, 3, 1, 9, 30, tzinfo=dt.UTC), "lijst": [], "nest": {"x": {"y": [1, "é"]}}},
    ],
)
def test_the_staging_json_is_what_json_dumps_writes(rest: dict[str, Any]) -> None:
    """The encoder made once writes each record's rest as ``json.dumps`` with ``json_value`` did per row."""
    assert _dumps(rest) == json.dumps(rest, default=json_value, ensure_ascii=False)


class _Consumer:
    def __init__(self, end: int, position: int) -> None:
        self.end, self.pos = end, position

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.end

    def position(self, tp: TopicPartition) -> int:
        return self.pos


@pytest.mark.parametrize(
    ("bulk_lag", "behind", "expected"),
    [
        (None, [10**6], [False]),  # never
        (0, [0], [True]),  # a replay: always
        # from bulk_lag behind on; back to the live path within one live batch (10) of the end
        (100, [50, 100, 60, 11, 10, 99, 100], [False, True, True, True, False, False, True]),
    ],
)
def test_a_runner_takes_the_bulk_path_when_far_behind_and_leaves_it_when_caught_up(
    bulk_lag: int | None, behind: list[int], expected: list[bool]
) -> None:
    config = RunnerConfig("kafka:9092", "postgresql://x", batch_size=10, bulk_lag=bulk_lag)
    worker = Worker([feiten.PROJECTION], cast(Engine, None), "s", config)
    worker.assigned = [TopicPartition(config.events_topic, 0)]
    paths = []
    for n in behind:
        worker.consumer = cast(Any, _Consumer(1000, 1000 - n))
        paths.append(worker._kies_pad())
    worker.consumer = None
    worker.close()
    assert paths == expected


class _Unfetched:
    """A consumer that has handed out only some partitions' records: the others' high watermarks are not known."""

    def __init__(self, ends: dict[int, int], fetched: set[int]) -> None:
        self.ends, self.fetched = ends, fetched
        self.asked: list[list[int]] = []

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends[tp.partition] if tp.partition in self.fetched else None

    def position(self, tp: TopicPartition) -> int:
        return 0

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.asked.append(sorted(tp.partition for tp in tps))
        return {tp: self.ends[tp.partition] for tp in tps}


def _worker(consumer: _Unfetched) -> Worker:
    config = RunnerConfig("kafka:9092", "postgresql://x", batch_size=10, bulk_lag=100)
    worker = Worker([feiten.PROJECTION], cast(Engine, None), "s", config)
    worker.assigned = [TopicPartition(config.events_topic, p) for p in range(3)]
    worker.consumer = cast(Any, consumer)
    return worker


def test_partitions_not_fetched_yet_count_with_their_end_offsets() -> None:
    """A runner far behind on every partition takes the bulk path from its first poll on, not only once a poll has
    handed out records of enough partitions to learn their high watermarks."""
    consumer = _Unfetched({0: 40, 1: 40, 2: 40}, fetched={0})
    worker = _worker(consumer)
    assert worker._lag() == 120 and worker._kies_pad()
    assert consumer.asked == [[1, 2]]  # the broker asked once, for the unknown ones only
    consumer.fetched = {0, 1}
    assert worker._lag() == 120 and consumer.asked == [[1, 2]]
    worker.einden = {}  # as a seek to the stored offsets leaves it
    assert worker._lag() == 120 and consumer.asked == [[1, 2], [2]]
    worker.consumer = None
    worker.close()


class _Unanswered(_Unfetched):
    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.asked.append(sorted(tp.partition for tp in tps))
        raise KafkaTimeoutError("no answer")


def test_a_broker_that_does_not_give_the_end_offsets_leaves_the_unknown_partitions_out() -> None:
    """Counted 0 (the live path), and not asked again every step: a leader that is away costs one wait."""
    consumer = _Unanswered({0: 40, 1: 40, 2: 40}, fetched={0})
    worker = _worker(consumer)
    assert worker._lag() == 40 and not worker._kies_pad()
    assert consumer.asked == [[1, 2]]
    worker.consumer = None
    worker.close()


class _Polls:
    """Hands out one record per poll for ``records`` polls; ``na`` runs after the ``bij``-th poll."""

    def __init__(self, records: int, bij: int = 0, na: Any = None) -> None:
        self.left, self.polls, self.bij, self.na = records, 0, bij, na

    def poll(self, timeout_ms: int = 0, max_records: int = 0) -> dict[TopicPartition, list[int]]:
        self.polls += 1
        if self.polls == self.bij:
            self.na()
        if not self.left:
            return {}
        self.left -= 1
        return {TopicPartition("t", 0): [self.polls]}


def _live_worker(batch_size: int) -> Worker:
    config = RunnerConfig("kafka:9092", "postgresql://x", batch_size=batch_size)
    return Worker([feiten.PROJECTION], cast(Engine, None), "s", config)


def test_a_live_batch_collects_what_arrives_while_the_previous_batch_is_written() -> None:
    from concurrent.futures import Future

    worker = _live_worker(batch_size=100)
    schrijven: Future[dict[str, int]] = Future()
    worker._lopend = (schrijven, {}, 0.0, False)
    consumer = _Polls(records=3, bij=5, na=lambda: schrijven.set_result({}))
    worker.consumer = cast(Any, consumer)
    polled = worker._poll(50, bulk=False)
    # three records in three polls, two empty polls, then the write was done: one batch of what came meanwhile
    assert polled == {TopicPartition("t", 0): [1, 2, 3]} and consumer.polls == 5
    worker._lopend = worker.consumer = None
    worker.close()


def test_a_live_batch_is_one_poll_when_nothing_is_being_written_or_the_poll_is_full() -> None:
    from concurrent.futures import Future

    worker = _live_worker(batch_size=2)
    worker.consumer = cast(Any, _Polls(records=5))
    assert worker._poll(50, bulk=False) == {TopicPartition("t", 0): [1]}  # no write in flight: no wait
    worker._lopend = (Future(), {}, 0.0, False)  # a write that does not end
    assert worker._poll(50, bulk=False) == {TopicPartition("t", 0): [2, 3]}  # full at batch_size
    worker._lopend = worker.consumer = None
    worker.close()


def test_the_stats_of_a_replays_runners_are_summed_per_projection() -> None:
    from consumers.projector_config import Stats
    from consumers.replay import _opgeteld

    a = [Stats("feiten", consumed=5, applied=9, batches=2, bulk_batches=2), Stats("tijdlijn", consumed=5, applied=5)]
    b = [Stats("feiten", consumed=7, applied=1, batches=1, bulk_batches=1, reseeks=1), Stats("tijdlijn", consumed=7)]
    assert _opgeteld([a, b]) == [
        Stats("feiten", consumed=12, applied=10, batches=3, bulk_batches=3, reseeks=1),
        Stats("tijdlijn", consumed=12, applied=5),
    ]


def test_every_projection_makes_no_changes_for_what_it_declares_ignored_whatever_the_record() -> None:
    """The lean decode relies on it: an ignored type's record (here: empty) is never read by ``apply``."""
    from projections import catalogus

    for p in catalogus.ALL.values():
        for event_type in p.ignored:
            assert p.apply(Message("events", 0, 0, event_type, {})) == [], (p.name, event_type)
    assert feiten.PROJECTION.ignored == feiten.IGNORED and referentie.PROJECTION.ignored == referentie.IGNORED
