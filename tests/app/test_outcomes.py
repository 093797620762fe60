"""The Serious Violence Duty outcome panel: each measure at its own geography, latest period,
trend and how current, on the home page and a profile (warehouse built from the mirror)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import outcomes as oc
from app import queries as q

ROOT = Path(__file__).resolve().parents[2]


def latest(wh: Path, indicator: str, area: str, period_type: str = "%") -> tuple:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(
            "SELECT period_label, value FROM observations WHERE indicator_id = ? AND area_code = ? "
            "AND period_type LIKE ? AND source_id NOT LIKE '%#%' ORDER BY period_end DESC LIMIT 1",
            [indicator, area, period_type]).fetchone()
    finally:
        con.close()


def test_how_current_counts_months():
    assert oc.how_current("2022-03-31", date(2026, 12, 4)) == "data to March 2022, 57 months before today"
    assert oc.how_current("2026-12-31", date(2026, 12, 4)) == "data to December 2026, this month"


def test_national_panel(wh):
    df = oc.duty_outcomes(today=date(2026, 12, 4)).set_index("measure")
    hes = df.loc[oc.MEASURES[0]]
    # NHS Digital's England total of admission episodes for 2021/22 (the workbook's last total row).
    assert (hes["period"], hes["figure"]) == ("2021/22", "4,049 episodes (provisional)")
    assert hes["geography"].startswith("England") and hes["how_current"].startswith("data to March 2022")
    from app.trends import recent_trend, trend_fields

    # the one marker of the regional series' England (a rate), for the same period as the figure
    assert hes["trend"] == trend_fields(recent_trend(oc.HES_REGION, q.ENGLAND, "financial_year", "2021/22"))["trend"]
    assert hes["trend"].split(" ")[0] in ("↑", "↓", "→", "–")
    # the trend of the patients living in England's regions (the regional series' England sum), said so
    assert "England's regions" in hes["trend_detail"]
    for measure, ind in ((oc.MEASURES[1], oc.KNIFE_NATIONAL), (oc.MEASURES[2], oc.HOMICIDE_NATIONAL)):
        period, value = latest(wh, ind, q.ENGLAND_WALES)
        row = df.loc[measure]
        assert row["period"] == period and row["figure"].startswith(f"{value:,.0f} ")
        # a national count has no population: the shared marker says it is not tested, and the
        # change on a year earlier is given as a change
        assert "England and Wales" in row["geography"] and row["trend"] == "– No trend marker"
        assert row["trend_detail"] == "counts without a population base are not tested"
        assert "not a tested trend" in row["change"]
    # national knife offences, years ending September (national_figures.csv): 50,430 in 2025, 55,008 in 2024
    knife = df.loc[oc.MEASURES[1]]
    if knife["period"] == "year ending September 2025":
        assert knife["change"].startswith(f"{round((50430 - 55008) / 55008 * 100):+d}% on year ending September 2024")


def test_profile_panel_uses_each_measures_own_geography(wh):
    df = oc.duty_outcomes(q.area_geography("E22000308")).set_index("measure")
    assert df.loc[oc.MEASURES[0], "geography"].startswith("South East region (where Oxford is)")
    assert df.loc[oc.MEASURES[0], "area_code"] == "E12000008"
    assert df.loc[oc.MEASURES[1], "geography"] == "Police force area: Thames Valley, which includes Oxford"
    assert df.loc[oc.MEASURES[2], "area_code"] == q.ENGLAND_WALES
    period, value = latest(wh, "hes_sharp_object_assault_fae", "E12000008", "financial_year")
    assert df.loc[oc.MEASURES[0], "period"] == period
    assert df.loc[oc.MEASURES[0], "figure"].startswith(f"{value:,.1f} per 100,000")


def test_welsh_profile_says_why_hes_is_missing(wh):
    code = q.area_search("Cardiff").iloc[0]["area_code"]
    hes = oc.duty_outcomes(q.area_geography(code)).iloc[0]
    assert "England only" in hes["figure"]


@pytest.mark.parametrize("page,params", [("dashboard.py", {}), ("pages/1_Area_profile.py", {"area": "E22000308"})])
def test_pages_show_the_panel(wh, page, params):
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(h.value == "Serious Violence Duty outcome measures" for h in at.subheader)
    tables = [t.value for t in at.dataframe if "how current" in t.value.columns]
    assert len(tables) == 1 and list(tables[0]["measure"]) == list(oc.MEASURES)
    assert {"trend", "how the trend was tested / why not", "change on a year earlier"} <= set(tables[0].columns)


# ---------------------------------------------------------------- one trend verdict, never across a break
KNIFE = "knife_offences_total"
THAMES_VALLEY, GMP, MET = "E23000029", "E23000005", "E23000001"


def _registry_break(indicator: str, area: str) -> str:
    """The break date the registry file gives (data/indicator_breaks.csv), read as text."""
    import csv

    with open(ROOT / "data" / "indicator_breaks.csv", newline="") as f:
        return next(r["break_date"] for r in csv.DictReader(f) if r["indicator_id"] == indicator
                    and r["area_code"] == area)


def _poisson_score_test(counts, pops) -> tuple[str, float]:
    """Chi-squared test for trend written out here (scores 0..4 for five consecutive years):
    U = sum x (O - E), E = n sum O / sum n, Var = sum x^2 E - (sum x E)^2 / sum E."""
    import numpy as np
    from scipy import stats

    o, n = np.asarray(counts, float), np.asarray(pops, float)
    x = np.arange(len(o), dtype=float)
    e = n * o.sum() / n.sum()
    u = (x * (o - e)).sum()
    p = stats.chi2.sf(u**2 / ((x**2 * e).sum() - (x * e).sum() ** 2 / e.sum()), 1)
    return ("no significant change" if p >= 0.05 else "increasing" if u > 0 else "decreasing"), p


def test_knife_trend_never_spans_a_recording_break(wh, sql):
    from app.trends import recent_trend

    assert _registry_break(KNIFE, THAMES_VALLEY) == "2014-04-01" and _registry_break(KNIFE, GMP) == "2018-04-01"
    years = sql("SELECT period_label, count, denominator FROM observations WHERE indicator_id = ? AND area_code = ? "
                "AND period_type = 'financial_year' AND source_id NOT LIKE '%#%' ORDER BY period_start",
                KNIFE, THAMES_VALLEY)
    labels = [y[0] for y in years]
    assert labels[-1] == "2018/19"  # the file's last year

    # Thames Valley, low from 2014/15: the latest five years 2014/15-2018/19 all lie after the break,
    # so the trend is tested on them, worked out here
    tv = oc.duty_outcomes(q.area_geography(THAMES_VALLEY)).set_index("measure").loc[oc.MEASURES[1]]
    assert (tv["indicator_id"], tv["area_code"], tv["period"]) == (KNIFE, THAMES_VALLEY, "2018/19")
    direction, p = _poisson_score_test([y[1] for y in years[-5:]], [y[2] for y in years[-5:]])
    assert tv["trend"].split(" ", 1)[1].lower().startswith(direction)
    assert "from 2014/15 to 2018/19" in tv["trend_detail"]
    assert (f"p = {p:.2g}" if p >= 0.001 else "p < 0.001") in tv["trend_detail"]
    # ... but five years to 2016/17 (2012/13-2016/17) would cross 2014/15: not tested
    at_2016 = recent_trend(KNIFE, THAMES_VALLEY, "financial_year", "2016/17")
    assert at_2016.direction == "not assessed" and "series break" in at_2016.detail

    # Greater Manchester, under-counted before 2018/19: 2014/15-2018/19 crosses the break, so no
    # trend and no year-on-year change across it; the five years to 2017/18 lie before it and are tested
    gmp = oc.duty_outcomes(q.area_geography(GMP)).set_index("measure").loc[oc.MEASURES[1]]
    assert (gmp["area_code"], gmp["period"]) == (GMP, "2018/19")
    assert gmp["trend"] == "– No trend marker" and "series break" in gmp["trend_detail"]
    assert gmp["change"].startswith("not worked out: a series break between 2017/18 and 2018/19")
    gmp_years = sql("SELECT count, denominator FROM observations WHERE indicator_id = ? AND area_code = ? AND "
                    "period_type = 'financial_year' AND period_label BETWEEN '2013/14' AND '2017/18' "
                    "AND source_id NOT LIKE '%#%' ORDER BY period_start", KNIFE, GMP)
    assert len(gmp_years) == 5
    before = recent_trend(KNIFE, GMP, "financial_year", "2017/18")
    assert before.direction == _poisson_score_test(*zip(*gmp_years, strict=True))[0]


AGREEMENT_AREAS = ("E22000308", "E22000101", "E22000192", THAMES_VALLEY, GMP, MET)  # Oxford, Manchester, Westminster


@pytest.mark.parametrize("code", AGREEMENT_AREAS)
def test_outcome_trend_is_the_profiles_compares_and_the_reports(wh, code):
    """The outcome panel's hospital and knife rows carry, word for word, the trend the profile row
    of the same indicator, area and period shows, which Compare and the report show too."""
    from app import profile as pr
    from app import report as rp
    from app import trends
    from app.safe_text import html as esc

    panel = oc.duty_outcomes(q.area_geography(code))
    _, rows = pr.csp_profile(code)
    html = rp.report_html(rp.report_inputs(code, None))
    checked = 0
    for r in panel[panel["indicator_id"].isin([oc.HES_REGION, *oc.KNIFE_PFA])].itertuples():
        mine = rows[(rows["indicator_id"] == r.indicator_id) & (rows["area_code"] == r.area_code)]
        assert len(mine) == 1, (code, r.indicator_id)
        row = mine.iloc[0]
        assert row["period_label"] == r.period
        assert (row["trend"], row["trend_detail"]) == (r.trend, r.trend_detail), (code, r.indicator_id)
        compare = trends.with_trends(pd.DataFrame({"area_code": [r.area_code]}), r.indicator_id, r.period_type,
                                     r.period).iloc[0]
        assert (compare["trend"], compare["trend_detail"]) == (r.trend, r.trend_detail)
        assert f"Recent trend: {esc(r.trend)} ({esc(r.trend_detail)})" in html
        checked += 1
    assert checked == 2, "the hospital and knife rows were both compared"


def test_rolling_years_are_tested_on_years_ending_in_the_same_month():
    """ONS publishes rolling years every quarter; they overlap, so the trend takes the years ending
    in the shown year's month: here years ending September 2020-2024, made by code."""
    from app.trends import annual_points

    ends = pd.date_range("2019-03-31", "2024-09-30", freq="QE")
    df = pd.DataFrame({"period_label": [f"year ending {e:%B %Y}" for e in ends],
                       "period_start": [e - pd.DateOffset(years=1) + pd.Timedelta(days=1) for e in ends],
                       "period_end": ends})
    kept = annual_points(df)
    assert list(kept["period_label"]) == [f"year ending September {y}" for y in range(2019, 2025)]
    fy = pd.DataFrame({"period_label": ["2017/18", "2018/19"], "period_start": pd.to_datetime(["2017-04-01", "2018-04-01"]),
                       "period_end": pd.to_datetime(["2018-03-31", "2019-03-31"])})
    assert annual_points(fy).equals(fy)  # no overlap: unchanged
