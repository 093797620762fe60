"""XmR chart: limits worked by hand, special-cause rules on constructed series, gaps."""
import itertools

import numpy as np
import pandas as pd
import pytest

from methods.spc import xmr_chart


def monthly(values, start="2022-01"):
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="M"), dtype=float)


BASE = [20, 22, 19, 21, 20, 23, 18, 21, 22, 19, 20, 21]


def test_limits_by_hand():
    r = xmr_chart(monthly(BASE))
    mean = sum(BASE) / 12
    mr = sum(abs(b - a) for a, b in itertools.pairwise(BASE)) / 11
    assert r.mean == pytest.approx(mean)
    assert r.mean_moving_range == pytest.approx(mr)
    assert r.upper_limit == pytest.approx(mean + 2.66 * mr)
    assert r.lower_limit == pytest.approx(mean - 2.66 * mr)
    assert r.reliable and not r.points["special_cause"].any()


def test_point_outside_limits():
    r = xmr_chart(monthly([*BASE[:6], 60, *BASE[6:]]))
    flagged = r.points.index[r.points["outside_limits"]]
    assert list(flagged.astype(str)) == ["2022-07"]


def test_run_of_seven_on_one_side_flags_all_seven():
    values = [10, 30, 10, 30, 10, 30, 10, 25, 26, 24, 25, 27, 26, 25, 10, 30]
    r = xmr_chart(monthly(values))
    assert r.mean < 24
    assert r.points["shift"].to_numpy().tolist() == [False] * 7 + [True] * 7 + [False] * 2


def test_run_of_six_is_not_a_shift():
    values = [10, 30, 10, 30, 10, 30, 10, 25, 26, 24, 25, 27, 26, 10, 30, 10]
    assert not xmr_chart(monthly(values)).points["shift"].any()


def test_gap_breaks_a_run_and_is_not_zero():
    values = [10, 30, 10, 30, 10, 30, 10, 25, 26, 24, np.nan, 25, 27, 26, 25, 10, 30]
    r = xmr_chart(monthly(values))
    assert not r.points["shift"].any()
    assert np.isnan(r.points["value"].iloc[10])
    # No moving range across the gap: the month after the gap has none.
    assert np.isnan(r.points["moving_range"].iloc[11])
    present = [v for v in values if not np.isnan(v)]
    assert r.mean == pytest.approx(np.mean(present))  # a zero would have pulled the mean down
    mrs = [abs(b - a) for a, b in itertools.pairwise(values) if not (np.isnan(a) or np.isnan(b))]
    assert r.mean_moving_range == pytest.approx(np.mean(mrs))
    assert any("missing month" in n for n in r.notes)


def test_absent_month_in_index_is_a_gap():
    s = monthly([20, 21, 22, 23, 24, 25, 26, 27])
    s = s.drop(s.index[4])  # 2022-05 not published at all
    r = xmr_chart(s)
    assert len(r.points) == 8 and np.isnan(r.points["value"].iloc[4])
    assert not r.points["trend"].any()  # 4 rising + gap + 3 rising is not a run of 7


def test_seven_rising_points_flagged_and_six_not():
    rising = [20, 19, 21, 20, 14, 15, 16, 17, 18, 19, 20, 21, 20]
    r = xmr_chart(monthly(rising))
    assert r.points["trend"].to_numpy().tolist() == [False] * 4 + [True] * 8 + [False]
    six = [20, 19, 21, 20, 15, 16, 17, 18, 19, 20, 19, 21, 20]
    assert not xmr_chart(monthly(six)).points["trend"].any()


def test_seven_falling_points_flagged():
    r = xmr_chart(monthly([20, 21, 20, 27, 26, 25, 24, 23, 22, 21, 22, 21]))
    assert r.points["trend"].to_numpy().tolist() == [False] * 3 + [True] * 7 + [False] * 2


def test_lower_limit_floored_for_counts_only():
    values = [0, 5, 0, 6, 1, 7, 0, 4, 2, 6, 0, 5]
    counts = xmr_chart(monthly(values))
    assert counts.lower_limit == 0 and any("floored at 0" in n for n in counts.notes)
    raw = xmr_chart(monthly(values), counts=False)
    assert raw.lower_limit < 0


def test_short_series_still_computed_but_flagged_unreliable():
    r = xmr_chart(monthly([5, 7, 6]))
    assert r.upper_limit is not None and not r.reliable
    assert any("unreliable" in n for n in r.notes)
    one = xmr_chart(monthly([5]))
    assert one.upper_limit is None and one.mean == 5


def test_timestamp_index_and_duplicates():
    s = pd.Series([1.0, 2.0, 3.0], index=pd.to_datetime(["2024-01-01", "2024-02-01", "2024-04-01"]))
    r = xmr_chart(s)
    assert [str(p) for p in r.points.index] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    dup = pd.Series([1.0, 2.0], index=pd.to_datetime(["2024-01-01", "2024-01-15"]))
    with pytest.raises(ValueError):
        xmr_chart(dup)
