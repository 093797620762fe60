"""Statistical process control (XmR / individuals chart) for monthly series such as police.uk.

Why: month-to-month counts jump about; an XmR chart separates common-cause noise from a
change worth looking at, and is what the convention asks for (docs/methods.md): centre line =
mean, limits = mean ± 2.66 × mean moving range (2.66 = 3 / d2, d2 = 1.128 for ranges of two).

Gaps: a missing month is missing, never zero. The series is re-indexed to every calendar month
between its first and last, a moving range is only taken between two consecutive months that
both have values, and runs stop at a gap. Special-cause rules:
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
POINT_COLUMNS = ["value", "moving_range", "outside_limits", "shift", "trend", "special_cause"]


@dataclass(frozen=True)
class SpcResult:
    """Limits and per-month flags.

    `points` is indexed by month (PeriodIndex, freq 'M', every month from first to last) with
    columns value (NaN for missing months), moving_range (NaN at and after a gap),
    outside_limits, shift, trend and special_cause (any of the three), all bool.
    Limits are None when there are fewer than 2 points or no moving range can be taken.
    """

    mean: float | None
    mean_moving_range: float | None
    upper_limit: float | None
    lower_limit: float | None
    n_points: int
    reliable: bool
    notes: tuple[str, ...]
    points: pd.DataFrame


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


def xmr_chart(series: pd.Series, *, counts: bool = True, run_length: int = RUN_LENGTH) -> SpcResult:
    """Build an XmR chart from a monthly series (index: months as Period or Timestamp).

    With `counts=True` the lower limit is floored at 0, because a count cannot be negative
    (the note says so when it applies). Fewer than 12 points still gives limits (from 2 on)
    but `reliable` is False and a note says the limits are unreliable.
    """
    s = _monthly(series)
    x = s.to_numpy()
    present = np.isfinite(x)
    n = int(present.sum())
    mr = np.full(len(x), np.nan)
    if len(x) > 1:
        mr[1:] = np.abs(np.diff(x))  # NaN wherever either month is missing: no range across a gap
    notes: list[str] = []
    mean = float(np.nanmean(x)) if n else None
    mr_bar = float(np.nanmean(mr)) if np.isfinite(mr).any() else None
    upper = lower = None
    if n < 2:
        notes.append("fewer than 2 months with data: no limits")
    elif mr_bar is None:
        notes.append("no two consecutive months with data: no moving range, so no limits")
    else:
        upper = mean + SCALING * mr_bar
        lower = mean - SCALING * mr_bar
        if counts and lower < 0:
            lower = 0.0
            notes.append("lower limit floored at 0 because counts cannot be negative")
    if n < MIN_RELIABLE_POINTS:
        notes.append(f"fewer than {MIN_RELIABLE_POINTS} months: limits are unreliable")
    if (~present).any() and n:
        notes.append(f"{int((~present).sum())} missing month(s) shown as gaps, not zeros")

    outside = np.zeros(len(x), dtype=bool)
    if upper is not None and lower is not None:
        outside = present & ((x > upper) | (x < lower))
    shift = np.zeros(len(x), dtype=bool)
    if mean is not None:
        side = np.where(present, np.sign(np.nan_to_num(x - mean)), 0)
        # Gaps already code as 0, which ends a run.
        shift = _flag_runs(side.astype(int), run_length)
    step = np.zeros(len(x), dtype=int)
    if len(x) > 1:
        d = np.diff(x)
        step[1:] = np.where(np.isfinite(d), np.sign(np.nan_to_num(d)), 0).astype(int)
    # A run of k equal steps covers k + 1 points, so look for run_length - 1 steps and then
    # include the point each run starts from.
    step_runs = _flag_runs(step, run_length - 1)
    trend = step_runs.copy()
    # step[0] is always 0, so every run starts at index >= 1 and has a point before it. When a
    # rising run meets a falling one, the turning point already belongs to the first run.
    for i in np.flatnonzero(step_runs[1:] & ~step_runs[:-1]) + 1:
        trend[i - 1] = True

    points = pd.DataFrame(
        {
            "value": x,
            "moving_range": mr,
            "outside_limits": outside,
            "shift": shift,
            "trend": trend,
            "special_cause": outside | shift | trend,
        },
        index=s.index,
    )
    return SpcResult(
        mean=mean,
        mean_moving_range=mr_bar,
        upper_limit=upper,
        lower_limit=lower,
        n_points=n,
        reliable=n >= MIN_RELIABLE_POINTS and upper is not None,
        notes=tuple(notes),
        points=points,
    )
