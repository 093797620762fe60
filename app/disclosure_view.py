"""The one door every table passes through before it is shown or downloaded.

Why: if the screen and the CSV suppressed differently, a user could subtract one from the other
and recover a small health count (docs/methods.md, "Disclosure control"). So pages never show
or download a frame of figures without `control` (screen) or `download_csv` (file), and both call
`methods.disclosure.apply_disclosure_control` with the same arguments. Downloads also pass
through `neutralise_csv_formulas` and carry quality, source, publisher, period and a column
saying what each number is.

Imports: pandas, methods. No streamlit, no SQL.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from app.indicator_format import quality_label  # the one wording (methods.wording); re-exported here
from methods.disclosure import apply_disclosure_control, neutralise_csv_formulas, suppress_linked_table

__all__ = ["control", "download_csv", "quality_label"]


def _with_rate_flag(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    if "is_rate" not in out:
        if "denominator" in out:
            out["is_rate"] = out["denominator"].notna() & out["count"].notna()
        else:
            out["is_rate"] = False
    if "is_health_source" not in out:
        out["is_health_source"] = False
    out["is_health_source"] = out["is_health_source"].fillna(False).astype(bool)
    return out


def control(
    df: pd.DataFrame,
    *,
    group_cols: Sequence[str] | None = None,
    total_marker: tuple[str, object] | None = None,
    linked: bool = True,
) -> pd.DataFrame:
    """Apply the disclosure rules to a frame of observations (or counts) for display.

    Needs a `count` column; health rows are found from `is_health_source` (missing means not a
    health source); a row is a rate when it has both a count and a denominator. Secondary
    suppression runs when `group_cols` and `total_marker` are given. With `linked` (the
    default), rows naming an indicator, area and period also get the suppressions that protect
    a count shown elsewhere: across the area hierarchy and the A&E page's year
    (`app.linked_disclosure`), so every page and download hides the same figures.
    """
    if df.empty:
        return df.copy()
    prepared = _with_rate_flag(df)
    kwargs: dict = {"rate_col": "is_rate", "health_col": "is_health_source"}
    if group_cols:
        kwargs.update(group_cols=list(group_cols), total_marker=total_marker, total_col=None)
    out = apply_disclosure_control(prepared, **kwargs)
    if linked:
        out = _hide_linked(out)
    return out.drop(columns=["is_rate"]) if "is_rate" not in df else out


def _hide_linked(out: pd.DataFrame) -> pd.DataFrame:
    from app.linked_disclosure import extra_suppressions  # it reads the warehouse; imported late

    reasons = pd.Series(extra_suppressions(out), index=out.index, dtype=object)
    hit = reasons.notna() & pd.to_numeric(out["count"], errors="coerce").notna()
    if not hit.any():
        return out
    out = out.copy()
    for col in ("count", "value", "lower_ci", "upper_ci"):
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).mask(hit)
    out["suppressed_reason"] = out["suppressed_reason"].astype(object).where(~hit, reasons)
    return out


def describe(row: pd.Series) -> str:
    """What one number is, in words: indicator, unit, area, geography and period."""
    parts = [str(row.get("title") or row.get("indicator_id") or "figure")]
    if isinstance(row.get("unit"), str) and row.get("unit"):
        parts.append(f"[{row['unit']}]")
    where = row.get("area_name") or row.get("area_code")
    if where:
        kind = row.get("area_type")
        parts.append(f"for {where}" + (f" ({kind})" if isinstance(kind, str) else ""))
    if row.get("period_label"):
        parts.append(f"in {row['period_label']}")
    return " ".join(parts)


DOWNLOAD_FRONT = [
    "what_this_is", "quality", "quality_label", "indicator_id", "area_code", "area_name", "area_type",
    "period_label", "period_start", "period_end", "count", "denominator", "value", "lower_ci", "upper_ci",
    "suppressed_reason", "publisher", "source_title", "source_id", "source_url", "licence", "note",
]


def for_download(df: pd.DataFrame, **control_kwargs) -> pd.DataFrame:
    """The frame exactly as it will be downloaded: controlled, described, formula-safe."""
    out = control(df, **control_kwargs) if "count" in df else df.copy()
    if out.empty:
        return neutralise_csv_formulas(out)
    out.insert(0, "what_this_is", [describe(r) for _, r in out.iterrows()])
    if "quality" in out:
        out["quality_label"] = out["quality"].map(quality_label)
    front = [c for c in DOWNLOAD_FRONT if c in out]
    out = out[front + [c for c in out.columns if c not in front]]
    return neutralise_csv_formulas(out)


def download_csv(df: pd.DataFrame, **control_kwargs) -> bytes:
    """The CSV bytes. Lines end CRLF (RFC 4180): pandas then quotes a cell holding a bare carriage
    return, which with "\n" endings it writes unquoted, splitting the row in every reader."""
    return for_download(df, **control_kwargs).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


# ---------------------------------------------------------------- ISTV: every figure one page shows
ISTV_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def istv_band(hour: int) -> str:
    start = (hour // 3) * 3
    return f"{start:02d}:00-{start + 2:02d}:59"


def control_istv_page(hour_dow: pd.DataFrame, dow: pd.DataFrame, hour: pd.DataFrame, weapon: pd.DataFrame,
                      month: pd.DataFrame, knife_months: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Disclosure control for every figure the ISTV page shows for one CSP and one reporting
    period, as one linked table, so no suppressed count can be recovered by differencing:

    - hour x day cells, whose rows are the day-of-week totals and whose 3-hour column groups
      are the time-of-day band totals (an attendance with no time is unknown for both, so both
      margins add up exactly);
    - attendances with no time = the grand total minus the day totals;
    - the weapon breakdown and the monthly totals, which add up to the same grand total.

    Inputs are the `app.queries.istv_counts` frames (category/count; month/count). Returns
    frames 'cells' (dow, hour, count, suppressed_reason), 'days', 'bands', 'weapons' (category,
    count, suppressed_reason; weapons ends with the 'all' total), 'months' (month, count,
    suppressed_reason) and 'no_time'. `knife_months` (month as YYYY-MM, count: the
    knife/sharp-object attendances of each month, which the profile shows) are tied to the
    weapon total 'knife_sharp' and come back as 'knife_months'.
    """
    def by_cat(df: pd.DataFrame) -> dict[str, float]:
        return {str(c): float(n) for c, n in zip(df["category"], df["count"], strict=True)}

    cells = by_cat(hour_dow)
    days = by_cat(dow)
    hours = by_cat(hour)
    weapons = by_cat(weapon)
    months = {pd.Timestamp(m).strftime("%Y-%m"): float(n) for m, n in zip(month["month"], month["count"], strict=True)}
    hh = [f"{h:02d}" for h in range(24)]
    bands = sorted({istv_band(h) for h in range(24)})
    figures: dict[str, float] = {}
    sums: list[tuple[str, list[str]]] = []
    for d in ISTV_DAYS:
        for h in hh:
            figures[f"cell {d} {h}"] = cells.get(f"{d} {h}", 0.0)
        figures[f"day {d}"] = days.get(d, 0.0)
        sums.append((f"day {d}", [f"cell {d} {h}" for h in hh]))
    for b in bands:
        members = [h for h in hh if istv_band(int(h)) == b]
        figures[f"band {b}"] = sum(hours.get(h, 0.0) for h in members)
        sums.append((f"band {b}", [f"cell {d} {h}" for d in ISTV_DAYS for h in members]))
    total = float(sum(months.values()))
    figures["all"] = total
    figures["no time"] = total - sum(days.get(d, 0.0) for d in ISTV_DAYS)
    sums.append(("all", [f"day {d}" for d in ISTV_DAYS] + ["no time"]))
    for w, n in weapons.items():
        figures[f"weapon {w}"] = n
    if weapons:
        sums.append(("all", [f"weapon {w}" for w in weapons]))
    for m, n in months.items():
        figures[f"month {m}"] = n
    if months:
        sums.append(("all", [f"month {m}" for m in months]))
    knife = {} if knife_months is None else {
        str(m): float(n) for m, n in zip(knife_months["month"], knife_months["count"], strict=True)}
    for m, n in knife.items():
        figures[f"knife month {m}"] = n
    if knife and "knife_sharp" in weapons:
        sums.append(("weapon knife_sharp", [f"knife month {m}" for m in knife]))
    out = suppress_linked_table(pd.Series(figures), sums)

    def pick(prefix: str) -> pd.DataFrame:
        part = out[out.index.str.startswith(prefix)]
        return pd.DataFrame({"category": [i[len(prefix):] for i in part.index], "count": part["count"].to_numpy(),
                             "suppressed_reason": part["suppressed_reason"].to_numpy()})

    cell_frame = pick("cell ")
    split = cell_frame["category"].str.split(" ", n=1, expand=True)
    weapons_frame = pd.concat([pick("weapon "), pd.DataFrame({"category": ["all"], "count": [out.loc["all", "count"]],
                                                              "suppressed_reason": [out.loc["all", "suppressed_reason"]]})],
                              ignore_index=True)
    return {
        "cells": cell_frame.assign(dow=split[0], hour=split[1])[["dow", "hour", "count", "suppressed_reason"]],
        "days": pick("day "),
        "bands": pick("band "),
        "weapons": weapons_frame,
        "months": pick("month ").rename(columns={"category": "month"}),
        "knife_months": pick("knife month ").rename(columns={"category": "month"}),
        "no_time": pick("no time"),
    }
