"""Step reconcile: reconciliation of 26 pilots over 100,000 deelnemers vs deelnemers-per-pilot on the same
tables."""

from __future__ import annotations

import datetime as dt
import time
import uuid

from benchmarks.meting import must
from registry.infra.db import engine


def bench_reconciliatie(database_url: str, n: int = 100_000, rounds: int = 3) -> tuple[list[float], list[float], int]:
    """Seconds to reconcile all 26 pilots over ``n`` registered deelnemers with lists of that size, against the
    baseline of the same run: the deelnemers-per-pilot overzicht on the same tables (the register count alone,
    the least any reconciliation must compute)."""
    from sqlalchemy import text

    from projections import queries, reconciliatie, store
    from tests.support.reconciliatie_data import bulk

    schema = f"bench_rec_{uuid.uuid4().hex[:8]}"
    eng = engine(database_url)
    d = dt.date(2020, 11, 30)
    try:
        with eng.begin() as conn:
            bulk(conn, schema, n, d)
        recon, base = [], []
        with eng.connect() as conn:
            conn.execute(text(f"SET search_path TO {schema}"))
            for _ in range(rounds):
                t0 = time.perf_counter()
                rows = reconciliatie.rijen(conn, schema, d)
                recon.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                queries.overzicht(conn, "deelnemers-per-pilot", d)
                base.append(time.perf_counter() - t0)
        must(len(rows) > 0, "reconciliation returned no rows")
        return recon, base, len(rows)
    finally:
        with eng.begin() as conn:
            conn.execute(text(store.sql("DROP SCHEMA IF EXISTS {s} CASCADE", schema)))
