"""Data & sources: every loaded source with publisher, licence, attribution, file, checksum,
load time and quality; what each source covers; the police.uk force x month coverage grid;
refresh history with its changelog; revisions, series breaks and areas not estimated; and a
download of the whole observations table (through the same disclosure rules as the screen).
"""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app import download_links as dl
from app import download_routes, ui
from app import figures as fg
from app import queries as q
from app.disclosure_view import quality_label
from app.observations_package import PACKAGE_FILE
from app.safe_text import md, safe_url

ui.page_setup("Data and sources")
st.title("Data and sources")
ui.require_warehouse()

meta = q.meta()
st.markdown(f"Warehouse built **{md(meta.get('built_at', '?'))}**, refresh "
            f"{md(meta.get('refresh_id', '?'))}, schema version {md(meta.get('schema_version', '?'))}.")
st.caption(f"Served from {md(q.db_path().parent if q.parquet_dir() else q.db_path())}"
           + (" (Parquet export)" if q.parquet_dir() else ""))

st.subheader("Sources")
src = q.sources().merge(q.source_coverage(), on="source_id", how="left", suffixes=("", "_observed"))
src["quality_label"] = src["quality"].map(quality_label)
src["url"] = src["url"].map(safe_url)  # only http(s) links are clickable
for r in src.itertuples():
    st.markdown(f"**{md(r.title)}** {ui.quality_badge(r.quality)}  \n{md(r.publisher)}. Licence: {md(r.licence)}. "
                f"{md(r.attribution)}  \nFile: {md(r.file_name)} (sha256 {md(str(r.sha256)[:16])}...), loaded "
                f"{pd.Timestamp(r.retrieved_at):%Y-%m-%d %H:%M %Z}, {r.rows:,} rows, from {md(r.origin)}."
                + (f" Covers {pd.Timestamp(r.first_period):%b %Y} to {pd.Timestamp(r.last_period):%b %Y}, "
                   f"{int(r.areas)} areas." if pd.notna(r.first_period) else ""))
ui.dataframe(src, hide_index=True, column_config={"url": st.column_config.LinkColumn("url")})
with st.expander("Every file loaded (with checksum)"):
    ui.dataframe(q.source_files(), hide_index=True)

st.subheader("police.uk coverage by force and month")
cov = q.coverage_grid()
if cov.empty:
    st.info("No police.uk files in this warehouse.")
else:
    counts = cov["status"].value_counts()
    # the force by its name ("Greater Manchester"), not police.uk's folder name ("greater-manchester")
    forces = q.areas(("pfa",), current_only=False)
    force_names = dict(zip(forces["area_code"], forces["area_name"], strict=True))
    cov = cov.assign(force_name=[force_names.get(c, f) for c, f in zip(cov["pfa_code"], cov["force"], strict=True)])
    missing_forces = sorted(cov.loc[cov["status"] == "missing", "force_name"].unique())
    ui.chart(fg.coverage_heatmap(cov),
             alt=(f"{counts.get('present', 0)} force-months present, {counts.get('partial', 0)} partial, "
                  f"{counts.get('implausible', 0)} implausibly high (held back), "
                  f"{counts.get('missing', 0)} missing. Forces with a missing month: {', '.join(missing_forces)}. "
                  "The table below lists every force and month with the reason."), key="coverage", data=cov,
             lineage=f"Source: police.uk street-level crime files (Home Office) loaded in this warehouse, by force. "
                     f"Period: {cov['month'].min()} to {cov['month'].max()}. Quality: a record of the files "
                     "received, not a statistic.")
    high = cov[cov["status"] == "implausible"]
    if not high.empty:
        st.warning(f"{len(high)} force-month(s) held back as implausibly high (no figure published): "
                   + "; ".join(f"{md(r.force)} {md(r.month)}: {md(r.note)}" for r in high.itertuples()))
    ui.dataframe(cov[cov["status"] != "present"], hide_index=True)
    st.caption("Months absent from the mirror altogether (e.g. March 2019 to December 2023) are not in this grid: "
               "charts show them as gaps.")
    with st.expander("Records placed in a CSP vs without a location, by month"):
        ui.dataframe(q.police_uk_reconciliation(), hide_index=True)

st.subheader("Refresh history")


def _in_words(value: object) -> str:
    """One changelog entry for a reader: a list by its length, a group of lists by each length
    ("0 opened, 0 closed, 39 still open"), yes/no for a flag; the full entry is in the expander."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ", ".join(f"{_in_words(v)} {str(k).replace('_', ' ')}" for k, v in value.items()) or "none"
    return str(value)


ref = q.refreshes()
for r in ref.itertuples():
    st.markdown(f"**{md(r.refresh_id)}**: {md(r.status)}, {pd.Timestamp(r.started_at):%Y-%m-%d %H:%M} to "
                f"{pd.Timestamp(r.finished_at):%H:%M:%S}. {md(r.message or '')}")
    try:
        change = json.loads(r.changelog) if isinstance(r.changelog, str) else {}
    except json.JSONDecodeError:
        change = {"changelog": r.changelog}
    st.markdown("Changelog: " + ", ".join(f"{md(k.replace('_', ' '))}: {md(_in_words(v))}" for k, v in change.items()))
    with st.expander(f"Full changelog of {md(r.refresh_id)}"):
        st.json(change)

st.subheader("For the analyst: failures, gaps, sources not loaded")
failed = q.last_failed_refresh()
if failed is None:
    st.success("No failed refresh in the log beside this warehouse.")
else:
    words = ("a later refresh succeeded" if failed["succeeded_since"]
             else "no refresh has succeeded since: the warehouse shown is older than the last attempt")
    (st.info if failed["succeeded_since"] else st.error)(
        f"Last failed refresh started {failed['started_at']} ({words}). Its error:")
    st.code(str(failed["message"]), language=None, wrap_lines=True)
latest_change = {}
if not ref.empty and isinstance(ref.iloc[0]["changelog"], str):
    try:
        latest_change = json.loads(ref.iloc[0]["changelog"])
    except json.JSONDecodeError:
        latest_change = {}
gaps = latest_change.get("coverage_gaps") or {}
gap_rows = pd.DataFrame([{"change": kind.replace("_", " "), **g} for kind in ("opened", "closed", "still_open")
                         for g in gaps.get(kind, [])])
st.markdown(f"**police.uk coverage gaps in the latest refresh**: {len(gaps.get('opened', []))} new, "
            f"{len(gaps.get('closed', []))} closed, {len(gaps.get('still_open', []))} still open "
            "(a force-month missing, partial or implausibly high: no figure; compared with the warehouse it replaced).")
if not gap_rows.empty:
    ui.dataframe(gap_rows, hide_index=True)
not_loaded = q.sources_not_loaded()
st.markdown(f"**Sources in the manifest not loaded** ({len(not_loaded)})")
if not not_loaded.empty:
    ui.dataframe(not_loaded, hide_index=True, column_config={"url": st.column_config.LinkColumn("url")})

st.subheader("Revisions, breaks and gaps")
rev = q.revisions()
st.markdown(f"**Revised national figures** ({len(rev)}): the current figure is shown in charts; the earlier one "
            "is listed here and in the home page table.")
ui.dataframe(rev, hide_index=True)
st.markdown("**Series breaks**")
ui.dataframe(q.all_series_breaks(), hide_index=True)
st.markdown("**Areas where a modelled figure is not estimated**")
ui.dataframe(q.not_estimated(), hide_index=True)
with st.expander("Data checks from the last refresh"):
    ui.dataframe(q.data_checks(), hide_index=True)

st.subheader("Download everything")
st.markdown("Every observation in the warehouse as a zip of CSV files: `observations.csv` (one row per figure, with "
            "quality, publisher, period, source id and a column saying what each number is), and `indicators.csv`, "
            "`sources.csv` and `source_files.csv`, which give each indicator's definition and method and each "
            "source's title, official link, licence and file checksums once, joined on `indicator_id` and "
            "`source_id`. Health counts of 1-7 are suppressed as on screen; superseded vintages are included and "
            "flagged (`is_current` false).")
# Built only when asked for (it dominated the page's first render when built eagerly), once per
# warehouse version; under serve.py a link to its route (app.download_links says why).
ui.built_download("Download all observations (zip of CSVs)", download_routes.observations_zip,
                  url=dl.OBSERVATIONS_PATH, file_name=PACKAGE_FILE, mime="application/zip", key="dl_all")
st.caption("It is built when you ask for it: on a busy server the download can take a few minutes to start.")
ui.page_ready()
