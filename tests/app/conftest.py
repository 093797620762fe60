"""Fixtures for page tests: `wh` points the app at the real warehouse built once per run (a test
module may override `wh` to point at a warehouse of its own, as test_hostile_text does); `sql`
queries that same warehouse read-only, for values worked out beside the app code."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest


@pytest.fixture
def wh(real_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    return real_warehouse


@pytest.fixture
def sql(wh: Path) -> Iterator[Callable[..., list[tuple]]]:
    """`sql(query, *params)` -> rows, on `wh` attached read-only (beside the app's own connection)."""
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{wh}' AS t (READ_ONLY)")
    con.execute("USE t")

    def run(query: str, *params: object) -> list[tuple]:
        return con.execute(query, list(params)).fetchall()

    yield run
    con.close()
