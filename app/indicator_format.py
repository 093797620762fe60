"""Numbers and quality words as every page, chart, map, sentence and download writes them,
read from the indicator's registry row.

Why: the indicator registry (`data/indicators.csv`, loaded into the warehouse `indicators`
table) is the only place an indicator's multiplier (1, 100, 10,000, 100,000), decimals and kind
of value are written. Pages used to re-derive them from the unit's words and to format numbers
their own way. Here the row (a mapping or a frame row with
`multiplier`, `decimals`, `value_type`) goes in and the one formatter in `methods.wording` is
called; quality words come from `methods.wording.quality_wording` (pure, so `methods/` uses it
too).

Imports: methods only (no streamlit, no I/O).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from methods.wording import format_number, format_value, quality_warnings, quality_wording, with_unit

__all__ = ["d3_format", "decimals_of", "figure", "is_crude_rate", "is_rate", "multiplier_of", "number", "quality_label",
           "quality_warnings", "quality_wording", "registry_of", "with_unit", "with_unit_words"]

RATE_TYPES = ("crude_rate", "standardised_rate", "percentage")


def _get(row: Mapping[str, Any] | pd.Series | None, key: str) -> Any:
    if row is None:
        return None
    value = row.get(key)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def multiplier_of(row: Mapping[str, Any] | pd.Series | None) -> int | None:
    """The registry multiplier (1 for counts, 100 for %, 10,000, 100,000), None if the row has
    none (a frame built without the registry columns)."""
    m = _get(row, "multiplier")
    return None if m is None else int(m)


def decimals_of(row: Mapping[str, Any] | pd.Series | None) -> int:
    """The registry decimals; 1 when the row has none."""
    d = _get(row, "decimals")
    return 1 if d is None else int(d)


def is_rate(row: Mapping[str, Any] | pd.Series | None) -> bool:
    """A value per population (crude or standardised rate, percentage): not a count."""
    vt = _get(row, "value_type")
    if vt is not None:
        return vt in RATE_TYPES
    m = multiplier_of(row)
    return m is not None and m != 1


def is_crude_rate(row: Mapping[str, Any] | pd.Series | None) -> bool:
    """A crude rate (count / population x multiplier): summed counts over summed populations
    give the rate of a group of areas; a standardised rate or a percentage of another base
    cannot be combined that way."""
    return _get(row, "value_type") == "crude_rate"


def number(value: object, row: Mapping[str, Any] | pd.Series | None = None) -> str:
    """The value as a number only, with the indicator's decimals ("14" for a count, "38.2" for
    a rate per 100,000 with one decimal); "n/a" when missing."""
    m = multiplier_of(row)
    return format_number(value, decimals_of(row), multiplier=100_000 if m is None else m)


def figure(value: object, row: Mapping[str, Any] | pd.Series | None = None) -> str:
    """The value with what it is per ("38.2 per 100,000", "62.3%", "14")."""
    m = multiplier_of(row)
    if m is None:
        return number(value, row)
    return format_value(value, m, decimals_of(row))


def with_unit_words(value: object, row: Mapping[str, Any] | pd.Series | None = None,
                    unit: object = None) -> str:
    """The value as `number` writes it followed by the indicator's unit words (`unit`, else the
    row's `unit`), joined as `methods.wording.with_unit` joins them: "6.2%" and "6.2% of children
    looked after", never "6.2 %"; "38.2 offences per 100,000 population"; "158 assessment episodes"."""
    return with_unit(number(value, row), unit if unit is not None else _get(row, "unit"))


def d3_format(row: Mapping[str, Any] | pd.Series | None = None) -> str:
    """The same rule as `number` for plotly hover text (d3-format): ',.0f' for a count, else
    ',.<decimals>f'."""
    m = multiplier_of(row)
    return ",.0f" if m == 1 else f",.{decimals_of(row)}f"


def quality_label(quality: object) -> str:
    """The quality's label for tables, badges and downloads (`methods.wording`)."""
    return quality_wording(quality, "label") or ""


def registry_of(frame: pd.DataFrame) -> dict[str, Any] | None:
    """The registry columns of a frame whose rows are one indicator (first row that has them),
    e.g. map values where areas without a figure carry none."""
    cols = [c for c in ("multiplier", "decimals", "value_type") if c in frame.columns]
    if not cols:
        return None
    known = frame.dropna(subset=cols[:1])
    return None if known.empty else known.iloc[0][cols].to_dict()
