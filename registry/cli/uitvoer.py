"""Where the CLI's tables go: a terminal gets its own width; a pipe or file one line per row, never folded (rich
folds to 80 columns off a terminal, which breaks event ids and reason codes over lines and defeats grep)."""

from __future__ import annotations

import sys

from rich.console import Console

BREED = 100_000  # off a terminal: wide enough that no row of ours is ever folded


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else BREED)
