"""Charts as SVG text, rendered on the server (no JavaScript, no chart library, nothing from outside).

Every chart carries a ``<title>`` and ``<desc>`` (``role="img"``, ``aria-labelledby``) for screen readers; the
table next to it on the page holds the same numbers. A missing value (``None``) is drawn as no bar with the
label ``–``. Colours are the Okabe-Ito palette (distinguishable with colour blindness), on white.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8a6d00", "#56B4E9", "#000000")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
GEEN = "–"  # no value (publiek and regio counts are perturbed, never left out: see registry/diensten/onthulling.py)
MAX_PLOT_WIDTH = 960  # a line chart of many months (the verloop: up to ten years) stays one screen wide


@dataclass(frozen=True)
class Series:
    naam: str
    waarden: Sequence[int | None]


def _nice_max(value: float) -> int:
    """A round axis maximum >= value (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _fmt(value: int | None) -> str:
    return GEEN if value is None else str(value)


def _head(width: int, height: int, ident: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-labelledby="{ident}-t {ident}-d" {FONT}>',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _legend(series: Sequence[Series], x: int, y: int) -> list[str]:
    out: list[str] = []
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y + n * 16}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 18}" y="{y + n * 16 + 10}" fill="#1a1a1a">{escape(s.naam)}</text>')
    return out


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, ident: str = "grafiek") -> str:
    """Horizontal grouped bars: one group per label, one bar per series; the count is written after each bar."""
    bar_h, gap = 14, 8
    label_w = min(320, 20 + 7 * max((len(label) for label in labels), default=4))
    plot_w = 420
    legend_h = 16 * len(series) + 8 if len(series) > 1 else 0
    top = 8 + legend_h
    group_h = bar_h * len(series) + gap
    width = label_w + plot_w + 60
    height = top + max(1, len(labels)) * group_h + 30
    known = [v for s in series for v in s.waarden if v is not None]
    top_value = _nice_max(max(known, default=0))
    scale = plot_w / top_value
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{s.naam} {_fmt(s.waarden[i])}" for s in series) for i, label in enumerate(labels)
    )
    out = _head(width, height, ident, title, desc or "geen rijen")
    if len(series) > 1:
        out += _legend(series, label_w, 6)
    axis_y = top + len(labels) * group_h
    for tick in range(5):
        tick_value = top_value * tick // 4
        x = label_w + tick_value * scale
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#d0d0d0"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#1a1a1a">{tick_value}</text>')
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        out.append(
            f'<text x="{label_w - 6}" y="{y0 + group_h / 2:.1f}" text-anchor="end" fill="#1a1a1a" '
            f'dominant-baseline="middle">{escape(label)}</text>'
        )
        for n, s in enumerate(series):
            value = s.waarden[i]
            y = y0 + n * bar_h
            w = 0.0 if value is None else value * scale
            if w > 0:
                out.append(
                    f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                    f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(f"{label}, {s.naam}: {_fmt(value)}")}'
                    f"</title></rect>"
                )
            out.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}" fill="#1a1a1a">{escape(_fmt(value))}</text>'
            )
    out.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{axis_y}" stroke="#1a1a1a"/>')
    out.append("</svg>")
    return "\n".join(out)


def line_chart(dates: Sequence[date], series: Sequence[Series], *, title: str, ident: str = "verloop") -> str:
    """Lines over time (x: the dates, evenly spaced; y: counts). A suppressed point breaks the line."""
    left, right, top, plot_h = 56, 170, 16, 240
    plot_w = max(240, min(16 * len(dates), MAX_PLOT_WIDTH))
    width, height = left + plot_w + right, top + plot_h + 48
    known = [v for s in series for v in s.waarden if v is not None]
    top_value = _nice_max(max(known, default=0))
    step = plot_w / max(1, len(dates) - 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return left + i * step, top + plot_h - v * plot_h / top_value

    last = dates[-1].isoformat() if dates else "-"
    desc = f"{len(dates)} peildata tot {last}; " + "; ".join(
        f"{s.naam} op {last}: {_fmt(s.waarden[-1]) if s.waarden else '-'}" for s in series
    )
    out = _head(width, height, ident, title, desc)
    for tick in range(5):
        value = top_value * tick // 4
        _, y = xy(0, value)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#d0d0d0"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#1a1a1a">{value}</text>')
    every = max(1, -(-60 // max(1, int(step))))  # a label per ~60 px (one "2021-01" is ~50 px wide)
    for i, d in enumerate(dates):
        if (i % every == 0 and len(dates) - 1 - i >= every) or i == len(dates) - 1:  # the last one always
            x, _ = xy(i, 0)
            out.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle" fill="#1a1a1a">'
                f"{d.strftime('%Y-%m')}</text>"
            )
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for i, v in enumerate(s.waarden):
            if v is None:
                runs.append([])
                continue
            x, y = xy(i, v)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>'
                f"{escape(f'{dates[i].isoformat()}, {s.naam}: {v}')}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                out.append(
                    f'<polyline points={quoteattr(" ".join(run))} fill="none" stroke="{colour}" stroke-width="2"/>'
                )
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#1a1a1a"/>')
    out += _legend(series, left + plot_w + 16, top)
    out.append("</svg>")
    return "\n".join(out)
