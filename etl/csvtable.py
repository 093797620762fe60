"""Read a small published CSV as text with its required columns, failing with the file named.

Shared by the parsers of small hand-kept CSVs (national figures, local working estimates), so
an unreadable, empty or column-short file gives the same clear error everywhere.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd

from etl.errors import SourceError

# Limits that no layout we read comes near; beyond them a file is not what it claims to be, and
# a clear refusal beats minutes of parsing or a traceback.
MAX_COLUMNS = 1_000
MAX_FIELD_CHARS = 64 * 1024  # one cell; the csv module's own default limit is 128 KiB
MAX_HEADER_CHARS = 1 << 20  # the header line
MAX_SMALL_CSV_BYTES = 64 * 1024 * 1024  # the hand-kept tables read whole by pandas


def check_header(header: list[str], *, source_id: str, file: str) -> None:
    """Refuse a header with more columns than any layout or with a repeated column name.
    Linear in the header's length (a Counter, not `list.count` per column)."""
    if len(header) > MAX_COLUMNS:
        raise SourceError(f"the header has {len(header):,} columns, more than the {MAX_COLUMNS:,} "
                          "any layout we read allows (not the expected file?)",
                          source_id=source_id, file=file, row=1)
    names = [str(h).strip() for h in header]
    counts = Counter(names)
    for name in names:
        if counts[name] > 1:
            raise SourceError(f"column {name!r} appears {counts[name]} times in the header",
                              source_id=source_id, file=file, row=1, column=name)


def read_header(path: Path, source_id: str, *, encoding: str = "utf-8-sig") -> list[str]:
    """The header row, read on its own within MAX_HEADER_CHARS, checked by `check_header`."""
    try:
        with open(path, encoding=encoding, newline="") as fh:
            line = fh.readline(MAX_HEADER_CHARS + 1)
    except UnicodeDecodeError:
        raise SourceError("not UTF-8 text", source_id=source_id, file=path.name, row=1) from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc}", source_id=source_id, file=path.name) from None
    if len(line) > MAX_HEADER_CHARS:
        raise SourceError(f"the header line is longer than {MAX_HEADER_CHARS:,} characters "
                          "(not the expected file?)", source_id=source_id, file=path.name, row=1)
    header = next(csv.reader([line]), [])
    check_header(header, source_id=source_id, file=path.name)
    return header


def read_required_columns(path: Path, source_id: str, columns: list[str]) -> pd.DataFrame:
    """The file's `columns` as stripped text (other columns dropped), header names stripped."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceError(f"cannot read: {exc}", source_id=source_id, file=path.name) from None
    if size > MAX_SMALL_CSV_BYTES:
        raise SourceError(f"file is {size:,} bytes, more than the {MAX_SMALL_CSV_BYTES:,} a "
                          "hand-kept table of this kind can be (not the expected file?)",
                          source_id=source_id, file=path.name)
    if size:
        read_header(path, source_id)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise SourceError("file is empty", source_id=source_id, file=path.name) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SourceError(f"cannot read: {exc}", source_id=source_id, file=path.name) from None
    df.columns = [str(c).strip() for c in df.columns]
    long = df.apply(lambda c: c.str.len().gt(MAX_FIELD_CHARS)) if len(df) else df
    if len(df) and long.to_numpy().any():
        i, j = (int(x[0]) for x in long.to_numpy().nonzero())
        raise SourceError(f"a cell of {len(df.iat[i, j]):,} characters, over the {MAX_FIELD_CHARS:,} "
                          "limit (damaged file?)", source_id=source_id, file=path.name, row=i + 2,
                          column=df.columns[j])
    for col in columns:
        if col not in df.columns:
            raise SourceError("required column is missing", source_id=source_id, file=path.name, column=col)
    if df.empty:
        raise SourceError("file has a header but no data rows", source_id=source_id, file=path.name)
    return df[columns].copy()
