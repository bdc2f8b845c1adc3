"""Server-side SVG charts: a figure's estimates over time, by source.

Pure: data in, SVG text out. Every piece of text (outlets, who said it) comes from the
internet, so each is XML-escaped here; the result is then safe to mark up in a template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 30, 40  # margins: axis labels left, legend right
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
LABEL_GAP = 60.0  # px between two labels of the same value
OTHER = "#7f7f7f"  # sources past the palette share one colour

# How a qualifier is marked: "at least" points up, "up to" points down, "about" is hollow.
MARKERS = {
    "at_least": "up",
    "over": "up",
    "up_to": "down",
    "under": "down",
    "nearly": "down",
    "about": "hollow",
}


@dataclass(frozen=True, slots=True)
class Point:
    """One estimate: when, its range, the stated value, its qualifier and its source."""

    when: datetime
    low: float
    high: float
    value: float
    qualifier: str
    source: str


def format_value(value: float) -> str:
    """``12000.0`` → ``12,000``; ``2.5`` → ``2.5``."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.4g}"


def estimate_chart(points: Sequence[Point], unit: str) -> str:
    """An SVG chart of ``points``: each range a band, each value a marker, one colour per
    source. Empty input gives a short note instead of axes."""
    if not points:
        return '<p class="empty">No estimates yet.</p>'
    colours = _colours(points)
    scale = _scale(points)
    label = quoteattr(f"{unit} estimates")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label={label}>',
        *_axes(scale, unit),
    ]
    labelled: dict[str, float] = {}  # label → x where it was last written
    for p in sorted(points, key=lambda p: p.when):
        px, label = scale.x(p.when), format_range(p.low, p.high)
        # The same value restated moments later would print over itself: write it once.
        show = px - labelled.get(label, -LABEL_GAP) >= LABEL_GAP
        if show:
            labelled[label] = px
        parts.extend(_estimate(p, scale, colours[p.source], show_label=show))
    parts.extend(_legend(colours))
    parts.append("</svg>")
    return "\n".join(parts)


def _colours(points: Sequence[Point]) -> dict[str, str]:
    sources = sorted({p.source for p in points})
    return {s: PALETTE[i] if i < len(PALETTE) else OTHER for i, s in enumerate(sources)}


@dataclass(frozen=True, slots=True)
class _Scale:
    """Maps times and values to the plot area: t0..t1 seconds, v0..v1 in the unit."""

    t0: float
    t1: float
    v0: float
    v1: float

    def x(self, when: datetime) -> float:
        return LEFT + (when.timestamp() - self.t0) / (self.t1 - self.t0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return TOP + (1 - (value - self.v0) / (self.v1 - self.v0)) * (HEIGHT - TOP - BOTTOM)


def _scale(points: Sequence[Point]) -> _Scale:
    t0 = min(p.when for p in points).timestamp()
    t1 = max(p.when for p in points).timestamp()
    v0 = min(min(p.low, p.value) for p in points)
    v1 = max(max(p.high, p.value) for p in points)
    pad_t = (t1 - t0) * 0.05 or 3600.0
    pad_v = (v1 - v0) * 0.1 or abs(v1) * 0.1 or 1.0
    low = max(0.0, v0 - pad_v) if v0 >= 0 else v0 - pad_v  # counts do not go below zero
    return _Scale(t0 - pad_t, t1 + pad_t, low, v1 + pad_v)


def _axes(s: _Scale, unit: str) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    out = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#444"/>',
        f'<text x="{LEFT}" y="{TOP - 14}" text-anchor="middle" class="unit">{escape(unit)}</text>',
    ]
    for i in range(5):
        v = s.v0 + (s.v1 - s.v0) * i / 4
        py = bottom - (bottom - TOP) * i / 4
        out.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{right}" y2="{py:.1f}" stroke="#eee"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end" class="tick">'
            f"{format_value(round(v, 2))}</text>"
        )
    for i in range(4):
        ts = s.t0 + (s.t1 - s.t0) * (i + 0.5) / 4
        px = LEFT + (right - LEFT) * (i + 0.5) / 4
        label = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
        out.append(
            f'<text x="{px:.1f}" y="{bottom + 18}" text-anchor="middle" class="tick">{label}</text>'
        )
    return out


def format_range(low: float, high: float) -> str:
    """``(5, 5)`` → ``5``; ``(5, 7)`` → ``5–7``."""
    return format_value(low) if low == high else f"{format_value(low)}–{format_value(high)}"


def _estimate(p: Point, s: _Scale, colour: str, *, show_label: bool) -> list[str]:
    px, low, high, mid = s.x(p.when), s.y(p.low), s.y(p.high), s.y(p.value)
    label = format_range(p.low, p.high)
    title = escape(f"{p.source}: {label} ({p.qualifier}), {p.when:%Y-%m-%d %H:%M}")
    out = [f'<g class="estimate" data-value={quoteattr(label)}><title>{title}</title>']
    if p.low != p.high:
        out.append(
            f'<rect class="band" x="{px - 5:.1f}" y="{high:.1f}" width="10" '
            f'height="{max(low - high, 1):.1f}" fill="{colour}" fill-opacity="0.25" '
            f'stroke="{colour}"/>'
        )
    out.append(_marker(MARKERS.get(p.qualifier, "dot"), px, mid, colour))
    if show_label:
        out.append(
            f'<text x="{px + 8:.1f}" y="{mid - 6:.1f}" class="value" fill="{colour}">'
            f"{escape(label)}</text>"
        )
    out.append("</g>")
    return out


def _marker(kind: str, px: float, py: float, colour: str) -> str:
    if kind == "up":
        return f'<path d="M{px:.1f},{py - 6:.1f} l6,10 h-12 z" fill="{colour}"/>'
    if kind == "down":
        return f'<path d="M{px:.1f},{py + 6:.1f} l6,-10 h-12 z" fill="{colour}"/>'
    fill = "white" if kind == "hollow" else colour
    return (
        f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4.5" fill="{fill}" stroke="{colour}" '
        'stroke-width="2"/>'
    )


def _legend(colours: dict[str, str]) -> list[str]:
    x0 = WIDTH - RIGHT + 16
    out = []
    for i, (source, colour) in enumerate(list(colours.items())[:12]):
        yy = TOP + 14 + i * 18
        out.append(f'<rect x="{x0}" y="{yy - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x0 + 16}" y="{yy}" class="legend">{escape(source[:24])}</text>')
    keys = [("▲", "at least / over"), ("▼", "up to / under"), ("○", "about")]
    for j, (glyph, text) in enumerate(keys):
        yy = HEIGHT - BOTTOM - 40 + j * 16
        out.append(f'<text x="{x0}" y="{yy}" class="legend">{glyph} {text}</text>')
    return out
