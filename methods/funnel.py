"""Funnel plot limits, the overdispersion adjustment, and the position of each area on the funnel.

Why: ranking many areas by rate overstates differences between small areas. A funnel plot
draws control limits around the benchmark rate that widen as the population shrinks; the
convention asks for 95% and 99.8% limits (docs/methods.md).

Poisson limits: exact limits on the expected count E = benchmark rate × population / per, in
their chi-square form (lower = chi2(alpha/2, 2E)/2, upper = chi2(1 - alpha/2, 2E + 2)/2),
divided by the population and scaled back to a rate.

Overdispersion: offence counts vary between areas far more than Poisson chance allows, so the
Poisson limits name most areas as outliers. We follow Spiegelhalter (2005, "Funnel plots for
comparing institutional performance", Stat Med 24:1185; "Handling over-dispersion of
performance indicators", Qual Saf Health Care 14:347) as the PHE/OHID funnel-plot tools and
the NHS-R FunnelPlotR package do for counts:

- work on the square-root scale, where a Poisson count is variance-stabilised: for each area
  y = sqrt(O / E) with target 1 and standard error s = 1 / (2 sqrt(E)), so the z-score is
  z = (y - 1) / s = 2 (sqrt(O) - sqrt(E));
- winsorise the z-scores at their 10th and 90th percentiles (linear interpolation, R's
  default quantile type 7), so the outliers we are looking for do not inflate the estimate;
- phi = mean of the winsorised z²; with no overdispersion n·phi ~ chi²(n - 1), so the
  one-sided test of phi > 1 is P(chi²(n - 1) >= n·phi);
- additive random effects (the default): tau² = (n·phi - (n - 1)) / (Σw - Σw² / Σw) with
  w = 1 / s² (DerSimonian-Laird moment estimate), limits 1 ± z_level · sqrt(s² + tau²) on the
  y scale, squared and multiplied by the benchmark rate;
- multiplicative: limits 1 ± z_level · sqrt(phi) · s on the y scale.

The adjustment is applied only when the test finds overdispersion at the 5% level (and, for
the additive method, tau² > 0); otherwise the exact Poisson limits are used and the result
says so. The unadjusted (Poisson) limits stay available through adjustment="none". Only areas
that may be judged (official or local figures) enter the estimate; modelled and synthetic
figures are never classified.

Imports: numpy, scipy, pandas only. No I/O.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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

RANDOM_EFFECTS = "random_effects"
MULTIPLICATIVE = "multiplicative"
UNADJUSTED = "none"
ADJUSTMENTS = (RANDOM_EFFECTS, MULTIPLICATIVE, UNADJUSTED)
DEFAULT_ADJUSTMENT = RANDOM_EFFECTS
ADJUSTMENT_NAMES = {
    RANDOM_EFFECTS: "additive random effects (DerSimonian-Laird tau²)",
    MULTIPLICATIVE: "multiplicative (limits widened by sqrt(phi))",
    UNADJUSTED: "none (exact Poisson limits)",
}
WINSOR = 0.1
SIGNIFICANCE = 0.05

ArrayLike = Sequence[float] | np.ndarray | pd.Series


def level_suffix(level: float) -> str:
    """Column suffix for a level: 0.95 -> '95', 0.998 -> '99_8'."""
    return f"{level * 100:g}".replace(".", "_")


@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's overdispersion estimate for one set of areas (see the module docstring).

    phi: mean winsorised z²; tau2: between-area variance on the sqrt(O/E) scale (0 when
    n·phi <= n - 1); statistic: n·phi; p_value: P(chi²(n - 1) >= n·phi); winsor_limits: the
    10th and 90th percentiles the z-scores were clipped to.
    """

    n: int
    phi: float
    tau2: float
    statistic: float
    p_value: float
    winsor_limits: tuple[float, float]
    significance: float = SIGNIFICANCE

    @property
    def overdispersed(self) -> bool:
        """True when the chi-square test finds phi > 1 at `significance`."""
        return self.n >= 2 and self.p_value < self.significance

    def applies(self, adjustment: str) -> bool:
        """Whether limits for `adjustment` are widened (else the Poisson limits are used)."""
        if adjustment == UNADJUSTED or not self.overdispersed:
            return False
        return self.tau2 > 0 if adjustment == RANDOM_EFFECTS else self.phi > 1


def _validated(adjustment: str) -> str:
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, got {adjustment!r}")
    return adjustment


def _expected(benchmark_rate: float, populations: ArrayLike, per: float) -> tuple[np.ndarray, np.ndarray]:
    pop = np.asarray(populations, dtype=float)
    ok = np.isfinite(pop) & (pop > 0)
    return np.where(ok, benchmark_rate * np.where(ok, pop, 1.0) / per, np.nan), ok


def funnel_z_scores(counts: ArrayLike, populations: ArrayLike, benchmark_rate: float,
                    per: float = 100_000) -> np.ndarray:
    """Unadjusted z-scores on the square-root scale: 2 (sqrt(O) - sqrt(E)); NaN where the
    count or population is missing."""
    o = np.asarray(counts, dtype=float)
    e, ok = _expected(benchmark_rate, populations, per)
    ok = ok & np.isfinite(o) & (o >= 0)
    return np.where(ok, 2 * (np.sqrt(np.where(ok, o, 0.0)) - np.sqrt(np.where(ok, e, 0.0))), np.nan)


def estimate_overdispersion(
    counts: ArrayLike,
    populations: ArrayLike,
    benchmark_rate: float,
    per: float = 100_000,
    *,
    winsor: float = WINSOR,
    significance: float = SIGNIFICANCE,
) -> Overdispersion:
    """phi, tau² and the chi-square test from the areas with a count and a population."""
    if not 0 <= winsor < 0.5:
        raise ValueError("winsor must be in [0, 0.5)")
    if not benchmark_rate > 0:
        raise ValueError("the benchmark rate must be positive")
    z = funnel_z_scores(counts, populations, benchmark_rate, per)
    e, _ = _expected(benchmark_rate, populations, per)
    keep = np.isfinite(z)
    z, e = z[keep], e[keep]
    n = len(z)
    if n < 2:
        return Overdispersion(n, float("nan"), 0.0, float("nan"), float("nan"), (float("nan"),) * 2, significance)
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw**2))
    statistic = n * phi
    w = 4 * e  # 1 / s², s = 1 / (2 sqrt(E))
    denom = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (statistic - (n - 1)) / denom) if denom > 0 else 0.0
    p_value = float(stats.chi2.sf(statistic, n - 1))
    return Overdispersion(n, phi, float(tau2), float(statistic), p_value, (float(lo), float(hi)), significance)


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
    populations: ArrayLike,
    per: float = 100_000,
    levels: Sequence[float] = DEFAULT_LEVELS,
    *,
    adjustment: str = UNADJUSTED,
    dispersion: Overdispersion | None = None,
) -> pd.DataFrame:
    """Funnel limits (as rates per `per`) for each population.

    Returns a frame with columns population, expected, and lower_<s>/upper_<s> for each level
    (s from `level_suffix`: lower_95, upper_95, lower_99_8, upper_99_8 by default). Pass e.g.
    np.geomspace(1e3, 2e6, 200) to draw smooth funnel lines. Non-positive or missing
    populations give NaN limits. With adjustment 'random_effects' or 'multiplicative' pass the
    `dispersion` from `estimate_overdispersion`; the Poisson limits are returned when it finds
    no overdispersion (see `Overdispersion.applies`).
    """
    _validated(adjustment)
    if adjustment != UNADJUSTED and dispersion is None:
        raise ValueError(f"adjustment {adjustment!r} needs the dispersion from estimate_overdispersion")
    widen = dispersion is not None and dispersion.applies(adjustment)
    pop = np.asarray(populations, dtype=float)
    expected, ok = _expected(benchmark_rate, pop, per)
    out = pd.DataFrame({"population": pop, "expected": expected})
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(ok, per / np.where(ok, pop, 1.0), np.nan)
        s = np.where(ok, 1 / (2 * np.sqrt(np.where(ok, expected, 1.0))), np.nan)
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level!r}")
        if widen:
            assert dispersion is not None
            z = stats.norm.ppf(1 - (1 - level) / 2)
            sd = (np.sqrt(s**2 + dispersion.tau2) if adjustment == RANDOM_EFFECTS
                  else np.sqrt(dispersion.phi) * s)
            lo = benchmark_rate * np.maximum(1 - z * sd, 0.0) ** 2
            up = benchmark_rate * (1 + z * sd) ** 2
        else:
            lo_e, up_e = _exact_expected_limits(expected, level)
            lo, up = lo_e * scale, up_e * scale
        out[f"lower_{level_suffix(level)}"] = np.where(ok, lo, np.nan)
        out[f"upper_{level_suffix(level)}"] = np.where(ok, up, np.nan)
    if isinstance(populations, pd.Series):
        out.index = populations.index
    return out


def _p_words(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


@dataclass(frozen=True)
class FunnelResult:
    """Positions of every area plus how the limits were set.

    positions: one label per input row (see the module constants); not classified for a
    missing count or population and for every row not `eligible` (modelled, synthetic).
    applied: the adjustment actually used ('none' when no overdispersion was found).
    """

    positions: pd.Series
    adjustment: str
    applied: str
    dispersion: Overdispersion

    def note(self) -> str:
        """One sentence a chart can carry: the method and the estimated overdispersion."""
        d = self.dispersion
        if not np.isfinite(d.phi):
            return "Poisson limits: too few areas to estimate overdispersion."
        est = (f"overdispersion phi = {d.phi:.2f} over {d.n} areas (z-scores winsorised at 10%/90%; "
               f"chi-square test {_p_words(d.p_value)})")
        if self.adjustment == UNADJUSTED:
            return f"Unadjusted Poisson limits; {est}."
        if self.applied == UNADJUSTED:
            return f"Poisson limits: no significant overdispersion ({est})."
        extra = f", tau² = {d.tau2:.4f}" if self.applied == RANDOM_EFFECTS else ""
        return f"Limits adjusted for overdispersion by {ADJUSTMENT_NAMES[self.applied]}: {est}{extra}."


def funnel_analysis(
    counts: ArrayLike,
    populations: ArrayLike,
    benchmark_rate: float,
    per: float = 100_000,
    *,
    adjustment: str = DEFAULT_ADJUSTMENT,
    eligible: ArrayLike | None = None,
) -> FunnelResult:
    """Estimate overdispersion from the eligible areas and place every area on the funnel.

    Positions: 'above 99.8% limit', 'above 95% limit', 'within 95% limits', 'below 95% limit',
    'below 99.8% limit', or 'not classified'. A rate exactly on a limit counts as within it.
    """
    _validated(adjustment)
    c = np.asarray(counts, dtype=float)
    pop = np.asarray(populations, dtype=float)
    elig = np.ones(len(c), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    ok = np.isfinite(c) & np.isfinite(pop) & (pop > 0) & elig
    dispersion = estimate_overdispersion(c[ok], pop[ok], benchmark_rate, per)
    limits = funnel_limits(benchmark_rate, pop, per, DEFAULT_LEVELS, adjustment=adjustment,
                           dispersion=dispersion if adjustment != UNADJUSTED else None)
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
    positions = pd.Series(labels, index=index, name="funnel_position", dtype=object)
    applied = adjustment if dispersion.applies(adjustment) else UNADJUSTED
    return FunnelResult(positions, adjustment, applied, dispersion)


def classify_funnel(counts: ArrayLike, populations: ArrayLike, benchmark_rate: float, per: float = 100_000,
                    **options: Any) -> pd.Series:
    """Where each area sits on the funnel: the positions of `funnel_analysis`, which takes the
    same arguments (options: adjustment, eligible)."""
    return funnel_analysis(counts, populations, benchmark_rate, per, **options).positions
