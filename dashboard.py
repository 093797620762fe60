"""Home: the national picture for each family (latest figure, period, source, quality, trend),
the committee report's context figures with citation, national trends with every point's
source one click away, and an area search that opens the area profile.

This file is the entry point (`streamlit run dashboard.py`, or `serve.py`, which also warms the
caches at server start): app.navigation routes to the other pages (files in `pages/`, same URL
paths as before) and returns for Home, drawn below.
Query parameters: `series` (national trend shown), `q` (area search text).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import figures as fg
from app import navigation, ui, warmup
from app import outcomes as oc
from app import queries as q
from app.citation import chart_sources, cite, hover_source
from app.disclosure_view import quality_label
from app.indicator_format import figure, number
from app.safe_text import md, safe_url

warmup.start()  # once per process: a no-op when serve.py already warmed the caches at start
navigation.route()  # another page runs and stops here; Home goes on below
ui.page_setup("Home")
st.title("Serious violence in England & Wales")
ui.require_warehouse()

meta = q.meta()
st.caption(
    f"Warehouse built {md(meta.get('built_at', 'unknown'))} (refresh {md(meta.get('refresh_id', '?'))}). "
    "Every figure carries its publisher, period and quality: official, MODELLED (an estimate) or "
    "SYNTHETIC (demonstration data, not real)."
)

# ---------------------------------------------------------------- area search
st.subheader("Find your area")
text = st.text_input("Community Safety Partnership, local authority or police force area (name or code)",
                     value=ui.url_value("q") or "", key="area_search")
ui.set_url(q=text or None)
if text:
    hits = q.area_search(text)
    if hits.empty:
        st.info(f"No area matches '{md(text)}'. Try part of the name, e.g. 'Oxford', or a code such as E22000308.")
    for r in hits.itertuples():
        ui.profile_link(r.area_code, r.area_name, r.area_type)

# ---------------------------------------------------------------- latest national figures
st.subheader("Latest national figures")
latest = q.latest_national()
inds = q.indicators()
cols = st.columns(max(len(latest), 1))
for col, r in zip(cols, latest.itertuples(), strict=False):
    with col:
        st.markdown(f"**{md(q.FAMILY_NAMES.get(r.family, r.family))}**")
        # the registry's short title fits a metric's one-line label; the whole title and basis are its help
        whole = str(r.title) + (f" ({r.basis})" if isinstance(r.basis, str) and r.basis not in str(r.title) else "")
        st.metric(md(r.short_title if isinstance(r.short_title, str) and r.short_title else r.title),
                  figure(r.value, r._asdict()), help=md(whole))
        st.markdown(ui.quality_badge(r.quality))
        st.markdown(f"{md(r.area_name)}, {md(r.period_label)}. {cite(r._asdict())}")
if latest.empty:
    st.info("No national figures in this warehouse.")

st.subheader("Serious Violence Duty outcome measures")
st.caption("The three measures the Home Office's Serious Violence Duty guidance names, each at the geography "
           "it is published at, with its latest period, trend and how current it is.")
ui.dataframe(oc.outcomes_table(oc.duty_outcomes()), hide_index=True)

st.markdown("##### Trend of each headline series")
trend_cols = st.columns(2)
for i, r in enumerate(latest.itertuples()):
    series_name = inds.loc[inds["indicator_id"] == r.indicator_id, "series"].iloc[0]
    data = q.national_series(series_name)
    data = data[data["is_current"]]
    data = data[data["indicator_id"] == r.indicator_id] if len(data["indicator_id"].unique()) > 4 else data
    breaks = q.series_breaks(list(data["indicator_id"].unique()))
    fig = fg.trend_figure(data.assign(source_title=[hover_source(x) for x in data.to_dict("records")]),
                          title=f"{q.FAMILY_NAMES.get(r.family, r.family)}: {r.title}", unit=str(r.unit),
                          line_col="basis", breaks=breaks, show_intervals=False)
    fig.update_layout(height=380, showlegend=len(data["basis"].unique()) > 1)
    with trend_cols[i % 2]:
        alt = (f"{r.title}: {len(data)} published national values from {data['period_label'].iloc[0]} to "
               f"{data['period_label'].iloc[-1]}; latest {figure(r.value, r._asdict())} ({r.period_label})."
               if not data.empty else f"{r.title}: no national series.")
        ui.chart(fig, alt, key=f"home_trend_{r.family}", data=data)
        st.caption(chart_sources(data))

# ---------------------------------------------------------------- committee context
st.subheader("Context: children and gangs")
cco = q.observations(None, [q.ENGLAND])
cco = cco[cco["indicator_id"].str.startswith("gangs_cco_")]
wanted = [
    ("gangs_cco_gang_members_10_17", "children aged 10-17 in England identify as gang members"),
    ("gangs_cco_gang_members_girls_10_17", "of them girls"),
    ("gangs_cco_gang_members_boys_10_17", "of them boys"),
    ("gangs_cco_siblings", "children are siblings of gang members"),
    ("gangs_cco_victims_knowing_member", "know a gang member and have been victims of violent crime"),
    ("gangs_cco_high_risk_total", "children at high risk of gang violence"),
]
context_rows = []
for ind_id, words in wanted:
    hit = cco[cco["indicator_id"] == ind_id]
    if not hit.empty:
        v = hit.iloc[-1]
        context_rows.append({"figure": number(v["value"], v), "what": words, "period": v["period_label"],
                             "quality": quality_label(v["quality"]), "source": v["source_title"]})
if context_rows:
    st.markdown("  \n".join(f"- **{r['figure']}** {r['what']}" for r in context_rows))
    st.caption(
        "Source: Home Affairs Committee, *Serious youth violence*, Sixteenth Report of Session 2017-19, "
        "HC 1016, 2019, para 83, citing the Children's Commissioner for England, *Keeping kids safe* (2019). "
        "Estimates for England, not counts; no local breakdown is published."
    )
else:
    st.info("The Children's Commissioner estimates are not in this warehouse.")

# ---------------------------------------------------------------- national trends
st.subheader("National trends, with sources")
series = q.national_series_names()
if series.empty:
    st.info("No national series in this warehouse.")
    ui.stop()
labels = {s: f"{q.FAMILY_NAMES.get(f, f)}: {s.replace('_', ' ')}" for s, f in zip(series["series"], series["family"],
                                                                                  strict=True)}
chosen = ui.url_select("Series", list(series["series"]), "series", format_func=labels.get,
                       default="police_recorded_knife_offences", noun="national series")
data = q.national_series(chosen)
current = data[data["is_current"]]
breaks = q.series_breaks(list(current["indicator_id"].unique()))
unit = str(current["unit"].iloc[0]) if not current.empty else ""
fig = fg.trend_figure(current.assign(source_title=[hover_source(x) for x in current.to_dict("records")]),
                      title=labels[chosen], unit=unit, line_col="basis", breaks=breaks,
                      show_intervals=False)
n_bases = current["indicator_id"].nunique()
alt = (f"{labels[chosen]}: {len(current)} published values on {n_bases} bases (one line each); periods that "
       "are not consecutive are shown as separate points, not joined. The table below lists every value with "
       "its source.")
ui.chart(fig, alt, key="national_trend", data=current)
st.caption(chart_sources(current))
notes = current.dropna(subset=["break_note"]).drop_duplicates("indicator_id")
for r in notes.itertuples():
    st.markdown(f"- Series break: {md(r.break_note)}")
for r in breaks.itertuples():
    st.markdown(f"- {pd.Timestamp(r.break_date):%d %b %Y}: {md(r.description)}")

shown = data[["producer", "release_title", "release_date", "release_table", "release_url", "basis", "period_label",
              "value", "quality", "is_current", "correction", "source_title", "source_url", "quote", "publisher",
              "indicator_id", "period_start", "period_end"]].rename(columns={"source_title": "as_reported_by"})
shown["producer"] = shown["producer"].where(~data["no_official_source"].fillna(False).astype(bool),
                                            "NO OFFICIAL SOURCE")
shown["vintage"] = shown["is_current"].map({True: "current", False: "superseded (earlier figure)"})
shown["quality"] = shown["quality"].map(quality_label)
shown["source_url"] = shown["source_url"].map(safe_url)  # only http(s) links are clickable
ui.dataframe(
    shown.drop(columns=["is_current"]), hide_index=True,
    column_config={"release_url": st.column_config.LinkColumn("producer's release", display_text="open release"),
                   "source_url": st.column_config.LinkColumn("as reported by (opens the page)",
                                                             display_text="open page"),
                   "value": st.column_config.NumberColumn(format="localized")},
)
ui.download(data.assign(area_type="national"), f"national_{chosen}.csv", "Download this series (CSV)")
ui.page_ready()
