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

from app import benchmarks as bm
from app import download_links as dl
from app import figures as fg
from app import hes_breakdowns as hb
from app import outcomes as oc
from app import profile as pr
from app import queries as q
from app import report as rp
from app import similar_view, trends, ui
from app.citation import cite
from app.disclosure_view import control
from app.indicator_format import number, with_unit
from app.safe_text import md
from methods.similar import method_note as similar_method_note
from methods.spc import xmr_chart
from methods.trend import trend_marker

COUNT = {"multiplier": 1}  # a count is written as a whole number

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
if "folded_under" in has_value:  # a partnership's total speaks for its former districts
    has_value = has_value[has_value["folded_under"].isna()]
# compared figures lead; a "not compared" reason shared by several figures is said once above them
st.markdown("\n".join(f"- {md(line)}" + "".join(f"\n    - {md(sub)}" for sub in subs)
                      for line, subs in pr.summary_groups(has_value)))
st.caption("\"Significantly higher/lower\" means the 95% confidence interval excludes the benchmark; "
           "\"similar\" means it includes it. Synthetic figures are never compared.")

# ---------------------------------------------------------------- indicators by family
national = q.latest_national()
source_of = {rec["source_id"]: rec for rec in q.sources().to_dict("records")}


def _show_row(r: dict) -> None:
    """One figure: value, geography, period, quality, comparisons and source."""
    v = r.get("value")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        figure = f"not shown: {md(r.get('suppressed_reason') or 'no figure available')}"
        if isinstance(r.get("count"), float) and not math.isnan(r["count"]):
            figure += f" (count {number(r['count'], COUNT)})"
    else:
        # A modelled figure's range is a plausible range from its method, not a confidence interval.
        span = "plausible range" if r.get("quality") == "modelled" else "95% interval"
        ci = (f" ({span} {number(r['lower_ci'], r)} to {number(r['upper_ci'], r)})"
              if pd.notna(r.get("lower_ci")) and pd.notna(r.get("upper_ci")) else "")
        # counts whole, rates with the registry's decimals (app.indicator_format)
        figure = with_unit(f"**{number(v, r)}**", md(r["unit"])) + ci  # "6.2%", "38.2 per 100,000"
    period = (pr.period_words(r.get("period_label"), r.get("period_type"))
              if isinstance(r.get("period_label"), str) and r.get("period_label") else "")
    line = f"**{md(r['title'])}** - {md(r['geo_label'])}" + (f", {md(period)}" if period else "") + f": {figure}"
    badge = ui.quality_badge(r["quality"]) if isinstance(r.get("quality"), str) else ""
    st.markdown(f"{line} {badge}")
    comps = [f"{md(r[f'bench{i}_label'])} vs {md(r[f'bench{i}_name'])} ({number(r[f'bench{i}_value'], r)}; "
             f"{md(r.get(f'bench{i}_basis') or 'as published')})"
             for i in (1, 2, 3) if isinstance(r.get(f"bench{i}_label"), str) and isinstance(r.get(f"bench{i}_name"), str)]
    if isinstance(r.get("bench1_label"), str) and not isinstance(r.get("bench1_name"), str):
        comps = [md(r["bench1_label"])]  # the registry gives it no comparators: the reason
    if comps:
        st.markdown("&nbsp;&nbsp;&nbsp;" + "; ".join(comps))
    if isinstance(r.get("trend"), str):  # every indicator's recent trend, as on Compare and in the CSV
        st.markdown(f"&nbsp;&nbsp;&nbsp;Recent trend: {trends.markdown(r)} ({md(r.get('trend_detail') or '')})")
    if isinstance(r.get("similar_label"), str):  # app.benchmarks.similar_comparison, as on Compare
        sv = r.get("similar_value")
        shown = f"{number(sv, r)}; " if isinstance(sv, float) and not math.isnan(sv) else ""
        st.markdown(f"&nbsp;&nbsp;&nbsp;vs most similar partnerships: {md(r['similar_label'])} "
                    f"({shown}{md(r.get('similar_basis') or 'no group figure for this period')})")
    src = source_of.get(str(r.get("source_id") or "").split("#")[0])
    if src is not None:
        st.caption(f"Source: {md(src['publisher'])}, *{md(src['title'])}* ({md(src['file_name'])}, loaded "
                   f"{str(src['retrieved_at'])[:10]}). Method: {md(str(r.get('method') or 'as published').rstrip('.'))}. "
                   f"{md(src['attribution'])}")
    _show_council_figure(r)


def _show_council_figure(r: dict) -> None:
    """A CSP with no population of its own (a split unitary authority): its council's rate
    beside its count, with a link to the council's profile (pr.with_council_figures)."""
    if not isinstance(r.get("council_code"), str):
        return
    cv = r.get("council_value")
    if cv is None or (isinstance(cv, float) and math.isnan(cv)):
        figure = "no rate published"
    else:
        lo, up = r.get("council_lower_ci"), r.get("council_upper_ci")
        ci = f" (95% interval {lo:,.1f} to {up:,.1f})" if pd.notna(lo) and pd.notna(up) else ""
        figure = with_unit(f"**{cv:,.1f}**", md(r.get("council_unit") or "")) + ci
    count = r.get("council_count")
    count_words = f", count {count:,.0f}" if isinstance(count, float) and not math.isnan(count) else ""
    phrase = f"; {md(r['council_phrase'])}" if isinstance(r.get("council_phrase"), str) else ""
    st.markdown(f"&nbsp;&nbsp;&nbsp;No rate for {md(a['area_name'])} itself (no population of its own): its council, "
                f"**{md(r['council_name'])}** (local authority {md(r['council_code'])}, which includes "
                f"{md(a['area_name'])}), in the same period: "
                f"{figure}{count_words}{phrase}.")
    ui.profile_link(r["council_code"], r["council_name"], "lad")


def _show_hes_breakdowns() -> None:
    """NHS Digital's sex / age group / ethnicity tables of sharp-object episodes for the area's
    region and England (app.hes_breakdowns), one financial year at a time."""
    years = q.hes_breakdown_years()
    if not years or not geo.get("region"):
        return
    region, provisional = geo["region"], q.hes_provisional_years()
    areas = [(region["code"], f"{region['name']} region"), (q.ENGLAND, "England")]
    with st.expander(f"Hospital episodes for assault by a sharp object by sex, age group and ethnicity: "
                     f"{md(region['name'])} region (where {md(a['area_name'])} is) and England"):
        year = st.selectbox("Financial year (April to March)", years, key="hes_breakdown_year",
                            format_func=lambda y: f"{y} (provisional)" if y in provisional else y)
        data = q.hes_breakdowns([c for c, _ in areas], year)
        for tab, dim in zip(st.tabs(list(hb.DIMENSIONS.values())), hb.DIMENSIONS, strict=True):
            with tab:
                table = hb.year_table(data, dim, areas, year)
                basis = ("NHS Digital's year totals by sex (only episodes whose sex was recorded)" if dim == "sex"
                         else f"sum of the published months of {year} (NHS Digital gives no year total by "
                              f"{hb.DIMENSIONS[dim].lower()})")
                st.markdown(f"**{md(hb.DIMENSIONS[dim])}, {md(year)}**: episodes with cause X99 (assault by "
                            f"a sharp object), by patients' region of residence; {md(basis)}.")
                st.dataframe(hb.wide(table, areas), hide_index=True)
        st.caption("Source: NHS Digital, Hospital Episode Statistics (tabulation for the Home Office). Admission "
                   "episodes (FAE) and consultant episodes (FCE) are different measures: one admission can have "
                   "several consultant episodes; neither counts people. Regional counts are rounded to the nearest "
                   "5 by NHS Digital and 1-7 shown as *: a range such as '40 to 82 (7 months *)' means the "
                   "published months add to 33 and each * month holds 1 to 7 more (for a region, also each "
                   "published month up to 2 either way, as rounded). 'blank' months were left empty "
                   "in the table and are not counted. England here is NHS Digital's all-patient figure "
                   "(including patients living outside England).")


for fam in q.FAMILIES:
    fam_rows = rows[rows["family"] == fam]
    if fam_rows.empty:
        continue
    st.subheader(q.FAMILY_NAMES[fam])
    folded = fam_rows["folded_under"] if "folded_under" in fam_rows else pd.Series(None, index=fam_rows.index)
    for r in fam_rows[folded.isna()].to_dict("records"):
        _show_row(r)
        n_parts = r.get("partnership_total_of")
        if isinstance(n_parts, (int, float)) and not math.isnan(n_parts):
            # a partnership of several former districts: its total first, the districts folded below
            parts = fam_rows[folded == r["indicator_id"]]
            with st.expander(f"The {int(n_parts)} former districts: " + ", ".join(md(n) for n in parts["area_name"])):
                for p in parts.to_dict("records"):
                    _show_row(p)
    if fam == "ae_assault":
        _show_hes_breakdowns()
    if fam_rows["quality"].isin(["synthetic", "modelled"]).any():
        nat = national[national["family"] == fam]
        for n in nat.itertuples():
            st.markdown(f"National figure for context: **{number(n.value, n._asdict())}** {md(pr.title_mid_sentence(n.title))} "
                        f"({md(n.area_name)}, {md(n.period_label)}). {cite(n._asdict())} "
                        f"{ui.quality_badge(n.quality)}")

st.subheader("All figures in this profile")
table = pr.profile_table(rows)
ui.dataframe(table, hide_index=True)
clean = rows[[c for c in rows.columns if not c.startswith("_") and not c.endswith("_colour")]]
c1, c2, c3 = st.columns(3)
with c1:
    ui.download(clean, f"profile_{code}.csv", "Download the profile data (CSV)", key="dl_profile_csv")
# The A4 report (app.report) is built only when asked for, cached per area, month and warehouse
# (under serve.py a link to its route, app.download_links); the area and month are bound now
# (`code` is reused further down the page).
with c2:
    ui.built_download("Download the profile report (HTML)", lambda c=code, m=month: rp.profile_report_html(c, m),
                      url=dl.report_url(code, month, "html"), file_name=rp.report_file_name(code, month, "html"),
                      mime="text/html", key="dl_profile_html", icon=":material/description:")
with c3:
    if rp.pdf_available():
        ui.built_download("Download the profile report (PDF, A4)", lambda c=code, m=month: rp.profile_report_pdf(c, m),
                          url=dl.report_url(code, month, "pdf"), file_name=rp.report_file_name(code, month, "pdf"),
                          mime="application/pdf", key="dl_profile_pdf", icon=":material/picture_as_pdf:")
    else:
        st.info("The PDF report is unavailable on this server (no Chromium browser to print it with). "
                "Download the HTML report and print it to PDF from your browser.")
st.caption("The report is built when you ask for it: on a busy server the download can take a minute to start.")

# ---------------------------------------------------------------- Duty outcome measures
st.subheader("Serious Violence Duty outcome measures")
st.caption(oc.GEOGRAPHY_NOTE)
ui.dataframe(oc.outcomes_table(oc.duty_outcomes(geo)), hide_index=True)

# ---------------------------------------------------------------- trend
st.subheader("Trend")
with_data = rows[rows["area_code"].notna()] if "area_code" in rows else rows.iloc[0:0]
if "partnership_total_of" in with_data:  # a total made here has no published series to draw
    with_data = with_data[with_data["partnership_total_of"].isna()]
ind_ids = list(dict.fromkeys(with_data["indicator_id"]))
if not ind_ids:
    st.info("No local figures to draw for this area.")
    ui.stop()
titles = dict(zip(with_data["indicator_id"], with_data["title"], strict=False))
default_ind = q.lead_indicator(ind_ids, preferred="police_uk_violence_and_sexual_offences")
ind_id = ui.url_select("Indicator", ind_ids, "indicator", format_func=lambda i: titles.get(i, i), default=default_ind,
                       noun="indicator with a local figure for this area, id")
row = with_data[with_data["indicator_id"] == ind_id].iloc[0]
# The benchmark lines are the ones the verdicts above use (app.benchmarks): counted like the
# area's figure, each labelled with what it sums. At most one national and one local benchmark.
bench_keep = bm.chart_benchmark_codes([(row.get(f"bench{i}_role"), row.get(f"bench{i}_code")) for i in (1, 2, 3)],
                                     row["area_code"])
own = control(q.indicator_series(ind_id, [row["area_code"]], row["period_type"]))
own = own.assign(line_name=own["area_name"])
bench_lines = bm.benchmark_series(ind_id, row["area_type"], row["period_type"], bench_keep)
series = pd.concat([own, bench_lines], ignore_index=True) if len(bench_lines) else own
keep = [row["area_code"], *[c for c in bench_keep if c in set(series["area_code"])]]
breaks = q.series_breaks([ind_id], keep)
fig = fg.trend_figure(series, title=f"{row['title']}: {row['geo_label']}", unit=str(row["unit"]), breaks=breaks,
                      line_col="line_name")
mine = own
gaps = "" if row["period_type"] != "month" else " Months with no data (e.g. Mar 2019 to Dec 2023) are gaps."
alt = (f"{row['title']} for {row['area_name']} and its benchmarks "
       f"({'; '.join(dict.fromkeys(bench_lines['line_name'])) if len(bench_lines) else 'none'}), {len(mine)} periods from "
       f"{mine['period_label'].iloc[0] if len(mine) else '-'} to {mine['period_label'].iloc[-1] if len(mine) else '-'}."
       f" Latest: {row['summary']}{gaps}")
ui.chart(fig, alt, key="profile_trend", data=series)
trend_rows = []
for code in keep:
    mine_series = series[series["area_code"] == code]
    if code == row["area_code"]:  # the area's own marker is the one its row shows (app.trends)
        marker = trends.recent_trend(ind_id, code, row["period_type"], row["period_label"])
    else:  # a benchmark line's marker, on the line as drawn, up to the period the row shows
        upto = pd.to_datetime(own.loc[own["period_label"] == row["period_label"], "period_end"]).max()
        drawn = mine_series[pd.to_datetime(mine_series["period_end"]) <= upto] if pd.notna(upto) else mine_series
        marker = trend_marker(trends.annual_points(drawn), value_type=str(row.get("value_type")),
                              polarity=str(row.get("polarity") or "none"),
                              breaks=breaks[breaks["area_code"] == code])
    name = mine_series["line_name"].iloc[0] if len(mine_series) else code
    trend_rows.append({"line": name, "recent trend": f"{marker.symbol} {marker.words}",
                       "how it was tested / why not": marker.detail})
st.markdown("**Recent trend** (Fingertips method: chi-squared test for trend over the latest 5 annual figures; "
            "none across a series break)")
ui.dataframe(pd.DataFrame(trend_rows), hide_index=True)
ui.dataframe(series[["line_name", "period_label", "count", "denominator", "value", "lower_ci", "upper_ci",
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

# ---------------------------------------------------------------- most similar partnerships
st.subheader("Most similar partnerships")
group = q.similar_partnerships(a["area_code"])
if group.empty:
    st.info("No group of most similar partnerships: "
            + ("groups are built for Community Safety Partnerships; open a partnership's profile."
               if a["area_type"] != "csp" else
               "this partnership has no population of its own (it lies inside a unitary authority split "
               "across partnerships), so its characteristics cannot be measured."
               if geo["split_note"] else "none in this warehouse (rebuild it with the refresh)."))
else:
    st.markdown(md(similar_method_note()))
    all_sources = q.sources()
    built_from = ",".join(sorted({s for v in group["sources"] for s in str(v).split(",")}))
    st.caption(f"Method {md(group['method_version'].iloc[0])}; built at refresh from: "
               f"{md(similar_view.source_words(built_from, all_sources))}.")
    chars = q.similar_characteristics([a["area_code"], *group["neighbour_code"]])
    shown_group, group_csv = similar_view.similar_table(group, chars)  # characteristics by name, codes in the CSV
    ui.dataframe(shown_group, hide_index=True)
    ui.download(group_csv, f"similar_partnerships_{a['area_code']}.csv", "Download the group (CSV)",
                key="dl_similar_group")
    for g in group.itertuples():
        ui.profile_link(g.neighbour_code, g.neighbour_name, "csp")
    ui.compare_similar_link(a["area_code"], a["area_name"], ind_id)
    if not chars.empty:
        mine = chars[chars["area_code"] == a["area_code"]].set_index("characteristic")
        others = chars[chars["area_code"] != a["area_code"]].groupby("characteristic")["value"].median()
        how = mine[["label", "value", "period", "source_id"]].assign(group_median=others).reset_index(drop=True)
        how["source"] = [similar_view.source_words(v, all_sources) for v in how["source_id"]]
        st.markdown("**How the group was chosen**: this partnership's characteristics and the group's median")
        ui.dataframe(how[["label", "value", "group_median", "period", "source"]], hide_index=True)
ui.page_ready()
