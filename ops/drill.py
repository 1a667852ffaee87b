"""The disaster-recovery drill: ``./ops/drill [--events N]`` (ops/benchmarks/herstel.py).

Builds a registry of about N events through the real pipeline, backs up what only PostgreSQL holds, restores it
into an empty database, hands the tables to their roles, replays every read model from the log and compares them
with the lost ones; prints the seconds of each step and the RTO."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# run as `python ops/drill.py`: Python puts ops/ on sys.path (ops/benchmarks), not the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.herstel import oefen, verslag  # noqa: E402

from registry import bootstrap as wiring  # noqa: E402
from registry.infra import settings as settings_mod  # noqa: E402

EVENTS_PER_DEELNEMER = 6  # aanmelding, inschrijving, three sign-offs, a verklaring


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ops/drill", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=12_000, help="about this many events (1000000 takes minutes)")
    args = parser.parse_args(argv)
    if args.events < EVENTS_PER_DEELNEMER:
        parser.error(f"--events must be at least {EVENTS_PER_DEELNEMER}")
    settings = wiring.configure(settings_mod.load())
    oefening = oefen(
        os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"],
        os.environ["PRAKTIJK_DATABASE_URL"],
        settings.keys_dir,
        args.events // EVENTS_PER_DEELNEMER,
        lambda regel: print(f"  {regel}", file=sys.stderr, flush=True),
    )
    print(verslag(oefening))
    return 0


if __name__ == "__main__":
    sys.exit(main())
