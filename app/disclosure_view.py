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

from methods.disclosure import apply_disclosure_control, neutralise_csv_formulas

QUALITY_LABELS = {
    "official": "official statistics",
    "modelled": "MODELLED estimate (not a published figure)",
    "synthetic": "SYNTHETIC - for demonstration only, not real data",
    "local": "local data shared with the partnership",
}


def quality_label(quality: object) -> str:
    if not isinstance(quality, str) or not quality:
        return "unknown quality"
    return QUALITY_LABELS.get(quality, quality)


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
) -> pd.DataFrame:
    """Apply the disclosure rules to a frame of observations (or counts) for display.

    Needs a `count` column; health rows are found from `is_health_source` (missing means not a
    health source); a row is a rate when it has both a count and a denominator. Secondary
    suppression runs when `group_cols` and `total_marker` are given.
    """
    if df.empty:
        return df.copy()
    prepared = _with_rate_flag(df)
    kwargs: dict = {"rate_col": "is_rate", "health_col": "is_health_source"}
    if group_cols:
        kwargs.update(group_cols=list(group_cols), total_marker=total_marker, total_col=None)
    out = apply_disclosure_control(prepared, **kwargs)
    return out.drop(columns=["is_rate"]) if "is_rate" not in df else out


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
