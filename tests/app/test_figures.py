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
    fig = fg.funnel_figure(df, benchmark_rate=100.0, benchmark_name="E&W", title="t", unit="per 100,000",
                           adjustment="none")
    names = [t.name for t in fig.data if t.mode == "markers"]
    assert any(n.startswith("above 99.8% limit") for n in names)
    assert any(n.startswith("within 95% limits") for n in names)
    assert "Unadjusted Poisson limits" in fig.layout.title.text


def _funnel_frame(order):
    # Ten areas of 200,000 against 50 per 100,000 (E = 100): by the hand-worked example in
    # tests/methods/test_funnel.py the random-effects funnel puts only J above its 95% limit.
    counts = dict(zip("ABCDEFGHIJ", [81, 100, 121, 64, 144, 100, 49, 169, 100, 196], strict=True))
    rows = [{"area_code": k, "area_name": f"Area {k}", "count": counts[k], "denominator": 200_000,
             "quality": "official"} for k in order]
    return pd.DataFrame(rows)


def _marker_traces(fig):
    return {t.name: t for t in fig.data if t.mode == "markers"}


def test_funnel_colours_mean_the_same_whatever_the_data_order():
    a = fg.funnel_figure(_funnel_frame("ABCDEFGHIJ"), benchmark_rate=50.0, benchmark_name="E&W", title="t",
                         unit="per 100,000", polarity="higher_is_worse")
    b = fg.funnel_figure(_funnel_frame("JIHGFEDCBA"), benchmark_rate=50.0, benchmark_name="E&W", title="t",
                         unit="per 100,000", polarity="higher_is_worse")
    ta, tb = _marker_traces(a), _marker_traces(b)
    assert list(ta) == list(tb) == ["above 95% limit: higher (worse) (1)", "within 95% limits: similar (9)"]
    assert ta["above 95% limit: higher (worse) (1)"].marker.color == "#D55E00"  # worse, as on the bars
    assert {n: t.marker.color for n, t in ta.items()} == {n: t.marker.color for n, t in tb.items()}
    assert "additive random effects" in a.layout.title.text and "phi = 13.21" in a.layout.title.text
    # The unadjusted Poisson limits are still there, one legend click away.
    raw = [t for t in a.data if t.name == "unadjusted Poisson 99.8% limits"]
    assert raw and raw[0].visible == "legendonly"


def test_funnel_no_polarity_gives_no_judgement_and_better_is_green():
    none = fg.funnel_figure(_funnel_frame("ABCDEFGHIJ"), benchmark_rate=50.0, benchmark_name="E&W", title="t",
                            unit="per 100,000", polarity="none")
    assert "above 95% limit: higher (no better/worse judgement) (1)" in _marker_traces(none)
    better = fg.funnel_figure(_funnel_frame("ABCDEFGHIJ"), benchmark_rate=50.0, benchmark_name="E&W", title="t",
                              unit="per 100,000", polarity="higher_is_better")
    assert _marker_traces(better)["above 95% limit: higher (better) (1)"].marker.color == "#009E73"


def test_funnel_synthetic_and_modelled_areas_are_grey_and_unclassified():
    df = _funnel_frame("ABCDEFGHIJ")
    df = pd.concat([df, pd.DataFrame([
        {"area_code": "S", "area_name": "Synthetic", "count": 900, "denominator": 200_000, "quality": "synthetic"},
        {"area_code": "M", "area_name": "Modelled", "count": 5, "denominator": 200_000, "quality": "modelled"}])])
    fig = fg.funnel_figure(df, benchmark_rate=50.0, benchmark_name="E&W", title="t", unit="per 100,000",
                           polarity="higher_is_worse")
    traces = _marker_traces(fig)
    grey = traces["modelled or synthetic: not classified (2)"]
    assert list(grey.text) == ["Synthetic", "Modelled"] and grey.marker.color == fg.NO_DATA_COLOUR
    # They do not move the estimate: same classification as without them.
    assert "above 95% limit: higher (worse) (1)" in traces and "phi = 13.21" in fig.layout.title.text


def test_funnel_names_the_chosen_areas():
    fig = fg.funnel_figure(_funnel_frame("ABCDEFGHIJ"), benchmark_rate=50.0, benchmark_name="E&W", title="t",
                           unit="per 100,000", highlight=["C", "J"])
    assert sorted(a.text for a in fig.layout.annotations) == ["Area C", "Area J"]


def test_spc_figure_draws_limits_per_run_only():
    early = pd.Series([10, 11, 9, 10, 12, 10, 11, 9, 10, 11, 10, 9],
                      index=pd.period_range("2018-04", periods=12, freq="M").to_timestamp())
    late = pd.Series([40, 41, 39], index=pd.period_range("2024-01", periods=3, freq="M").to_timestamp())
    res = xmr_chart(pd.concat([early, late]))
    fig = fg.spc_figure(res, title="Violence")
    means = [t for t in fig.data if t.name == "mean"]
    assert len(means) == 2
    # Each mean line spans its own run only: nothing is drawn across 2019-2023.
    spans = sorted((pd.Timestamp(t.x[0]).year, pd.Timestamp(t.x[-1]).year) for t in means)
    assert spans == [(2018, 2019), (2024, 2024)]
    limits = [t for t in fig.data if t.name in ("upper limit", "lower limit")]
    assert {pd.Timestamp(t.x[0]).year for t in limits} == {2018}
    assert [a.text for a in fig.layout.annotations] == ["too few points for limits"]
    assert "special cause (signal)" not in [t.name for t in fig.data]


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
        # the indicator's registry row, joined by app.queries.map_values
        "multiplier": 100_000, "decimals": 1, "value_type": "crude_rate",
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
