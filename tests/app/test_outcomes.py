"""The Serious Violence Duty outcome panel: each measure at its own geography, latest period,
trend and how current, on the home page and a profile (warehouse built from the mirror)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
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
    assert hes["trend"].split(" ")[0] in ("increasing", "decreasing", "no", "trend")
    for measure, ind in ((oc.MEASURES[1], oc.KNIFE_NATIONAL), (oc.MEASURES[2], oc.HOMICIDE_NATIONAL)):
        period, value = latest(wh, ind, q.ENGLAND_WALES)
        row = df.loc[measure]
        assert row["period"] == period and row["figure"].startswith(f"{value:,.0f} ")
        assert "England and Wales" in row["geography"] and "not a tested trend" in row["trend"]


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
