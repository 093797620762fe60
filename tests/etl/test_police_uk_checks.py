"""The police.uk warehouse invariants (etl.checks) hold on the real build and fail, naming the
offending rows, when each is broken on purpose in a copy of that build."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from etl import checks


@pytest.fixture
def broken(real_warehouse: Path, tmp_path: Path):
    """A writable copy of the real warehouse, to be broken by the test."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(real_warehouse, db)
    con = duckdb.connect(str(db))
    yield con
    con.close()


def _one(con, sql: str, *params):
    row = con.execute(sql, list(params)).fetchone()
    assert row is not None, sql
    return row


def test_invariants_hold_on_the_real_build(real_warehouse: Path):
    con = duckdb.connect(str(real_warehouse), read_only=True)
    try:
        found = checks.police_uk_violations(con)
        assert set(found) == set(checks.POLICE_UK_INVARIANTS)
        assert all(v.empty for v in found.values()), {k: v.head() for k, v in found.items()}
        assert checks.police_uk_reconciles(con) == []
        # the checks run on real content: placed records and CSP figures exist
        assert _one(con, "SELECT sum(n) FROM police_uk_reconciliation WHERE status = 'placed in a CSP'")[0] > 100_000
    finally:
        con.close()


def test_an_unplaced_category_that_loses_records_is_caught(broken):
    month, force, crime_type = _one(broken, """
        SELECT month, force, crime_type FROM police_uk_reconciliation r JOIN police_uk_coverage c USING (force, month)
        WHERE r.status = 'no location (empty LSOA)' AND c.status = 'present' AND r.n > 1 ORDER BY ALL LIMIT 1""")
    broken.execute("UPDATE police_uk_reconciliation SET n = n - 1 WHERE month = ? AND force = ? AND crime_type = ? "
                   "AND status = 'no location (empty LSOA)'", [month, force, crime_type])
    bad = checks.police_uk_violations(broken)
    rows = bad["placed plus unplaced categories equal the force file's records"]
    assert rows[["month", "force", "crime_type"]].values.tolist() == [[month, force, crime_type]]
    assert (rows["records"] - rows["categories"]).tolist() == [1]
    assert len(bad["force figure equals placed plus unplaced records"]) == 1
    text = " ".join(checks.run_all(broken))
    assert f"{month} {force} {crime_type}" in text


def test_a_csp_figure_that_does_not_add_up_is_caught(broken):
    area, month, ind, pfa = _one(broken, """
        SELECT o.area_code, o.period_label, o.indicator_id, l.parent_code FROM observations o
        JOIN area_links l ON l.child_code = o.area_code AND l.child_type = 'csp' AND l.parent_type = 'pfa'
        WHERE o.source_id = 'police_uk_street' AND o.count > 0 ORDER BY ALL LIMIT 1""")
    broken.execute("UPDATE observations SET count = count + 2 WHERE area_code = ? AND period_label = ? "
                   "AND indicator_id = ?", [area, month, ind])
    rows = checks.police_uk_violations(broken)["CSP figures add up to the force's placed records"]
    assert rows[["month", "pfa_code"]].values.tolist() == [[month, pfa]]
    assert (rows["csp_sum"] - rows["placed"]).tolist() == [2]
    assert any(f"{month} {pfa}" in p for p in checks.run_all(broken))


def test_a_force_figure_that_differs_from_its_records_is_caught(broken):
    pfa, month, ind = _one(broken, """
        SELECT o.area_code, o.period_label, o.indicator_id FROM observations o
        JOIN police_uk_coverage c ON c.pfa_code = o.area_code AND c.month = o.period_label
        WHERE o.source_id = 'police_uk_street' ORDER BY ALL LIMIT 1""")
    broken.execute("UPDATE observations SET count = count - 1 WHERE area_code = ? AND period_label = ? "
                   "AND indicator_id = ?", [pfa, month, ind])
    rows = checks.police_uk_violations(broken)["force figure equals placed plus unplaced records"]
    assert rows[["month", "pfa_code"]].values.tolist() == [[month, pfa]]
    assert (rows["categories"] - rows["figure"]).tolist() == [1]


def test_a_figure_for_a_partial_month_is_caught(broken):
    pfa, month = _one(broken, "SELECT pfa_code, month FROM police_uk_coverage WHERE status = 'partial' "
                              "ORDER BY ALL LIMIT 1")
    csp = _one(broken, "SELECT child_code FROM area_links WHERE parent_code = ? AND child_type = 'csp' "
                       "ORDER BY 1 LIMIT 1", pfa)[0]
    broken.execute("""INSERT INTO observations BY NAME SELECT * REPLACE (? AS area_code, 0.0 AS count)
                      FROM observations WHERE source_id = 'police_uk_street' AND period_label = ? LIMIT 1""",
                   [csp, month])
    rows = checks.police_uk_violations(broken)["no figure for a missing or partial force-month"]
    assert rows[["month", "area_code", "status"]].values.tolist() == [[month, csp, "partial"]]


@pytest.mark.parametrize("table", checks.POLICE_UK_TABLES)
def test_a_missing_table_fails(broken, table):
    broken.execute(f"DROP TABLE {table}")
    problems = checks.run_all(broken)
    assert any("missing table" in p and table in p for p in problems), problems


def test_no_police_uk_at_all_is_not_a_failure(broken):
    broken.execute("DELETE FROM observations WHERE source_id = 'police_uk_street'")
    for t in checks.POLICE_UK_TABLES:
        broken.execute(f"DROP TABLE {t}")
    assert checks.police_uk_violations(broken) == {}
