"""Read a small published CSV as text with its required columns, failing with the file named.

Shared by the parsers of small hand-kept CSVs (national figures, local working estimates), so
an unreadable, empty or column-short file gives the same clear error everywhere.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from etl.errors import SourceError


def read_required_columns(path: Path, source_id: str, columns: list[str]) -> pd.DataFrame:
    """The file's `columns` as stripped text (other columns dropped), header names stripped."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise SourceError("file is empty", source_id=source_id, file=path.name) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SourceError(f"cannot read: {exc}", source_id=source_id, file=path.name) from None
    df.columns = [str(c).strip() for c in df.columns]
    for col in columns:
        if col not in df.columns:
            raise SourceError("required column is missing", source_id=source_id, file=path.name, column=col)
    if df.empty:
        raise SourceError("file has a header but no data rows", source_id=source_id, file=path.name)
    return df[columns].copy()
