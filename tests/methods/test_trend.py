"""Trend: chi-squared test for trend checked against an individual-level correlation."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from methods.trend import assess_trend, chi_square_trend, trend_kind, trend_marker


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


# ---------------------------------------------------------------- worked examples
def test_published_worked_example_linear_by_linear():
    # CBU statistics wiki, "FAQ/ChiTrend": correct answers 3/12, 6/12, 10/12 at three times;
    # SPSS's linear-by-linear association chi-square is 7.96 (p = 0.005). SPSS uses (N - 1) r²,
    # the Cochran-Armitage / Altman statistic N r², so ours is 7.96 × 36 / 35.
    x2, p, t = chi_square_trend(np.array([3, 6, 10]), np.array([12, 12, 12]), np.array([-1.0, 0, 1]),
                                kind="proportion")
    assert x2 * 35 / 36 == pytest.approx(7.96, abs=0.005)
    assert p == pytest.approx(stats.chi2.sf(x2, 1)) and p < 0.005
    assert t == pytest.approx(7)  # by hand: T = (-3 + 10) - (19/36) × 0


def test_rate_trend_by_hand():
    # O = 10 20 30 40 50 per 100,000 at x = 0..4: p = 150 / 500,000.
    # T = (0 + 20 + 60 + 120 + 200) - p × 1,000,000 = 400 - 300 = 100
    # V = p × (3,000,000 - 1,000,000² / 500,000) = 3e-4 × 1,000,000 = 300;  X² = 100² / 300
    x2, _, t = chi_square_trend(np.array([10, 20, 30, 40, 50]), np.array([1e5] * 5), np.arange(5.0))
    assert t == pytest.approx(100) and x2 == pytest.approx(10_000 / 300)
    # Through assess_trend the scores are years between 1 April starts (366 days in leap years).
    r = assess_trend(annual([10, 20, 30, 40, 50]))
    assert r.statistic == pytest.approx(10_000 / 300, rel=2e-3) and r.direction == "increasing"


def test_gap_in_the_window_is_not_assessed():
    df = annual([40, 52, 63, 75, 90, 99])
    df = df.drop(index=3)  # the 2018/19 figure was not published
    assert assess_trend(df).reason == "a gap in the series within the last 5 points"
    assert assess_trend(df, require_consecutive=False).direction == "increasing"


# ---------------------------------------------------------------- the marker
RATE = "crude_rate"  # the registry value_type of e.g. offences per 100,000


def test_marker_words_follow_polarity():
    up = annual([40, 52, 63, 75, 90]).assign(period_label=["2015/16", "2016/17", "2017/18", "2018/19", "2019/20"])
    worse = trend_marker(up, value_type=RATE, polarity="higher_is_worse")
    assert worse.text == ("↑ Increasing and getting worse (chi-squared test for trend (Poisson) over the last 5 "
                          "periods from 2015/16 to 2019/20: p < 0.001, tested at the 95% level)")
    assert worse.rating == "worse"
    down = annual([90, 75, 63, 52, 40])
    assert trend_marker(down, value_type=RATE, polarity="higher_is_worse").words == "Decreasing and getting better"
    assert trend_marker(down, value_type=RATE, polarity="higher_is_better").words == "Decreasing and getting worse"
    # Police-activity offences: no judgement.
    none = trend_marker(up, value_type=RATE, polarity="none")
    assert none.words == "Increasing" and none.rating is None and none.symbol == "↑"
    flat = trend_marker(annual([50, 52, 49, 51, 50]), value_type=RATE, polarity="higher_is_worse")
    assert flat.symbol == "→" and flat.words == "No significant change" and flat.rating is None


def test_marker_not_across_a_break_from_the_breaks_table():
    up = annual([40, 52, 63, 75, 90, 99]).drop(columns="series_break")  # 2015/16 .. 2020/21
    inside = pd.DataFrame({"break_date": [pd.Timestamp("2018-04-01")], "description": ["recording change"]})
    m = trend_marker(up, value_type=RATE, polarity="higher_is_worse", breaks=inside)
    assert m.symbol == "–" and m.detail == "series break within the last 5 points"
    # A break at the start of the five-point window (2016/17) leaves the window whole.
    at_start = pd.DataFrame({"break_date": [pd.Timestamp("2016-04-01")], "description": ["x"]})
    assert trend_marker(up, value_type=RATE, polarity="higher_is_worse", breaks=at_start).direction == "increasing"


@pytest.mark.parametrize(
    ("frame", "value_type", "reason"),
    [
        (annual([40, 52, 63, 75, 90]).assign(quality="synthetic"), RATE,
         "synthetic or modelled figures are not tested for trend"),
        (annual([40, 52, 63, 75, 90]).assign(quality="modelled"), RATE,
         "synthetic or modelled figures are not tested for trend"),
        (annual([40, 52, 63, 75, 90]), "count", "counts without a population base are not tested"),
        (annual([40, 52, 63, 75, 90]), "estimate", "counts without a population base are not tested"),
        (annual([40, 52, 63, 75, 90]), "standardised_rate",
         "directly standardised rates are not tested here (the test uses crude counts)"),
    ],
)
def test_marker_not_assessed(frame, value_type, reason):
    m = trend_marker(frame, value_type=value_type, polarity="higher_is_worse")
    assert m.direction == "not assessed" and m.detail == reason and m.words == "No trend marker"


def test_monthly_series_not_tested():
    starts = pd.date_range("2023-01-01", periods=12, freq="MS")
    df = pd.DataFrame({"period_start": starts, "period_end": starts + pd.offsets.MonthEnd(0),
                       "count": np.arange(12) * 10 + 50, "denominator": [1e5] * 12, "quality": "official"})
    m = trend_marker(df, value_type="crude_rate", polarity="higher_is_worse")
    assert m.detail == "monthly and quarterly figures are not tested (annual figures only)"


def test_trend_kind():
    assert trend_kind("percentage") == ("proportion", None)
    assert trend_kind("crude_rate") == ("rate", None)
    assert trend_kind("count")[0] is None and trend_kind("standardised_rate")[0] is None
