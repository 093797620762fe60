"""A small static SVG trend chart for printed documents: data in, one SVG string out.

Why our own and not plotly: the profile report must work offline and print to A4 in headless
Chromium. A plotly figure needs either its 4.7 MB script inlined in every report (and a script
run before printing) or kaleido's static export, which is not installed here and drives its own
browser. The chart a report needs is simple: the area's values with their 95% intervals as
error bars, the benchmark(s) as dashed lines, gaps where a period is missing, labelled axes and
a legend, so it is drawn here as plain SVG that scales with the page (viewBox, width 100%).

Rules shared with `app.figures.trend_figure`: a line is never drawn across a missing period (two
points are joined only when the next period starts the day after the previous one ends), nor
across a missing value; colour is never the only signal (benchmarks differ in dash pattern and
the legend names every line); synthetic and modelled values use their own marker. All text is
escaped with `app.safe_text.html`.
Imports: math, datetime, dataclasses, app.safe_text.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.safe_text import html as esc
from methods.wording import quality_warnings

WIDTH, HEIGHT = 420, 262
LEFT, RIGHT, TOP = 52, 12, 12
PLOT_BOTTOM = 178  # y of the x axis; labels and legend below
FONT = 11
# Okabe-Ito colours (colour-blind safe), the area line first; benchmarks also differ in dash.
AREA_COLOUR = "#0072B2"
BENCH_STYLES = (("#000000", "6 3"), ("#D55E00", "2 3"), ("#009E73", "8 3 2 3"))


@dataclass(frozen=True)
class Point:
    """One period: its start and end dates, label, value and interval (None when missing)."""

    start: date
    end: date
    label: str
    value: float | None
    lower: float | None = None
    upper: float | None = None
    quality: str | None = None


@dataclass(frozen=True)
class Line:
    name: str
    points: Sequence[Point]
    benchmark: bool = False


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def nice_ticks(low: float, high: float, n: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(n - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    t = first
    while t < high + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _tick_text(v: float, step: float) -> str:
    if step >= 1 and float(v).is_integer():
        return f"{v:,.0f}"
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 1
    return f"{v:,.{decimals}f}"


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Runs of consecutive points with a value, split at a missing value or a missing period."""
    runs: list[list[Point]] = []
    current: list[Point] = []
    previous: Point | None = None
    for p in sorted(points, key=lambda p: (p.end, p.start)):
        joined = previous is not None and p.start == previous.end + timedelta(days=1)
        if p.value is None or not joined:
            if current:
                runs.append(current)
            current = []
        if p.value is not None:
            current.append(p)
        previous = p
    if current:
        runs.append(current)
    return runs


def trend_svg(lines: Sequence[Line], *, unit: str, label: str) -> str:
    """The chart as an inline <svg> (role img, `label` as its accessible name). `lines[0]` is
    the area; benchmark lines follow. Returns a short 'no data' SVG when nothing has a value."""
    pts = [p for ln in lines for p in ln.points]
    values = [v for p in pts for v in (_num(p.value), _num(p.lower), _num(p.upper)) if v is not None]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{esc(label)}" class="chart" font-family="Arial, Helvetica, sans-serif" '
            f'font-size="{FONT}"><title>{esc(label)}</title>')
    if not values:
        return (head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no values to draw</text></svg>')
    low = min(0.0, min(values))
    high = max(values)
    ticks = nice_ticks(low, high * 1.05 if high > 0 else high + 1)
    y0, y1 = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    slots = _slots(lines[0].points if lines else pts)
    n_slots = max(slots.values(), default=0) + 1
    plot_w = WIDTH - LEFT - RIGHT
    slot_w = plot_w / n_slots

    def x(p: Point) -> float:
        return LEFT + slot_w * (slots.get((p.start, p.end), 0) + 0.5)

    def y(v: float) -> float:
        return PLOT_BOTTOM - (PLOT_BOTTOM - TOP) * ((v - y0) / (y1 - y0 or 1.0))

    out = [head]
    # axes and grid
    for t in ticks:
        ty = y(t)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#DDDDDD"/>')
        out.append(f'<text x="{LEFT - 4}" y="{ty + 4:.1f}" text-anchor="end">{esc(_tick_text(t, step))}</text>')
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{PLOT_BOTTOM}" y2="{PLOT_BOTTOM}" stroke="#333333"/>')
    out.append(f'<text x="12" y="{(TOP + PLOT_BOTTOM) / 2:.0f}" text-anchor="middle" font-size="{FONT - 1}" '
               f'transform="rotate(-90 12 {(TOP + PLOT_BOTTOM) / 2:.0f})">{esc(_short(unit, 44))}</text>')
    # x labels: the area's periods, thinned to at most 6, first and last always shown
    area_pts = sorted(lines[0].points, key=lambda p: p.end) if lines else []
    longest = max((len(p.label) for p in area_pts), default=1)
    labelled = _spaced(area_pts, x, longest * FONT * 0.56 + 8)
    for gap in sorted(set(range(n_slots)) - set(slots.values())):  # a missing stretch: marked, not joined
        gx = LEFT + slot_w * (gap + 0.5)
        out.append(f'<line x1="{gx:.1f}" x2="{gx:.1f}" y1="{TOP}" y2="{PLOT_BOTTOM}" stroke="#888888" '
                   f'stroke-dasharray="2 2"/><text x="{gx:.1f}" y="{TOP + 8}" text-anchor="middle" '
                   f'font-size="{FONT - 2}" fill="#555555">gap</text>')
    for p in labelled:
        out.append(f'<line x1="{x(p):.1f}" x2="{x(p):.1f}" y1="{PLOT_BOTTOM}" y2="{PLOT_BOTTOM + 4}" stroke="#333333"/>')
        out.append(f'<text x="{x(p):.1f}" y="{PLOT_BOTTOM + 16}" text-anchor="middle">{esc(p.label)}</text>')
    # benchmark lines first (under the area), then the area with its intervals
    legend: list[str] = []
    bench_i = 0
    for ln in lines:
        if not ln.benchmark:
            continue
        colour, dash = BENCH_STYLES[bench_i % len(BENCH_STYLES)]
        bench_i += 1
        for run in _segments(ln.points):
            coords = " ".join(f"{x(p):.1f},{y(float(p.value)):.1f}" for p in run)  # type: ignore[arg-type]
            if len(run) == 1:
                px, py = x(run[0]), y(float(run[0].value))  # type: ignore[arg-type]
                out.append(f'<line x1="{px - 6:.1f}" x2="{px + 6:.1f}" y1="{py:.1f}" y2="{py:.1f}" '
                           f'stroke="{colour}" stroke-width="2"/>')
            else:
                out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.6" '
                           f'stroke-dasharray="{dash}"/>')
        legend.append(f'<line x1="0" x2="22" y1="-4" y2="-4" stroke="{colour}" stroke-width="1.6" '
                      f'stroke-dasharray="{dash}"/><text x="26" y="0">{esc(_short(ln.name, 60))} (benchmark)</text>')
    for ln in lines:
        if ln.benchmark:
            continue
        for p in ln.points:
            lo, up = _num(p.lower), _num(p.upper)
            if p.value is not None and lo is not None and up is not None:
                px = x(p)
                out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y(lo):.1f}" y2="{y(up):.1f}" stroke="{AREA_COLOUR}"/>')
                out.append(f'<line x1="{px - 3:.1f}" x2="{px + 3:.1f}" y1="{y(lo):.1f}" y2="{y(lo):.1f}" '
                           f'stroke="{AREA_COLOUR}"/>')
                out.append(f'<line x1="{px - 3:.1f}" x2="{px + 3:.1f}" y1="{y(up):.1f}" y2="{y(up):.1f}" '
                           f'stroke="{AREA_COLOUR}"/>')
        for run in _segments(ln.points):
            if len(run) > 1:
                coords = " ".join(f"{x(p):.1f},{y(float(p.value)):.1f}" for p in run)  # type: ignore[arg-type]
                out.append(f'<polyline points="{coords}" fill="none" stroke="{AREA_COLOUR}" stroke-width="2"/>')
        for p in ln.points:
            if p.value is None:
                continue
            out.append(_marker(x(p), y(float(p.value)), p.quality))
        legend.insert(0, f'<line x1="0" x2="22" y1="-4" y2="-4" stroke="{AREA_COLOUR}" stroke-width="2"/>'
                         f'<circle cx="11" cy="-4" r="3" fill="{AREA_COLOUR}"/>'
                         f'<text x="26" y="0">{esc(_short(ln.name, 60))} (95% interval as bars)</text>')
    # a synthetic or modelled series says so inside the chart too (the one wording), so a chart
    # cut out of the report still carries it
    warnings = quality_warnings({p.quality for ln in lines if not ln.benchmark for p in ln.points})
    if warnings:
        out.append(f'<text x="{WIDTH - RIGHT - 4}" y="{TOP + 12}" text-anchor="end" font-weight="bold" '
                   f'fill="#B00020">{esc(warnings[0])}</text>')
    # legend: one entry per line, stacked in two columns under the axis labels
    for i, entry in enumerate(legend):
        lx = LEFT - 40
        ly = PLOT_BOTTOM + 34 + i * 14
        out.append(f'<g transform="translate({lx},{ly})">{entry}</g>')
    out.append("</svg>")
    return "".join(out)


def _slots(points: Sequence[Point]) -> dict[tuple[date, date], int]:
    """An evenly spaced x position per period (oldest first), with one empty slot wherever the
    next period does not start the day after the previous one ends: a five-year hole in a
    monthly series takes one slot marked "gap", not five years of blank axis."""
    out: dict[tuple[date, date], int] = {}
    previous: Point | None = None
    slot = -1
    for p in sorted(points, key=lambda p: (p.end, p.start)):
        if (p.start, p.end) in out:
            continue
        slot += 1 if previous is None or p.start == previous.end + timedelta(days=1) else 2
        out[(p.start, p.end)] = slot
        previous = p
    return out


def _marker(px: float, py: float, quality: str | None) -> str:
    if quality == "synthetic":  # a cross: never read as a published point
        return (f'<path d="M{px - 4:.1f},{py - 4:.1f}L{px + 4:.1f},{py + 4:.1f}M{px - 4:.1f},{py + 4:.1f}'
                f'L{px + 4:.1f},{py - 4:.1f}" stroke="#CC0000" stroke-width="2"/>')
    if quality == "modelled":  # an open diamond
        return (f'<path d="M{px:.1f},{py - 5:.1f}L{px + 5:.1f},{py:.1f}L{px:.1f},{py + 5:.1f}L{px - 5:.1f},{py:.1f}Z" '
                f'fill="#FFFFFF" stroke="{AREA_COLOUR}" stroke-width="1.5"/>')
    return f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.2" fill="{AREA_COLOUR}"/>'


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1].rstrip() + "\u2026"


def _spaced(points: Sequence[Point], x, room: float) -> list[Point]:
    """Points to label so no two labels overlap: the last always, then every earlier one at
    least `room` left of the previous label kept."""
    kept: list[Point] = []
    for p in reversed(points):
        if not kept or x(kept[-1]) - x(p) >= room:
            kept.append(p)
    return kept[::-1]
