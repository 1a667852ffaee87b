"""The steps of ops/bench.py, a module per step (producer, validator, projector, replay, api, freshness,
reconcile), and what they share: the figures (meting), the workloads (werklast), the API servers (servers).

ops/bench.py puts the repository root on sys.path before it imports these (ops/ is there already).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
