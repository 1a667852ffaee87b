"""Bench helper: N concurrent clients (asyncio + httpx) against a running API on loopback.

    from tests.support.loadtest import run_load
    result = run_load("http://127.0.0.1:8000", api_key, clients=20, max_requests=5000, max_seconds=30)
    print(result.p50_ms, result.p99_ms, result.requests_per_s)

or ``python -m tests.support.loadtest --key prk_... --clients 20``. Loopback only (127.0.0.1, ::1, localhost):
it refuses any other host. Bounded by a request count AND a time budget, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

DEFAULT_PATH = "/v1/overzichten/kwalificaties?peildatum=2021-01-13"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass
class LoadResult:
    requests: int
    errors: int  # transport errors and non-2xx answers
    seconds: float
    p50_ms: float
    p99_ms: float
    requests_per_s: float
    statuses: dict[int, int] = field(default_factory=dict)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; 0.0 for an empty one."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def check_loopback(base_url: str) -> None:
    host = urlsplit(base_url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load tests run against loopback only, not {host!r}")


async def run_load_async(
    base_url: str,
    api_key: str | None,
    *,
    clients: int = 10,
    max_requests: int = 1000,
    max_seconds: float = 10.0,
    path: str = DEFAULT_PATH,
    warmup: bool = True,
) -> LoadResult:
    """``warmup``: each client first opens its connection with one request that is not measured."""
    check_loopback(base_url)
    if clients < 1 or max_requests < 1 or max_seconds <= 0:
        raise ValueError("clients, max_requests and max_seconds must be positive")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    issued = 0
    ready = asyncio.Event()
    opened = 0
    start = deadline = 0.0

    async def worker() -> None:
        # one client (one keep-alive connection) per simulated user: a single shared pool of many
        # connections costs the generator more CPU per request than the server spends answering
        nonlocal issued, errors, opened, start, deadline
        async with httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=max(5.0, max_seconds),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        ) as client:
            if warmup:
                try:
                    await client.get(path)
                except httpx.HTTPError:
                    pass
            opened += 1
            if opened == clients:
                start = time.perf_counter()
                deadline = start + max_seconds
                ready.set()
            await ready.wait()
            while issued < max_requests and time.perf_counter() < deadline:
                issued += 1  # single-threaded event loop: no lock needed
                t0 = time.perf_counter()
                try:
                    resp = await client.get(path)
                except httpx.HTTPError:
                    errors += 1
                    statuses[0] += 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000.0)
                statuses[resp.status_code] += 1
                if not 200 <= resp.status_code < 300:
                    errors += 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    done = sum(statuses.values())
    return LoadResult(
        requests=done,
        errors=errors,
        seconds=elapsed,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        requests_per_s=done / elapsed if elapsed > 0 else 0.0,
        statuses=dict(statuses),
    )


def run_load(
    base_url: str,
    api_key: str | None,
    *,
    clients: int = 10,
    max_requests: int = 1000,
    max_seconds: float = 10.0,
    path: str = DEFAULT_PATH,
    warmup: bool = True,
) -> LoadResult:
    """Synchronous wrapper of run_load_async (call it outside a running event loop)."""
    return asyncio.run(
        run_load_async(
            base_url,
            api_key,
            clients=clients,
            max_requests=max_requests,
            max_seconds=max_seconds,
            path=path,
            warmup=warmup,
        )
    )


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--key", default=None, help="API key (Bearer)")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--path", default=DEFAULT_PATH)
    a = ap.parse_args(argv)
    r = run_load(a.url, a.key, clients=a.clients, max_requests=a.requests, max_seconds=a.seconds, path=a.path)
    print(
        f"{r.requests} requests in {r.seconds:.2f}s: {r.requests_per_s:.1f} req/s, p50 {r.p50_ms:.1f} ms, "
        f"p99 {r.p99_ms:.1f} ms, errors {r.errors}, statuses {r.statuses}"
    )
    return 0 if r.errors == 0 else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
