"""Read a Department for Education explore-education-statistics (EES) tidy CSV.

Why a shared reader: every EES underlying data file has the same frame (`time_period`,
`time_identifier`, `geographic_level`, `country_code`, `region_code`, `new_la_code`, ...) and the
same symbols for missing figures, so the DfE parsers (children in need factors, looked-after
children outcomes) check the layout, the areas and the cells in one place and fail the same way:
a `SourceError` naming the file, the row (1 = header) and the column.

What is checked:
- the first line is the header and holds every required column (a renamed column, or a title
  line pushed above the header, is reported at row 1 with the missing column);
- `time_identifier` is one the caller accepts and `time_period` a four-digit year;
- `geographic_level` is National, Regional or Local authority, and each row's code fits its
  level: England for National, a region (E12; DfE's Inner/Outer London E13 rows are returned
  flagged so the caller can leave them out) for Regional, and an upper-tier authority the
  geography knows for Local authority;
- every value cell is a whole number or one of DfE's symbols (`MARKERS`); anything else is an
  error, never a zero.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pandas as pd

from etl.codes import AREA_CODE_PATTERNS, ENGLAND
from etl.errors import SourceError

FRAME_COLUMNS = ["time_period", "time_identifier", "geographic_level", "country_code", "region_code",
                 "region_name", "new_la_code", "la_name"]
LEVELS = {"National": "country", "Regional": "region", "Local authority": "utla"}
# DfE's symbols (EES guidance and the files' own footnotes). A symbol is a reason, never a zero.
MARKERS = {
    "c": "suppressed by DfE (c): a small number (1 to 5) or suppressed so that one cannot be worked out",
    "x": "not available (x) in DfE's file",
    "z": "not applicable (z)",
    "u": "low reliability (u): withheld by DfE as the council's return was not reliable",
    "low": "rounds to zero but is not zero (low)",
    "k": "rounds to zero but is not zero (k)",
}
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


@dataclass
class EesTable:
    """The file's rows as text, with where each row came from and which area it is."""

    rows: pd.DataFrame  # the file's columns (text) + _row (file line), year, level, area_code, area_name, _skip
    file: str
    source_id: str


def parse_cell(text: object, *, source_id: str, file: str, row: int, column: str
               ) -> tuple[float | None, str | None]:
    """A value cell: a number, or a DfE symbol with its reason; anything else is an error."""
    t = str(text).strip()
    if _NUMBER.match(t.replace(",", "")):
        value = float(t.replace(",", ""))
        if value < 0:
            raise SourceError(f"negative value {t!r}", source_id=source_id, file=file, row=row, column=column)
        return value, None
    if t.lower() in MARKERS:
        return None, MARKERS[t.lower()]
    what = "empty cell (truncated file?)" if t == "" else f"{t!r} is neither a number nor a DfE symbol " \
        f"({', '.join(MARKERS)})"
    raise SourceError(what, source_id=source_id, file=file, row=row, column=column)


def read_ees_csv(path: Path, source_id: str, value_columns: list[str], *, upper_tier: set[str],
                 region_codes: set[str], time_identifiers: tuple[str, ...] = ("Reporting year",),
                 extra_columns: tuple[str, ...] = ()) -> EesTable:
    """Check the frame of an EES file and place every row in the geography.

    `upper_tier`: codes of the upper-tier authorities the geography knows (a local-authority
    row with any other code is an error: a wrong or mistyped code, or a reorganisation the
    geography has not been told about). `region_codes`: the E12 regions known.
    """
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start})", source_id=source_id, file=file) from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc}", source_id=source_id, file=file) from None
    if not text.strip():
        raise SourceError("file is empty", source_id=source_id, file=file)
    try:
        df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise SourceError(f"not a readable CSV: {exc}", source_id=source_id, file=file) from None
    df.columns = [str(c).strip() for c in df.columns]
    required = FRAME_COLUMNS + list(extra_columns) + list(value_columns)
    missing = [c for c in required if c not in df.columns]
    if missing:
        hint = (" (the first line is not the explore-education-statistics header: a title or "
                "note line above it?)" if "time_period" in missing else " (renamed or dropped?)")
        raise SourceError(f"column {missing[0]!r} is not in the header{hint}; header: "
                          f"{', '.join(list(df.columns)[:12])}", source_id=source_id, file=file, row=1,
                          column=missing[0])
    if df.empty:
        raise SourceError("header but no data rows", source_id=source_id, file=file)
    df = df[required].apply(lambda s: s.str.strip())
    df["_row"] = range(2, len(df) + 2)

    def fail(i: int, column: str, message: str) -> SourceError:
        return SourceError(message, source_id=source_id, file=file, row=int(df["_row"].iloc[i]), column=column)

    bad_ti = ~df["time_identifier"].isin(time_identifiers)
    if bad_ti.any():
        i = int(bad_ti.to_numpy().nonzero()[0][0])
        raise fail(i, "time_identifier", f"time_identifier {df['time_identifier'].iloc[i]!r}; expected "
                   f"{' or '.join(time_identifiers)}")
    bad_year = ~df["time_period"].str.fullmatch(r"(19|20)\d{2}")
    if bad_year.any():
        i = int(bad_year.to_numpy().nonzero()[0][0])
        raise fail(i, "time_period", f"time_period {df['time_period'].iloc[i]!r} is not a four-digit year")
    df["year"] = df["time_period"].astype(int)
    bad_level = ~df["geographic_level"].isin(LEVELS)
    if bad_level.any():
        i = int(bad_level.to_numpy().nonzero()[0][0])
        raise fail(i, "geographic_level", f"geographic level {df['geographic_level'].iloc[i]!r} is not one of "
                   f"{', '.join(LEVELS)}")
    df["level"] = df["geographic_level"].map(LEVELS)
    codes, names, skip = [], [], []
    for i, (level, cc, rc, rn, lc, ln) in enumerate(zip(df["level"], df["country_code"], df["region_code"],
                                                        df["region_name"], df["new_la_code"], df["la_name"])):
        if level == "country":
            if cc != ENGLAND:
                raise fail(i, "country_code", f"national row with country code {cc!r}; expected England "
                           f"({ENGLAND})")
            codes.append(cc), names.append("England"), skip.append(False)
        elif level == "region":
            if re.fullmatch(r"E13\d{6}", rc):  # DfE's Inner / Outer London: no such area here
                codes.append(rc), names.append(rn), skip.append(True)
            elif rc in region_codes:
                codes.append(rc), names.append(rn), skip.append(False)
            else:
                raise fail(i, "region_code", f"region code {rc!r} is not a region (E12) of the geography")
        else:
            if not re.fullmatch(AREA_CODE_PATTERNS["utla"].strip("^$"), lc):
                raise fail(i, "new_la_code", f"local authority code {lc!r} ({ln}) is not an upper-tier "
                           "authority code (E06, E08, E09 or E10)")
            if lc not in upper_tier:
                raise fail(i, "new_la_code", f"local authority code {lc!r} ({ln}) is not an upper-tier "
                           "authority in the geography (a wrong code, or a reorganisation not yet mapped "
                           "in etl/parsers/geography.py UTLA_CHANGES)")
            codes.append(lc), names.append(ln), skip.append(False)
    df["area_code"], df["area_name"], df["_skip"] = codes, names, skip
    return EesTable(df.reset_index(drop=True), file, source_id)
