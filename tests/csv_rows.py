"""Small CSV files made by code for parser tests: a header and dict rows, written the way the
publishers' CSVs are (UTF-8, csv module quoting), so each test module need not write its own."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path


def write_dict_rows(path: Path, columns: Sequence[str], rows: Iterable[Mapping],
                    *, drop_extra: bool = False) -> Path:
    """Write `rows` under the header `columns` to `path` and return it. A row key that is not a
    column is an error unless `drop_extra` (for tests that leave a column out on purpose)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore" if drop_extra else "raise")
        w.writeheader()
        w.writerows(rows)
    return path
