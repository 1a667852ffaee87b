"""Benchmarks: ONE table of every figure beside a baseline measured in the same run, its ratio and its goal.

    ./ops/bench [deelnemers] [--runs 3] [--steps producer,validator,...] [--freshness-seconds 60] ...

Steps (``--steps``; all by default):

producer    Publisher.publish_batch (encode + key + send, acks=all, idempotent) vs kafka-python sending the same
            pre-encoded bytes with the same settings to the same partitions (worked out ahead). Goal >= 0.8.
validator   Validator (decode, judge with parking, transactional append, state to PostgreSQL) vs a kafka-python
            *transactional copy* of the same ingress records (consume read_committed, produce the same bytes,
            send_offsets_to_transaction, commit) at its best records-per-transaction of ``--txn-sizes``. Goal >= 0.6.
projector   a runner of every projection catching up on a whole canonical topic (the bulk path from
            PRAKTIJK_PROJECTOR_BULK_LAG records behind, the live path at the end; rows + offsets in one PostgreSQL
            transaction per batch) vs a raw consume + decode of the same topic. Goal >= 0.5.
replay      ``replay all`` of ``--replay-sizes`` events (a process per size; the bulk path): events/s (goal >= 25,000,
            beside a raw consume + decode of the same topic) and peak RSS of the largest over the smallest (<= 1.5).
api         wrk, ``--clients`` connections, ``--workers`` uvicorn workers, against /v1/overzichten/kwalificaties:
            cached (the same request) vs GET /v1/bench/baseline of the same app answering the same bytes (no key, no
            dependencies, same middlewares) right after it: goal p99 <= 1.5x the baseline's and < 50 ms; cold (a
            new peildatum per request) goal p99 < 250 ms.
freshness   a steady ``--freshness-rate`` events/s for ``--freshness-seconds`` through publisher -> validator ->
            projector (separate processes) -> API; p50/p99 from publish to visible (GET /v1/trajecten/{id}).
            Goal p99 < 0.5 s. A second row: p50/p99 per stage (publish -> ingress -> canonical -> row -> API,
            benchmarks/etappes.py) and the validator's and projector's CPU seconds while publishing.
reconcile   reconciliation of 26 pilots over 100,000 deelnemers vs deelnemers-per-pilot on the same tables.
peer        the registry end to end (publish -> validator -> projector, separate processes) vs the ``eventsourcing``
            library (PostgreSQL, its ProjectionRunner with tracking records) on the same workload: per deelnemer an
            aanmelding, an inschrijving, 5 sign-offs, a verklaring; deelnemers and verklaringen per pilot. Goal >= 10
            (bench extra).

Every throughput figure is the median of ``--runs`` runs (ratio: the median of the per-run ratios, each against
its own run's baseline); replay and freshness too (each figure beside its runs). A step that measured nothing (0 events,
0 requests, a non-2xx answer, an event never visible) fails loudly: the table is still printed, then the failures,
and the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

# run as `python ops/bench.py`: Python puts ops/ on sys.path (the steps: ops/benchmarks), not the repo root, and
# the event builders the benchmarks share with the tests live in tests/support
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.api import Wrk, bench_api  # noqa: E402
from benchmarks.etappes import ETAPPES, GET, kwantiel  # noqa: E402
from benchmarks.freshness import bench_freshness  # noqa: E402
from benchmarks.meting import NothingMeasured, Row, med, must, rate_row, seconds, spread  # noqa: E402
from benchmarks.producer import bench_producer  # noqa: E402
from benchmarks.projector import bench_projector  # noqa: E402
from benchmarks.reconcile import bench_reconciliatie  # noqa: E402
from benchmarks.replay import bench_replay  # noqa: E402
from benchmarks.validator import bench_validator  # noqa: E402
from benchmarks.werklast import drop_schemas, drop_topics  # noqa: E402

from consumers.validator import ValidatorConfig  # noqa: E402
from registry import bootstrap as wiring  # noqa: E402
from registry.infra import settings as settings_mod  # noqa: E402

STEPS = ("producer", "validator", "projector", "replay", "api", "freshness", "reconcile", "peer")


def step_rows(step: str, args: argparse.Namespace, bootstrap: str, database_url: str) -> Iterator[Row]:
    n, runs = args.deelnemers, args.runs
    if step == "producer":
        pub, raw = bench_producer(bootstrap, n, runs)
        yield rate_row(
            f"producer: Publisher.publish_batch, {n * 5:,} events",
            pub,
            "kafka-python, same pre-encoded bytes",
            raw,
            0.8,
        )
    elif step == "validator":
        results = [
            bench_validator(args.settings, bootstrap, database_url, n, args.txn_sizes, args.max_poll_records)
            for _ in range(runs)
        ]
        vals = [v for v, _ in results]
        per_size = {s: [c[s] for _, c in results] for s in args.txn_sizes}
        best = max(per_size, key=lambda s: med(per_size[s]))
        copies = ", ".join(f"{s}/txn {med(r):,.0f}" for s, r in per_size.items())
        row = rate_row(
            f"validator (max_poll_records {args.max_poll_records}), {n * 6:,} events",
            vals,
            f"transactional copy at its best, {best}/txn",
            [c[best] for _, c in results],
            0.6,
        )
        row.baseline += f"; copy rec/s by txn size: {copies}"
        yield row
    elif step == "projector":
        proj = [bench_projector(bootstrap, database_url, n * 2) for _ in range(runs)]
        yield rate_row(
            f"projector catching up: feiten + referentie + tijdlijn, {proj[0][2]:,} events",
            [r[0] for r in proj],
            "raw consume + decode",
            [r[1] for r in proj],
            0.5,
        )
    elif step == "replay":
        replays = bench_replay(bootstrap, database_url, args.replay_sizes, runs)
        for events_n, rates, rsss, raws in replays:
            rate = med(rates)
            yield Row(
                f"`replay all` (bulk path), {events_n:,} events",
                f"{rate:,.0f} ev/s ({spread(rates)}), peak RSS {med(rsss):,.0f} MiB",
                f"raw consume + decode, same topic: {med(raws):,.0f} ev/s ({spread(raws)})",
                f"{med([r / b for r, b in zip(rates, raws, strict=True)]):.2f}",
                ">= 25,000 ev/s",
                rate >= 25_000,
            )
        if len(replays) > 1:
            small, large = med(replays[0][2]), med(replays[-1][2])
            yield Row(
                f"replay RSS at {replays[-1][0]:,} / at {replays[0][0]:,}",
                f"{large:,.0f} MiB",
                f"{small:,.0f} MiB",
                f"{large / small:.2f}",
                "<= 1.5",
                large / small <= 1.5,
            )
    elif step == "api":
        api = bench_api(
            bootstrap, database_url, args.api_deelnemers, args.clients, args.api_seconds, args.workers, runs
        )
        what = f"{args.clients} clients, {args.workers} workers, wrk {args.api_seconds} s, read models of {api.events:,} events"
        cached_p99s, base_p99s = [w.p99_ms for w in api.cached], [w.p99_ms for w in api.baseline]
        ratio = med([c / b for c, b in zip(cached_p99s, base_p99s, strict=True)])
        yield Row(
            f"API kwalificaties cached (same request), {what}",
            wrk_figures(api.cached),
            f"GET /v1/bench/baseline, the same bytes, same app and load: {wrk_figures(api.baseline)}",
            f"{ratio:.2f}",
            "p99 <= 1.5x baseline and < 50 ms",
            ratio <= 1.5 and med(cached_p99s) < 50.0,
        )
        yield Row(
            f"API kwalificaties cold (new peildatum per request), {what}",
            wrk_figures(api.cold),
            "",
            "",
            "p99 < 250 ms",
            med([w.p99_ms for w in api.cold]) < 250.0,
        )
    elif step == "freshness":
        rounds = [
            bench_freshness(bootstrap, database_url, args.freshness_rate, args.freshness_seconds) for _ in range(runs)
        ]
        p50s = [kwantiel(r[0], 0.50) for r in rounds]
        p99s = [kwantiel(r[0], 0.99) for r in rounds]
        # the stages of the run whose p99 is the median: what the figure is made of
        seen, achieved, sent, stages, cpu = rounds[sorted(range(runs), key=lambda i: p99s[i])[runs // 2]]
        p99 = med(p99s)
        never = sum(1 for r in rounds for x in r[0] if x == float("inf"))
        yield Row(
            f"freshness: publish -> visible in the API, {achieved:,.0f} ev/s for {args.freshness_seconds} s "
            f"({sent:,} events, {len(seen)} sampled, per run)",
            f"p50 {seconds(med(p50s))}, p99 {seconds(p99)} (p99 {spread(p99s, '{:.2f}', ' s')})"
            + (f"; {never} samples not visible 60 s after the last publish" if never else ""),
            "",
            "",
            "p99 < 0.5 s",
            p99 < 0.5,
        )
        yield Row(
            f"freshness per stage, the median run ({len(stages[ETAPPES[0]])} samples seen at every point, "
            f"{len(stages.get(GET, []))} GETs; CPU while "
            "publishing: " + ", ".join(f"{naam} {s:.1f} s" for naam, s in cpu.items()) + ")",
            "; ".join(
                f"{e}: p50 {kwantiel(stages[e], 0.5):.2f} s, p99 {kwantiel(stages[e], 0.99):.2f} s"
                for e in (*ETAPPES, GET)
                if e in stages
            ),
        )
    elif step == "reconcile":
        rec, base, pilots = bench_reconciliatie(database_url, rounds=max(3, runs))
        yield Row(
            f"reconciliation, {pilots} pilots, 100,000 deelnemers + lists",
            f"{med(rec):.2f} s ({spread(rec, '{:.2f}', ' s')})",
            f"deelnemers-per-pilot, same tables: {med(base):.2f} s",
            f"{med(rec) / med(base):.1f}",
            "< 30 s",
            med(rec) < 30,
        )
    elif step == "peer":
        from benchmarks.peer import bench_peer, peer_version  # the bench extra: only this step needs it

        peer = [bench_peer(bootstrap, database_url, n) for _ in range(runs)]
        yield rate_row(
            f"peer: registry end to end (publish -> validator -> projector feiten), {peer[0][2]:,} events, "
            "5 sign-offs per deelnemer",
            [r[0] for r in peer],
            f"eventsourcing {peer_version()} (PostgreSQL, ProjectionRunner + tracking), same workload",
            [r[1] for r in peer],
            10,  # ten times the library end to end on the same workload
        )


def wrk_figures(res: list[Wrk]) -> str:
    p99s = [w.p99_ms for w in res]
    return (
        f"p50 {med([w.p50_ms for w in res]):.1f} ms, p99 {med(p99s):.1f} ms, "
        f"{med([w.rps for w in res]):,.0f} req/s (p99 {spread(p99s, '{:.0f}', ' ms')})"
    )


def print_table(rows: list[Row], header: str) -> None:
    print()
    print(header)
    print()
    print("| what | measured (median) | baseline (same run) | ratio | goal | |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")
    sys.stdout.flush()


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ops/bench", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("deelnemers", nargs="?", type=int, default=4000, help="deelnemers per measurement (x5 events)")
    p.add_argument("--runs", type=int, default=3, help="runs per throughput figure (the median is reported)")
    p.add_argument("--steps", default=",".join(STEPS), help=f"comma separated, of: {', '.join(STEPS)}")
    p.add_argument("--txn-sizes", type=ints, default=[500, 2000, 8000], help="records per transaction of the copy")
    p.add_argument(
        "--max-poll-records",
        type=int,
        default=ValidatorConfig([], "").max_poll_records,
        help="the validator's records per poll (= per transaction)",
    )
    p.add_argument(
        "--replay-sizes",
        type=ints,
        default=ints(os.environ.get("BENCH_REPLAY_SIZES", "100000,1000000")),
        help="log sizes to replay, comma separated (1,000,000 takes minutes; an empty value skips replay)",
    )
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--api-seconds", type=int, default=10)
    p.add_argument("--api-deelnemers", type=int, default=2000, help="deelnemers in the API's read models")
    p.add_argument("--freshness-rate", type=int, default=1000, help="events/s published for the freshness step")
    p.add_argument("--freshness-seconds", type=int, default=60)
    args = p.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        p.error(f"unknown step(s) {', '.join(sorted(unknown))}; known: {', '.join(STEPS)}")
    # the environment switches of the earlier bench still work
    off = {"api": "BENCH_API", "reconcile": "BENCH_RECONCILIATIE"}
    args.steps = [
        s for s in steps if os.environ.get(off.get(s, ""), "1") != "0" and (s != "replay" or args.replay_sizes)
    ]
    must(args.runs >= 1, "--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bootstrap = os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"]
    database_url = os.environ["PRAKTIJK_DATABASE_URL"]
    args.settings = wiring.configure(settings_mod.load())  # once: the Kafka login of every client, the key files
    cores = os.cpu_count() or 0
    header = (
        f"ops/bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {cores} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the start, {args.runs} run(s) per figure, {args.deelnemers * 5:,} events "
        f"per throughput measurement (Kafka {bootstrap})"
    )
    print(header, flush=True)
    rows: list[Row] = []
    failures: list[str] = []
    for step in args.steps:
        t0 = time.monotonic()
        try:
            for row in step_rows(step, args, bootstrap, database_url):
                rows.append(row)
                print(
                    f"  {step}: {row.measured} | {row.baseline} | ratio {row.ratio or '-'} | goal {row.goal}",
                    flush=True,
                )
        except NothingMeasured as exc:
            failures.append(f"{step}: {exc}")
            print(f"  {step}: FAILED: {exc}", flush=True)
        except Exception as exc:  # noqa: BLE001 - a broken step is reported, the others still run
            failures.append(f"{step}: {type(exc).__name__}: {str(exc)[:300]}")
            print(f"  {step}: FAILED: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
        print(f"  ({step}: {time.monotonic() - t0:.0f} s)", flush=True)
    print_table(rows, header)
    print(
        f"(deleted the run's {drop_topics(bootstrap)} topics and {drop_schemas(database_url)} schemas)",
        file=sys.stderr,
    )
    if failures:
        print("\nbench FAILED: step(s) measured nothing or broke:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
