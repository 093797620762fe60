"""Secondary suppression that needs more than the frame in hand: figures of other areas and
other pages that a user could subtract.

Why: `app.disclosure_view.control` sees one frame at a time (a profile row, a benchmark, the
Compare table), but a suppressed count can be recovered from figures shown elsewhere:

- across the area hierarchy: City of London from London minus the other boroughs (London on
  its profile, the boroughs on Compare, the map or a download), a region from England minus
  the other regions. So for every health indicator published at two or more levels, one
  indicator and period at a time, every area's figure is controlled together
  (`methods.disclosure.protect_hierarchy`) and every page takes the same suppressions;
- across time: a year's total beside its months (HES admissions by month and financial year on
  the profile's control chart and trend): the year minus the other months gives a suppressed
  month back where the year is the exact sum of its months (NHS Digital's exact England figures).
  Where an area's complete years show that its year totals are the exact sums of its months,
  the month -> year sums join the area sums of the same year's figures and one set of linked
  sums is protected together (`protect_years`); regional counts rounded to 5 are not exact sums
  of their rounded months (rounding protects them, as the publisher intends) and add none;
- across the A&E (ISTV) page: a month's count from the financial year's total minus the other
  months. The profile's ISTV months are the months the A&E page shows, controlled with every
  other figure of that page (`app.disclosure_view.control_istv_page`, the same function and
  the same fixed financial years), so the two pages never differ.

Results are kept per warehouse version. Imports: pandas, methods, app.queries,
app.disclosure_view (whose `control` calls `extra_suppressions` here).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from app import queries as q
from methods.disclosure import REASON_HIERARCHY, _ancestors, _plausible, hierarchy_sums, protect_hierarchy, protect_margins

ISTV_INDICATORS = ("istv_assault_attendances", "istv_knife_sharp_attendances")
ISTV_KNIFE = "istv_knife_sharp_attendances"
REASON_YEAR = "secondary suppression (protects a small count from the year's total shown beside its months)"
REASON_ISTV = "secondary suppression (protects a small count from the A&E page's totals for the year)"
Key = tuple[str, str, str]  # (period_type, period_label, area_code)


def extra_suppressions(df: pd.DataFrame) -> list[str | None]:
    """For each row of `df` (indicator_id, area_code, period_label, optional period_type and
    is_health_source), the reason it must also be suppressed, or None."""
    out: list[str | None] = [None] * len(df)
    if df.empty or not {"indicator_id", "area_code", "period_label"} <= set(df.columns) or not q.warehouse_exists():
        return out
    health = (df["is_health_source"].fillna(False).astype(bool) if "is_health_source" in df
              else pd.Series(True, index=df.index))
    ptype = df["period_type"] if "period_type" in df else pd.Series(None, index=df.index, dtype=object)
    version = q.warehouse_version()
    tables: dict[tuple[str, str], dict[Key, str]] = {}
    for i, (ind, code, label, pt, h) in enumerate(zip(df["indicator_id"], df["area_code"], df["period_label"],
                                                      ptype, health, strict=True)):
        if not h or not isinstance(ind, str) or not isinstance(code, str) or not isinstance(label, str):
            continue
        key = (ind, code) if ind in ISTV_INDICATORS else (ind, "")
        if key not in tables:
            tables[key] = (_istv_hidden(code, version).get(ind, {}) if ind in ISTV_INDICATORS
                           else _hierarchy_hidden(ind, version))
        table = tables[key]
        if isinstance(pt, str):
            out[i] = table.get((pt, label, code))
        else:  # a frame without period_type: any period type with this label
            out[i] = next((r for (t, lab, c), r in table.items() if lab == label and c == code), None)
    return out


@lru_cache(maxsize=256)
def _hierarchy_hidden(indicator_id: str, version: str | None) -> dict[Key, str]:
    from app.disclosure_view import control  # imported late: disclosure_view calls us

    raw = q.observations([indicator_id])
    if raw.empty or not raw["is_health_source"].fillna(False).astype(bool).any():
        return {}
    raw = raw.drop_duplicates(["period_type", "period_label", "area_code"]).reset_index(drop=True)
    primary = control(raw, linked=False)
    links = q.area_link_pairs()
    out = protect_hierarchy(primary, links, truth=raw["count"]) if raw["area_type"].nunique() > 1 else primary
    hit = (out["suppressed_reason"] == REASON_HIERARCHY) & primary["count"].notna()
    hidden = {(r.period_type, r.period_label, r.area_code): REASON_HIERARCHY for r in out[hit].itertuples()}
    more = protect_years(out, raw["count"], links)
    hidden.update({(r.period_type, r.period_label, r.area_code): REASON_YEAR for r in out[more].itertuples()})
    return hidden


def year_sums(df: pd.DataFrame, truth: pd.Series) -> list[tuple[int, list[int]]]:
    """(row of a financial year, rows of its twelve months) of one area, for every area whose
    complete years (no month or year missing in `truth`, the counts before suppression) all
    equal the sum of their months exactly, and at least one year is complete: sums a user can
    difference exactly. Positions are into `df` (one indicator; period_type, period_start,
    period_end, area_code)."""
    kind = df["period_type"].to_numpy()
    if not ((kind == "month").any() and (kind == "financial_year").any()):
        return []
    t = pd.to_numeric(truth, errors="coerce").astype(float).to_numpy()
    start, end = pd.to_datetime(df["period_start"]).to_numpy(), pd.to_datetime(df["period_end"]).to_numpy()
    area = df["area_code"].astype(str).to_numpy()
    out: list[tuple[int, list[int]]] = []
    for code in dict.fromkeys(area):
        years = np.flatnonzero((area == code) & (kind == "financial_year"))
        months = np.flatnonzero((area == code) & (kind == "month"))
        sums = [(int(y), [int(m) for m in months if start[m] >= start[y] and end[m] <= end[y]]) for y in years]
        sums = [(y, kids) for y, kids in sums if len(kids) == 12]
        complete = [(y, kids) for y, kids in sums if not np.isnan(t[[y, *kids]]).any()]
        if complete and all(t[y] == t[kids].sum() for y, kids in complete):
            out += sums
    return out


def protect_years(df: pd.DataFrame, truth: pd.Series, links: pd.DataFrame) -> np.ndarray:
    """Rows of `df` (one indicator, already through `control` and `protect_hierarchy`: count
    missing where suppressed; `truth` the counts before suppression, aligned) to hide as well,
    so that no suppressed count can be worked out from its year's total (`year_sums`) together
    with the area sums of the same year's months and year (`methods.disclosure.hierarchy_sums`,
    kept where the counts bear them out). One table of linked sums per financial year, every
    area's months and year in it, protected by `methods.disclosure.protect_margins`."""
    df = df.reset_index(drop=True)
    count = pd.to_numeric(df["count"], errors="coerce").astype(float).to_numpy()
    t = pd.to_numeric(truth, errors="coerce").astype(float).to_numpy()
    hide = np.zeros(len(df), dtype=bool)
    by_year = year_sums(df, truth)
    if not by_year:
        return hide
    start, end = pd.to_datetime(df["period_start"]).to_numpy(), pd.to_datetime(df["period_end"]).to_numpy()
    anc = _ancestors(links)
    for label in dict.fromkeys(df["period_label"].iloc[[y for y, _ in by_year]]):
        fy = df.index[(df["period_type"] == "financial_year") & (df["period_label"] == label)]
        lo, hi = start[fy].min(), end[fy].max()
        cells = [int(c) for c in np.flatnonzero((start >= lo) & (end <= hi)
                                                & df["period_type"].isin(["financial_year", "month"]).to_numpy())]
        if not np.isnan(count[cells]).any():
            continue  # nothing suppressed this year: nothing to recover
        where = {c: i for i, c in enumerate(cells)}
        groups = [[where[k] for k in kids] for y, kids in by_year if y in where]
        totals = [where[y] for y, _ in by_year if y in where]
        part = df.iloc[cells]
        for _, same in part.groupby(["period_type", "period_label"]).groups.items():
            sub = df.loc[list(same)]
            if sub["area_type"].nunique() < 2:
                continue
            at = dict(zip(sub["area_code"].astype(str), sub.index, strict=True))
            for parent, members in hierarchy_sums(sub, links, anc):
                if _plausible(t[at[parent]], t[[at[m] for m in members]]):
                    groups.append([where[at[m]] for m in members])
                    totals.append(where[at[parent]])
        v = count[cells]
        try:
            hidden = protect_margins(v, np.isnan(v), groups, totals)
        except ValueError:  # sums that contradict each other: leave the year as area sums left it
            continue
        hide[np.asarray(cells)[hidden & ~np.isnan(v)]] = True
    return hide


# ---------------------------------------------------------------- the A&E (ISTV) page
def istv_periods(code: str) -> dict[str, tuple[str, str]]:
    """The A&E page's fixed reporting periods for one CSP: financial years, labelled
    '2023/24' ('2023/24 (Apr 2023 to Sep 2023 only)' when short), each (first, last) month as
    YYYY-MM. Never free ranges: two ranges a month apart would give that month away."""
    months = q.istv_months(code)
    fy_start = [m.year if m.month >= 4 else m.year - 1 for m in months]
    periods: dict[str, tuple[str, str]] = {}
    for y in sorted(set(fy_start)):
        mine = [m for m, fy in zip(months, fy_start, strict=True) if fy == y]
        label = f"{y}/{(y + 1) % 100:02d}"
        if len(mine) < 12:
            label += f" ({mine[0]:%b %Y} to {mine[-1]:%b %Y} only)"
        periods[label] = (mine[0].strftime("%Y-%m"), mine[-1].strftime("%Y-%m"))
    return periods


def istv_page(code: str, period: str) -> dict[str, pd.DataFrame]:
    """Every figure the A&E page shows for one CSP and reporting period, controlled as one
    linked table (`control_istv_page`), including the knife/sharp-object count of each month
    the profile shows (tied to the year's knife/sharp weapon total)."""
    return {k: v.copy() for k, v in _istv_page(code, period, q.warehouse_version()).items()}


@lru_cache(maxsize=64)
def _istv_page(code: str, period: str, version: str | None) -> dict[str, pd.DataFrame]:
    from app.disclosure_view import control_istv_page

    first, last = istv_periods(code)[period]
    lo, hi = f"{first}-01", f"{last}-01"
    knife = q.observations([ISTV_KNIFE], [code], period_type="month")
    knife = knife[(knife["period_label"] >= first) & (knife["period_label"] <= last)]
    c = q.istv_counts_by_dimension(code, ("hour_dow", "dow", "hour", "weapon", "month"), lo, hi)
    return control_istv_page(
        c["hour_dow"], c["dow"], c["hour"], c["weapon"], c["month"],
        knife_months=pd.DataFrame({"month": knife["period_label"], "count": knife["count"]}))


@lru_cache(maxsize=64)
def _istv_hidden(code: str, version: str | None) -> dict[str, dict[Key, str]]:
    """{indicator_id: {key: reason}} for the months the A&E page suppresses beyond 1-7."""
    out: dict[str, dict[Key, str]] = {ind: {} for ind in ISTV_INDICATORS}
    for period in istv_periods(code):
        safe = istv_page(code, period)
        for ind, frame in (("istv_assault_attendances", safe["months"]), (ISTV_KNIFE, safe["knife_months"])):
            for m, n, why in zip(frame["month"], frame["count"], frame["suppressed_reason"], strict=True):
                if pd.isna(n) and isinstance(why, str) and why.startswith("secondary"):
                    out[ind][("month", str(m), code)] = REASON_ISTV
    return out
