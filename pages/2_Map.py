"""Map: any local indicator and period at each geography its publisher releases it at (CSP,
local authority, upper-tier council, police force area, region; `q.indicator_levels`), drawn
offline, one shape per map unit, areas without data grey (hatched) and labelled. Click a shape (or pick an
area) to open its profile. Query parameters: `indicator`, `level`, `period`, `area`, and
`view=interactive` for the plotly map.

The default view is a static SVG (app.svgmap), drawn with st.markdown: st.html sanitises with
DOMPurify's html-only profile and drops <svg> entirely, and a components iframe may not
navigate the top page, whereas markdown's raw HTML keeps <svg>, <a target="_self"> and <title>.
The SVG needs no plotly bundle, so it draws in well under the 3 s target on a fresh visit; the
plotly map (zoom and pan) is one toggle away.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import benchmarks as bm
from app import figures as fg
from app import queries as q
from app import ui
from app.indicator_format import number, with_unit
from app.mapdata import display_geojson, map_units
from app.safe_text import md
from app.svgmap import svg_map

INTERACTIVE_LABEL = "Interactive map (zoom and pan, slower to load)"


def _values(ind_id: str, level: str, period: str):
    """Map values with each area's comparison against its national comparator (app.benchmarks,
    the same category as the profile and Compare)."""
    values = q.level_map_values(ind_id, level, period)
    ptype = q.preferred_period_type(q.level_periods(ind_id, level)["period_type"])
    return bm.national_comparisons(values, ind_id, level, period, ptype)


@st.cache_resource(max_entries=8, show_spinner=False)
def _display_geojson(level: str, version: str, codes: tuple[str, ...] = ()) -> dict:
    """The level's shapes rounded for drawing, made once per warehouse version (not per rerun);
    `codes`: the upper-tier councils of the period (q.level_geojson)."""
    return display_geojson(q.level_geojson(level, codes))


def _codes(level: str, values) -> tuple[str, ...]:
    """The areas whose shapes this view draws: only the upper tier changes with the period."""
    return tuple(sorted(values["area_code"])) if level == "utla" else ()


def _links(values) -> dict:
    """Map unit -> the area its shape opens, only where a profile exists (CSP, local authority,
    force area): a county or a region has none."""
    can_open = q.profile_area_codes()
    opens = values[values["area_code"].isin(can_open)]
    return opens.groupby("map_unit", sort=False)["area_code"].first().to_dict()


@st.cache_resource(max_entries=64, show_spinner=False)
def _map_figure(ind_id: str, level: str, period: str, title: str, version: str):
    """The map figure for one view, built once per warehouse version and shared by every session
    (plotly_chart serialises it without changing it)."""
    info = q.indicator(ind_id) or {}
    unit = str(info.get("unit", ""))
    values = _values(ind_id, level, period)
    units = map_units(values, unit)
    return fg.choropleth_figure(units, _display_geojson(level, version, _codes(level, values)), title=title,
                                unit=unit)


@st.cache_resource(max_entries=64, show_spinner=False)
def _svg_map(ind_id: str, level: str, period: str, title: str, version: str) -> str:
    """The static map's markup for one view, built once per warehouse version."""
    info = q.indicator(ind_id) or {}
    unit = str(info.get("unit", ""))
    values = _values(ind_id, level, period)
    # values are ordered by area name: a shape shared by several areas opens the first one's profile
    links = _links(values)
    names = dict(zip(values["area_code"], values["area_name"], strict=True))
    return svg_map(map_units(values, unit), q.level_geojson(level, _codes(level, values)), title=title, unit=unit,
                   period=period, links=links, link_names=names)


ui.page_setup("Map")
st.title("Map")
ui.require_warehouse()

inds = pd.concat([q.local_indicators(), q.regional_indicators()], ignore_index=True)
titles = dict(zip(inds["indicator_id"], inds["title"], strict=True))
mappable = [i for i in inds["indicator_id"] if q.indicator_levels(i)]
c1, c2, c3 = st.columns([5, 3, 2])  # "Community Safety Partnership" fits its box
with c1:
    ind_id = ui.url_select("Indicator", mappable, "indicator", format_func=lambda i: titles.get(i, i),
                           default=q.lead_indicator(mappable, preferred="police_uk_violence_and_sexual_offences"),
                           noun="mappable indicator")
levels = q.indicator_levels(ind_id)
with c2:
    level = ui.url_select("Geography", levels, "level", format_func=lambda lv: q.AREA_TYPE_NAMES[lv],
                          noun="map geography for this indicator")
periods = q.level_periods(ind_id, level)
# Annual figures where the publisher gives both quarters and years.
ptype = q.preferred_period_type(periods["period_type"])
periods = periods[periods["period_type"] == ptype]
with c3:
    period = ui.url_select("Period", list(periods["period_label"]), "period", noun="period for this indicator")

info = q.indicator(ind_id) or {}
unit = str(info.get("unit", ""))
values = _values(ind_id, level, period)
units = map_units(values, unit)
title = f"{titles[ind_id]}, {period}"
version = q.warehouse_version() or ""
alt = (f"Map of {titles[ind_id]} by {q.AREA_TYPE_NAMES[level].lower()}, {period}: {units['value'].notna().sum()} of "
       f"{len(units)} shapes have a value"
       + (f", from {number(units['value'].min(), info)} to {with_unit(number(units['value'].max(), info), unit)}"
          if units['value'].notna().any()
          else "")
       + f"; {units['value'].isna().sum()} shapes are grey (no data). The table below lists every area.")
interactive = st.toggle(INTERACTIVE_LABEL, value=ui.url_value("view") == "interactive", key="map_interactive",
                        help="The default map is a static picture that draws at once; each shape opens its "
                             "area's profile. The interactive map can zoom and pan but loads a large script.")
ui.set_url(view="interactive" if interactive else None)
event = None
if interactive:
    event = ui.chart(_map_figure(ind_id, level, period, title, version), alt=alt, key="map", on_select="rerun", data=values,
                     selection_mode="points")
else:
    st.markdown(_svg_map(ind_id, level, period, title, version), unsafe_allow_html=True)
    st.caption(f"Text alternative: {md(alt)}")
if info.get("break_note"):
    st.caption(f"Caveat: {md(info['break_note'])}")

picked: list[str] = []
try:
    points = event.selection.points if event else []
except AttributeError:
    points = []
for p in points:
    loc = p.get("location") if isinstance(p, dict) else None
    if loc:
        picked += list(values.loc[values["map_unit"] == loc, "area_code"])
names = dict(zip(values["area_code"], values["area_name"], strict=True))
openable = [c for c in values["area_code"] if c in q.profile_area_codes()]
picked = [c for c in picked if c in set(openable)]
if openable:
    st.markdown("**Open a profile**")
    chosen = ui.url_select("Pick an area", [""] + openable, "area",
                           format_func=lambda c: names.get(c, "(choose an area)"), noun="area on this map with code")
    kinds = dict(zip(values["area_code"], values["area_type"], strict=True))
    for code in dict.fromkeys([*picked, *([chosen] if chosen else [])]):
        ui.profile_link(code, names[code], kinds.get(code) or level)
else:
    st.caption(f"A {q.AREA_TYPE_NAMES[level].lower()} has no profile page of its own: profiles are made for "
               "partnerships, local authorities and force areas, and each shows the figures of the "
               f"{q.AREA_TYPE_NAMES[level].lower()} it is in.")

st.subheader("Values")
# the shape's id (map_unit) is for the drawing; the map note says which areas share a shape (CSV keeps the id)
table = values[["area_code", "area_name", "period_label", "count", "denominator", "value", "lower_ci",
                 "upper_ci", "comparison_phrase", "benchmark_basis", "suppressed_reason", "quality", "note", "map_note"]]
ui.table(table.assign(is_health_source=values["is_health_source"].fillna(False)), registry=info)
ui.download(values.assign(area_type=level), f"map_{ind_id}_{level}_{period}.csv")
ui.page_ready()
