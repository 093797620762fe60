"""Compare: several areas side by side on one indicator and period: ranked bars with 95%
intervals (coloured by polarity AND labelled in words), a funnel plot of every area at that
level with the chosen ones named (limits adjusted for overdispersion unless the user picks the
Poisson ones), their time series with the recent-trend marker, a table and a CSV download.
Query parameters: `indicator`, `level`, `period`, `areas` (comma-separated codes).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import benchmarks as bm
from app import figures as fg
from app import queries as q
from app import ui
from app.disclosure_view import control
from methods.funnel import MULTIPLICATIVE, RANDOM_EFFECTS, UNADJUSTED
from methods.trend import trend_marker

FUNNEL_LIMIT_CHOICES = {
    "adjusted for overdispersion (random effects)": RANDOM_EFFECTS,
    "adjusted (multiplicative)": MULTIPLICATIVE,
    "unadjusted Poisson": UNADJUSTED,
}

ui.page_setup("Compare areas")
st.title("Compare areas")
ui.require_warehouse()

inds = q.local_indicators()
inds = inds[inds["unit"].str.contains("per 100,000|%|DSR", case=False, regex=True)]
titles = dict(zip(inds["indicator_id"], inds["title"], strict=True))
c1, c2, c3 = st.columns([3, 1, 1])
with c1:
    ind_id = ui.url_select("Indicator", list(inds["indicator_id"]), "indicator", format_func=lambda i: titles.get(i, i),
                           default=q.lead_indicator(list(inds["indicator_id"]), preferred="knife_offences_total"),
                           noun="comparable indicator (a rate)")
info = q.indicator(ind_id) or {}
levels = [lv for lv in ("csp", "lad", "pfa") if not q.map_periods(ind_id, lv).empty]
with c2:
    level = ui.url_select("Geography", levels, "level", format_func=lambda lv: q.AREA_TYPE_NAMES[lv],
                          noun="geography for this indicator")
periods = q.map_periods(ind_id, level)
periods = periods[periods["period_type"] == q.preferred_period_type(periods["period_type"])]
with c3:
    period = ui.url_select("Period", list(periods["period_label"]), "period", noun="period for this indicator")

everyone = control(q.observations([ind_id], period_label=period))
everyone = everyone[everyone["area_type"] == level]
names = dict(zip(everyone["area_code"], everyone["area_name"], strict=True))
linked = [c.strip().upper() for c in (ui.url_value("areas") or "").split(",") if c.strip()]
wanted = [c for c in linked if c in names]
if "areas_ms" not in st.session_state and (unknown := [c for c in linked if c not in names]):
    ui.unknown_values_warning("area codes", unknown, "areas")
if not wanted:
    wanted = list(everyone.dropna(subset=["value"]).nlargest(8, "denominator")["area_code"])
chosen = st.multiselect("Areas", list(names), default=wanted, format_func=lambda c: names[c], key="areas_ms")
ui.set_url(areas=",".join(chosen) if chosen else None)

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
    st.caption(f"Benchmark: {bench_name} ({bench['basis']}).")

st.subheader("Ranked, with 95% intervals")
fig = fg.ranked_bars(compared, title=f"{titles[ind_id]}, {period}", unit=unit, benchmark_value=bench_value,
                     benchmark_name=bench_name, polarity=polarity)
ui.chart(fig, "; ".join(f"{r.area_name}: {r.value:,.1f} ({r.comparison_phrase})"
                        for r in compared.sort_values("value", ascending=False).itertuples() if r.value == r.value)
         or "No values to rank.", key="compare_bars", data=compared)

st.subheader("Funnel plot: every area at this level")
if bench_value is None or "per 100,000" not in unit.lower():
    st.info("A funnel plot needs a crude rate per 100,000 and a benchmark rate; not available for this indicator.")
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
                            polarity=polarity, adjustment=adjustment, highlight=chosen)
    fres = fg.funnel_result(funnel_data, benchmark_rate=bench_value, adjustment=adjustment)
    pos = fres.positions
    grey = funnel_data["quality"].isin(fg.UNCLASSIFIED_QUALITIES).to_numpy()
    counts = pos[~grey].value_counts()
    outside = funnel_data.loc[pos.str.contains("99.8").to_numpy(), "area_name"]
    ui.chart(ffig, f"{len(funnel_data)} areas: " + ", ".join(f"{n} {k}" for k, n in counts.items())
             + (f"; {int(grey.sum())} modelled or synthetic, not classified" if grey.any() else "")
             + ". Areas outside the 99.8% limits: " + (", ".join(outside) or "none") + ". " + fres.note(),
             key="compare_funnel", data=funnel_data)
    st.caption(fres.note())

st.subheader("Over time")
ts = control(q.indicator_series(ind_id, chosen, periods["period_type"].iloc[0]))
breaks = q.series_breaks([ind_id], chosen)
tfig = fg.trend_figure(ts, title=f"{titles[ind_id]} over time", unit=unit, breaks=breaks)
ui.chart(tfig, f"{titles[ind_id]} for {len(chosen)} areas over {ts['period_label'].nunique()} periods; the table "
               "below holds every value.", key="compare_ts", data=ts)
trend_rows = []
for code in chosen:
    mine = ts[ts["area_code"] == code]
    marker = trend_marker(mine, unit=unit, polarity=polarity, breaks=breaks[breaks["area_code"] == code])
    trend_rows.append({"area_name": names.get(code, code), "recent trend": f"{marker.symbol} {marker.words}",
                       "how it was tested / why not": marker.detail})
st.markdown("**Recent trend** (Fingertips method: chi-squared test for trend over the latest 5 annual figures; "
            "none across a series break)")
ui.dataframe(pd.DataFrame(trend_rows), hide_index=True)

st.subheader("Table")
table = compared[["area_code", "area_name", "period_label", "count", "denominator", "value", "lower_ci", "upper_ci",
                  "comparison_phrase", "benchmark_basis", "suppressed_reason", "quality", "publisher", "source_title", "note"]]
ui.table(table, controlled=True)
ui.download(compared, f"compare_{ind_id}_{period}.csv")
ui.page_ready()
