"""What a step measures: a ``Row`` of the table, the median and spread of its runs, ``must`` (a step that
measured nothing fails loudly) and ``als_dienst`` (a consumer measured as its long-running command runs)."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from registry.infra import heap

_HEAP: list[object] = []  # the young-heap thread, started once per process (every run shares it)


def als_dienst() -> None:
    """The heap as the long-running ``praktijkregister validator`` and ``project`` keep it (registry/infra/dienst.py,
    once their state is loaded): a step measures the consumer as it runs, not the full-heap collections a short
    in-process run would do. The GIL hand-over is set per part of a step (its baseline at its best)."""
    if not _HEAP:
        _HEAP.append(heap.keep_young())


class NothingMeasured(RuntimeError):
    """A step produced no figure (0 events, 0 requests, errors): the bench must not print it as a result."""


def must(ok: bool, message: str) -> None:
    if not ok:
        raise NothingMeasured(message)


@dataclasses.dataclass
class Row:
    what: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        return [
            self.what,
            self.measured,
            self.baseline,
            self.ratio,
            self.goal,
            "" if self.met is None else ("met" if self.met else "NOT met"),
        ]


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float], fmt: str = "{:,.0f}", unit: str = "") -> str:
    """The runs behind a median, for the reader to judge the noise."""
    return "runs " + " / ".join(fmt.format(v) for v in values) + unit if len(values) > 1 else "1 run"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value != float("inf") else "never (> 60 s after the last publish)"


def rate_row(what: str, rates: list[float], base_what: str, bases: list[float], goal: float) -> Row:
    ratios = [r / b for r, b in zip(rates, bases, strict=False)]
    return Row(
        what,
        f"{med(rates):,.0f} ev/s ({spread(rates)})",
        f"{base_what}: {med(bases):,.0f} ev/s ({spread(bases)})",
        f"{med(ratios):.2f}",
        f">= {goal}",
        med(ratios) >= goal,
    )
