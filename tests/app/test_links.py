"""Links never lie: a URL value that names nothing here (area, indicator, period, series) is
said on the page and nothing is shown in its place; a code in another letter case opens the
right area; a profile opens on the latest month its own force published.

Pages run in AppTest against the warehouse built from the mirror (`real_warehouse`).
"""
from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.page_runner import run_page


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.mark.parametrize("page,params,says", [
    ("pages/1_Area_profile.py", {"area": "E99999999"}, "No area with code `E99999999`"),
    ("pages/1_Area_profile.py", {"area": "E22000308", "period": "2099-01"}, "No month `2099-01`"),
    ("pages/2_Map.py", {"indicator": "no_such_indicator"}, "No mappable indicator `no_such_indicator`"),
    ("pages/2_Map.py", {"indicator": "police_uk_robbery", "level": "csp", "period": "1999-01"},
     "No period for this indicator `1999-01`"),
    ("pages/3_Compare.py", {"indicator": "knife_offences_total", "level": "parish"},
     "No geography for this indicator `parish`"),
    ("dashboard.py", {"series": "made_up"}, "No national series `made_up`"),
])
def test_unknown_url_value_is_said_and_nothing_shown_in_its_place(wh, page, params, says):
    at = run_page(page, **params)
    assert any(says in e for e in errors(at)), errors(at)
    # nothing in its place: no chart, table or download (the home page's headline figures and
    # their small trends come before the series picker and do not depend on it)
    if page == "dashboard.py":
        assert "national_trend" not in [c.key for c in at.get("plotly_chart")]
    else:
        assert not at.get("plotly_chart") and not at.dataframe and not at.get("download_button")


def test_unknown_trend_indicator_draws_no_other_trend(wh):
    """The profile's indicator parameter picks the trend: an unknown one is said where the trend
    would be, and no other indicator's trend is drawn in its place (the area's table above,
    which does not depend on it, stays)."""
    at = run_page("pages/1_Area_profile.py", area="E22000308", indicator="no_such_indicator")
    assert any("`no_such_indicator`" in e for e in errors(at)), errors(at)
    assert not at.get("plotly_chart")


def test_unknown_area_does_not_open_the_default_area(wh):
    at = run_page("pages/1_Area_profile.py", area="E99999999")
    body = "\n".join(m.value for m in at.markdown)
    assert "Oxford" not in body
    assert not at.selectbox or at.selectbox[0].value != "E22000308"


def test_hostile_url_value_is_shown_as_code_not_markup(wh):
    at = run_page("pages/1_Area_profile.py", area="![x](http://evil.example/p.png)`[link](http://x)")
    (message,) = errors(at)
    # the value sits whole in one inline-code span (its backtick replaced), where markdown is inert
    assert message.split("`")[1] == "![x](http://evil.example/p.png)'[link](http://x)"


def test_code_in_lower_case_opens_that_area(wh):
    at = run_page("pages/1_Area_profile.py", area="e22000308")
    assert not errors(at)
    assert at.selectbox[0].value == "E22000308"
    assert at.query_params["area"] == ["E22000308"] or at.query_params["area"] == "E22000308"


def test_compare_names_unknown_area_codes_and_keeps_the_known_ones(wh):
    at = run_page("pages/3_Compare.py", indicator="police_uk_robbery", level="csp", period="2024-03",
                  areas="E22000308,E99999999")
    warnings = [w.value for w in at.warning]
    assert any("E99999999" in w and "1 area codes" in w for w in warnings), warnings
    assert at.multiselect[0].value == ["E22000308"]


def test_default_month_is_the_latest_its_own_force_published(monkeypatch):
    from app import profile as pr

    grid = pd.DataFrame({
        "pfa_code": ["E23000001"] * 3 + ["E23000002"] * 3,
        "month": ["2024-01", "2024-02", "2024-03"] * 2,
        "status": ["present", "partial", "missing", "present", "present", "present"],
    })
    monkeypatch.setattr(pr.q, "coverage_grid", lambda: grid)
    monkeypatch.setattr(pr.q, "area_geography", lambda code: {"pfa": {"code": code, "name": code}})
    assert pr.default_month("E23000001") == "2024-01"  # 2024-03 missing, 2024-02 partial
    assert pr.default_month("E23000002") == "2024-03"
    only_partial = grid.assign(status=["partial", "partial", "missing", "present", "present", "present"])
    monkeypatch.setattr(pr.q, "coverage_grid", lambda: only_partial)
    assert pr.default_month("E23000001") == "2024-02"
