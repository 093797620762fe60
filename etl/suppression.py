"""Publishers' suppression markers -> a missing value plus a reason, never a zero (methods.md)."""
from __future__ import annotations

import re

import pandas as pd

MARKER_REASONS: dict[str, str] = {
    "*": "suppressed by publisher (*)",
    "..": "not available (..)",
    ":": "not available (:)",
    "[x]": "not available [x]",
    "[c]": "confidential [c]",
    "[z]": "not applicable [z]",
    "[low]": "too low to publish [low]",
    "-": "not available (-)",
    "": "not published (empty)",
}


def parse_count(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Split a raw text column into (numbers, suppressed_reason, bad_mask).

    Thousands separators are accepted; a known marker gives a missing number and its reason;
    anything else that is not a number is flagged in `bad_mask` for the caller to report with its
    row and column.
    """
    text = raw.astype("string").str.strip()
    text = text.str.replace(r"\s*\[note \d+\]", "", regex=True)
    cleaned = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    reason = text.fillna("").map(lambda t: MARKER_REASONS.get(t.lower()))
    reason = reason.where(numbers.isna(), None)
    bad = numbers.isna() & reason.isna()
    return numbers.astype("Float64"), reason.astype("string"), bad


def is_marker(value: str) -> bool:
    """True when `value` is one of the published suppression markers."""
    return re.sub(r"\s+", "", str(value)).lower() in MARKER_REASONS
