"""A&E assaults (ISTV): for one CSP, emergency department assault attendances by hour x day of
week, by weapon and by month, from the ISTV extract the local emergency department shares.

Health counts: every table and chart goes through the disclosure view, so counts of 1-7 are
suppressed (and a second cell where a total would reveal one). The extract in this mirror is
SYNTHETIC and every chart says so. Query parameters: `area`, `period` (first..last month).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import figures as fg
from app import queries as q
from app import ui
from app.disclosure_view import control
from app.safe_text import md

ui.page_setup("A&E assaults (ISTV)")
st.title("A&E assault attendances (ISTV)")
ui.require_warehouse()

csps = q.istv_csps()
if csps.empty:
    st.info("No ISTV extract has been loaded. Drop the emergency department's monthly files in the sources folder "
            "(layout in docs/istv_layout.md) and run the refresh.")
    st.stop()
names = dict(zip(csps["area_code"], csps["area_name"], strict=True))
code = ui.url_select("Community Safety Partnership", list(csps["area_code"]), "area", format_func=names.get,
                     default="E22000308")
months = [m.strftime("%Y-%m") for m in q.istv_months(code)]
wanted = (ui.url_value("period") or "").split("..")
start = wanted[0] if len(wanted) == 2 and wanted[0] in months else months[max(0, len(months) - 12)]
end = wanted[1] if len(wanted) == 2 and wanted[1] in months else months[-1]
first, last = st.select_slider("Months", options=months, value=(start, end), key="istv_months")
ui.set_url(period=f"{first}..{last}")
lo, hi = f"{first}-01", f"{last}-01"

quality = ", ".join(sorted(set(q.istv_counts(code, "month", lo, hi)["quality"].dropna()))) or "local"
if "synthetic" in quality:
    st.markdown(ui.quality_badge("synthetic") + " This extract is synthetic demonstration data, not real "
                "attendances. Counts of 1-7 are shown as suppressed (*).")
else:
    st.markdown(ui.quality_badge(quality) + " Extract shared by the emergency department(s) with the partnership "
                "(local management information, not official statistics). Counts of 1-7 are shown as suppressed (*).")
label = f"{names[code]}, {first} to {last}"

# ---------------------------------------------------------------- hour x day of week
cells = q.istv_counts(code, "hour_dow", lo, hi)
quality = ", ".join(sorted(set(cells["quality"].dropna()))) or quality
cells = cells[~cells["category"].str.contains("unknown")]
split = cells["category"].str.split(" ", n=1, expand=True)
grid = pd.DataFrame({"dow": split[0], "hour": split[1], "count": cells["count"].astype(float)})
days = q.istv_counts(code, "dow", lo, hi)
totals = pd.DataFrame({"dow": days["category"], "hour": "all", "count": days["count"].astype(float)})
totals = totals[totals["dow"].isin(fg.DOW_ORDER)]
grid = pd.concat([grid, totals], ignore_index=True).assign(is_health_source=True)
grid = control(grid, group_cols=["dow"], total_marker=("hour", "all"))
cells_only = grid[grid["hour"] != "all"]
heat = fg.istv_heatmap(cells_only, title=f"Assault attendances by hour and day: {label}", qualities=[quality])
busiest = cells_only[cells_only["count"] > 0].nlargest(3, "count")
n_hidden = int(cells_only["count"].isna().sum())
peak = ("Busiest shown: " + ", ".join(f"{r.dow} {r.hour}:00 ({r.count:,.0f})" for r in busiest.itertuples()) + "."
        if not busiest.empty else "No cell has enough attendances to show (all are zero or suppressed).")
ui.chart(heat, f"Hour by day-of-week counts for {label}. {peak} {n_hidden} of {len(cells_only)} cells suppressed. "
         "The table below lists every cell.", key="istv_heat")
if n_hidden > len(cells_only) / 2:
    st.info(f"Most hour-by-day cells are suppressed: {md(label)} has too few attendances for a 168-cell grid. "
            "The day-of-week and time-of-day charts below group them so the pattern can be shown safely; "
            "a longer span of months also helps.")
with st.expander("Hour x day table"):
    st.dataframe(grid.pivot_table(index="dow", columns="hour", values="count", aggfunc="first")
                 .reindex(fg.DOW_ORDER), width="stretch")

# ---------------------------------------------------------------- by day of week and time of day
hours = q.istv_counts(code, "hour", lo, hi)
hours = hours[hours["category"].str.fullmatch(r"\d{2}")]
band = (hours["category"].astype(int) // 3) * 3
bands = (pd.DataFrame({"category": band.map(lambda h: f"{h:02d}:00-{h + 2:02d}:59"), "count": hours["count"]})
         .groupby("category", as_index=False)["count"].sum())
by_day = (totals.rename(columns={"dow": "category"})[["category", "count"]]
          .set_index("category").reindex(fg.DOW_ORDER).dropna().reset_index())
for dim, frame, title in (("day of week", by_day,
                           "by day of week"),
                          ("time of day", bands, "by time of day (3-hour bands)")):
    t = pd.concat([frame.assign(dimension=dim),
                   pd.DataFrame({"dimension": [dim], "category": ["all"], "count": [float(frame["count"].sum())]})],
                  ignore_index=True).assign(is_health_source=True)
    t = control(t, group_cols=["dimension"], total_marker=("category", "all"))
    shown_t = t[t["category"] != "all"]
    ui.chart(fg.count_bars(shown_t, title=f"Assault attendances {title}: {label}", qualities=[quality]),
             "; ".join(f"{r.category}: {'suppressed' if pd.isna(r.count) else f'{r.count:,.0f}'}"
                       for r in shown_t.itertuples()), key=f"istv_{dim.replace(' ', '_')}")

# ---------------------------------------------------------------- by weapon
weapons = q.istv_counts(code, "weapon", lo, hi)
total = q.istv_counts(code, "month", lo, hi)["count"].sum()
wt = pd.DataFrame({"dimension": "weapon", "category": list(weapons["category"]) + ["all"],
                   "count": list(weapons["count"].astype(float)) + [float(total)], "is_health_source": True})
wt = control(wt, group_cols=["dimension"], total_marker=("category", "all"))
shown = wt[wt["category"] != "all"]
wfig = fg.count_bars(shown, title=f"Assault attendances by weapon: {label}", qualities=[quality])
ui.chart(wfig, "; ".join(f"{r.category}: {'suppressed' if pd.isna(r.count) else f'{r.count:,.0f}'}"
                         for r in shown.itertuples()), key="istv_weapon")
st.dataframe(wt.drop(columns=["is_health_source"]), hide_index=True)

# ---------------------------------------------------------------- by month
monthly = q.istv_counts(code, "month", q.istv_months(code)[0].strftime("%Y-%m-%d"), hi)
m = pd.DataFrame({
    "area_name": names[code], "period_start": pd.to_datetime(monthly["month"]),
    "count": monthly["count"].astype(float), "quality": monthly["quality"], "is_health_source": True,
    "title": "Emergency department attendances for assault (ISTV)", "unit": "attendances", "area_code": code,
    "area_type": "csp", "source_id": monthly["source_id"],
})
m["period_end"] = m["period_start"] + pd.offsets.MonthEnd(0)
m["period_label"] = m["period_start"].dt.strftime("%Y-%m")
m = control(m)
m["value"] = m["count"]
mfig = fg.trend_figure(m, title=f"Assault attendances by month: {names[code]}", unit="attendances",
                       show_intervals=False)
ui.chart(mfig, f"Monthly attendances for {names[code]}, {m['period_label'].iloc[0]} to {m['period_label'].iloc[-1]}: "
         + ", ".join(f"{r.period_label} {'suppressed' if pd.isna(r.count) else f'{r.count:,.0f}'}"
                     for r in m.itertuples()), key="istv_month")
ui.download(m.drop(columns=["value"]), f"istv_{code}_monthly.csv", "Download monthly counts (CSV)")
