"""The pure figure builders, the map-unit helper and the disclosure view, on small frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app import figures as fg
from app.disclosure_view import control, for_download
from app.mapdata import map_units
from methods.spc import xmr_chart


def monthly(months: list[str], values: list[float], quality: str = "official") -> pd.DataFrame:
    start = pd.to_datetime([m + "-01" for m in months])
    return pd.DataFrame({
        "area_name": "Oxford", "period_start": start, "period_end": start + pd.offsets.MonthEnd(0),
        "period_label": months, "value": values, "lower_ci": [v - 1 for v in values],
        "upper_ci": [v + 1 for v in values], "quality": quality,
    })


def test_with_gaps_breaks_the_line_across_missing_months():
    df = monthly(["2019-01", "2019-02", "2024-01", "2024-02"], [1, 2, 3, 4])
    g = fg.with_gaps(df)
    assert len(g) == 5
    assert g["value"].isna().tolist() == [False, False, True, False, False]


def test_trend_figure_gaps_breaks_and_synthetic_title():
    df = monthly(["2019-01", "2019-02", "2024-01"], [1, 2, 3], quality="synthetic")
    breaks = pd.DataFrame({"break_date": [pd.Timestamp("2020-04-01")], "description": ["NDQIS"]})
    fig = fg.trend_figure(df, title="Robbery", unit="per 100,000", breaks=breaks)
    y = list(fig.data[0].y)
    assert len(y) == 4 and np.isnan(y[2])
    assert fig.data[0].connectgaps is False
    assert "SYNTHETIC" in fig.layout.title.text
    assert fig.layout.shapes[0].x0 == pd.Timestamp("2020-04-01")
    assert {s for s, v in zip(fig.data[0].marker.symbol, y, strict=True) if not np.isnan(v)} == {"x"}


def test_trend_figure_official_has_no_warning_and_intervals():
    fig = fg.trend_figure(monthly(["2024-01", "2024-02"], [5, 6]), title="Robbery", unit="per 100,000")
    assert "SYNTHETIC" not in fig.layout.title.text and "MODELLED" not in fig.layout.title.text
    assert list(fig.data[0].error_y.array) == [1, 1]


def test_spc_figure_marks_special_causes_and_limits():
    idx = pd.period_range("2022-01", periods=15, freq="M").to_timestamp()
    values = [10, 11, 9, 10, 12, 10, 11, 9, 10, 11, 10, 9, 10, 11, 60]
    res = xmr_chart(pd.Series(values, index=idx))
    fig = fg.spc_figure(res, title="Violence")
    names = [t.name for t in fig.data]
    assert "special cause (signal)" in names
    assert any(n.startswith("upper limit") for n in names) and any(n.startswith("mean") for n in names)


def test_ranked_bars_label_in_words_and_symbol():
    df = pd.DataFrame({"area_name": ["A", "B"], "value": [10.0, 50.0], "lower_ci": [8.0, 45.0],
                       "upper_ci": [12.0, 55.0], "significance": ["lower", "higher"], "rating": ["better", "worse"],
                       "quality": "official"})
    fig = fg.ranked_bars(df, title="t", unit="per 100,000", benchmark_value=30.0, benchmark_name="England & Wales",
                         polarity="higher_is_worse")
    assert list(fig.data[0].y) == ["A", "B"]
    assert fig.data[0].text[1] == "▲ Significantly higher (worse)"
    assert len(set(fig.data[0].marker.color)) == 2


def test_funnel_figure_classifies_points():
    df = pd.DataFrame({"area_name": ["small", "big", "outlier"], "count": [10, 1000, 3000],
                       "denominator": [10_000, 1_000_000, 1_000_000], "quality": "official"})
    fig = fg.funnel_figure(df, benchmark_rate=100.0, benchmark_name="E&W", title="t", unit="per 100,000")
    names = [t.name for t in fig.data if t.mode == "markers"]
    assert any(n.startswith("above 99.8% limit") for n in names)
    assert any(n.startswith("within 95% limits") for n in names)


def _square(x: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, 52], [x + 1, 52], [x + 1, 53], [x, 53], [x, 52]]]}


def test_choropleth_one_shape_per_unit_and_grey_no_data():
    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": u, "properties": {"names": u}, "geometry": _square(i)}
        for i, u in enumerate(["U1", "U2", "U3"])]}
    df = pd.DataFrame({"map_unit": ["U1", "U2", "U3"], "value": [1.0, 2.0, np.nan],
                       "hover": ["a", "b", "c: no data"], "quality": ["official", "official", None]})
    fig = fg.choropleth_figure(df, geo, title="t", unit="per 100,000")
    locs = [loc for t in fig.data for loc in t.locations]
    assert sorted(locs) == ["U1", "U2", "U3"]
    assert fig.data[-1].name.startswith("no data")
    assert fig.layout.map.style == "white-bg"
    assert fig.layout.coloraxis.colorbar.title.text == "per 100,000"


def test_map_units_combines_csps_sharing_a_shape():
    values = pd.DataFrame({
        "area_code": ["C1", "C2", "C3"], "area_name": ["One", "Two", "Three"], "map_unit": ["M", "M", "N"],
        "count": [10.0, 30.0, 5.0], "denominator": [10_000.0, 30_000.0, 1000.0], "value": [100.0, 100.0, 500.0],
        "lower_ci": [1, 1, 1], "upper_ci": [2, 2, 2], "suppressed_reason": None, "quality": "official",
        "note": None, "is_health_source": False,
    })
    units = map_units(values, "per 100,000").set_index("map_unit")
    assert units.loc["M", "value"] == pytest.approx(100.0)
    assert "2 partnerships drawn as one shape" in units.loc["M", "hover"]
    # 5 events: the rate is withheld by the disclosure rules, so the shape has no value.
    assert np.isnan(units.loc["N", "value"]) and "fewer than 10" in units.loc["N", "hover"]


def test_istv_heatmap_marks_suppressed_cells():
    grid = pd.DataFrame({"dow": ["Mon", "Mon"], "hour": ["00", "01"], "count": [np.nan, 20.0],
                         "suppressed_reason": ["small count (1-7)", None]})
    fig = fg.istv_heatmap(grid, title="ISTV")
    assert fig.data[0].text[0][0] == "*" and fig.data[0].text[0][1] == "20"
    assert fig.data[0].z[0][0] is None
    assert "SYNTHETIC" in fig.layout.title.text


def test_coverage_heatmap_has_words_not_only_colour():
    cov = pd.DataFrame({"force": ["a", "a", "b"], "month": ["2024-01", "2024-02", "2024-01"],
                        "status": ["present", "missing", "partial"]})
    fig = fg.coverage_heatmap(cov)
    assert "MISSING" in np.asarray(fig.data[0].text).ravel().tolist()


def test_download_is_controlled_described_and_formula_safe():
    df = pd.DataFrame({
        "indicator_id": ["istv", "istv"], "title": ["=HYPERLINK(x)", "ISTV"], "unit": "attendances",
        "area_name": ["Oxford", "Oxford"], "area_type": "csp", "period_label": ["2024-01", "2024-02"],
        "count": [3.0, 25.0], "denominator": [np.nan, np.nan], "value": [3.0, 25.0], "quality": "synthetic",
        "is_health_source": True, "publisher": "ED", "source_id": "istv",
    })
    shown = control(df)
    out = for_download(df)
    assert np.isnan(shown.loc[0, "count"]) and shown.loc[0, "suppressed_reason"] == "small count (1-7)"
    assert np.isnan(out.loc[0, "count"]) and out.loc[1, "count"] == 25
    assert out.columns[0] == "what_this_is" and out.loc[0, "what_this_is"].startswith("'=")
    assert out.loc[1, "quality_label"].startswith("SYNTHETIC")


def test_single_point_trend_has_readable_axes():
    import pandas as pd

    from app.figures import trend_figure

    df = pd.DataFrame({"area_name": ["England"], "period_start": [pd.Timestamp("2017-04-01")],
                       "period_end": [pd.Timestamp("2018-03-31")], "value": [27000.0],
                       "period_label": ["2017/18"], "quality": ["official"]})
    fig = trend_figure(df, title="Children in gangs", unit="children")
    lo, hi = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    assert (hi - lo).days > 365 * 3
    assert tuple(fig.layout.yaxis.range) == (0, 27000 * 1.25)
