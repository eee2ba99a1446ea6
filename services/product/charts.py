"""Small server-side SVG charts for the console and the report: no JavaScript, no CDN, they
render in any browser and inside a self-contained HTML file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04")


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]
    """(x, y): x in any unit (an update's number, seconds), y on the chart's range."""
    color: str = PALETTE[0]


def _frame(width: int, height: int, body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'class="chart"><title>{escape(title)}</title>{body}</svg>'
    )


def line_chart(
    series: Sequence[Series],
    title: str,
    *,
    width: int = 640,
    height: int = 220,
    y_range: tuple[float, float] = (0.0, 100.0),
    x_labels: tuple[str, str] = ("", ""),
) -> str:
    """Lines with a 0-100 axis (trust and loyalty), one dot per point; ``x_labels`` name the
    two ends of the x axis."""
    left, right, top, bottom = 36, 110, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in series for x, _ in s.points]
    parts: list[str] = []
    low, high = y_range
    for tick in (low, (low + high) / 2, high):
        y = top + plot_h * (1 - (tick - low) / (high - low))
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#6b7280">{tick:.0f}</text>'
        )
    if xs:
        first, last = min(xs), max(xs)
        span = max(last - first, 1e-9)

        def x_of(x: float) -> float:
            return left + plot_w * ((x - first) / span)

        def y_of(value: float) -> float:
            clipped = min(high, max(low, value))
            return top + plot_h * (1 - (clipped - low) / (high - low))

        for index, s in enumerate(series):
            coords = [(x_of(at), y_of(v)) for at, v in s.points]
            if not coords:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2"/>'
            )
            parts.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{s.color}"/>' for x, y in coords
            )
            parts.append(
                f'<text x="{left + plot_w + 8}" y="{top + 14 + 16 * index}" font-size="12" '
                f'fill="{s.color}">{escape(s.label)}</text>'
            )
        parts.append(
            f'<text x="{left}" y="{height - 6}" font-size="11" fill="#6b7280">'
            f"{escape(x_labels[0])}</text>"
            f'<text x="{left + plot_w}" y="{height - 6}" font-size="11" text-anchor="end" '
            f'fill="#6b7280">{escape(x_labels[1])}</text>'
        )
    else:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#6b7280">'
            "no data yet</text>"
        )
    return _frame(width, height, "".join(parts), title)


def bar_chart(
    bars: Sequence[tuple[str, float]],
    title: str,
    *,
    width: int = 640,
    bar_height: int = 20,
    color: str = PALETTE[0],
    value_format: str = "{:.0f}",
) -> str:
    """Horizontal bars, labelled, for counts by category (segments, reasons, drivers)."""
    label_w, gap = 170, 6
    height = max(1, len(bars)) * (bar_height + gap) + gap
    peak = max((abs(v) for _, v in bars), default=0.0) or 1.0
    room = width - label_w - 60
    parts = []
    for index, (label, value) in enumerate(bars):
        y = gap + index * (bar_height + gap)
        length = room * abs(value) / peak
        fill = color if value >= 0 else PALETTE[2]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_height * 0.72:.1f}" font-size="12" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{fill}" rx="2"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + bar_height * 0.72:.1f}" '
            f'font-size="12" fill="#374151">{escape(value_format.format(value))}</text>'
        )
    if not bars:
        parts.append(f'<text x="{label_w}" y="18" fill="#6b7280">none</text>')
    return _frame(width, height, "".join(parts), title)


def histogram(
    values: Sequence[float],
    title: str,
    *,
    bins: int = 10,
    low: float = 0.0,
    high: float = 100.0,
    width: int = 320,
    height: int = 160,
    color: str = PALETTE[0],
) -> str:
    """Counts of ``values`` in equal bins over [low, high]."""
    counts = [0] * bins
    for value in values:
        index = int((min(high, max(low, value)) - low) / (high - low) * bins)
        counts[min(bins - 1, index)] += 1
    peak = max(counts) or 1
    left, bottom, top = 8, 22, 8
    slot = (width - 2 * left) / bins
    parts = []
    for index, count in enumerate(counts):
        bar = (height - top - bottom) * count / peak
        x = left + index * slot
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - bar:.1f}" width="{slot - 2:.1f}" '
            f'height="{bar:.1f}" fill="{color}"><title>{count}</title></rect>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="11" fill="#6b7280">{low:.0f}</text>'
        f'<text x="{width - left}" y="{height - 6}" font-size="11" text-anchor="end" '
        f'fill="#6b7280">{high:.0f}</text>'
    )
    return _frame(width, height, "".join(parts), title)
