"""Funnel limits checked against Poisson/gamma quantiles; classification of areas."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from methods.funnel import classify_funnel, funnel_limits


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
    out = classify_funnel(counts, pops, benchmark_rate=40)
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
