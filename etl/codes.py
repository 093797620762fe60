"""GSS area-code patterns, declared once (methods.md): validate codes with these, never `^E2`."""
from __future__ import annotations

import re

import pandas as pd

AREA_CODE_PATTERNS: dict[str, str] = {
    "lad": r"^(E06|E07|E08|E09|W06)\d{6}$",
    "csp": r"^(E22|W14)\d{6}$",
    "pfa": r"^(E23|W15)\d{6}$",
    "region": r"^E12\d{6}$",
    "country": r"^(E92000001|W92000004)$",
    "national": r"^K04000001$",
    "uk": r"^K02000001$",
    "lsoa": r"^(E01|W01)\d{6}$",
    # Upper-tier local authorities: counties (E10) and unitary authorities, metropolitan
    # districts and London boroughs. A unitary code is also a LAD code: `area_type_of` answers
    # 'lad' for it (the areas table holds it once, as a LAD); only counties and the 2023
    # unitary codes that are no LAD on 2021 geography are stored as 'utla' areas.
    "utla": r"^(E06|E08|E09|E10)\d{6}$",
}
ENGLAND_AND_WALES = "K04000001"
ENGLAND = "E92000001"
WALES = "W92000004"
UNITED_KINGDOM = "K02000001"  # for figures published for the UK only (county lines, NRM)

# Display order of geography levels, smallest first.
LEVELS = ["lad", "csp", "utla", "pfa", "region", "country", "national", "uk"]


def area_type_of(code: str) -> str | None:
    """The geography level a code belongs to, or None when it matches no known pattern."""
    for level, pattern in AREA_CODE_PATTERNS.items():
        if re.match(pattern, code or ""):
            return level
    return None


def invalid_codes(codes: pd.Series, level: str) -> pd.Series:
    """Boolean mask of codes that do not match `level`'s pattern."""
    return ~codes.astype("string").fillna("").str.fullmatch(AREA_CODE_PATTERNS[level].strip("^$"))
