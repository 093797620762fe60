"""Compare: several areas side by side on one indicator and period: ranked bars with 95%
intervals (coloured by polarity AND labelled in words), a funnel plot of every area at that
level with the chosen ones named (limits adjusted for overdispersion unless the user picks the
Poisson ones), their time series with the recent-trend marker, a table and a CSV download.
Query parameters: `indicator`, `level`, `period`, `areas` (comma-separated codes), `similar` (a
CSP code: that partnership and its most similar partnerships as the set, their group average as
the benchmark of the ranked chart).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import benchmarks as bm
from app import figures as fg
from app import queries as q
from app import trends, ui
from app.disclosure_view import control
from app.indicator_format import number, with_unit
from app.mapdata import funnel_per
from app.safe_text import md
from methods.benchmark import rating_style
from methods.funnel import MULTIPLICATIVE, RANDOM_EFFECTS, UNADJUSTED
from methods.similar import method_note as similar_method_note

FUNNEL_LIMIT_CHOICES = {
    "adjusted for overdispersion (random effects)": RANDOM_EFFECTS,
    "adjusted (multiplicative)": MULTIPLICATIVE,
    "unadjusted Poisson": UNADJUSTED,
}

ui.page_setup("Compare areas")
st.title("Compare areas")
ui.require_warehouse()

inds = pd.concat([q.local_indicators(), q.regional_indicators()], ignore_index=True)
# Rates only (per 100,000 people, per 10,000 children, percentages, DSRs), each in its own unit,
# and only indicators with figures at some level (q.indicator_levels).
inds = inds[inds["unit"].str.contains("per 100,000|per 10,000|%|percent|DSR", case=False, regex=True)]
inds = inds[[bool(q.indicator_levels(i)) for i in inds["indicator_id"]]]
titles = dict(zip(inds["indicator_id"], inds["title"], strict=True))
c1, c2, c3 = st.columns([5, 3, 2])  # "Community Safety Partnership" fits its box
with c1:
    ind_id = ui.url_select("Indicator", list(inds["indicator_id"]), "indicator", format_func=lambda i: titles.get(i, i),
                           default=q.lead_indicator(list(inds["indicator_id"]), preferred="knife_offences_total"),
                           noun="comparable indicator (a rate)")
info = q.indicator(ind_id) or {}
levels = q.indicator_levels(ind_id)
with c2:
    level = ui.url_select("Geography", levels, "level", format_func=lambda lv: q.AREA_TYPE_NAMES[lv],
                          noun="geography for this indicator")
periods = q.level_periods(ind_id, level)
periods = periods[periods["period_type"] == q.preferred_period_type(periods["period_type"])]
with c3:
    period = ui.url_select("Period", list(periods["period_label"]), "period", noun="period for this indicator")

everyone = control(q.level_observations(ind_id, level, period))
names = dict(zip(everyone["area_code"], everyone["area_name"], strict=True))
period_type = str(periods["period_type"].iloc[0])

# A CSP and its most similar partnerships as the comparison set (etl/similar_areas.py), its group
# average the benchmark: app.benchmarks.similar_comparison, as on the profile.
similar_to = None
if level == "csp":
    groups = q.similar_group_areas()
    group_names = dict(zip(groups["area_code"], groups["area_name"], strict=True))
    similar_to = ui.url_select(
        "Comparison set", ["", *groups["area_code"]], "similar", noun="partnership with a most similar group",
        format_func=lambda c: f"{group_names[c]} and its most similar partnerships" if c else "areas picked below")
elif ui.url_value("similar"):
    st.warning("Most similar partnerships are compared at Community Safety Partnership level, and this "
               "indicator has no partnership figures: the set below is not that group.")
linked = [c.strip().upper() for c in (ui.url_value("areas") or "").split(",") if c.strip()]
wanted = [c for c in linked if c in names]
if "areas_ms" not in st.session_state and (unknown := [c for c in linked if c not in names]):
    ui.unknown_values_warning("area codes", unknown, "areas")
if not wanted:
    wanted = list(everyone.dropna(subset=["value"]).nlargest(8, "denominator")["area_code"])
if similar_to:  # the CSP and its group, those with a figure for this period
    wanted = [c for c in [similar_to, *q.similar_partnerships(similar_to)["neighbour_code"]] if c in names]
chosen = st.multiselect("Areas", list(names), default=wanted, format_func=lambda c: names[c],
                        key=f"areas_ms_similar_{similar_to}" if similar_to else "areas_ms")
ui.set_url(areas=None if similar_to else ",".join(chosen) if chosen else None)

# The comparator and its like-for-like value come from app.benchmarks, as on the profile and map.
comp, bench = bm.national_benchmark(ind_id, level, period, str(periods["period_type"].iloc[0]))
bench_name = comp.name if comp else "England & Wales"
bench_value = float(bench["value"]) if bench is not None and bench["value"] == bench["value"] else None
unit = str(info.get("unit", ""))
polarity = str(info.get("polarity", "none"))

if not chosen:
    st.info("Pick at least one area.")
    ui.stop()
compared = bm.national_comparisons(everyone[everyone["area_code"].isin(chosen)], ind_id, level, period,
                                   str(periods["period_type"].iloc[0]))
if bench is not None:
    st.caption(f"Benchmark: {md(bench_name)} ({md(bench['basis'])}).")
rank_bench_value, rank_bench_name = bench_value, bench_name
if similar_to:
    compared = bm.similar_set_comparisons(everyone[everyone["area_code"].isin(chosen)], similar_to, ind_id, period,
                                          period_type)
    sim_comp, sim_bench, sim_members = bm.similar_benchmark(ind_id, period, period_type, similar_to)
    rank_bench_name = sim_comp.name if sim_comp else "most similar partnerships"
    rank_bench_value = sim_bench["value"] if sim_bench is not None else None
    st.subheader(f"{md(group_names[similar_to])} against its most similar partnerships")
    focal = everyone[everyone["area_code"] == similar_to]
    verdict = None if focal.empty else bm.similar_comparison({**focal.iloc[0].to_dict(), "indicator_id": ind_id},
                                                              level)
    if verdict is None:
        st.info(f"No figure for {md(group_names[similar_to])} in {md(period)}.")
    else:
        _, vb, vres = verdict
        style = rating_style(vres)
        fr = focal.iloc[0]
        own = with_unit(f"**{number(fr['value'], info)}**", md(unit)) if pd.notna(fr["value"]) else "not shown"
        avg = f"group average {number(vb['value'], info)}; {md(vb['basis'])}" if vb is not None else "no group figure"
        st.markdown(f"{md(group_names[similar_to])}: {own}. vs most similar partnerships: "
                    f"{md(style.symbol)} {md(style.label)} ({avg}).")
    st.caption(md(similar_method_note()))
    ui.dataframe(sim_members.rename(columns={"neighbour_name": "area_name", "neighbour_code": "area_code"}),
                 hide_index=True)

# the recent-trend marker of each area up to this period, as on its profile and in its CSV (app.trends)
compared = trends.with_trends(compared, ind_id, str(periods["period_type"].iloc[0]), period)

st.subheader("Ranked, with 95% intervals")
fig = fg.ranked_bars(compared, title=f"{titles[ind_id]}, {period}", unit=unit, benchmark_value=rank_bench_value,
                     benchmark_name=rank_bench_name, polarity=polarity)
has_region = "region_phrase" in compared  # upper-tier figures: England and the council's own region


def _ranked_words(r: pd.Series) -> str:
    region = f"; vs region: {r['region_phrase']}" if has_region and isinstance(r["region_phrase"], str) else ""
    return f"{r['area_name']}: {number(r['value'], info)} ({r['comparison_phrase']}{region})"


ui.chart(fig, "; ".join(_ranked_words(r) for _, r in compared.sort_values("value", ascending=False).iterrows()
                        if r["value"] == r["value"]) or "No values to rank.", key="compare_bars", data=compared)
if has_region and not similar_to:
    st.caption(f"The line and the colours compare each area with {md(rank_bench_name)}; each council's "
               "comparison with its own region is in its hover text and in the table below.")

st.subheader("Funnel plot: every area at this level")
per = funnel_per(info)
if bench_value is None or per is None:
    st.info("A funnel plot needs a crude rate (per 100,000 people or per 10,000 children) and a benchmark rate; "
            "not available for this indicator.")
else:
    funnel_data = everyone.dropna(subset=["count", "denominator"])
    limits_choice = st.radio(
        "Funnel limits", list(FUNNEL_LIMIT_CHOICES), horizontal=True, key="funnel_limits",
        help="Offence rates vary between areas more than chance alone allows (overdispersion), so plain "
             "Poisson limits name most areas as outliers. The adjusted limits follow Spiegelhalter (2005) and "
             "the PHE/OHID funnel-plot guide: additive random effects by default, multiplicative as an option, "
             "and the unadjusted Poisson limits for reference.")
    adjustment = FUNNEL_LIMIT_CHOICES[limits_choice]
    ffig = fg.funnel_figure(funnel_data, benchmark_rate=bench_value, benchmark_name=bench_name,
                            title=f"{titles[ind_id]}, {period}: {q.AREA_TYPE_NAMES[level].lower()}s", unit=unit,
                            per=per, polarity=polarity, adjustment=adjustment, highlight=chosen)
    fres = fg.funnel_result(funnel_data, benchmark_rate=bench_value, per=per, adjustment=adjustment)
    pos = fres.positions
    grey = funnel_data["quality"].isin(fg.UNCLASSIFIED_QUALITIES).to_numpy()
    counts = pos[~grey].value_counts()
    outside = funnel_data.loc[pos.str.contains("99.8").to_numpy(), "area_name"]
    ui.chart(ffig, f"{len(funnel_data)} areas: " + ", ".join(f"{n} {k}" for k, n in counts.items())
             + (f"; {int(grey.sum())} modelled or synthetic, not classified" if grey.any() else "")
             + ". Areas outside the 99.8% limits: " + (", ".join(outside) or "none") + ". " + fres.note(),
             key="compare_funnel", data=funnel_data)
    st.caption(fres.note() + (f" The funnel sets every area against {md(bench_name)}, one benchmark for all; each "
                              "council's comparison with its own region is in the table below." if has_region else ""))

st.subheader("Over time")
ts = control(q.indicator_series(ind_id, chosen, periods["period_type"].iloc[0]))
breaks = q.series_breaks([ind_id], chosen)
tfig = fg.trend_figure(ts, title=f"{titles[ind_id]} over time", unit=unit, breaks=breaks)
ui.chart(tfig, f"{titles[ind_id]} for {len(chosen)} areas over {ts['period_label'].nunique()} periods; the table "
               "below holds every value.", key="compare_ts", data=ts)
trend_rows = []
colours = []
for r in compared.to_dict("records"):
    trend_rows.append({"area_name": r["area_name"], "recent trend": r["trend"],
                       "how it was tested / why not": r["trend_detail"]})
    colours.append(f"color: {r['trend_colour']}; font-weight: bold" if isinstance(r["trend_colour"], str) else "")
st.markdown(f"**Recent trend** up to {md(period)} (Fingertips method: chi-squared test for trend over the latest 5 "
            "annual figures; none across a series break)")
# colour (worse / better) only where the indicator has a polarity; the words always say it
st.dataframe(pd.DataFrame(trend_rows).style.apply(lambda _: colours, subset=["recent trend"]), hide_index=True,
             column_config={c: st.column_config.Column(ui.column_label(c)) for c in trend_rows[0]} if trend_rows else None)

st.subheader("Table")
# Figures whose registry row allows the region comparator (upper-tier councils: England and the
# council's own region) carry it too, made as on the profile (app.benchmarks.region_comparisons).
region_cols = [c for c in ("region_name", "region_phrase", "region_basis") if c in compared]
if region_cols:
    st.markdown("**Compared with their region**: " + "; ".join(
        f"{md(r['area_name'])}: {md(r['region_phrase'])}" for r in compared.to_dict("records")))
table = compared[["area_code", "area_name", "period_label", "count", "denominator", "value", "lower_ci", "upper_ci",
                  "comparison_phrase", "benchmark_basis", *region_cols, "trend", "trend_detail", "suppressed_reason",
                  "quality", "publisher", "source_title", "note"]]
ui.table(table, controlled=True, registry=info)
ui.download(compared.drop(columns=["trend_colour"]), f"compare_{ind_id}_{period}.csv")
ui.page_ready()
