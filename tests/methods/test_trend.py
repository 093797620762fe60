"""Trend: chi-squared test for trend checked against an individual-level correlation."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from methods.trend import assess_trend, chi_square_trend


def annual(counts, denominators=None, first_year=2015, breaks=None):
    n = len(counts)
    starts = pd.to_datetime([f"{first_year + i}-04-01" for i in range(n)])
    return pd.DataFrame(
        {
            "period_start": starts,
            "period_end": starts + pd.DateOffset(years=1) - pd.Timedelta(days=1),
            "count": counts,
            "denominator": denominators if denominators is not None else [100_000] * n,
            "series_break": breaks if breaks is not None else [False] * n,
        }
    )


def test_cochran_armitage_equals_n_r_squared():
    # Altman: the chi-squared for trend is N r², r the correlation of outcome and score over
    # individuals. Build the individuals explicitly.
    o = np.array([5, 9, 12, 20, 25])
    n = np.array([100, 100, 110, 105, 100])
    scores = np.arange(5.0)
    x = np.concatenate([np.repeat(s, k) for s, k in zip(scores, n, strict=True)])
    y = np.concatenate([np.r_[np.ones(a), np.zeros(k - a)] for a, k in zip(o, n, strict=True)])
    r = np.corrcoef(x, y)[0, 1]
    x2, p, t = chi_square_trend(o, n, scores, kind="proportion")
    assert x2 == pytest.approx(len(x) * r**2)
    assert p == pytest.approx(stats.chi2.sf(len(x) * r**2, 1))
    assert t > 0


def test_rate_version_is_poisson_score_test():
    # For a Poisson log-linear model with offset, the score statistic for the slope at 0 is
    # (sum x_i (O_i - E_i))² / (sum E_i x_i² - (sum E_i x_i)² / sum E_i).
    o = np.array([40.0, 48, 55, 61, 70])
    n = np.array([1e5, 1.01e5, 1.02e5, 1.03e5, 1.04e5])
    x = np.arange(5.0)
    e = n * o.sum() / n.sum()
    score = ((x * (o - e)).sum()) ** 2 / ((e * x**2).sum() - (e * x).sum() ** 2 / e.sum())
    assert chi_square_trend(o, n, x, kind="rate")[0] == pytest.approx(score)


def test_increasing_decreasing_and_flat():
    assert assess_trend(annual([40, 52, 63, 75, 90])).direction == "increasing"
    assert assess_trend(annual([90, 75, 63, 52, 40])).direction == "decreasing"
    flat = assess_trend(annual([50, 52, 49, 51, 50]))
    assert flat.direction == "no significant change" and flat.p_value > 0.05


def test_uses_only_last_five_points():
    # An early fall followed by five flat years is not a trend now.
    assert assess_trend(annual([200, 150, 100, 50, 50, 51, 50, 49, 50])).direction == "no significant change"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (annual([40, 52, 63, 75]), "fewer than 5 points"),
        (annual([40, 52, 63, 75, 90], breaks=[False, False, True, False, False]), "series break within the last 5 points"),
        (annual([40, 52, None, 75, 90]), "a count is missing or suppressed"),
        (annual([40, 52, 63, 75, 90], denominators=[1e5, 1e5, None, 1e5, 1e5]), "a denominator is missing"),
    ],
)
def test_not_assessed(frame, reason):
    r = assess_trend(frame)
    assert r.direction == "not assessed" and r.reason == reason


def test_break_on_first_of_window_is_allowed():
    r = assess_trend(annual([10, 40, 52, 63, 75, 90], breaks=[False, True, False, False, False, False]))
    assert r.direction == "increasing"


def test_overlapping_rolling_periods_not_assessed():
    starts = pd.date_range("2022-04-01", periods=6, freq="QS-APR")
    df = pd.DataFrame(
        {
            "period_start": starts,
            "period_end": starts + pd.DateOffset(years=1) - pd.Timedelta(days=1),
            "count": [40, 52, 63, 75, 90, 100],
            "denominator": [1e5] * 6,
        }
    )
    assert assess_trend(df).reason == "periods overlap"
