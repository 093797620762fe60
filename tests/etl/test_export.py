"""`etl.export.export_parquet`: a tiny warehouse made here -> hive-partitioned Parquet -> same rows;
and it never deletes what it did not write (foreign files, the warehouse folder, snapshots),
checked with the sha256 of every file there before and after."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from etl.errors import RefreshError
from etl.export import MARKER, export_parquet
from tests.tiny_warehouse import digests, make_tiny

ROOT = Path(__file__).resolve().parents[2]

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


def test_export_replaces_its_own_previous_export(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    out = tmp_path / "export"
    export_parquet(db, out)
    first = json.loads((out / "_meta.json").read_text())["exported_at"]
    marker = json.loads((out / MARKER).read_text())
    assert set(marker["files"]) == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    export_parquet(db, out)
    assert json.loads((out / "_meta.json").read_text())["exported_at"] != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "wh.duckdb"]


def test_export_into_an_empty_folder(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    (tmp_path / "export").mkdir()
    export_parquet(db, tmp_path / "export")
    assert (tmp_path / "export" / "_meta.json").exists()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def assert_one_line_refusal(out: subprocess.CompletedProcess, *names: str) -> None:
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for name in names:
        assert name in lines[0], lines[0]


def test_export_refuses_a_folder_with_a_foreign_file(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    out = tmp_path / "partner"
    (out / "sub").mkdir(parents=True)
    (out / "gang_estimates_2024.xlsx").write_bytes(b"PK\x03\x04 partner workbook")
    (out / "sub" / "notes.txt").write_text("keep me")
    before = digests(tmp_path)
    with pytest.raises(RefreshError, match="not written by export"):
        export_parquet(db, out)
    assert_one_line_refusal(run_cli("export", "--db", str(db), "--out", str(out)), "partner", "gang_estimates_2024")
    assert digests(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partner", "wh.duckdb"], "no temporary folder left"


def test_export_refuses_a_previous_export_with_a_file_added(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    out = tmp_path / "export"
    export_parquet(db, out)
    (out / "observations" / "my_analysis.csv").write_text("a,b\n1,2\n")
    before = digests(tmp_path)
    with pytest.raises(RefreshError, match="observations/my_analysis.csv"):
        export_parquet(db, out)
    assert digests(tmp_path) == before


def test_export_refuses_a_forged_or_broken_marker(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    out = tmp_path / "export"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"written_by": "python -m etl export", "files": ["../wh.duckdb"],
                                          "dirs": []}))
    before = digests(tmp_path)
    with pytest.raises(RefreshError, match="no export marker"):
        export_parquet(db, out)
    assert digests(tmp_path) == before


@pytest.mark.parametrize("where", ["warehouse folder", "its parent", "snapshots folder", "warehouse file"])
def test_export_refuses_the_warehouse_folder(tmp_path, where):
    live = tmp_path / "data" / "warehouse.duckdb"
    live.parent.mkdir()
    make_tiny(live, 1)
    (live.parent / "snapshots").mkdir()
    make_tiny(live.parent / "snapshots" / "warehouse-20260101T000000000000Z.duckdb", 0)
    (live.parent / "refresh-log.jsonl").write_text("{}\n")
    out = {"warehouse folder": live.parent, "its parent": tmp_path, "snapshots folder": live.parent / "snapshots",
           "warehouse file": live}[where]
    before = digests(tmp_path)
    with pytest.raises(RefreshError, match="refuses to write into"):
        export_parquet(live, out)
    assert_one_line_refusal(run_cli("export", "--db", str(live), "--out", str(out)), str(out))
    assert digests(tmp_path) == before
    assert sorted(p.name for p in live.parent.iterdir()) == ["refresh-log.jsonl", "snapshots", "warehouse.duckdb"]


def test_export_refuses_a_file_and_a_symlink(tmp_path):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    before = digests(tmp_path)
    with pytest.raises(RefreshError, match="is a file"):
        export_parquet(db, tmp_path / "file.txt")
    with pytest.raises(RefreshError, match="symbolic link"):
        export_parquet(db, tmp_path / "link")
    assert digests(tmp_path) == before


@pytest.mark.parametrize("call", [1, 2])
def test_disk_full_at_the_swap_keeps_the_previous_export(tmp_path, monkeypatch, call):
    """The first rename (previous export aside) or the second (new one in) fails: the previous
    export stays where it was, byte for byte, and no temporary folder is left."""
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)
    out = tmp_path / "export"
    export_parquet(db, out)
    before = digests(tmp_path)
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append(src)
        if len(calls) == call:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(RefreshError, match="No space left on device"):
        export_parquet(db, out)
    assert digests(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "wh.duckdb"]


def test_disk_full_into_a_new_folder(tmp_path, monkeypatch):
    db = tmp_path / "wh.duckdb"
    make_warehouse(db)

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(RefreshError, match="No space left on device"):
        export_parquet(db, tmp_path / "export")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh.duckdb"]


def test_export_missing_warehouse_leaves_out_alone(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(RefreshError):
        export_parquet(tmp_path / "nope.duckdb", out)
    assert (out / "keep.txt").read_text() == "x"
