"""A refresh shows up without restarting the server: caches are keyed on the warehouse file's
identity, so swapping in a new file (os.replace, as the refresh does) changes what pages show."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def built_at_shown() -> str:
    at = AppTest.from_file(str(ROOT / "pages/4_Data_and_sources.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return next(m.value for m in at.markdown if m.value.startswith("Warehouse built"))


def test_swapped_warehouse_is_seen_on_next_run(real_warehouse, tmp_path, monkeypatch):
    live = tmp_path / "warehouse.duckdb"
    shutil.copy(real_warehouse, live)
    monkeypatch.setenv("SVD_DB", str(live))
    before = built_at_shown()

    new = tmp_path / "warehouse.duckdb.new"
    shutil.copy(real_warehouse, new)
    con = duckdb.connect(str(new))
    con.execute("UPDATE meta SET value = '2099-01-01T00:00:00+00:00' WHERE key = 'built_at'")
    con.execute("CHECKPOINT")
    con.close()
    os.replace(new, live)

    after = built_at_shown()
    assert "2099-01-01" in after and after != before
