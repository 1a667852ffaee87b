"""The fault suite's driver (``./ops/faults``); the suite itself is tests/support/faults/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# run as `python ops/faults.py`: Python puts ops/ on sys.path, not the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.faults.suite import main  # noqa: E402


def cli() -> int:
    parser = argparse.ArgumentParser(description="Faults against a private stack while events flow; prints the table.")
    parser.add_argument("--short", action="store_true", help="1-2 repetitions per fault, a slower stream (the test)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) also when every fault passed")
    parser.add_argument("--workdir", type=Path, default=None, help="work folder (default: a new temporary one)")
    parser.add_argument(
        "--only",
        default="",
        help="only the faults whose name contains one of these comma-separated "
        "words, e.g. --only kafka (default: all of the run)",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        default=1,
        help="Kafka nodes of the private stack; with 3 the run kills one node at a time (the production topology)",
    )
    args = parser.parse_args()
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    return main(args.short, args.seed, args.keep, args.workdir, only, args.brokers)


if __name__ == "__main__":
    sys.exit(cli())
