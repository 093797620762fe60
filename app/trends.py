"""The recent-trend marker of one area, indicator and period, made one way for the profile,
Compare and every download.

Why one function: "increasing and getting worse" must read the same wherever the same area,
indicator and period is shown, so the series (disclosure-controlled, one period type), the
breaks, the unit and the polarity all come from here, and the test is `methods.trend`'s
(Fingertips' chi-squared test for trend over the latest five annual figures, up to and
including the period shown).

Imports: pandas, methods, app.queries, app.disclosure_view. No streamlit calls.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from app import queries as q
from app.disclosure_view import control
from app.safe_text import md
from methods.trend import MIN_PERIOD_DAYS, TrendMarker, trend_colour, trend_marker

TREND_COLUMNS = ["trend", "trend_detail", "trend_rating", "trend_colour"]


def recent_trend(indicator_id: str, area_code: str, period_type: str, period_label: str | None = None) -> TrendMarker:
    """The marker for `area_code`'s series of one indicator in one period type, over the
    latest periods up to `period_label` (the latest when None)."""
    return _recent_trend(indicator_id, area_code, period_type, period_label, q.warehouse_version())


@lru_cache(maxsize=4096)
def _recent_trend(indicator_id: str, area_code: str, period_type: str, period_label: str | None,
                  version: str | None) -> TrendMarker:
    info = q.indicator(indicator_id) or {}
    series = control(q.indicator_series(indicator_id, [area_code], period_type))
    if period_label is not None and len(series):
        at = series.loc[series["period_label"] == period_label, "period_end"]
        if len(at):
            series = series[pd.to_datetime(series["period_end"]) <= pd.to_datetime(at).max()]
    series = annual_points(series)
    breaks = q.series_breaks([indicator_id], [area_code])
    polarity = info.get("polarity")
    return trend_marker(series, value_type=str(info.get("value_type") or ""),
                        polarity=polarity if isinstance(polarity, str) and polarity else "none", breaks=breaks)


def annual_points(series: pd.DataFrame) -> pd.DataFrame:
    """Rolling years published every quarter (years ending March, June, ...) overlap, so only
    the years ending in the same month as the last one, a whole number of years before it, are
    tested: non-overlapping annual figures, as for financial years. A series of other periods,
    or one whose periods do not overlap, is returned unchanged."""
    if len(series) < 2:
        return series
    start, end = pd.to_datetime(series["period_start"]), pd.to_datetime(series["period_end"])
    ordered = series.assign(_s=start, _e=end).sort_values(["_e", "_s"])
    if ((end - start).dt.days + 1).median() < MIN_PERIOD_DAYS or not (
            ordered["_s"].to_numpy()[1:] <= ordered["_e"].to_numpy()[:-1]).any():
        return series
    last = ordered["_e"].iloc[-1]
    years = (last.year - ordered["_e"].dt.year)
    keep = (ordered["_e"] == [last - pd.DateOffset(years=int(y)) for y in years])
    return ordered[keep.to_numpy()].drop(columns=["_s", "_e"])


def trend_fields(marker: TrendMarker) -> dict[str, Any]:
    """The columns a table or download carries for one marker (TREND_COLUMNS)."""
    return {"trend": f"{marker.symbol} {marker.words}", "trend_detail": marker.detail,
            "trend_rating": marker.rating, "trend_colour": trend_colour(marker)}


def with_trends(df: pd.DataFrame, indicator_id: str, period_type: str, period_label: str | None = None) -> pd.DataFrame:
    """`df` (one row per area, column area_code) with TREND_COLUMNS for each area."""
    out = df.copy()
    fields = [trend_fields(recent_trend(indicator_id, str(c), period_type, period_label)) for c in out["area_code"]]
    for col in TREND_COLUMNS:
        out[col] = pd.Series([f[col] for f in fields], index=out.index, dtype=object)
    return out


def markdown(marker_fields: dict[str, Any]) -> str:
    """The marker as page markdown: coloured (red = getting worse, green = getting better) only
    where the indicator has a polarity; the words always say it, so colour is never alone."""
    text = md(marker_fields.get("trend") or "")
    rating = marker_fields.get("trend_rating")
    return f":{'red' if rating == 'worse' else 'green'}[{text}]" if rating in ("worse", "better") else text
