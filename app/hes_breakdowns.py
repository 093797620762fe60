"""Yearly tables of HES sharp-object episodes by sex, age group and ethnicity, for a region and
England, from NHS Digital's own breakdown sheets (`hes_sharp_object_breakdowns`).

Why a module: the sheets publish a year total per sex, but for age group and ethnicity only
monthly figures per category (the year total row covers all categories). A year per age group
is therefore the sum of twelve published months, each rounded to 5 for regions, with 1-7 shown
as `*`: a `*` month adds between 1 and 7 episodes that cannot be counted, so the table says how
many months are suppressed and gives the range rather than pretending the sum is exact. A blank
month is "not published", never zero. Admission episodes (FAE) and consultant episodes (FCE)
are kept apart: they are different measures (one admission can have several consultant
episodes). Every count then passes through the dashboard's own disclosure control.

The all-category year total shown with the categories is a sum a user could difference: see
`_protect_totals`.
Imports: numpy, pandas, methods, app.disclosure_view. No streamlit, no SQL.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from app.disclosure_view import control
from methods.disclosure import protect_margins

DIMENSIONS = {"sex": "Sex", "age": "Age group", "ethnicity": "Ethnicity"}
MEASURES = {"FAE": "admission episodes (FAE)", "FCE": "consultant episodes (FCE)"}
STAR = "suppressed by NHS Digital"  # the parser's reason for a `*` cell starts so
LAST = ("unknown", "not stated", "not known")
# NHS Digital's footnote: sub-national counts are rounded to the nearest 5 (1-7 shown as `*`, zeros
# unchanged), so a published regional month of 10 holds 8 to 12; England's figures are exact.
ROUNDING = 2
EXACT_AREAS = ("E92000001",)


def _order(dimension: str, key: str) -> tuple:
    if dimension == "sex":
        return (0, key)
    if key in LAST:
        return (2, key)
    m = re.match(r"(\d+)", key)
    return (1, int(m.group(1)) if m else 0, key) if dimension == "age" else (1, 0, key)


def year_table(df: pd.DataFrame, dimension: str, areas: list[tuple[str, str]], financial_year: str) -> pd.DataFrame:
    """One row per category (and area, measure) of one financial year: `count` (the publisher's
    year total for sex; the sum of the published months for age group and ethnicity),
    `months_suppressed` (months shown as `*`), `months_missing` (blank), `low`/`high` (the range
    the publisher's rules allow for the true count of the published months: each `*` month 1 to
    7, and for a region each non-zero month, rounded to 5, up to 2 either way; blank months are
    not counted), `basis` in words, disclosure-controlled.
    `df`: rows of `hes_sharp_object_breakdowns`; `areas`: (code, name) in column order."""
    d = df[(df["dimension"] == dimension) & (df["financial_year"] == financial_year)]
    d = d[d["area_code"].isin([c for c, _ in areas])]
    names = dict(areas)
    out = []
    for (code, measure, key), grp in d[d["category"].notna()].groupby(["area_code", "measure", "category_key"]):
        total = grp[grp["period_label"] == financial_year]
        months = grp[grp["period_label"] != financial_year]
        label = str(months["category"].iloc[-1] if len(months) else grp["category"].iloc[-1])
        if len(total) and total["count"].notna().all():
            count, stars, blanks, rounded = float(total["count"].sum()), 0, 0, 0
            basis = "NHS Digital's year total"
        else:
            count = float(months["count"].sum())
            reasons = months.loc[months["count"].isna(), "suppressed_reason"].fillna("")
            stars = int(reasons.str.startswith(STAR).sum())
            blanks = int((months["count"].isna()).sum()) - stars
            basis = f"sum of {len(months)} published months"
            rounded = 0 if code in EXACT_AREAS else int((months["count"] > 0).sum())
        out.append({"dimension": dimension, "category_key": key, "category": label.capitalize()
                    if dimension == "sex" else label, "area_code": code, "area_name": names[code],
                    "measure": measure, "count": count, "months_suppressed": stars, "months_missing": blanks,
                    "low": count + stars - ROUNDING * rounded, "high": count + 7 * stars + ROUNDING * rounded,
                    "basis": basis,
                    "financial_year": financial_year, "is_health_source": True})
    for (code, measure), grp in d[d["category"].isna() & (d["period_label"] == financial_year)].groupby(
            ["area_code", "measure"]):
        out.append({"dimension": dimension, "category_key": "~total", "category": "All (NHS Digital's year total)",
                    "area_code": code, "area_name": names[code], "measure": measure,
                    "count": float(grp["count"].iloc[0]), "months_suppressed": 0, "months_missing": 0,
                    "low": float(grp["count"].iloc[0]), "high": float(grp["count"].iloc[0]),
                    "basis": "NHS Digital's year total", "financial_year": financial_year, "is_health_source": True})
    if not out:
        return pd.DataFrame(columns=["dimension", "category_key", "category", "area_code", "area_name", "measure",
                                     "count", "months_suppressed", "months_missing", "low", "high", "basis",
                                     "financial_year", "suppressed_reason"])
    t = _protect_totals(control(pd.DataFrame(out)))
    t["_o"] = [(_order(dimension, k) if k != "~total" else (3,)) for k in t["category_key"]]
    return t.sort_values(["_o", "area_code", "measure"]).drop(columns="_o").reset_index(drop=True)


REASON_TOTAL = "secondary suppression (protects a small or suppressed count from the year's total)"


def _protect_totals(t: pd.DataFrame) -> pd.DataFrame:
    """The all-category year total is shown beside the categories, so total minus the other
    categories would give back a category whose year is suppressed (1-7) or shown only as a
    range (its months hold `*` or blanks), and with it a `*` month. Per area and measure, the
    categories and the total are one linked sum (`methods.disclosure.protect_margins`): while a
    hidden or ranged category could be worked out, the smallest shown category is suppressed too
    (the total only when no category is left). Counts rounded by the publisher are treated as
    exact sums here: more suppression, never less."""
    t = t.copy()
    for _, grp in t.groupby(["area_code", "measure"]).groups.items():
        idx = list(grp)
        total = [i for i in idx if t.at[i, "category_key"] == "~total"]
        members = [i for i in idx if t.at[i, "category_key"] != "~total"]
        if len(total) != 1 or not members or pd.isna(t.at[total[0], "count"]):
            continue
        cells = [*members, total[0]]
        values = pd.to_numeric(t.loc[cells, "count"], errors="coerce").astype(float).to_numpy()
        ranged = (t.loc[cells, "months_suppressed"].fillna(0) > 0) | (t.loc[cells, "months_missing"].fillna(0) > 0)
        hidden = np.isnan(values) | ranged.to_numpy()
        if not hidden.any():
            continue
        now = protect_margins(values, hidden, [list(range(len(members)))], [len(members)])
        for i in [c for c, h, before in zip(cells, now, hidden, strict=True) if h and not before]:
            t.loc[i, ["count", "low", "high"]] = np.nan
            t.at[i, "suppressed_reason"] = REASON_TOTAL
    return t


def cell_text(r: pd.Series | dict) -> str:
    """'1,080'; '40 to 82 (7 months *)': the range of `year_table` (e.g. England's published months
    add to 33 and each of 7 months shown as `*` holds 1 to 7 more; a region's range also allows
    for its months' rounding to 5); '(2 months blank)': months NHS Digital left empty (not counted)."""
    count = r.get("count")
    if count is None or pd.isna(count):
        return "suppressed" + (f" ({r['suppressed_reason']})" if isinstance(r.get("suppressed_reason"), str) else "")
    text = f"{count:,.0f}"
    if r.get("months_suppressed"):
        k = int(r["months_suppressed"])
        text = f"{r['low']:,.0f} to {r['high']:,.0f} ({k} month{'s' if k > 1 else ''} *)"
    if r.get("months_missing"):
        k = int(r["months_missing"])
        text += f" ({k} month{'s' if k > 1 else ''} blank)"
    return text


def wide(table: pd.DataFrame, areas: list[tuple[str, str]]) -> pd.DataFrame:
    """Categories down, one column per area and measure ('South East: admission episodes (FAE)')."""
    if table.empty:
        return pd.DataFrame()
    t = table.assign(text=[cell_text(r) for _, r in table.iterrows()])
    t["column"] = [f"{n}: {MEASURES.get(m, m)}" for n, m in zip(t["area_name"], t["measure"], strict=True)]
    order = list(dict.fromkeys(t["category"]))
    cols = [f"{n}: {MEASURES[m]}" for _, n in areas for m in MEASURES]
    w = t.pivot_table(index="category", columns="column", values="text", aggfunc="first")
    return w.reindex(index=order, columns=[c for c in cols if c in w.columns]).reset_index().fillna("")
