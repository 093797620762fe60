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


def test_short_series_gives_no_limits_and_no_signals():
    r = xmr_chart(monthly([5, 7, 6]))
    assert r.upper_limit is None and r.lower_limit is None and not r.reliable
    assert r.mean == 6 and any("too few points for limits" in n for n in r.notes)
    one = xmr_chart(monthly([5]))
    assert one.upper_limit is None and one.mean == 5
    # Eleven points, one wild: still no limits, so nothing is a signal.
    wild = xmr_chart(monthly([*BASE[:10], 90]))
    assert wild.upper_limit is None and not wild.points["special_cause"].any()
    assert wild.points["upper"].isna().all()


def test_runs_split_at_a_long_gap_with_their_own_limits():
    # Apr 2018 - Mar 2019 (12 months around 20) and Jan - Dec 2024 (12 months around 60),
    # nothing between: the shape of the police.uk mirror. Pooled, every point would sit far
    # from a mean of about 40; per run, nothing is special.
    early = BASE
    late = [60, 62, 59, 61, 60, 63, 58, 61, 62, 59, 60, 61]
    s = pd.concat([monthly(early, "2018-04"), monthly(late, "2024-01")])
    r = xmr_chart(s)
    assert len(r.runs) == 2
    first, second = r.runs
    assert (str(first.start), str(first.end), first.n_points) == ("2018-04", "2019-03", 12)
    assert (str(second.start), str(second.end), second.n_points) == ("2024-01", "2024-12", 12)
    mr_e = sum(abs(b - a) for a, b in itertools.pairwise(early)) / 11
    mr_l = sum(abs(b - a) for a, b in itertools.pairwise(late)) / 11
    assert first.mean == pytest.approx(sum(early) / 12) and first.mean_moving_range == pytest.approx(mr_e)
    assert first.upper_limit == pytest.approx(sum(early) / 12 + 2.66 * mr_e)
    assert second.mean == pytest.approx(sum(late) / 12) and second.mean_moving_range == pytest.approx(mr_l)
    assert second.lower_limit == pytest.approx(sum(late) / 12 - 2.66 * mr_l)
    # The top-level figures are the latest run's.
    assert r.mean == second.mean and r.upper_limit == second.upper_limit and r.reliable
    assert not r.points["special_cause"].any()
    between = r.points.loc["2019-04":"2023-12"]
    assert len(between) > 0, "nothing to check: an empty result must not pass"
    assert (between["run"] == -1).all() and between["centre"].isna().all()
    assert r.points.loc["2018-06", "centre"] == first.mean and r.points.loc["2024-06", "upper"] == second.upper_limit
    assert any("2 separate runs" in n for n in r.notes)


def test_short_run_after_a_gap_has_no_limits_but_the_long_run_keeps_them():
    s = pd.concat([monthly(BASE, "2018-04"), monthly([80, 81, 79], "2024-01")])
    r = xmr_chart(s)
    first, second = r.runs
    assert first.has_limits and not second.has_limits and not r.reliable
    assert r.upper_limit is None and r.mean == 80
    assert not r.points["special_cause"].any()
    assert any(n.startswith("Jan 2024-Mar 2024 (3 months): too few points for limits") for n in r.notes)


def test_one_missing_month_stays_in_the_run_two_split_it():
    one_gap = [*BASE[:6], np.nan, *BASE[6:]]
    assert len(xmr_chart(monthly(one_gap)).runs) == 1
    two_gaps = [*BASE[:6], np.nan, np.nan, *BASE[6:]]
    r = xmr_chart(monthly(two_gaps))
    assert [run.n_points for run in r.runs] == [6, 6]
    assert len(xmr_chart(monthly(one_gap), max_missing=0).runs) == 2


def test_timestamp_index_and_duplicates():
    s = pd.Series([1.0, 2.0, 3.0], index=pd.to_datetime(["2024-01-01", "2024-02-01", "2024-04-01"]))
    r = xmr_chart(s)
    assert [str(p) for p in r.points.index] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    dup = pd.Series([1.0, 2.0], index=pd.to_datetime(["2024-01-01", "2024-01-15"]))
    with pytest.raises(ValueError):
        xmr_chart(dup)
