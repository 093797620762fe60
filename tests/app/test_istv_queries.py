"""`queries.istv_counts` cuts one CSP's cached monthly table in pandas (one query per CSP, not one
per dimension and year); its sums must equal DuckDB's own GROUP BY over the same rows."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from app import queries as q

CASES = [("hour_dow", "2023-04-01", "2024-03-01"), ("weapon", "2023-04-01", "2023-09-01"),
         ("month", "2000-01-01", "2099-12-01"), ("dow", "2023-10-01", "2023-10-01")]


@pytest.mark.parametrize("dimension,first,last", CASES)
def test_istv_counts_equal_sql_sums(wh, sql, dimension, first, last) -> None:
    codes = [c for (c,) in sql("SELECT DISTINCT csp_code FROM istv_counts ORDER BY csp_code LIMIT 3")]
    assert codes
    key = "month" if dimension == "month" else "category"
    seen = 0
    for code in codes:
        want = dict(sql(f"""SELECT {key}, sum(count) FROM istv_counts WHERE csp_code = ? AND dimension = ?
                            AND month BETWEEN ? AND ? GROUP BY {key}""", code, dimension, first, last))
        got = q.istv_counts(code, dimension, first, last)
        got_keys = list(got[key])
        assert sorted(got_keys) == got_keys  # ordered as the page draws them
        want = {(pd.Timestamp(k) if key == "month" else k): n for k, n in want.items()}
        assert set(got_keys) == set(want)
        for k, n in zip(got_keys, got["count"], strict=True):
            assert (want[k] is None and math.isnan(n)) or n == want[k]
        seen += len(want)
    assert seen > 0 or dimension == "dow"  # a single month may hold nothing for some CSPs
