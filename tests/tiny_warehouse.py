"""Tiny warehouse files made by code, each with every contract table and `meta`, passing the
refresh's checks: cheap stand-ins for the real build in tests of swaps, snapshots and CLI errors.

Each version carries its own `label` (in `meta` and in one observation), so two versions differ
in their bytes and a test can tell which one is live.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

BASE_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_tiny(path: Path, version: int) -> Path:
    """Write a complete small warehouse for `version` (built_at = BASE_TIME + version hours)."""
    built = (BASE_TIME + timedelta(hours=version)).isoformat()
    con = duckdb.connect(str(path))
    try:
        con.execute("""CREATE TABLE areas AS SELECT * FROM (VALUES
            ('E22000001', 'Alpha CSP', 'csp', NULL::DATE, NULL::DATE),
            ('E23000001', 'Alpha Police', 'pfa', NULL::DATE, NULL::DATE))
            t(area_code, area_name, area_type, valid_from, valid_to)""")
        con.execute("""CREATE TABLE area_links AS SELECT * FROM (VALUES ('E22000001', 'csp', 'E23000001', 'pfa'))
            t(child_code, child_type, parent_code, parent_type)""")
        con.execute("""CREATE TABLE boundaries AS SELECT * FROM (VALUES
            ('E22000001', 'csp', '{}'), ('E23000001', 'pfa', '{}')) t(area_code, area_type, geojson)""")
        con.execute("""CREATE TABLE population AS SELECT * FROM (VALUES ('E22000001', 2021, 'all', 'all', 1000, 'pop'))
            t(area_code, year, age_band, sex, persons, source_id)""")
        con.execute("""CREATE TABLE indicators AS SELECT * FROM (VALUES
            ('knife', 'knife_crime', 'Knife crime', 100000, 1, 'crude_rate'))
            t(indicator_id, family, title, multiplier, decimals, value_type)""")
        con.execute(f"""CREATE TABLE observations AS SELECT * FROM (VALUES
            ('knife', 'E22000001', DATE '2025-01-01', DATE '2025-01-31', '2025-01', {version}.0, {version}.0,
             'official', 'src'))
            t(indicator_id, area_code, period_start, period_end, period_label, count, value, quality, source_id)""")
        con.execute("""CREATE TABLE sources AS SELECT * FROM (VALUES
            ('src', 'knife_crime', 'Home Office', 'Knife crime', 'mirror', 1, 'knife.csv', 'abc',
             TIMESTAMP '2026-01-01 00:00:00', 'official'))
            t(source_id, family, publisher, title, origin, rows, file_name, sha256, retrieved_at, quality)""")
        con.execute(f"""CREATE TABLE refreshes AS SELECT * FROM (VALUES
            ('R{version}', TIMESTAMP '{built[:19]}', TIMESTAMP '{built[:19]}', 'built', 'tiny build {version}', '{{}}'))
            t(refresh_id, started_at, finished_at, status, message, changelog)""")
        con.execute(f"""CREATE TABLE meta AS SELECT * FROM (VALUES
            ('built_at', '{built}'), ('refresh_id', 'R{version}')) t(key, value)""")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (relative path -> digest)."""
    return {p.relative_to(folder).as_posix(): sha(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()}
