"""The dashboard served from a Parquet export (SVD_PARQUET) shows the same pages as from the
.duckdb file: every page is rendered both ways and its visible text and chart data compared."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from etl.export import export_parquet

ROOT = Path(__file__).resolve().parents[2]
PAGES = [("dashboard.py", {}),
         ("pages/1_Area_profile.py", {"area": "E22000308"}),
         ("pages/2_Map.py", {"indicator": "police_uk_possession_of_weapons", "level": "csp", "period": "2024-03"}),
         ("pages/3_Compare.py", {"indicator": "police_uk_robbery", "level": "pfa"}),
         ("pages/4_Data_and_sources.py", {}),
         ("pages/5_AE_ISTV.py", {"area": "E22000308"})]


@pytest.fixture(scope="module")
def export_dir(real_warehouse, tmp_path_factory) -> Path:
    return export_parquet(real_warehouse, tmp_path_factory.mktemp("pq") / "export")


def snapshot(page: str, params: dict) -> tuple:
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    # everything on the page except the one caption that names where it is served from
    text = [m.value for m in at.markdown] + [c.value for c in at.caption if not c.value.startswith("Served from")] \
        + [m.value for m in at.metric]
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    tables = [str(d.value.shape) for d in at.dataframe]
    return text, charts, tables


@pytest.mark.parametrize("page,params", PAGES, ids=[p for p, _ in PAGES])
def test_parquet_export_gives_the_same_page(page, params, real_warehouse, export_dir, monkeypatch):
    monkeypatch.delenv("SVD_PARQUET", raising=False)
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    from_duckdb = snapshot(page, params)
    monkeypatch.setenv("SVD_PARQUET", str(export_dir))
    monkeypatch.setenv("SVD_DB", str(real_warehouse.parent / "does-not-exist.duckdb"))
    from_parquet = snapshot(page, params)
    assert from_duckdb[0] and from_parquet[0] == from_duckdb[0]
    assert from_parquet[1] == from_duckdb[1]
    assert from_parquet[2] == from_duckdb[2]
