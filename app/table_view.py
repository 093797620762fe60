"""How a table reads on screen: human column headings, blanks for missing values, whole counts.

Why: the warehouse's column names (`bench1_label`, `lower_ci`) are for code, and streamlit draws
a missing value as a grey "None" and a float count as "14.0". Only the display changes: the
frame a page passes keeps its columns and values (sorting, downloads and tests read those).
No streamlit here (pure functions); app.ui.dataframe applies them.
Imports: math, re, pandas, app.indicator_format (pure).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import pandas as pd

from app.indicator_format import number

COLUMN_LABELS: dict[str, str] = {
    "area_code": "Area code", "area_name": "Area", "area_type": "Geography", "map_unit": "Map shape",
    "family": "Topic", "title": "Indicator", "indicator_id": "Indicator id", "geo_label": "Geography used",
    "period_label": "Period", "period_start": "Period start", "period_end": "Period end",
    "period_type": "Period type", "count": "Count", "denominator": "Population (denominator)",
    "value": "Value", "lower_ci": "Lower 95% limit", "upper_ci": "Upper 95% limit", "unit": "Unit",
    "comparison_phrase": "Compared with the benchmark", "benchmark_basis": "How the benchmark counts",
    "suppressed_reason": "Why not shown", "quality": "Quality", "quality_label": "Quality",
    "publisher": "Publisher", "producer": "Producer", "source_title": "Source", "source_id": "Source id",
    "source_url": "Source page", "release_title": "Release", "release_date": "Release date",
    "release_table": "Release table", "release_url": "Release", "basis": "Basis", "note": "Note",
    "map_note": "Map note", "is_health_source": "Health source (small counts suppressed)",
    "correction": "Correction", "as_reported_by": "As reported by", "quote": "Quote", "vintage": "Vintage",
    "distance": "Similarity distance (smaller is closer)", "url": "Link", "file_name": "File",
    "retrieved_at": "Loaded", "sha256": "SHA-256", "status": "Status", "method": "Method",
    "attribution": "Attribution", "description": "Description", "break_date": "Break date",
    "category": "Category", "month": "Month", "dimension": "Breakdown", "reason": "Reason",
}
_BENCH = re.compile(r"bench(\d)_(label|value|basis|name)")
_BENCH_WORDS = {"label": "comparison", "value": "value", "basis": "how it counts", "name": "area"}
MISSING_WORDS = frozenset({"None", "nan", "NaN", "<NA>", "NaT"})
MAX_STYLED_CELLS = 100_000  # pandas' Styler formats every cell; larger frames keep streamlit's own display


def column_label(name: object) -> str:
    """A heading a person reads: from COLUMN_LABELS, `bench2_value` -> 'Benchmark 2: value', else
    the name with its underscores as spaces and a capital first letter."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    bench = _BENCH.fullmatch(text)
    if bench:
        return f"Benchmark {bench.group(1)}: {_BENCH_WORDS[bench.group(2)]}"
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else text


def is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def number_text(value: object, missing: str = "", *, grouped: bool = True) -> str:
    """Whole numbers without a decimal point (a count of 14.0 reads '14'), others to 1 decimal
    place from 10 up and to 3 significant figures below; thousands separated ('12,345', as
    `methods.wording.format_number` writes them) unless `grouped` is False (a year, 2024);
    missing is `missing` (blank)."""
    if is_missing(value):
        return missing
    v = float(value)  # type: ignore[arg-type]
    sep = "," if grouped else ""
    if v.is_integer():
        return f"{v:{sep}.0f}"
    return f"{v:{sep}.1f}" if abs(v) >= 10 else f"{v:.3g}"


# A numeric column that holds years (`year`, `mid_year`, `financial_year`) reads 2024, not 2,024.
_YEAR_COLUMN = re.compile(r"(^|_)years?($|_)", re.IGNORECASE)


def _text(value: object, missing: str = "") -> str:
    """Text as it is; missing (or the words a missing value turned into: 'None', 'nan') as `missing`."""
    return missing if is_missing(value) or str(value) in MISSING_WORDS else str(value)


def _named(value: object, names: Mapping[str, str], missing: str = "") -> str:
    """A code shown by its name (`knife_crime` -> "Knife crime and weapons"); an unknown code as it is."""
    text = _text(value, missing)
    return names.get(text, text)


VALUE_COLUMNS = frozenset({"value", "lower_ci", "upper_ci", "bench1_value", "bench2_value", "bench3_value"})


def _registry_number(value: object, registry: Mapping[str, Any], missing: str = "") -> str:
    return missing if is_missing(value) else number(value, registry)


def formatters(df: pd.DataFrame, skip: set[str] = frozenset(), missing: str = "",
               names: Mapping[str, Mapping[str, str]] | None = None,
               registry: Mapping[str, Any] | None = None) -> dict[Any, Callable[[object], str]]:
    """Per column: numbers through `number_text` (thousands separated, except in a column of
    years), everything else as text, `missing` (blank) for
    a missing value (booleans and dates are left to streamlit). `skip`: columns a page formats
    itself. A table whose missing numbers are suppressed ones says so (`missing="suppressed"`).
    `names`: per column, the name a person reads for each code in it (the `family` column's
    codes by their family names, data/families.csv). `registry`: the indicator's registry row when
    the table holds one indicator: its values and intervals then have the indicator's decimals
    ("6.8", not "6.76" beside "12.7"), as on its charts and in its sentences."""
    out: dict[Any, Callable[[object], str]] = {}
    for col in df.columns:
        if col in skip:
            continue
        if names and col in names:
            out[col] = partial(_named, names=names[col], missing=missing)
            continue
        if registry is not None and col in VALUE_COLUMNS and pd.api.types.is_numeric_dtype(df[col].dtype):
            out[col] = partial(_registry_number, registry=registry, missing=missing)
            continue
        dtype = df[col].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
            continue
        if pd.api.types.is_numeric_dtype(dtype):
            out[col] = partial(number_text, missing=missing, grouped=not _YEAR_COLUMN.search(str(col)))
        else:
            out[col] = partial(_text, missing=missing)
    return out


def grouped_number_columns(df: pd.DataFrame, skip: set[str] = frozenset()) -> list[Any]:
    """The numeric columns (not booleans, not years, not `skip`) whose numbers are shown with
    thousands separators: for a table too large to format cell by cell, streamlit's own
    'localized' number format is asked for on these."""
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c].dtype)
            and not pd.api.types.is_bool_dtype(df[c].dtype) and not _YEAR_COLUMN.search(str(c))]
