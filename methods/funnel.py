"""Funnel plot limits and the position of each area on the funnel.

Why: ranking many areas by rate overstates differences between small areas. A funnel plot
draws control limits around the benchmark rate that widen as the population shrinks; the
convention asks for 95% and 99.8% limits (docs/methods.md). Limits are exact Poisson limits on
the expected count E = benchmark rate × population / per, in their chi-square form
(lower = chi2(alpha/2, 2E)/2, upper = chi2(1 - alpha/2, 2E + 2)/2), divided by the population
and scaled back to a rate.

Imports: numpy, scipy, pandas only. No I/O.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

DEFAULT_LEVELS = (0.95, 0.998)
ABOVE_998 = "above 99.8% limit"
ABOVE_95 = "above 95% limit"
WITHIN = "within 95% limits"
BELOW_95 = "below 95% limit"
BELOW_998 = "below 99.8% limit"
NOT_CLASSIFIED = "not classified"


def level_suffix(level: float) -> str:
    """Column suffix for a level: 0.95 -> '95', 0.998 -> '99_8'."""
    return f"{level * 100:g}".replace(".", "_")


def _exact_expected_limits(expected: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1 - level
    e = np.asarray(expected, dtype=float)
    ok = np.isfinite(e) & (e >= 0)
    ee = np.where(ok, e, 1.0)
    lower = np.where(ee > 0, stats.chi2.ppf(alpha / 2, np.maximum(2 * ee, 1e-12)) / 2, 0.0)
    upper = stats.chi2.ppf(1 - alpha / 2, 2 * ee + 2) / 2
    return np.where(ok, lower, np.nan), np.where(ok, upper, np.nan)


def funnel_limits(
    benchmark_rate: float,
    populations: Sequence[float] | np.ndarray | pd.Series,
    per: float = 100_000,
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> pd.DataFrame:
    """Funnel limits (as rates per `per`) for each population.

    Returns a frame with columns population, expected, and lower_<s>/upper_<s> for each level
    (s from `level_suffix`: lower_95, upper_95, lower_99_8, upper_99_8 by default). Pass e.g.
    np.geomspace(1e3, 2e6, 200) to draw smooth funnel lines. Non-positive or missing
    populations give NaN limits.
    """
    pop = np.asarray(populations, dtype=float)
    ok = np.isfinite(pop) & (pop > 0)
    expected = np.where(ok, benchmark_rate * np.where(ok, pop, 1.0) / per, np.nan)
    out = pd.DataFrame({"population": pop, "expected": expected})
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level!r}")
        lo, up = _exact_expected_limits(expected, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(ok, per / np.where(ok, pop, 1.0), np.nan)
        out[f"lower_{level_suffix(level)}"] = lo * scale
        out[f"upper_{level_suffix(level)}"] = up * scale
    if isinstance(populations, pd.Series):
        out.index = populations.index
    return out


def classify_funnel(
    counts: Sequence[float] | np.ndarray | pd.Series,
    populations: Sequence[float] | np.ndarray | pd.Series,
    benchmark_rate: float,
    per: float = 100_000,
) -> pd.Series:
    """Where each area sits on the funnel: 'above 99.8% limit', 'above 95% limit',
    'within 95% limits', 'below 95% limit', 'below 99.8% limit', or 'not classified' (missing
    count or population). A rate exactly on a limit counts as within it."""
    c = np.asarray(counts, dtype=float)
    limits = funnel_limits(benchmark_rate, populations, per, DEFAULT_LEVELS)
    pop = limits["population"].to_numpy()
    ok = np.isfinite(c) & np.isfinite(pop) & (pop > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ok, c / np.where(ok, pop, 1.0) * per, np.nan)
    conditions = [
        ~ok,
        rate > limits["upper_99_8"].to_numpy(),
        rate > limits["upper_95"].to_numpy(),
        rate < limits["lower_99_8"].to_numpy(),
        rate < limits["lower_95"].to_numpy(),
    ]
    labels = np.select(conditions, [NOT_CLASSIFIED, ABOVE_998, ABOVE_95, BELOW_998, BELOW_95], WITHIN)
    index = counts.index if isinstance(counts, pd.Series) else None
    return pd.Series(labels, index=index, name="funnel_position", dtype=object)
