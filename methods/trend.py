"""Trend marker for an annual (or other non-overlapping) series: increasing / decreasing / no
significant change, or 'not assessed' with a reason.

Why this method: the Office for Health Improvement and Disparities' Fingertips "recent trend"
uses a chi-squared test for trend on the most recent five points, so a marker on our screen
can be set beside theirs. The test (Armitage 1955; Altman, Practical Statistics for Medical
Research, 10.7) with scores x_i (time in years), events O_i, denominators n_i,
p = sum O / sum n:

    T  = sum x_i O_i - p sum x_i n_i
    V  = q [sum x_i² n_i - (sum x_i n_i)² / sum n]
    X² = T² / V  on 1 degree of freedom,

with q = p(1 - p) for proportions (Cochran-Armitage) and q = p for rates, which is the score
test for the slope of a Poisson log-linear model with log-population offset. The direction is
the sign of T. The convention (docs/methods.md) requires at least five non-overlapping points
and no series break; otherwise the trend is 'not assessed' and the reason is returned.

Imports: numpy, scipy, pandas and methods.wording only. No I/O.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from methods.wording import in_brackets

NOT_ASSESSED = "not assessed"
INCREASING = "increasing"
DECREASING = "decreasing"
NO_CHANGE = "no significant change"
MIN_POINTS = 5


@dataclass(frozen=True)
class TrendResult:
    """direction: 'increasing' | 'decreasing' | 'no significant change' | 'not assessed'."""

    direction: str
    reason: str | None
    statistic: float | None
    p_value: float | None
    n_points: int
    method: str


def chi_square_trend(
    counts: np.ndarray, denominators: np.ndarray, scores: np.ndarray, kind: str = "rate"
) -> tuple[float, float, float]:
    """Chi-squared test for linear trend; returns (X², p-value, T). See the module docstring."""
    o = np.asarray(counts, dtype=float)
    n = np.asarray(denominators, dtype=float)
    x = np.asarray(scores, dtype=float)
    big_n = n.sum()
    p = o.sum() / big_n
    if kind == "proportion":
        q = p * (1 - p)
    elif kind == "rate":
        q = p
    else:
        raise ValueError("kind must be 'rate' or 'proportion'")
    t = float((x * o).sum() - p * (x * n).sum())
    v = float(q * ((x**2 * n).sum() - (x * n).sum() ** 2 / big_n))
    if not v > 0:
        return float("nan"), float("nan"), t
    x2 = t**2 / v
    return x2, float(stats.chi2.sf(x2, 1)), t


def assess_trend(
    series: pd.DataFrame,
    *,
    count_col: str = "count",
    denominator_col: str = "denominator",
    start_col: str = "period_start",
    end_col: str = "period_end",
    break_col: str | None = "series_break",
    kind: str = "rate",
    n_points: int = MIN_POINTS,
    level: float = 0.95,
    require_consecutive: bool = True,
) -> TrendResult:
    """Assess the trend over the most recent `n_points` periods of one area's series.

    `series` has one row per period. A True in `break_col` on a row means the series breaks
    *before* that period (e.g. the first NDQIS year), so a break flagged on any of the last
    `n_points` rows except the earliest one stops the assessment. Periods must not overlap
    (rolling 12-month figures published quarterly do), must follow one another without a
    missing period (the convention's "consecutive points"; `require_consecutive`), and each
    must have a count and a positive denominator. Significance is tested at `level`
    (two-sided, 1 degree of freedom).
    """
    method = f"chi-squared test for trend ({'Poisson' if kind == 'rate' else 'Cochran-Armitage'})"
    if n_points < MIN_POINTS:
        raise ValueError(f"the convention needs at least {MIN_POINTS} points")
    df = series.sort_values(start_col)
    if len(df) < n_points:
        return TrendResult(NOT_ASSESSED, f"fewer than {n_points} points", None, None, len(df), method)
    last = df.tail(n_points)
    starts = pd.to_datetime(last[start_col]).dt.normalize().to_numpy()
    ends = pd.to_datetime(last[end_col]).dt.normalize().to_numpy()
    if (starts[1:] <= ends[:-1]).any():
        return TrendResult(NOT_ASSESSED, "periods overlap", None, None, n_points, method)
    if require_consecutive and (starts[1:] != ends[:-1] + np.timedelta64(1, "D")).any():
        return TrendResult(NOT_ASSESSED, f"a gap in the series within the last {n_points} points", None, None,
                           n_points, method)
    if break_col and break_col in last:
        breaks = last[break_col].fillna(False).astype(bool).to_numpy()
        if breaks[1:].any():
            return TrendResult(
                NOT_ASSESSED, f"series break within the last {n_points} points", None, None,
                n_points, method,
            )
    o = pd.to_numeric(last[count_col], errors="coerce").astype(float).to_numpy()
    n = pd.to_numeric(last[denominator_col], errors="coerce").astype(float).to_numpy()
    if not np.isfinite(o).all():
        return TrendResult(NOT_ASSESSED, "a count is missing or suppressed", None, None, n_points, method)
    if not (np.isfinite(n).all() and (n > 0).all()):
        return TrendResult(NOT_ASSESSED, "a denominator is missing", None, None, n_points, method)
    if kind == "proportion" and (o > n).any():
        raise ValueError("numerator exceeds denominator")
    # Scores in years from the first period, so unequal spacing is respected.
    scores = (starts - starts[0]) / np.timedelta64(1, "D") / 365.25
    x2, p, t = chi_square_trend(o, n, scores, kind)
    if np.isnan(x2):
        return TrendResult(NOT_ASSESSED, "nothing to test: no events or no variation", None, None, n_points, method)
    if p < 1 - level:
        direction = INCREASING if t > 0 else DECREASING
    else:
        direction = NO_CHANGE
    return TrendResult(direction, None, x2, p, n_points, method)


# ---------------------------------------------------------------- the marker a page shows
UNASSESSED_QUALITIES = ("synthetic", "modelled")
MIN_PERIOD_DAYS = 360  # Fingertips tests annual figures only: not monthly or quarterly ones
SYMBOLS = {INCREASING: "↑", DECREASING: "↓", NO_CHANGE: "→", NOT_ASSESSED: "–"}


@dataclass(frozen=True)
class TrendMarker:
    """What a page shows for the recent trend: symbol and words, plus the test behind them.

    rating: 'worse' | 'better' when the indicator has a polarity and the trend is significant,
    else None (polarity 'none' gives plain 'increasing' / 'decreasing').
    """

    result: TrendResult
    symbol: str
    words: str
    detail: str
    rating: str | None

    @property
    def direction(self) -> str:
        return self.result.direction

    @property
    def text(self) -> str:
        """Symbol, words and detail in one line, e.g. '↑ Increasing and getting worse (...)'."""
        return f"{self.symbol} {self.words}" + (f" {in_brackets(self.detail)}" if self.detail else "")


def trend_kind(value_type: str) -> tuple[str | None, str | None]:
    """('rate' | 'proportion', None) for a kind of value the chi-squared test applies to, else
    (None, reason). `value_type` is the indicator registry's (data/indicators.csv): crude_rate,
    percentage, standardised_rate, count, estimate. Directly standardised rates are not tested:
    the test here works on crude counts and populations, which would not be the figure shown."""
    if value_type == "standardised_rate":
        return None, "directly standardised rates are not tested here (the test uses crude counts)"
    if value_type == "percentage":
        return "proportion", None
    if value_type == "crude_rate":
        return "rate", None
    return None, "counts without a population base are not tested"


def _break_flags(series: pd.DataFrame, breaks: pd.DataFrame | None, start_col: str) -> pd.Series:
    """True on the first period that starts on or after each break date."""
    flags = pd.Series(False, index=series.index)
    if breaks is None or breaks.empty:
        return flags
    starts = pd.to_datetime(series[start_col])
    for when in pd.to_datetime(breaks["break_date"]).dropna().unique():
        after = starts[starts >= when]
        before = starts[starts < when]
        if len(after) and len(before):
            flags[after.idxmin()] = True
    return flags


def trend_marker(
    series: pd.DataFrame,
    *,
    value_type: str,
    polarity: str = "none",
    breaks: pd.DataFrame | None = None,
    n_points: int = MIN_POINTS,
    level: float = 0.95,
    start_col: str = "period_start",
    end_col: str = "period_end",
    quality_col: str = "quality",
) -> TrendMarker:
    """The Fingertips-style recent-trend marker for one area's series of one indicator.

    Not assessed (with the reason in words) for: synthetic or modelled figures, periods shorter
    than a year (monthly and quarterly figures are not tested), a kind of value the test does
    not apply to (`value_type`, see `trend_kind`), and everything `assess_trend` declines (fewer than `n_points`
    points, overlapping periods, a gap, a series break inside the window, a missing count or
    population). `breaks` holds the series_breaks rows (a break_date column) for this
    indicator and area. With polarity 'higher_is_worse' / 'higher_is_better' a significant
    trend reads "and getting worse / better"; with 'none' it is only increasing / decreasing.
    """
    method = "chi-squared test for trend"
    df = series.sort_values(start_col).reset_index(drop=True)
    kind, why_not = trend_kind(value_type)
    reason: str | None = None
    if df.empty:
        reason = "no figures"
    elif quality_col in df and df[quality_col].isin(UNASSESSED_QUALITIES).any():
        reason = "synthetic or modelled figures are not tested for trend"
    else:
        days = (pd.to_datetime(df[end_col]) - pd.to_datetime(df[start_col])).dt.days + 1
        if days.median() < MIN_PERIOD_DAYS:
            reason = "monthly and quarterly figures are not tested (annual figures only)"
        elif kind is None:
            reason = why_not
    if reason is not None:
        result = TrendResult(NOT_ASSESSED, reason, None, None, len(df), method)
    else:
        frame = df.assign(_break=_break_flags(df, breaks, start_col))
        result = assess_trend(frame, start_col=start_col, end_col=end_col, break_col="_break",
                              kind=kind or "rate", n_points=n_points, level=level)
    rating = None
    if result.direction in (INCREASING, DECREASING) and polarity in ("higher_is_worse", "higher_is_better"):
        up_is_bad = polarity == "higher_is_worse"
        rating = "worse" if (result.direction == INCREASING) == up_is_bad else "better"
    if result.direction == NOT_ASSESSED:
        words, detail = "No trend marker", str(result.reason)
    else:
        words = result.direction.capitalize() + (f" and getting {rating}" if rating else "")
        labels = df.sort_values(start_col).tail(n_points).get("period_label")
        span = (f" from {labels.iloc[0]} to {labels.iloc[-1]}" if labels is not None and len(labels) else "")
        detail = (f"{result.method} over the last {result.n_points} periods{span}: "
                  + ("p < 0.001" if result.p_value < 0.001 else f"p = {result.p_value:.2g}")
                  + f", tested at the {level:.0%} level")
    return TrendMarker(result, SYMBOLS[result.direction], words, detail, rating)


# Okabe-Ito colours, as methods.benchmark uses for worse / better: a third channel beside the
# symbol and the words, and only where the indicator has a polarity.
TREND_COLOURS = {"worse": "#D55E00", "better": "#009E73"}


def trend_colour(marker: TrendMarker) -> str | None:
    """The colour of a significant trend on an indicator with a polarity; None otherwise
    (no significant change, not assessed, or polarity 'none': increasing is not 'worse')."""
    return TREND_COLOURS.get(marker.rating) if marker.rating else None
