"""Area profile: one CSP (or local authority / police force area) on one screen.

Every indicator of the four families at the geography it is published at, labelled, against
England & Wales and the force area or region (interval, significance in words and symbol),
plain-English summary, trend with breaks and gaps, monthly control chart for police.uk series (HES
sharp-object admissions: the region's), the Serious Violence Duty outcome measures,
similar areas, CSV and printable HTML downloads. Query parameters: `area`, `indicator`,
`period` (the month shown for monthly series).
"""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from app import figures as fg
from app import outcomes as oc
from app import profile as pr
from app import queries as q
from app import ui
from app.citation import cite
from app.disclosure_view import control
from app.safe_text import md
from methods.spc import xmr_chart
from methods.trend import trend_marker

ui.page_setup("Area profile")
st.title("Area profile")
ui.require_warehouse()

all_areas = q.areas(("csp", "lad", "pfa"))
names = dict(zip(all_areas["area_code"], all_areas["area_name"], strict=True))
types = dict(zip(all_areas["area_code"], all_areas["area_type"], strict=True))
code = ui.url_select(
    "Area (type to search)", list(all_areas["area_code"]), "area",
    format_func=lambda c: q.area_label(c, names[c], types[c]), default="E22000308", noun="area with code",
)
months = sorted(q.coverage_grid()["month"].unique(), reverse=True)
month = ui.url_select("Month for monthly (police.uk, A&E) figures", months, "period",
                      default=pr.default_month(code), noun="month",
                      help="Annual and quarterly figures always show their latest period. A month with "
                           "no file for this area's force is shown as missing, never as zero.")
geo, rows = pr.csp_profile(code, month)
if geo is None or rows.empty:
    st.error(f"Area {md(code)} is not in the warehouse.")
    ui.stop()

a = geo["area"]
kind = q.AREA_TYPE_NAMES[a["area_type"]]
st.header(md(a['area_name']))
where = [f"{kind} ({a['area_code']})"]
if geo["lads"] and a["area_type"] == "csp":
    noun = "local authority" if len(geo["lads"]) == 1 else "local authorities"
    where.append(f"{noun}: " + ", ".join(f"{x['name']} ({x['relation']})" for x in geo["lads"]))
if geo["csps"] and a["area_type"] == "lad":
    where.append("partnerships: " + ", ".join(x["name"] for x in geo["csps"]))
if geo["pfa"] and a["area_type"] != "pfa":
    where.append(f"police force area: {geo['pfa']['name']}")
if geo["region"]:
    where.append(f"region: {geo['region']['name']}")
st.markdown(md("; ".join(where)))
if geo["split_note"]:
    st.info(f"Split unitary authority: {md(geo['split_note'])}")
for ne in geo["not_estimated"]:
    st.info(f"Not estimated here: {md(ne['reason'])}")

# ---------------------------------------------------------------- summary
st.subheader("Summary")
has_value = rows[rows["value"].notna()] if "value" in rows else rows.iloc[0:0]
st.markdown("\n".join(f"- {md(s)}" for s in has_value["summary"].dropna()))
st.caption("\"Significantly higher/lower\" means the 95% confidence interval excludes the benchmark; "
           "\"similar\" means it includes it. Synthetic figures are never compared.")

# ---------------------------------------------------------------- indicators by family
national = q.latest_national()
source_of = {rec["source_id"]: rec for rec in q.sources().to_dict("records")}
for fam in q.FAMILIES:
    fam_rows = rows[rows["family"] == fam]
    if fam_rows.empty:
        continue
    st.subheader(q.FAMILY_NAMES[fam])
    for r in fam_rows.to_dict("records"):
        v = r.get("value")
        if v is None or (isinstance(v, float) and math.isnan(v)):
            figure = f"not shown: {md(r.get('suppressed_reason') or 'no figure available')}"
            if isinstance(r.get("count"), float) and not math.isnan(r["count"]):
                figure += f" (count {r['count']:,.0f})"
        else:
            # A modelled figure's range is a plausible range from its method, not a confidence interval.
            span = "plausible range" if r.get("quality") == "modelled" else "95% interval"
            ci = (f" ({span} {r['lower_ci']:,.1f} to {r['upper_ci']:,.1f})"
                  if pd.notna(r.get("lower_ci")) and pd.notna(r.get("upper_ci")) else "")
            whole = "per " not in str(r["unit"]) and "%" not in str(r["unit"])  # counts read as counts
            figure = f"**{v:,.0f}** {md(r['unit'])}{ci}" if whole else f"**{v:,.1f}** {md(r['unit'])}{ci}"
        period = (pr.period_words(r.get("period_label"), r.get("period_type"))
                  if isinstance(r.get("period_label"), str) and r.get("period_label") else "")
        line = f"**{md(r['title'])}** - {md(r['geo_label'])}" + (f", {md(period)}" if period else "") + f": {figure}"
        badge = ui.quality_badge(r["quality"]) if isinstance(r.get("quality"), str) else ""
        st.markdown(f"{line} {badge}")
        comps = [f"{md(r[f'bench{i}_label'])} vs {md(r[f'bench{i}_name'])} ({r[f'bench{i}_value']:,.1f}; "
                 f"{md(r.get(f'bench{i}_basis') or 'as published')})"
                 for i in (1, 2, 3) if isinstance(r.get(f"bench{i}_label"), str)]
        if comps:
            st.markdown("&nbsp;&nbsp;&nbsp;" + "; ".join(comps))
        src = source_of.get(str(r.get("source_id") or "").split("#")[0])
        if src is not None:
            st.caption(f"Source: {md(src['publisher'])}, *{md(src['title'])}* ({md(src['file_name'])}, loaded "
                       f"{str(src['retrieved_at'])[:10]}). Method: {md(r.get('method') or 'as published')}. "
                       f"{md(src['attribution'])}")
    if fam_rows["quality"].isin(["synthetic", "modelled"]).any():
        nat = national[national["family"] == fam]
        for n in nat.itertuples():
            st.markdown(f"National figure for context: **{n.value:,.0f}** {md(n.title.lower())} "
                        f"({md(n.area_name)}, {md(n.period_label)}). {cite(n._asdict())} "
                        f"{ui.quality_badge(n.quality)}")

st.subheader("All figures in this profile")
table = pr.profile_table(rows)
ui.dataframe(table, hide_index=True)
clean = rows[[c for c in rows.columns if not c.startswith("_") and not c.endswith("_colour")]]
c1, c2 = st.columns(2)
with c1:
    ui.download(clean, f"profile_{code}.csv", "Download the profile data (CSV)", key="dl_profile_csv")
with c2:
    st.download_button("Download a printable profile (HTML)", data=pr.profile_html(geo, rows, q.sources()),
                       file_name=f"profile_{code}.html", mime="text/html", key="dl_profile_html",
                       icon=":material/print:")

# ---------------------------------------------------------------- Duty outcome measures
st.subheader("Serious Violence Duty outcome measures")
st.caption("Each at the geography it is published at: hospital admissions by region of residence, police "
           "recorded knife crime by force area, homicide nationally.")
ui.dataframe(oc.outcomes_table(oc.duty_outcomes(geo)), hide_index=True)

# ---------------------------------------------------------------- trend
st.subheader("Trend")
with_data = rows[rows["area_code"].notna()] if "area_code" in rows else rows.iloc[0:0]
ind_ids = list(dict.fromkeys(with_data["indicator_id"]))
if not ind_ids:
    st.info("No local figures to draw for this area.")
    ui.stop()
titles = dict(zip(with_data["indicator_id"], with_data["title"], strict=False))
default_ind = q.lead_indicator(ind_ids, preferred="police_uk_violence_and_sexual_offences")
ind_id = ui.url_select("Indicator", ind_ids, "indicator", format_func=lambda i: titles.get(i, i), default=default_ind,
                       noun="indicator with a local figure for this area, id")
row = with_data[with_data["indicator_id"] == ind_id].iloc[0]
bench_codes = [c for c, _ in pr._benchmark_codes(geo, row["area_type"])]
series = control(q.indicator_series(ind_id, [row["area_code"], *bench_codes], row["period_type"]))
# Keep the area plus at most one national and one local benchmark, as in the table.
keep = [row["area_code"]] + [c for c in bench_codes if c in set(series["area_code"])][:1]
keep += [c for c in bench_codes[2:] if c in set(series["area_code"]) and c != row["area_code"]][:1]
series = series[series["area_code"].isin(keep)]
breaks = q.series_breaks([ind_id], keep)
fig = fg.trend_figure(series, title=f"{row['title']}: {row['geo_label']}", unit=str(row["unit"]), breaks=breaks)
mine = series[series["area_code"] == row["area_code"]]
gaps = "" if row["period_type"] != "month" else " Months with no data (e.g. Mar 2019 to Dec 2023) are gaps."
alt = (f"{row['title']} for {row['area_name']} and its benchmarks, {len(mine)} periods from "
       f"{mine['period_label'].iloc[0] if len(mine) else '-'} to {mine['period_label'].iloc[-1] if len(mine) else '-'}."
       f" Latest: {row['summary']}{gaps}")
ui.chart(fig, alt, key="profile_trend", data=series)
trend_rows = []
for code in keep:
    mine_series = series[series["area_code"] == code]
    marker = trend_marker(mine_series, unit=str(row["unit"]), polarity=str(row.get("polarity") or "none"),
                          breaks=breaks[breaks["area_code"] == code])
    name = mine_series["area_name"].iloc[0] if len(mine_series) else code
    trend_rows.append({"area_name": name, "recent trend": f"{marker.symbol} {marker.words}",
                       "how it was tested / why not": marker.detail})
st.markdown("**Recent trend** (Fingertips method: chi-squared test for trend over the latest 5 annual figures; "
            "none across a series break)")
ui.dataframe(pd.DataFrame(trend_rows), hide_index=True)
ui.dataframe(series[["area_name", "period_label", "count", "denominator", "value", "lower_ci", "upper_ci",
                     "suppressed_reason", "quality"]], hide_index=True)

# ---------------------------------------------------------------- SPC
# HES sharp-object admissions are monthly by region: their chart is the region's (counts rounded to 5).
hes_spc = ind_id.startswith("hes_sharp_object_") and row["area_type"] == "region"
st.subheader("Monthly control chart (" + ("HES, region of residence" if hes_spc else "police.uk") + ")")
spc_id = ind_id if ind_id.startswith("police_uk_") or hes_spc else "police_uk_violence_and_sexual_offences"
spc_rows = with_data[with_data["indicator_id"] == spc_id]
if spc_rows.empty:
    reason = rows.loc[rows["indicator_id"] == spc_id, "suppressed_reason"]
    st.info("No police.uk monthly series for this area: " + md(str(reason.iloc[0]) if len(reason) else "not published"))
else:
    sr = spc_rows.iloc[0]
    monthly = q.indicator_series(spc_id, [sr["area_code"]], "month")
    counts = pd.Series(monthly["count"].to_numpy(), index=pd.to_datetime(monthly["period_start"]))
    result = xmr_chart(counts, counts=True)
    spc_fig = fg.spc_figure(result, title=f"{sr['title']}: {sr['geo_label']}", qualities=monthly["quality"],
                            **({"unit": "episodes in the month (rounded to 5)"} if hes_spc else {}))
    flagged = result.points[result.points["special_cause"]]
    runs = "; ".join(
        f"{run.label()}: mean {run.mean:,.1f}, "
        + (f"limits {run.lower_limit:,.1f} to {run.upper_limit:,.1f}" if run.has_limits else "too few points for limits")
        for run in result.runs)
    alt = (f"Control chart of monthly counts for {sr['area_name']}, one mean and set of limits per continuous run "
           f"({runs}); {len(flagged)} month(s) flagged as special cause"
           + (f" ({', '.join(str(p) for p in flagged.index)})" if len(flagged) else "")
           + ". " + " ".join(result.notes))
    ui.chart(spc_fig, alt, key="profile_spc", data=monthly)

# ---------------------------------------------------------------- similar areas
st.subheader("Similar areas")
sim = pr.similar_areas(row["area_code"], ind_id)
if sim.empty:
    st.info("No similar areas can be found for this indicator (no rate for this area).")
else:
    st.caption(f"Nearest {q.AREA_TYPE_NAMES[row['area_type']].lower()}s by population and by {md(row['title'].lower())}"
               f" in {md(sim['period_label'].iloc[0])}.")
    ui.dataframe(control(sim.assign(is_health_source=bool(row.get("is_health_source", False)))).drop(
        columns=["is_health_source"]), hide_index=True)
    for r in sim.itertuples():
        ui.profile_link(r.area_code, r.area_name, row["area_type"])
ui.page_ready()
