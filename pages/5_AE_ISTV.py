"""A&E assaults (ISTV): for one CSP, emergency department assault attendances by hour x day of
week, by weapon and by month, from the ISTV extract the local emergency department shares.

Health counts: every figure on the page goes through the disclosure view as one linked table,
so counts of 1-7 are suppressed and so is every further cell needed to stop one being worked
out from the totals shown (day rows, 3-hour bands, weapons, months, the period total). Periods
are fixed financial years, not free ranges, so two selections cannot be subtracted. The
extract in this mirror is SYNTHETIC and every chart says so. Query parameters: `area`,
`period` (a financial year label, e.g. 2023/24).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import figures as fg
from app import linked_disclosure as ld
from app import queries as q
from app import ui
from app.disclosure_view import control, quality_label
from app.safe_text import md

ui.page_setup("A&E assaults (ISTV)")
st.title("A&E assault attendances (ISTV)")
ui.require_warehouse()

csps = q.istv_csps()
if csps.empty:
    st.info("No ISTV extract has been loaded. Drop the emergency department's monthly files in the sources folder "
            "(layout in docs/istv_layout.md) and run the refresh.")
    ui.stop()
names = dict(zip(csps["area_code"], csps["area_name"], strict=True))
code = ui.url_select("Community Safety Partnership", list(csps["area_code"]), "area", format_func=names.get,
                     default="E22000308", noun="partnership with an ISTV extract, code")
# Fixed reporting periods (financial years), never free ranges: two ranges that differ by one
# month would give that month's small counts away by subtraction. The profile's ISTV months
# come from the same periods and the same controlled table (app.linked_disclosure).
periods = ld.istv_periods(code)
labels = list(periods)
chosen_period = ui.url_select("Reporting period (financial year)", labels, "period", default=labels[-1],
                              noun="reporting period",
                              help="Fixed financial years only: with free month ranges, two ranges a month apart "
                                   "could be subtracted to recover one month's suppressed counts.")
first, last = periods[chosen_period]
lo, hi = f"{first}-01", f"{last}-01"

quality = ", ".join(sorted(set(q.istv_counts(code, "month", lo, hi)["quality"].dropna()))) or "local"
if "synthetic" in quality:
    st.markdown(ui.quality_badge("synthetic") + " This extract is synthetic demonstration data, not real "
                "attendances. Counts of 1-7 are shown as suppressed (*).")
else:
    st.markdown(ui.quality_badge(quality) + " Extract shared by the emergency department(s) with the partnership "
                "(local management information, not official statistics). Counts of 1-7 are shown as suppressed (*).")
label = f"{names[code]}, {chosen_period}"

# ---------------------------------------------------------------- one linked table
# Every figure on this page (cells, day and band totals, weapons, months, the total) is
# controlled together, so none can be recovered from the others (app.disclosure_view).
cells = q.istv_counts(code, "hour_dow", lo, hi)
quality = ", ".join(sorted(set(cells["quality"].dropna()))) or quality
period_months = q.istv_counts(code, "month", lo, hi)
safe = ld.istv_page(code, chosen_period)
# drawn into every chart on this page (and so into its PNG and SVG)
lineage = (f"Source: ISTV extract shared by the emergency department(s) for {names[code]} "
           f"({', '.join(sorted(set(period_months['source_id'].dropna().astype(str)))) or 'local files'}). "
           f"Period: {chosen_period}. "
           f"Quality: {quality_label('synthetic' if 'synthetic' in quality else quality.split(', ')[0])}.")
n_secondary = sum(int(f["suppressed_reason"].astype(str).str.startswith("secondary").sum())
                  for k, f in safe.items() if k != "knife_months")  # knife months: shown on the profile
st.caption(f"{n_secondary} further figure(s) on this page are suppressed so that no count of 1-7 can be worked out "
           "from the totals shown (rows, 3-hour bands, weapons, months and the period total).")

# ---------------------------------------------------------------- hour x day of week
cells_only = safe["cells"]
heat = fg.istv_heatmap(cells_only, title=f"Assault attendances by hour and day: {label}", qualities=[quality])
busiest = cells_only[cells_only["count"] > 0].nlargest(3, "count")
n_hidden = int(cells_only["count"].isna().sum())
all_zero = n_hidden == 0 and bool((cells_only["count"] == 0).all())
peak = ("Busiest shown: " + ", ".join(f"{r.dow} {r.hour}:00 ({r.count:,.0f})" for r in busiest.itertuples()) + "."
        if not busiest.empty else f"{fg.NO_ATTENDANCES.capitalize()}." if all_zero
        else "No cell has enough attendances to show (all are zero or suppressed).")
ui.chart(heat, f"Hour by day-of-week counts for {label}. {peak} {n_hidden} of {len(cells_only)} cells suppressed. "
         "The table below lists every cell.", key="istv_heat", data=cells_only, lineage=lineage)
if n_hidden > len(cells_only) / 2:
    st.info(f"Most hour-by-day cells are suppressed: {md(label)} has too few attendances for a 168-cell grid. "
            "The day-of-week and time-of-day charts below group them so the pattern can be shown safely.")
with st.expander("Hour x day table"):
    ui.dataframe(cells_only.pivot_table(index="dow", columns="hour", values="count", aggfunc="first", dropna=False)
                 .reindex(fg.DOW_ORDER), width="stretch", missing="suppressed")

# ---------------------------------------------------------------- by day of week and time of day
by_day = safe["days"].set_index("category").reindex(fg.DOW_ORDER).reset_index()
for dim, frame, title in (("day of week", by_day, "by day of week"),
                          ("time of day", safe["bands"], "by time of day (3-hour bands)")):
    ui.chart(fg.count_bars(frame, title=f"Assault attendances {title}: {label}", qualities=[quality]),
             "; ".join(f"{r.category}: {'suppressed' if pd.isna(r.count) else f'{r.count:,.0f}'}"
                       for r in frame.itertuples()), key=f"istv_{dim.replace(' ', '_')}", data=frame, lineage=lineage)

# ---------------------------------------------------------------- by weapon
weapon_names = q.istv_weapon_names()  # the category codes by their words (data/istv_weapon_categories.csv)
wt = safe["weapons"].assign(dimension="weapon")[["dimension", "category", "count", "suppressed_reason"]]
shown = wt[wt["category"] != "all"]
shown = shown.assign(category=shown["category"].map(lambda c: weapon_names.get(c, c)))
wfig = fg.count_bars(shown, title=f"Assault attendances by weapon: {label}", qualities=[quality])
ui.chart(wfig, "; ".join(f"{r.category}: {'suppressed' if pd.isna(r.count) else f'{r.count:,.0f}'}"
                         for r in shown.itertuples()), key="istv_weapon", data=shown, lineage=lineage)
ui.dataframe(wt, hide_index=True, names={"category": weapon_names})

# ---------------------------------------------------------------- by month
safe_months = safe["months"].set_index("month")
m = pd.DataFrame({
    "area_name": names[code], "period_start": pd.to_datetime(period_months["month"]),
    "quality": period_months["quality"], "is_health_source": True,
    "title": "Emergency department attendances for assault (ISTV)", "unit": "attendances", "area_code": code,
    "area_type": "csp", "source_id": period_months["source_id"],
})
m["period_label"] = m["period_start"].dt.strftime("%Y-%m")
m["count"] = safe_months["count"].reindex(m["period_label"]).to_numpy()
m["suppressed_reason"] = safe_months["suppressed_reason"].reindex(m["period_label"]).to_numpy()
m["period_end"] = m["period_start"] + pd.offsets.MonthEnd(0)
m = control(m)
m["value"] = m["count"]
mfig = fg.trend_figure(m, title=f"Assault attendances by month: {names[code]}, {chosen_period}", unit="attendances",
                       show_intervals=False)
ui.chart(mfig, f"Monthly attendances for {names[code]}, {m['period_label'].iloc[0]} to {m['period_label'].iloc[-1]}: "
         + ", ".join(f"{r.period_label} {'suppressed' if pd.isna(r.count) else f'{r.count:,.0f}'}"
                     for r in m.itertuples()), key="istv_month", data=m, lineage=lineage)
ui.download(m.drop(columns=["value"]), f"istv_{code}_monthly.csv", "Download monthly counts (CSV)")
ui.page_ready()
