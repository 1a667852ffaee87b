"""Step projector: a runner of every projection catching up on a whole canonical topic (rows + offsets in one
PostgreSQL transaction per batch; the bulk path while far behind, as ``project`` runs with the default settings)
vs a raw consume + decode of the same canonical topic."""

from __future__ import annotations

import sys
import time

from benchmarks.meting import als_dienst, must
from benchmarks.werklast import fresh_prefix, produce_canonical, raw_consume_decode
from registry.infra import gil, topics
from registry.infra.settings import Settings
from registry.infra.topics import Topics


def bench_projector(bootstrap: str, database_url: str, n_deelnemers: int) -> tuple[float, float, int]:
    """(projector ev/s, raw consume+decode ev/s, events) on the same canonical topic; the workers' start-up is not
    timed, and the clock stops when every projection has consumed the whole log (not at idle detection). The runner
    runs as the long-running ``praktijkregister project`` does (``registry.infra.dienst``: the young heap, the GIL
    handed over within 1 ms to its writer thread); the baseline is as fast either way (~37-38k ev/s, 1 ms or 5 ms,
    with or without the heap thread)."""
    from consumers import projector

    prefix = fresh_prefix()
    t = Topics(prefix)
    topics.create([bootstrap], 6, [], prefix)
    n = produce_canonical(bootstrap, t.events, n_deelnemers)
    als_dienst()
    sys.setswitchinterval(gil.PYTHON_SECONDS)
    raw_rate, _ = raw_consume_decode(bootstrap, t.events)
    cfg = projector.RunnerConfig(
        bootstrap,
        database_url,
        f"{prefix}_rm",
        t.events,
        t.rejections,
        batch_size=2000,
        bulk_lag=Settings.projector_bulk_lag or None,  # the setting's default, as registry/bootstrap.py wires it
    )
    runner = projector.make_runner(cfg, ["all"])  # one consumer for every projection, as `project` runs them
    try:
        gil.quick_handover()
        runner.start()
        start, deadline = time.perf_counter(), time.monotonic() + 600
        while any(st.consumed < n for st in runner.all_stats) and time.monotonic() < deadline:
            runner.step(timeout_ms=200)
        seconds = time.perf_counter() - start
    finally:
        runner.close()
        sys.setswitchinterval(gil.PYTHON_SECONDS)
    done = min(st.consumed for st in runner.all_stats)
    must(done >= n, f"projector consumed {done} of {n} events")
    return n / seconds, raw_rate, n
