"""Funnel limits checked against Poisson/gamma quantiles; classification of areas."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from methods.funnel import (
    classify_funnel,
    estimate_overdispersion,
    funnel_analysis,
    funnel_limits,
    funnel_z_scores,
)


def test_limits_match_gamma_quantiles():
    # chi2(q, 2E)/2 is the gamma(E) quantile; the upper uses E + 1.
    pops = np.array([5_000, 50_000, 500_000])
    out = funnel_limits(40, pops)
    e = 40 * pops / 1e5
    for level, s in [(0.95, "95"), (0.998, "99_8")]:
        a = 1 - level
        assert out[f"lower_{s}"].to_numpy() == pytest.approx(stats.gamma.ppf(a / 2, e) / pops * 1e5)
        assert out[f"upper_{s}"].to_numpy() == pytest.approx(stats.gamma.ppf(1 - a / 2, e + 1) / pops * 1e5)
    assert list(out["expected"]) == pytest.approx(e)


@given(st.floats(min_value=0.5, max_value=5000), st.floats(min_value=100, max_value=1e7))
def test_limits_bracket_benchmark_and_nest(rate, pop):
    row = funnel_limits(rate, [pop]).iloc[0]
    assert row["lower_99_8"] <= row["lower_95"] <= rate <= row["upper_95"] <= row["upper_99_8"]


def test_funnel_narrows_with_population():
    out = funnel_limits(40, [1e3, 1e4, 1e5, 1e6])
    width = (out["upper_95"] - out["lower_95"]).to_numpy()
    assert (np.diff(width) < 0).all()


def test_classification():
    pops = pd.Series([100_000] * 6, index=list("abcdef"))
    counts = pd.Series([40, 56, 70, 26, 18, None], index=pops.index)
    out = classify_funnel(counts, pops, benchmark_rate=40, adjustment="none")
    limits = funnel_limits(40, [100_000]).iloc[0]
    assert limits["upper_95"] < 56 < limits["upper_99_8"] < 70
    assert limits["lower_99_8"] < 26 < limits["lower_95"] and limits["lower_99_8"] > 18
    assert list(out) == [
        "within 95% limits", "above 95% limit", "above 99.8% limit",
        "below 95% limit", "below 99.8% limit", "not classified",
    ]
    assert list(out.index) == list("abcdef")


def test_missing_population():
    out = funnel_limits(40, [0, np.nan])
    assert out["upper_95"].isna().all()
    assert list(classify_funnel([3, 3], [0, np.nan], 40)) == ["not classified"] * 2
    assert list(classify_funnel([3, 3], [0, np.nan], 40, adjustment="none")) == ["not classified"] * 2


# ---------------------------------------------------------------- overdispersion
# Worked by hand. Ten areas of 200,000 people against a benchmark of 50 per 100,000, so every
# expected count E is 100. Counts are squares, so z = 2 (sqrt(O) - sqrt(E)) is a whole number:
#   O = 81 100 121 64 144 100 49 169 100 196
#   z = -2   0   2 -4   4   0 -6   6   0   8
# Sorted: -6 -4 -2 0 0 0 2 4 6 8. 10th percentile (R type 7): position 0.9 between -6 and -4
# = -4.2; 90th percentile: position 8.1 between 6 and 8 = 6.2. Winsorised: -6 -> -4.2, 8 -> 6.2.
# Sum of winsorised z²: 4 + 0 + 4 + 16 + 16 + 0 + 17.64 + 36 + 0 + 38.44 = 132.08
#   phi = 13.208, n·phi = 132.08 against chi²(9).
# Weights w = 1/s² = 4E = 400: Σw = 4000, Σw² / Σw = 400, so the denominator is 3600:
#   tau² = (132.08 - 9) / 3600 = 0.034188...
HAND_COUNTS = [81, 100, 121, 64, 144, 100, 49, 169, 100, 196]
HAND_POPS = [200_000] * 10


def test_z_scores_by_hand():
    z = funnel_z_scores(HAND_COUNTS, HAND_POPS, 50)
    assert z.tolist() == pytest.approx([-2, 0, 2, -4, 4, 0, -6, 6, 0, 8])


def test_phi_and_tau2_by_hand():
    d = estimate_overdispersion(HAND_COUNTS, HAND_POPS, 50)
    assert d.n == 10
    assert d.winsor_limits == pytest.approx((-4.2, 6.2))
    assert d.phi == pytest.approx(13.208)
    assert d.statistic == pytest.approx(132.08)
    assert d.tau2 == pytest.approx(123.08 / 3600)
    assert d.p_value == pytest.approx(stats.chi2.sf(132.08, 9))
    assert d.overdispersed


def _sqrt_rate_limits(rate, pop, per, level, extra_var):
    """Limits worked on a different scale from the code: sqrt(rate per `per`), whose Poisson
    variance is per / (4 pop); the between-area variance on this scale is tau² × rate."""
    z = stats.norm.ppf(1 - (1 - level) / 2)
    sd = np.sqrt(per / (4 * pop) + extra_var)
    return (max(np.sqrt(rate) - z * sd, 0)) ** 2, (np.sqrt(rate) + z * sd) ** 2


def test_random_effects_limits_by_hand():
    d = estimate_overdispersion(HAND_COUNTS, HAND_POPS, 50)
    out = funnel_limits(50, [200_000, 50_000], adjustment="random_effects", dispersion=d).iloc[0]
    for level, s in [(0.95, "95"), (0.998, "99_8")]:
        lo, up = _sqrt_rate_limits(50, 200_000, 1e5, level, (123.08 / 3600) * 50)
        assert out[f"lower_{s}"] == pytest.approx(lo)
        assert out[f"upper_{s}"] == pytest.approx(up)
    # On a calculator: sd = sqrt(1/400 + 0.0341889) = 0.191543; upper 95% = 50 × 1.375420² = 94.59.
    assert out["upper_95"] == pytest.approx(94.589, abs=0.01)
    assert out["lower_95"] == pytest.approx(19.505, abs=0.01)


def test_multiplicative_limits_by_hand():
    d = estimate_overdispersion(HAND_COUNTS, HAND_POPS, 50)
    out = funnel_limits(50, [200_000], adjustment="multiplicative", dispersion=d).iloc[0]
    z = stats.norm.ppf(0.975)
    sd = np.sqrt(13.208) * np.sqrt(1e5 / (4 * 200_000))  # sqrt(phi) × Poisson sd, sqrt-rate scale
    assert out["upper_95"] == pytest.approx((np.sqrt(50) + z * sd) ** 2)
    assert out["lower_95"] == pytest.approx((np.sqrt(50) - z * sd) ** 2)


def test_classification_with_and_without_adjustment():
    counts = pd.Series(HAND_COUNTS, index=list("abcdefghij"))
    pops = pd.Series(HAND_POPS, index=counts.index)
    raw = classify_funnel(counts, pops, 50, adjustment="none")
    # Poisson 99.8% limits for E = 100 are about 72-135 events: five of the ten areas
    # (64 and 49 below, 144, 169 and 196 above) are outside.
    assert raw[raw.str.contains("99.8")].index.tolist() == ["d", "e", "g", "h", "j"]
    adjusted = funnel_analysis(counts, pops, 50)
    # Random-effects 95% limits at this size are 19.5-94.6 per 100,000 (39-189 events):
    # only O = 196 is above them, and nothing is outside 99.8% (3.09 sd: 8.3-126.7 per 100,000).
    assert adjusted.applied == "random_effects"
    assert adjusted.positions.to_dict() == {k: ("above 95% limit" if k == "j" else "within 95% limits")
                                            for k in counts.index}
    assert "phi = 13.21" in adjusted.note() and "tau² = 0.0342" in adjusted.note()


def test_no_overdispersion_keeps_poisson_limits():
    # Counts equal to what is expected: every z is 0, phi = 0, nothing to widen.
    pops = [50_000, 100_000, 200_000, 400_000, 800_000]
    counts = [25, 50, 100, 200, 400]
    r = funnel_analysis(counts, pops, 50)
    assert r.dispersion.phi == 0 and r.dispersion.tau2 == 0 and not r.dispersion.overdispersed
    assert r.applied == "none" and "no significant overdispersion" in r.note()
    d = r.dispersion
    assert funnel_limits(50, pops, adjustment="random_effects", dispersion=d).equals(funnel_limits(50, pops))
    # phi a little above 1 but not significantly: still Poisson (the test, not the point estimate, decides).
    z = np.array([1.2, -1.1, 0.9, -1.3, 1.0, -0.8, 1.1, -1.2, 0.7, -1.0])
    e = 100.0
    o = (np.sqrt(e) + z / 2) ** 2
    r2 = funnel_analysis(o, [200_000] * 10, 50)
    # By hand: winsorised at -1.21 and 1.11, sum of z² = 10.4962, phi = 1.04962 > 1 and
    # n·phi > n - 1 (tau² > 0), but P(chi²(9) >= 10.4962) is about 0.31.
    assert r2.dispersion.phi == pytest.approx(1.04962)
    assert r2.dispersion.tau2 > 0 and r2.dispersion.p_value == pytest.approx(stats.chi2.sf(10.4962, 9))
    assert not r2.dispersion.overdispersed and r2.applied == "none"


def test_ineligible_areas_are_not_classified_or_counted():
    counts = [*HAND_COUNTS, 400]
    pops = [*HAND_POPS, 200_000]
    eligible = [True] * 10 + [False]  # e.g. a synthetic or modelled figure
    r = funnel_analysis(counts, pops, 50, eligible=eligible)
    assert r.positions.iloc[-1] == "not classified"
    assert r.dispersion.n == 10 and r.dispersion.phi == pytest.approx(13.208)


def test_overdispersed_simulation_flags_far_fewer_after_adjustment():
    # Gamma-Poisson counts (true rates vary between areas): the unadjusted funnel flags most
    # areas, the random-effects funnel about as many as its 99.8% level implies.
    rng = np.random.default_rng(7)
    pops = rng.uniform(80_000, 400_000, 300)
    true_rate = 50 * rng.gamma(shape=10, scale=1 / 10, size=300)  # 32% coefficient of variation
    counts = rng.poisson(true_rate * pops / 1e5)
    raw = classify_funnel(counts, pops, 50, adjustment="none").str.contains("99.8").mean()
    adj = classify_funnel(counts, pops, 50).str.contains("99.8").mean()
    assert raw > 0.25
    assert adj < 0.03


def test_bad_adjustment_and_missing_dispersion():
    with pytest.raises(ValueError):
        classify_funnel([1], [1e5], 40, adjustment="bogus")
    with pytest.raises(ValueError):
        funnel_limits(40, [1e5], adjustment="random_effects")
