"""Step replay: ``replay all`` of log sizes (a process per size): events/s and peak RSS (the largest of the replay's
processes: its runners are processes of their own), beside a raw consume + decode of the same topic with the same
client (kafka-python, read_committed)."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import text

from benchmarks import ROOT
from benchmarks.meting import must
from benchmarks.werklast import fresh_prefix, produce_canonical, raw_consume_decode
from projections import store
from registry.infra import topics
from registry.infra.db import engine as make_engine
from registry.infra.topics import Topics

REPLAY = """
import resource, sys, time
from consumers.projector import RunnerConfig
from consumers.replay import replay
from registry import bootstrap
from registry.infra import settings
bootstrap.configure(settings.load())  # this process is an entry point: the Kafka login from its settings
cfg = RunnerConfig(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], batch_size=2000)
start = time.perf_counter()
stats = replay(cfg, ["all"], progress=False)
rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(max(st.consumed for st in stats), time.perf_counter() - start, rss)
"""


def bench_replay(
    bootstrap: str, database_url: str, sizes: list[int], runs: int = 1
) -> list[tuple[int, list[float], list[float], list[float]]]:
    """Per log size: (events, events/s, peak RSS MiB, raw consume + decode events/s), the last three of each of
    ``runs`` replay processes and raw reads of that log; the log grows between sizes."""
    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    out, produced, seed = [], 0, 0
    for size in sizes:
        while produced < size:  # ~9 events per deelnemer in the scenario
            seed += 1
            produced += produce_canonical(bootstrap, t.events, max(1, (size - produced) // 9 + 1), seed=seed)
        measured = [_replay_once(bootstrap, database_url, prefix, t, size) for _ in range(runs)]
        events_n = measured[0][0]
        must(all(m[0] == events_n for m in measured), f"the replays of {size} events replayed different counts")
        raw = [raw_consume_decode(bootstrap, t.events)[0] for _ in range(runs)]
        out.append((events_n, [m[1] for m in measured], [m[2] for m in measured], raw))
    return out


def vacuum(database_url: str, schema: str) -> None:
    """VACUUM the tables a replay swapped in, between runs: autovacuum would do it during the next run, and that
    work is not the next run's."""
    engine = make_engine(database_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            namen = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1"), {"s": schema}
            ).scalars()
            for naam in list(namen):
                conn.execute(text(store.sql(f'VACUUM {{s}}."{naam}"', schema)))
    finally:
        engine.dispose()


def _replay_once(bootstrap: str, database_url: str, prefix: str, t: Topics, size: int) -> tuple[int, float, float]:
    """One ``replay all`` process over the log: (events, events/s, peak RSS MiB)."""
    res = subprocess.run(
        [sys.executable, "-c", REPLAY, bootstrap, database_url, f"{prefix}_rm", t.events, t.rejections],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    must(res.returncode == 0, f"replay of {size} events failed: {res.stderr.strip()[-300:]}")
    vacuum(database_url, f"{prefix}_rm")
    events_n, seconds, rss_kib = res.stdout.split()[-3:]
    must(int(events_n) > 0, f"replay of {size} events replayed nothing")
    return int(events_n), int(events_n) / float(seconds), int(rss_kib) / 1024
