"""Crude rates, proportions and directly standardised rates with their confidence intervals.

Why this module exists: a number on our screen must be checkable against the publisher's own,
so the interval methods follow the conventions used by public-health statisticians in England
(docs/methods.md): Byar's approximation for counts of 10 or more, the exact Poisson interval
(chi-square form) below 10, Wilson score for proportions, and Dobson's method for directly
standardised rates. The formulas are written here from their published definitions.

Imports: numpy, scipy, pandas only. No I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

BYAR_MIN_COUNT = 10
"""Byar's approximation is used at and above this count; the exact interval below it."""

NO_DENOMINATOR = "no denominator"
NO_COUNT = "no count"
INVALID_COUNT = "invalid count"
BYAR = "Byar"
EXACT = "exact Poisson"
WILSON = "Wilson score"
DOBSON = "Dobson (Byar)"
FEWER_THAN_10 = "not shown: fewer than 10 events"


@dataclass(frozen=True)
class RateResult:
    """A rate (or proportion) with its interval, the method used and why it may be missing.

    `value`, `lower` and `upper` are None when the figure cannot be computed; `note` then says why
    in words a page can show as-is.
    """

    value: float | None
    lower: float | None
    upper: float | None
    method: str
    note: str | None = None


def z_value(level: float) -> float:
    """Two-sided standard normal quantile for a confidence level (1.96 for 0.95)."""
    _check_level(level)
    return float(stats.norm.ppf(1 - (1 - level) / 2))


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be between 0 and 1, got {level!r}")


def _is_missing(x: object) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return bool(np.isnan(x))  # type: ignore[arg-type]
    except TypeError:
        return False


def poisson_count_limits(
    count: np.ndarray | pd.Series | float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confidence limits for Poisson counts, choosing the method by count as the convention says.

    Returns (lower, upper, used_byar) arrays of the same shape. Exact (chi-square) limits:
    lower = chi2(alpha/2, 2O)/2 (0 when O = 0), upper = chi2(1 - alpha/2, 2O + 2)/2.
    Byar: lower = O(1 - 1/(9O) - z/(3 sqrt O))^3, upper = (O+1)(1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3.
    Missing or negative counts give NaN limits.
    """
    _check_level(level)
    alpha = 1 - level
    z = z_value(level)
    o = np.asarray(count, dtype=float)
    valid = np.isfinite(o) & (o >= 0)
    byar = valid & (o >= BYAR_MIN_COUNT)
    exact = valid & ~byar
    lower = np.full(o.shape, np.nan)
    upper = np.full(o.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ob = np.where(byar, o, BYAR_MIN_COUNT)  # placeholder avoids sqrt(0) warnings
        byar_low = ob * (1 - 1 / (9 * ob) - z / (3 * np.sqrt(ob))) ** 3
        byar_up = (ob + 1) * (1 - 1 / (9 * (ob + 1)) + z / (3 * np.sqrt(ob + 1))) ** 3
        oe = np.where(exact, o, 0.0)
        exact_low = np.where(oe > 0, stats.chi2.ppf(alpha / 2, np.maximum(2 * oe, 1e-12)) / 2, 0.0)
        exact_up = stats.chi2.ppf(1 - alpha / 2, 2 * oe + 2) / 2
    lower = np.where(byar, byar_low, np.where(exact, exact_low, lower))
    upper = np.where(byar, byar_up, np.where(exact, exact_up, upper))
    return lower, upper, byar


def crude_rate(
    count: float | None,
    population: float | None,
    per: float = 100_000,
    level: float = 0.95,
) -> RateResult:
    """Crude rate per `per` people with its interval (Byar for counts >= 10, exact below).

    A missing, zero or NaN population gives value None with note "no denominator": dividing by
    an unknown population would invent a number. A zero count is a real zero: the rate is 0,
    the lower limit 0, and the upper limit comes from the exact interval.
    """
    _check_level(level)
    if why := _no_figure(count, population):
        return RateResult(None, None, None, "", why)
    o = float(count)  # type: ignore[arg-type]
    if o < 0:
        return RateResult(None, None, None, "", INVALID_COUNT)
    lower, upper, byar = poisson_count_limits(np.array([o]), level)
    scale = per / float(population)  # type: ignore[arg-type]
    return RateResult(
        value=o * scale,
        lower=float(lower[0]) * scale,
        upper=float(upper[0]) * scale,
        method=BYAR if byar[0] else EXACT,
    )


def crude_rate_frame(
    df: pd.DataFrame,
    count_col: str = "count",
    pop_col: str = "denominator",
    per: float = 100_000,
    level: float = 0.95,
) -> pd.DataFrame:
    """Vectorised `crude_rate` for many areas: returns a new frame with rate columns added.

    Added columns: value, lower_ci, upper_ci, ci_method ('Byar' / 'exact Poisson' / None) and
    rate_note (None, 'no count', 'no denominator' or 'invalid count'). Existing columns of those
    names are replaced; the input frame is not modified.
    """
    _check_level(level)
    o, n, no_count, no_denom = _frame_inputs(df, count_col, pop_col)
    invalid = ~no_count & ~no_denom & (o < 0)
    ok = ~(no_count | no_denom | invalid)
    lower, upper, byar = poisson_count_limits(np.where(ok, o, np.nan), level)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(ok, per / np.where(ok, n, 1.0), np.nan)
    return _with_figure_columns(df, ok, o * scale, lower * scale, upper * scale,
                                np.where(byar, BYAR, EXACT), (no_count, no_denom, invalid))


def _no_figure(count: object, denominator: object) -> str | None:
    """Why one count over one denominator gives no figure (no count, no denominator), else None:
    the same rule for a rate and a proportion."""
    if _is_missing(count):
        return NO_COUNT
    if _is_missing(denominator) or float(denominator) <= 0:  # type: ignore[arg-type]
        return NO_DENOMINATOR
    return None


def _frame_inputs(df: pd.DataFrame, count_col: str, denominator_col: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(counts, denominators, no count, no denominator) of a frame, by `_no_figure`'s rule per row."""
    o = pd.to_numeric(df[count_col], errors="coerce").astype(float).to_numpy()
    n = pd.to_numeric(df[denominator_col], errors="coerce").astype(float).to_numpy()
    no_count = ~np.isfinite(o)
    no_denom = ~no_count & ~(np.isfinite(n) & (n > 0))
    return o, n, no_count, no_denom


def _with_figure_columns(df: pd.DataFrame, ok: np.ndarray, value: np.ndarray, lower: np.ndarray,
                         upper: np.ndarray, method: np.ndarray,
                         why: tuple[np.ndarray, np.ndarray, np.ndarray]) -> pd.DataFrame:
    """A copy of `df` with value, lower_ci, upper_ci, ci_method and rate_note added (NaN, None
    and the reason where a row is not `ok`), the columns both frame helpers return."""
    out = df.copy()
    out["value"] = np.where(ok, value, np.nan)
    out["lower_ci"] = np.where(ok, lower, np.nan)
    out["upper_ci"] = np.where(ok, upper, np.nan)
    out["ci_method"] = pd.Series(np.where(ok, method, None), index=out.index, dtype=object)
    out["rate_note"] = _row_notes(*why, out.index)
    return out


def _row_notes(no_count: np.ndarray, no_denom: np.ndarray, invalid: np.ndarray, index: pd.Index) -> pd.Series:
    """Why a row has no rate (shared by the rate and proportion frame helpers)."""
    note = np.full(len(index), None, dtype=object)
    note[no_count] = NO_COUNT
    note[no_denom] = NO_DENOMINATOR
    note[invalid] = INVALID_COUNT
    return pd.Series(note, index=index, dtype=object)


def wilson_limits(
    numerator: np.ndarray | pd.Series | float,
    denominator: np.ndarray | pd.Series | float,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits for proportions (as fractions 0..1); NaN where not computable.

    (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n). Chosen over the normal
    approximation because it stays inside 0..1 and behaves at 0 and n.
    """
    z = z_value(level)
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0) & (x <= n)
    with np.errstate(divide="ignore", invalid="ignore"):
        nn = np.where(ok, n, 1.0)
        p = np.where(ok, x, 0.0) / nn
        centre = p + z**2 / (2 * nn)
        half = z * np.sqrt(p * (1 - p) / nn + z**2 / (4 * nn**2))
        denom = 1 + z**2 / nn
        # Rounding can leave e.g. 5e-15 at x = 0; pin the limits to p at the edges exactly.
        lower = np.where(x == 0, 0.0, np.clip((centre - half) / denom, 0.0, p))
        upper = np.where(x == n, 1.0, np.clip((centre + half) / denom, p, 1.0))
    return np.where(ok, lower, np.nan), np.where(ok, upper, np.nan)


def proportion(
    numerator: float | None,
    denominator: float | None,
    level: float = 0.95,
    per: float = 100,
) -> RateResult:
    """Proportion (per 100 = percentage by default) with a Wilson score interval."""
    _check_level(level)
    if why := _no_figure(numerator, denominator):
        return RateResult(None, None, None, "", why)
    x, n = float(numerator), float(denominator)  # type: ignore[arg-type]
    if x < 0 or x > n:
        return RateResult(None, None, None, "", INVALID_COUNT)
    lower, upper = wilson_limits(x, n, level)
    return RateResult(x / n * per, float(lower) * per, float(upper) * per, WILSON)


def proportion_frame(
    df: pd.DataFrame,
    numerator_col: str = "count",
    denominator_col: str = "denominator",
    level: float = 0.95,
    per: float = 100,
) -> pd.DataFrame:
    """Vectorised `proportion`: same added columns as `crude_rate_frame` (value, lower_ci,
    upper_ci, ci_method, rate_note)."""
    _check_level(level)
    x, n, no_count, no_denom = _frame_inputs(df, numerator_col, denominator_col)
    invalid = ~no_count & ~no_denom & ((x < 0) | (x > n))
    ok = ~(no_count | no_denom | invalid)
    lower, upper = wilson_limits(np.where(ok, x, np.nan), np.where(ok, n, np.nan), level)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = x / np.where(ok, n, 1.0) * per
    return _with_figure_columns(df, ok, value, lower * per, upper * per,
                                np.full(len(df), WILSON, dtype=object), (no_count, no_denom, invalid))


def directly_standardised_rate(
    counts: np.ndarray | pd.Series | list[float],
    populations: np.ndarray | pd.Series | list[float],
    weights: np.ndarray | pd.Series | list[float],
    per: float = 100_000,
    level: float = 0.95,
) -> RateResult:
    """Directly standardised rate with Dobson's interval (Byar limits on the total count).

    One element per age band (or other stratum); `weights` is the standard population (e.g.
    ESP2013) and is supplied by the caller. DSR = sum(w_i O_i / n_i) / sum(w);
    var(DSR) = sum(w_i² O_i / n_i²) / sum(w)²; limits = DSR + sqrt(var(DSR) / O) (O_L/U - O)
    where O is the total count and O_L/U its Byar limits (Dobson et al. 1991).
    Not shown (value None) when the total count is below 10, as the convention requires.
    """
    _check_level(level)
    o = np.asarray(counts, dtype=float)
    n = np.asarray(populations, dtype=float)
    w = np.asarray(weights, dtype=float)
    if not (o.shape == n.shape == w.shape) or o.ndim != 1:
        raise ValueError("counts, populations and weights must be 1-D and the same length")
    if np.isnan(o).any():
        return RateResult(None, None, None, DOBSON, NO_COUNT)
    if (~np.isfinite(n)).any() or (n <= 0).any():
        return RateResult(None, None, None, DOBSON, NO_DENOMINATOR)
    if (o < 0).any():
        return RateResult(None, None, None, DOBSON, INVALID_COUNT)
    total = float(o.sum())
    if total < BYAR_MIN_COUNT:
        return RateResult(None, None, None, DOBSON, FEWER_THAN_10)
    sw = w.sum()
    dsr = float((w * o / n).sum() / sw)
    var_dsr = float((w**2 * o / n**2).sum() / sw**2)
    lo, up, _ = poisson_count_limits(np.array([total]), level)
    k = math.sqrt(var_dsr / total)
    return RateResult(
        value=dsr * per,
        lower=(dsr + k * (float(lo[0]) - total)) * per,
        upper=(dsr + k * (float(up[0]) - total)) * per,
        method=DOBSON,
    )
