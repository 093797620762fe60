"""The analyst's view: coverage gaps in the changelog (new / closed / still open), the last
failed refresh from the log, and the manifest sources a refresh did not load, with why."""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import duckdb
import pytest

from etl.changelog import coverage_gaps, summarise
from etl.refresh_log import REFRESH_LOG, last_failed_run

ROOT = Path(__file__).resolve().parents[2]
COLS = "force VARCHAR, pfa_code VARCHAR, month VARCHAR, status VARCHAR, rows BIGINT, typical_rows BIGINT, note VARCHAR"


def coverage_con(before: list[tuple], after: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema, rows in (("wh", before), ("new", after)):
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"CREATE TABLE {schema}.police_uk_coverage ({COLS})")
        for force, month, status in rows:
            con.execute(f"INSERT INTO {schema}.police_uk_coverage VALUES (?, NULL, ?, ?, NULL, NULL, ?)",
                        [force, month, status, f"{force} {status}"])
    return con


def test_coverage_gaps_new_closed_and_still_open():
    before = [("kent", "2024-01", "present"), ("essex", "2024-01", "missing"), ("dorset", "2024-01", "partial"),
              ("surrey", "2024-01", "present")]
    after = [("kent", "2024-01", "partial"), ("essex", "2024-01", "present"), ("dorset", "2024-01", "missing"),
             ("surrey", "2024-01", "present"), ("surrey", "2024-02", "missing")]
    gaps = coverage_gaps(coverage_con(before, after))
    assert [(g["force"], g["month"], g["before"], g["now"]) for g in gaps["opened"]] == [
        ("kent", "2024-01", "present", "partial"), ("surrey", "2024-02", None, "missing")]
    assert [(g["force"], g["before"], g["now"]) for g in gaps["closed"]] == [("essex", "missing", "present")]
    assert [(g["force"], g["before"], g["now"]) for g in gaps["still_open"]] == [("dorset", "partial", "missing")]
    line = summarise({"first_build": False, "coverage_gaps": gaps})
    assert "police.uk coverage gaps: 2 new, 1 closed, 1 still open" in line


def test_coverage_gaps_without_a_previous_grid_say_so():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA new")
    con.execute(f"CREATE TABLE new.police_uk_coverage ({COLS})")
    gaps = coverage_gaps(con)
    assert gaps["opened"] == [] and "no police.uk coverage" in gaps["note"]


def write_log(folder: Path, entries: list[object]) -> Path:
    (folder / REFRESH_LOG).write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in entries))
    return folder / "warehouse.duckdb"


@pytest.mark.parametrize("entries,expected", [
    ([{"status": "built"}], None),
    ([{"status": "built"}, {"status": "failed", "started_at": "t1", "message": "boom in x.csv row 3"},
      '{"status": "bui'], ("t1", "boom in x.csv row 3", False)),
    ([{"status": "failed", "started_at": "t0", "message": "old"}, {"status": "failed", "started_at": "t1",
      "message": "new"}, {"status": "unchanged"}], ("t1", "new", True)),
])
def test_last_failed_run_from_the_log(tmp_path, monkeypatch, entries, expected):
    db = write_log(tmp_path, entries)
    got = last_failed_run(db)
    # the dashboard reads the same log through its query module: both must agree
    from app import queries as q
    monkeypatch.setenv("SVD_DB", str(db))
    shown = q.last_failed_refresh()
    if expected is None:
        assert got is None and shown is None
    else:
        assert (got["started_at"], got["message"], got["succeeded_since"]) == expected
        assert (shown["started_at"], shown["message"], shown["succeeded_since"]) == expected


def test_sources_not_loaded_are_exactly_the_manifest_sources_missing_from_the_warehouse(real_warehouse):
    manifest = tomllib.loads((ROOT / "data" / "sources.toml").read_text())
    ids = {s["id"] for s in manifest["source"]}
    with duckdb.connect(str(real_warehouse), read_only=True) as con:
        loaded = {r[0] for r in con.execute("SELECT source_id FROM sources").fetchall()}
        not_loaded = dict(con.execute("SELECT source_id, reason FROM sources_not_loaded").fetchall())
    assert set(not_loaded) == ids - loaded
    assert "local_gang_working_estimates" in not_loaded  # partner-supplied: never in the public mirror
    assert len(not_loaded) > 0, "nothing to check: an empty result must not pass"
    assert all("no file matching" in reason for reason in not_loaded.values())


def test_data_and_sources_page_shows_the_failed_run_and_sources_not_loaded(real_warehouse, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "warehouse.duckdb"
    os.link(real_warehouse, db)  # the same file, in a folder whose refresh log this test writes
    write_log(tmp_path, [{"status": "built"}, {"status": "failed", "started_at": "2026-12-01T02:00:00",
                                               "message": "knife.csv row 7, column 'Force Name': unknown force"}])
    monkeypatch.setenv("SVD_DB", str(db))
    at = AppTest.from_file(str(ROOT / "pages/4_Data_and_sources.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert any("no refresh has succeeded since" in e.value for e in at.error)
    assert any("unknown force" in c.value for c in at.code)
    assert any("Sources in the manifest not loaded" in m.value for m in at.markdown)
