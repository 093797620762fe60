"""The Serious Violence Duty's three outcome measures, for the home page and every profile.

Why a module: the Home Office's statutory guidance for the Serious Violence Duty names three
measures a partnership reports on: hospital admissions for assault with a knife or sharp
object, knife or sharp object offences recorded by the police, and homicide. Each is published
at a different geography (HES by region of residence, police recorded knife crime by force
area, homicide nationally), so the panel shows each at its own geography, labelled, with its
latest period, a trend and how current it is, and says so plainly when a measure is missing.

Trend: the one recent-trend marker of `app.trends.recent_trend` (registry value type and
polarity, the warehouse's series breaks, disclosure-controlled series), for the indicator, area,
period type and period the row shows, chosen as the profile chooses them (the preferred period
type's latest period). So the same area, indicator and period read the same here, on the
profile, on Compare, in the CSVs and in the report, and no trend spans a recording break
(Thames Valley knife crime from 2014/15, Greater Manchester before 2018/19). Figures the
test does not apply to (national counts without a population) say why, and every row also
gives the change on the same period a year earlier, marked as a change, not a tested trend.
Imports: pandas, methods, app.queries, app.disclosure_view, app.trends. No streamlit calls.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from app import queries as q
from app.disclosure_view import control, quality_label
from app.indicator_format import figure as figure_text
from app.indicator_format import is_rate, number, with_unit
from app.trends import recent_trend, trend_fields

HES_REGION = "hes_sharp_object_assault_fae"
HES_ENGLAND = "hes_sharp_object_assault_fae_england"
KNIFE_PFA = ("knife_offences_ons_rolling_year", "knife_offences_total")
KNIFE_NATIONAL = "police_recorded_knife_offences__ew_all_forces_ndqis"
HOMICIDE_NATIONAL = "homicides_knife_sharp_instrument__homicide_index"
MEASURES = ("Hospital admissions for assault with a knife or sharp object",
            "Knife or sharp instrument offences recorded by the police",
            "Homicide")
COLUMNS = ["measure", "geography", "period", "figure", "trend", "trend_detail", "change", "how_current", "source",
           "quality", "indicator_id", "area_code", "period_type"]
HIDDEN = ["indicator_id", "area_code", "period_type"]
RESIDENTS = "trend of patients living in England's regions (the sum of the nine regions' published counts)"

COUNT = {"multiplier": 1}  # a count is written as a whole number
# What the panel says about geographies, wherever it is shown (the profile page, the report).
GEOGRAPHY_NOTE = ("Each at the geography it is published at: hospital admissions by region of residence, police "
                  "recorded knife crime by force area, homicide nationally.")

def duty_outcomes(geo: dict[str, Any] | None = None, today: date | None = None) -> pd.DataFrame:
    """One row per outcome measure: national (home page) when `geo` is None, else for the
    area in `geo` (from `queries.area_geography`), each at the geography it is published at."""
    today = today or date.today()
    rows = [_hes(geo, today), _knife(geo, today), _homicide(today)]
    return pd.DataFrame(rows, columns=COLUMNS)


def outcomes_table(df: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads, with the quality in words."""
    out = df.drop(columns=HIDDEN).copy()
    out["quality"] = out["quality"].map(lambda v: quality_label(v) if v else "")
    return out.rename(columns={"how_current": "how current", "trend_detail": "how the trend was tested / why not",
                               "change": "change on a year earlier"})


def _missing(measure: str, geography: str, why: str) -> dict[str, Any]:
    return {"measure": measure, "geography": geography, "period": "", "figure": f"not shown: {why}",
            "trend": "", "trend_detail": "", "change": "", "how_current": "", "source": "", "quality": "",
            "indicator_id": None, "area_code": None, "period_type": None}


def how_current(period_end: object, today: date) -> str:
    """'data to March 2022, 44 months before today'."""
    end = pd.Timestamp(period_end)
    months = (today.year - end.year) * 12 + today.month - end.month
    age = "this month" if months <= 0 else f"{months} month{'s' if months != 1 else ''} before today"
    return f"data to {end:%B %Y}, {age}"


def _row(measure: str, geography: str, series: pd.DataFrame, today: date, *,
         trend_of: tuple[str, str] | None = None, trend_note: str = "") -> dict[str, Any]:
    """The row for the latest period of `series` (one indicator, area and period type, as the
    profile picks it). Its trend is `app.trends.recent_trend` for that indicator, area, period
    type and period (`trend_of`: another indicator and area with the same periods, for a
    figure the test cannot take, with `trend_note` saying whose trend it is)."""
    series = control(series.sort_values(["period_end", "period_start"]))
    latest = series.iloc[-1]
    ind, code = trend_of or (str(latest["indicator_id"]), str(latest["area_code"]))
    fields = trend_fields(recent_trend(ind, code, str(latest["period_type"]), str(latest["period_label"])))
    detail = "; ".join(x for x in (fields["trend_detail"], trend_note) if x)
    unit = str(latest["unit"])
    value, count = latest["value"], latest["count"]
    if pd.isna(value):
        figure = f"not shown: {latest['suppressed_reason']}" if isinstance(latest["suppressed_reason"], str) \
            else "not shown"
    elif is_rate(latest):  # the registry's multiplier and decimals (data/indicators.csv)
        figure = figure_text(value, latest) + (f" ({number(count, COUNT)} {_noun(latest)})" if pd.notna(count) else "")
    else:
        figure = with_unit(number(value, latest), unit)
    if "provisional" in str(latest.get("note") or "").lower():
        figure += " (provisional)"
    source = str(latest.get("source_title") or "")
    if isinstance(latest.get("publisher"), str):
        source = f"{latest['publisher']}: {source}"
    cited = q.national_citation(str(latest["indicator_id"]), str(latest["area_code"]), str(latest["period_label"]))
    if cited:
        source = f"{source}; as reported by {cited['source_title']} ({cited['source_url']})"
    return {"measure": measure, "geography": geography, "period": str(latest["period_label"]), "figure": figure,
            "trend": fields["trend"], "trend_detail": detail, "change": _year_on_year(series),
            "how_current": how_current(latest["period_end"], today), "source": source,
            "quality": str(latest["quality"]), "indicator_id": latest["indicator_id"],
            "area_code": latest["area_code"], "period_type": latest["period_type"]}


def _noun(row: pd.Series) -> str:
    return "episodes" if str(row["indicator_id"]).startswith("hes_") else "offences"


def _shown(obs: pd.DataFrame) -> pd.DataFrame:
    """The series the profile would show: its preferred period type (`queries.preferred_period_type`)."""
    if obs.empty:
        return obs
    return obs[obs["period_type"] == q.preferred_period_type(obs["period_type"])]


def _year_on_year(series: pd.DataFrame) -> str:
    """Change on the same period a year earlier (figures as shown, after disclosure control):
    a change, not a tested trend."""
    last = series.iloc[-1]
    start = pd.to_datetime(series["period_start"])
    before = series[start == pd.Timestamp(last["period_start"]) - pd.DateOffset(years=1)]
    if before.empty:
        return "no figure for the same period a year earlier"
    prev = before.iloc[-1]
    breaks = q.series_breaks([str(last["indicator_id"])], [str(last["area_code"])])
    between = pd.to_datetime(breaks["break_date"]) if len(breaks) else pd.Series(dtype="datetime64[ns]")
    if ((between > pd.Timestamp(prev["period_start"])) & (between <= pd.Timestamp(last["period_start"]))).any():
        return f"not worked out: a series break between {prev['period_label']} and {last['period_label']}"
    if pd.isna(last["value"]) or pd.isna(prev["value"]) or not prev["value"]:
        return f"not worked out: no figure shown for {prev['period_label'] if pd.isna(prev['value']) else last['period_label']}"
    change = round((last["value"] - prev["value"]) / prev["value"] * 100)
    return (f"{'no change (0%)' if change == 0 else f'{change:+d}%'} on {prev['period_label']} "
            f"({number(prev['value'], prev)}); a change, not a tested trend")


def _hes(geo: dict[str, Any] | None, today: date) -> dict[str, Any]:
    measure = MEASURES[0]
    if geo is None:
        obs = _shown(q.observations([HES_ENGLAND], [q.ENGLAND]))
        if obs.empty:
            return _missing(measure, "England", "NHS Digital's HES sharp-object table is not in this warehouse")
        # NHS Digital's England total is a count with no population: the trend is the regional
        # series' England (patients living in England's regions, a rate), for the same period.
        return _row(measure, "England (all patients in English hospitals; HES finished admission episodes)",
                    obs, today, trend_of=(HES_REGION, q.ENGLAND), trend_note=RESIDENTS)
    region = geo["region"]
    if not region:
        return _missing(measure, "not available", "HES admissions by region are published for England only")
    label = f"{region['name']} region (where {geo['area']['area_name']} is)"
    obs = _shown(q.observations([HES_REGION], [region["code"]]))
    if obs.empty:
        return _missing(measure, label, "NHS Digital's HES sharp-object table is not in this warehouse")
    return _row(measure, label + "; HES finished admission episodes", obs, today)


def _knife(geo: dict[str, Any] | None, today: date) -> dict[str, Any]:
    measure = MEASURES[1]
    if geo is None:
        obs = _shown(q.observations([KNIFE_NATIONAL], [q.ENGLAND_WALES]))
        if obs.empty:
            return _missing(measure, "England and Wales", "no national figure in this warehouse")
        return _row(measure, "England and Wales (all 43 forces)", obs, today)
    pfa = geo["pfa"]
    if not pfa:
        return _missing(measure, "not available", "no police force area for this area")
    label = f"Police force area: {pfa['name']}" + (
        f", which includes {geo['area']['area_name']}" if geo["area"]["area_type"] != "pfa" else "")
    best = None  # the force's most recent knife series, each in the period type the profile shows
    for ind in KNIFE_PFA:
        shown = _shown(q.observations([ind], [pfa["code"]]))
        if len(shown) and (best is None or shown["period_end"].max() > best["period_end"].max()):
            best = shown
    if best is None:
        return _missing(measure, label, "no police recorded knife crime figure for this force area")
    return _row(measure, label, best, today)


def _homicide(today: date) -> dict[str, Any]:
    measure = MEASURES[2]
    obs = _shown(q.observations([HOMICIDE_NATIONAL], [q.ENGLAND_WALES]))
    geography = "England and Wales (published nationally only; knife or sharp instrument homicides)"
    if obs.empty:
        return _missing(measure, geography, "no national homicide figure in this warehouse")
    return _row(measure, geography, obs, today)
