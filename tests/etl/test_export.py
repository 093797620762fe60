"""`etl.export.export_parquet`: a tiny warehouse made here -> hive-partitioned Parquet -> same rows."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from etl.errors import RefreshError
from etl.export import export_parquet

OBS_COLS = "indicator_id, area_code, period_start, period_label, count, value, note"


def make_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("""CREATE TABLE indicators (indicator_id VARCHAR, family VARCHAR, title VARCHAR)""")
        con.execute("""INSERT INTO indicators VALUES
            ('knife_a', 'knife_crime', 'Knife A'), ('hosp_b', 'hospital_admissions', 'Hosp B')""")
        con.execute("""CREATE TABLE observations (indicator_id VARCHAR, area_code VARCHAR,
            period_start TIMESTAMP, period_label VARCHAR, count DOUBLE, value DOUBLE, note VARCHAR)""")
        rows = []
        for ind in ("knife_a", "hosp_b", "orphan_c"):
            for area in ("E22000001", "W15000002"):
                for y, m in ((2019, 1), (2019, 7), (2021, 3), (2024, 12)):
                    rows.append((ind, area, datetime(y, m, 1), f"{y}-{m:02d}", float(y + m),
                                 (y + m) / 7, None if m != 7 else "it's a note"))
        rows.append(("knife_a", "E22000003", None, "undated", 1.0, None, None))
        con.executemany("INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('built_at', '2024-05-01T00:00:00+00:00'), ('refresh_id', 'R1')")
        con.execute("CREATE TABLE empty_table (a INTEGER)")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def test_export_round_trip(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    out = tmp_path / "export"
    assert export_parquet(db, out) == out

    con = duckdb.connect()
    src = f"ATTACH '{db}' AS wh (READ_ONLY)"
    con.execute(src)
    glob = f"{out}/observations/**/*.parquet"
    back = con.execute(f"SELECT {OBS_COLS}, family, year FROM read_parquet('{glob}', hive_partitioning=true) "
                       "ORDER BY ALL").fetchall()
    want = con.execute(f"""
        SELECT {OBS_COLS}, coalesce(i.family, 'unknown'), coalesce(year(period_start), 0)
        FROM wh.observations o LEFT JOIN wh.indicators i USING (indicator_id) ORDER BY ALL""").fetchall()
    assert len(back) == 3 * 2 * 4 + 1
    assert back == want

    parts = sorted(p.relative_to(out / "observations").parent.as_posix()
                   for p in (out / "observations").rglob("*.parquet"))
    assert "family=knife_crime/year=2019" in parts
    assert "family=hospital_admissions/year=2024" in parts
    assert "family=unknown/year=2021" in parts
    assert "family=knife_crime/year=0" in parts

    for table in ("indicators", "meta", "empty_table"):
        assert (con.execute(f"SELECT * FROM read_parquet('{out}/{table}.parquet') ORDER BY ALL").fetchall()
                == con.execute(f"SELECT * FROM wh.{table} ORDER BY ALL").fetchall())

    meta = json.loads((out / "_meta.json").read_text())
    assert meta["meta"] == {"built_at": "2024-05-01T00:00:00+00:00", "refresh_id": "R1"}
    assert {k: v["rows"] for k, v in meta["tables"].items()} == {
        "empty_table": 0, "indicators": 2, "meta": 2, "observations": 25}
    assert meta["tables"]["observations"]["partitioned_by"] == ["family", "year"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_replaces_previous_export(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    out = tmp_path / "export"
    out.mkdir()
    (out / "stale.parquet").write_text("old")
    export_parquet(db, out)
    assert not (out / "stale.parquet").exists()
    assert (out / "_meta.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "wh.duckdb"]


def test_export_missing_warehouse_leaves_out_alone(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(RefreshError):
        export_parquet(tmp_path / "nope.duckdb", out)
    assert (out / "keep.txt").read_text() == "x"
