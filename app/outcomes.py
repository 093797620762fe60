"""The Serious Violence Duty's three outcome measures, for the home page and every profile.

Why a module: the Home Office's statutory guidance for the Serious Violence Duty names three
measures a partnership reports on: hospital admissions for assault with a knife or sharp
object, knife or sharp object offences recorded by the police, and homicide. Each is published
at a different geography (HES by region of residence, police recorded knife crime by force
area, homicide nationally), so the panel shows each at its own geography, labelled, with its
latest period, a trend and how current it is, and says so plainly when a measure is missing.

Trend: `methods.trend.assess_trend` (chi-squared test for trend on the last five years) where
counts and populations exist; for national figures, which come without a population, the change
on the same period a year earlier, marked as not tested.
Imports: pandas, methods, app.queries, app.disclosure_view. No streamlit calls.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from app import queries as q
from app.disclosure_view import control, quality_label
from app.indicator_format import figure as figure_text
from app.indicator_format import is_rate, number
from methods.trend import NOT_ASSESSED, assess_trend

HES_REGION = "hes_sharp_object_assault_fae"
HES_ENGLAND = "hes_sharp_object_assault_fae_england"
KNIFE_PFA = ("knife_offences_ons_rolling_year", "knife_offences_total")
KNIFE_NATIONAL = "police_recorded_knife_offences__ew_all_forces_ndqis"
HOMICIDE_NATIONAL = "homicides_knife_sharp_instrument__homicide_index"
MEASURES = ("Hospital admissions for assault with a knife or sharp object",
            "Knife or sharp instrument offences recorded by the police",
            "Homicide")
COLUMNS = ["measure", "geography", "period", "figure", "trend", "how_current", "source", "quality",
           "indicator_id", "area_code"]

COUNT = {"multiplier": 1}  # a count is written as a whole number

def duty_outcomes(geo: dict[str, Any] | None = None, today: date | None = None) -> pd.DataFrame:
    """One row per outcome measure: national (home page) when `geo` is None, else for the
    area in `geo` (from `queries.area_geography`), each at the geography it is published at."""
    today = today or date.today()
    rows = [_hes(geo, today), _knife(geo, today), _homicide(today)]
    return pd.DataFrame(rows, columns=COLUMNS)


def outcomes_table(df: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads, with the quality in words."""
    out = df.drop(columns=["indicator_id", "area_code"]).copy()
    out["quality"] = out["quality"].map(lambda v: quality_label(v) if v else "")
    return out.rename(columns={"how_current": "how current"})


def _missing(measure: str, geography: str, why: str) -> dict[str, Any]:
    return {"measure": measure, "geography": geography, "period": "", "figure": f"not shown: {why}",
            "trend": "", "how_current": "", "source": "", "quality": "", "indicator_id": None, "area_code": None}


def how_current(period_end: object, today: date) -> str:
    """'data to March 2022, 44 months before today'."""
    end = pd.Timestamp(period_end)
    months = (today.year - end.year) * 12 + today.month - end.month
    age = "this month" if months <= 0 else f"{months} month{'s' if months != 1 else ''} before today"
    return f"data to {end:%B %Y}, {age}"


def _row(measure: str, geography: str, latest: pd.Series, trend: str, today: date) -> dict[str, Any]:
    unit = str(latest["unit"])
    value, count = latest["value"], latest["count"]
    if pd.isna(value):
        figure = f"not shown: {latest['suppressed_reason']}" if isinstance(latest["suppressed_reason"], str) \
            else "not shown"
    elif is_rate(latest):  # the registry's multiplier and decimals (data/indicators.csv)
        figure = figure_text(value, latest) + (f" ({number(count, COUNT)} {_noun(latest)})" if pd.notna(count) else "")
    else:
        figure = f"{number(value, latest)} {unit}"
    if "provisional" in str(latest.get("note") or "").lower():
        figure += " (provisional)"
    source = str(latest.get("source_title") or "")
    if isinstance(latest.get("publisher"), str):
        source = f"{latest['publisher']}: {source}"
    cited = q.national_citation(str(latest["indicator_id"]), str(latest["area_code"]), str(latest["period_label"]))
    if cited:
        source = f"{source}; as reported by {cited['source_title']} ({cited['source_url']})"
    return {"measure": measure, "geography": geography, "period": str(latest["period_label"]), "figure": figure,
            "trend": trend, "how_current": how_current(latest["period_end"], today), "source": source,
            "quality": str(latest["quality"]), "indicator_id": latest["indicator_id"],
            "area_code": latest["area_code"]}


def _noun(row: pd.Series) -> str:
    return "episodes" if str(row["indicator_id"]).startswith("hes_") else "offences"


def _annual(df: pd.DataFrame) -> pd.DataFrame:
    """Annual, non-overlapping rows: financial years, else years ending in the latest row's month."""
    fy = df[df["period_type"] == "financial_year"]
    if len(fy):
        return fy.sort_values("period_end")
    ye = df[df["period_type"] == "year_ending"]
    if ye.empty:
        return ye
    month = pd.Timestamp(ye.sort_values("period_end")["period_end"].iloc[-1]).month
    return ye[pd.to_datetime(ye["period_end"]).dt.month == month].sort_values("period_end")


def _tested_trend(annual: pd.DataFrame) -> str:
    result = assess_trend(annual, break_col=None)
    if result.direction == NOT_ASSESSED:
        return f"trend not assessed ({result.reason})"
    return (f"{result.direction} over the last {result.n_points} years "
            f"(chi-squared test for trend, p = {result.p_value:.3f})")


def _year_on_year(annual: pd.DataFrame) -> str:
    """Change on the same period a year earlier, for figures with no population (not tested)."""
    if annual.empty:
        return "no earlier figure"
    last = annual.iloc[-1]
    before = annual[pd.to_datetime(annual["period_end"]) == pd.Timestamp(last["period_end"]) - pd.DateOffset(years=1)]
    if before.empty:
        return "no figure for the same period a year earlier"
    prev = before.iloc[-1]
    change = (last["value"] - prev["value"]) / prev["value"] * 100
    return (f"{change:+.0f}% on {prev['period_label']} ({prev['value']:,.0f}); a change, not a tested trend")


def _hes(geo: dict[str, Any] | None, today: date) -> dict[str, Any]:
    measure = MEASURES[0]
    if geo is None:
        obs = q.observations([HES_ENGLAND], [q.ENGLAND], period_type="financial_year")
        if obs.empty:
            return _missing(measure, "England", "NHS Digital's HES sharp-object table is not in this warehouse")
        latest = obs.sort_values("period_end").iloc[-1]
        residents = q.observations([HES_REGION], [q.ENGLAND], period_type="financial_year")
        trend = (_tested_trend(residents.sort_values("period_end")) + " (patients living in England's regions)"
                 if len(residents) else "trend not assessed (no population-based series)")
        return _row(measure, "England (all patients in English hospitals; HES finished admission episodes)",
                    latest, trend, today)
    region = geo["region"]
    if not region:
        return _missing(measure, "not available", "HES admissions by region are published for England only")
    label = f"{region['name']} region (where {geo['area']['area_name']} is)"
    obs = control(q.observations([HES_REGION], [region["code"]], period_type="financial_year"))
    if obs.empty:
        return _missing(measure, label, "NHS Digital's HES sharp-object table is not in this warehouse")
    obs = obs.sort_values("period_end")
    return _row(measure, label + "; HES finished admission episodes", obs.iloc[-1], _tested_trend(obs), today)


def _knife(geo: dict[str, Any] | None, today: date) -> dict[str, Any]:
    measure = MEASURES[1]
    if geo is None:
        obs = q.observations([KNIFE_NATIONAL], [q.ENGLAND_WALES])
        if obs.empty:
            return _missing(measure, "England and Wales", "no national figure in this warehouse")
        obs = obs.sort_values("period_end")
        annual = _annual(obs)
        return _row(measure, "England and Wales (all 43 forces)", obs.iloc[-1], _year_on_year(annual), today)
    pfa = geo["pfa"]
    if not pfa:
        return _missing(measure, "not available", "no police force area for this area")
    label = f"Police force area: {pfa['name']}" + (
        f", which includes {geo['area']['area_name']}" if geo["area"]["area_type"] != "pfa" else "")
    best = None
    for ind in KNIFE_PFA:
        annual = _annual(q.observations([ind], [pfa["code"]]))
        if len(annual) and (best is None or annual["period_end"].iloc[-1] > best["period_end"].iloc[-1]):
            best = annual
    if best is None:
        return _missing(measure, label, "no police recorded knife crime figure for this force area")
    return _row(measure, label, best.iloc[-1], _tested_trend(best), today)


def _homicide(today: date) -> dict[str, Any]:
    measure = MEASURES[2]
    obs = q.observations([HOMICIDE_NATIONAL], [q.ENGLAND_WALES])
    geography = "England and Wales (published nationally only; knife or sharp instrument homicides)"
    if obs.empty:
        return _missing(measure, geography, "no national homicide figure in this warehouse")
    annual = _annual(obs)
    return _row(measure, geography, obs.sort_values("period_end").iloc[-1], _year_on_year(annual), today)
