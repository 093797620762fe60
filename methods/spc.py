"""Statistical process control (XmR / individuals chart) for monthly series such as police.uk,
one chart per continuous run of the series.

Why: month-to-month counts jump about; an XmR chart separates common-cause noise from a
change worth looking at, and is what the convention asks for (docs/methods.md): centre line =
mean, limits = mean ± 2.66 × mean moving range (2.66 = 3 / d2, d2 = 1.128 for ranges of two).

Runs: the police.uk mirror holds 2016-2019 and 2024 with nothing between; a mean and limits
pooled across such a gap describe neither period and make every point a "special cause". The
series is therefore split into runs wherever more than `max_missing` consecutive months are
missing (docs/methods.md: "a gap of more than one period starts a new run"), and each run gets
its own mean and limits. Inside a run a single missing month is a gap, never zero: no moving
range is taken across it and it ends any run of points.

Too few points: a run with fewer than 12 months is drawn with its mean but no limits and no
signals, and says "too few points for limits" (the NHS "Making Data Count" guidance).

Special-cause rules (within a run with limits):
- outside limits: a point above the upper or below the lower limit;
- shift: 7 or more consecutive points on the same side of the mean (all flagged; a point
  exactly on the mean ends the run);
- trend: 7 or more consecutive points each strictly higher (or each strictly lower) than the
  one before (all flagged; a repeat value ends the run).

Imports: numpy, pandas only. No I/O.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SCALING = 2.66
RUN_LENGTH = 7
MIN_RELIABLE_POINTS = 12
MAX_MISSING_IN_RUN = 1
TOO_FEW = "too few points for limits"
POINT_COLUMNS = ["value", "moving_range", "run", "centre", "upper", "lower",
                 "outside_limits", "shift", "trend", "special_cause"]


@dataclass(frozen=True)
class SpcRun:
    """One continuous run: its months, mean, limits (None when too few points) and notes."""

    start: pd.Period
    end: pd.Period
    n_points: int
    mean: float | None
    mean_moving_range: float | None
    upper_limit: float | None
    lower_limit: float | None
    notes: tuple[str, ...]

    @property
    def has_limits(self) -> bool:
        return self.upper_limit is not None

    def label(self) -> str:
        span = f"{self.start:%b %Y}" if self.start == self.end else f"{self.start:%b %Y}-{self.end:%b %Y}"
        return f"{span} ({self.n_points} month{'s' if self.n_points != 1 else ''})"


@dataclass(frozen=True)
class SpcResult:
    """Runs, the latest run's limits, and per-month flags.

    `points` is indexed by month (PeriodIndex, freq 'M', every month from first to last) with
    columns value (NaN for missing months), moving_range (NaN at and after a gap), run (index
    into `runs`, -1 for a month between runs), centre/upper/lower (that run's mean and limits,
    NaN where it has none), outside_limits, shift, trend and special_cause (any of the three).
    mean, mean_moving_range, upper_limit, lower_limit, n_points and reliable describe the
    latest run, the one a reader acts on; `notes` covers the whole chart.
    """

    mean: float | None
    mean_moving_range: float | None
    upper_limit: float | None
    lower_limit: float | None
    n_points: int
    reliable: bool
    notes: tuple[str, ...]
    points: pd.DataFrame
    runs: tuple[SpcRun, ...] = ()


def _monthly(series: pd.Series) -> pd.Series:
    idx = series.index
    if isinstance(idx, pd.DatetimeIndex):
        idx = idx.to_period("M")
    elif isinstance(idx, pd.PeriodIndex):
        idx = idx.asfreq("M")
    else:
        idx = pd.PeriodIndex(pd.to_datetime(idx), freq="M")
    s = pd.Series(pd.to_numeric(series, errors="coerce").astype(float).to_numpy(), index=idx)
    if s.index.has_duplicates:
        raise ValueError("more than one value for the same month")
    s = s.sort_index()
    if s.empty:
        return s
    full = pd.period_range(s.index.min(), s.index.max(), freq="M")
    return s.reindex(full)


def _flag_runs(codes: np.ndarray, length: int) -> np.ndarray:
    """Flag every element of each run of >= `length` equal non-zero codes (0 breaks a run)."""
    flags = np.zeros(len(codes), dtype=bool)
    start = 0
    for i in range(1, len(codes) + 1):
        if i == len(codes) or codes[i] != codes[start]:
            if codes[start] != 0 and i - start >= length:
                flags[start:i] = True
            start = i
    return flags


def _run_bounds(present: np.ndarray, max_missing: int) -> list[tuple[int, int]]:
    """(first, last) positions of each run: present months with at most `max_missing`
    missing months between neighbours."""
    pos = np.flatnonzero(present)
    if not len(pos):
        return []
    bounds, start = [], pos[0]
    for a, b in zip(pos[:-1], pos[1:], strict=True):
        if b - a - 1 > max_missing:
            bounds.append((start, a))
            start = b
    bounds.append((start, pos[-1]))
    return bounds


def _signals(x: np.ndarray, mean: float, upper: float, lower: float, run_length: int) -> tuple[np.ndarray, ...]:
    present = np.isfinite(x)
    outside = present & ((x > upper) | (x < lower))
    side = np.where(present, np.sign(np.nan_to_num(x - mean)), 0)  # a gap codes 0 and ends a run
    shift = _flag_runs(side.astype(int), run_length)
    step = np.zeros(len(x), dtype=int)
    if len(x) > 1:
        d = np.diff(x)
        step[1:] = np.where(np.isfinite(d), np.sign(np.nan_to_num(d)), 0).astype(int)
    # A run of k equal steps covers k + 1 points, so look for run_length - 1 steps and then
    # include the point each run starts from (step[0] is 0, so there is always one before).
    step_runs = _flag_runs(step, run_length - 1)
    trend = step_runs.copy()
    for i in np.flatnonzero(step_runs[1:] & ~step_runs[:-1]) + 1:
        trend[i - 1] = True
    return outside, shift, trend


def xmr_chart(
    series: pd.Series,
    *,
    counts: bool = True,
    run_length: int = RUN_LENGTH,
    max_missing: int = MAX_MISSING_IN_RUN,
    min_points: int = MIN_RELIABLE_POINTS,
) -> SpcResult:
    """Build an XmR chart per continuous run from a monthly series (index: months as Period
    or Timestamp).

    With `counts=True` the lower limit is floored at 0, because a count cannot be negative
    (the note says so when it applies).
    """
    s = _monthly(series)
    x = s.to_numpy()
    present = np.isfinite(x)
    n_all = len(x)
    mr = np.full(n_all, np.nan)
    if n_all > 1:
        mr[1:] = np.abs(np.diff(x))  # NaN wherever either month is missing: no range across a gap
    cols = {c: np.full(n_all, np.nan) for c in ("centre", "upper", "lower")}
    run_of = np.full(n_all, -1, dtype=int)
    flags = {c: np.zeros(n_all, dtype=bool) for c in ("outside_limits", "shift", "trend")}
    runs: list[SpcRun] = []
    for k, (a, b) in enumerate(_run_bounds(present, max_missing)):
        xr = x[a:b + 1]
        mrr = mr[a + 1:b + 1]
        n = int(np.isfinite(xr).sum())
        mean = float(np.nanmean(xr))
        mr_bar = float(np.nanmean(mrr)) if np.isfinite(mrr).any() else None
        notes: list[str] = []
        upper = lower = None
        if n < min_points:
            notes.append(f"{TOO_FEW} ({n} month{'s' if n != 1 else ''}, fewer than {min_points})")
        elif mr_bar is None:
            notes.append("no two consecutive months with data: no moving range, so no limits")
        else:
            upper = mean + SCALING * mr_bar
            lower = mean - SCALING * mr_bar
            if counts and lower < 0:
                lower = 0.0
                notes.append("lower limit floored at 0 because counts cannot be negative")
        missing = int((~np.isfinite(xr)).sum())
        if missing:
            notes.append(f"{missing} missing month(s) shown as gaps, not zeros")
        run = SpcRun(s.index[a], s.index[b], n, mean, mr_bar, upper, lower, tuple(notes))
        runs.append(run)
        run_of[a:b + 1] = k
        cols["centre"][a:b + 1] = mean
        if upper is not None and lower is not None:
            cols["upper"][a:b + 1] = upper
            cols["lower"][a:b + 1] = lower
            outside, shift, trend = _signals(xr, mean, upper, lower, run_length)
            flags["outside_limits"][a:b + 1] = outside
            flags["shift"][a:b + 1] = shift
            flags["trend"][a:b + 1] = trend

    chart_notes: list[str] = []
    if not runs:
        chart_notes.append("no months with data")
    elif len(runs) > 1:
        chart_notes.append(f"{len(runs)} separate runs (no mean or limits across a gap of more than "
                           f"{max_missing} month{'s' if max_missing != 1 else ''}): "
                           + "; ".join(r.label() for r in runs))
    for r in runs:
        prefix = f"{r.label()}: " if len(runs) > 1 else ""
        chart_notes += [prefix + n for n in r.notes]

    points = pd.DataFrame({"value": x, "moving_range": mr, "run": run_of, **cols, **flags}, index=s.index)
    points["special_cause"] = points["outside_limits"] | points["shift"] | points["trend"]
    latest = runs[-1] if runs else None
    return SpcResult(
        mean=latest.mean if latest else None,
        mean_moving_range=latest.mean_moving_range if latest else None,
        upper_limit=latest.upper_limit if latest else None,
        lower_limit=latest.lower_limit if latest else None,
        n_points=latest.n_points if latest else 0,
        reliable=bool(latest and latest.has_limits),
        notes=tuple(chart_notes),
        points=points[POINT_COLUMNS],
        runs=tuple(runs),
    )
