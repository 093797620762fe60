"""What changed since the previous warehouse: new periods, revised values, new or vanished areas.

The data officer reviews this before trusting a monthly run (docs/runbook.md); the Data &
sources page shows it. Computed in DuckDB across the two files so it stays cheap.
"""
from __future__ import annotations

import duckdb

MAX_EXAMPLES = 20


def compute_changelog(con: duckdb.DuckDBPyConnection, has_previous: bool) -> dict:
    """`con` has the new tables as `new.*` and, when `has_previous`, the live ones as `wh.*`."""
    if not has_previous:
        return {"first_build": True, "new_periods": [], "revised": [], "revised_count": 0,
                "new_areas": [], "vanished_areas": [], "new_sources": [], "changed_sources": []}
    try:
        con.execute("SELECT 1 FROM wh.observations LIMIT 1")
    except duckdb.Error:
        return {"first_build": True, "note": "previous warehouse has no observations table"}
    new_periods = con.execute("""
        SELECT indicator_id, list(DISTINCT period_label ORDER BY period_label) AS periods
        FROM (SELECT indicator_id, period_label FROM new.observations
              EXCEPT SELECT indicator_id, period_label FROM wh.observations)
        GROUP BY indicator_id ORDER BY indicator_id""").fetchall()
    key = "indicator_id, area_code, period_start, period_end, source_id"
    revised_sql = f"""
        SELECT n.indicator_id, n.area_code, n.period_label, o.count AS old_count, n.count AS new_count,
               o.value AS old_value, n.value AS new_value
        FROM new.observations n JOIN wh.observations o USING ({key})
        WHERE n.count IS DISTINCT FROM o.count
           OR (abs(coalesce(n.value, 0) - coalesce(o.value, 0)) > 1e-9 * greatest(abs(coalesce(o.value, 0)), 1))
           OR (n.value IS NULL) <> (o.value IS NULL)"""
    revised_count = con.execute(f"SELECT count(*) FROM ({revised_sql})").fetchone()[0]
    revised = con.execute(f"{revised_sql} ORDER BY indicator_id, area_code, period_label LIMIT {MAX_EXAMPLES}").df()
    new_areas = con.execute("SELECT area_code, area_name, area_type FROM new.areas "
                            "WHERE area_code NOT IN (SELECT area_code FROM wh.areas) ORDER BY 1").fetchall()
    vanished = con.execute("SELECT area_code, area_name, area_type FROM wh.areas "
                           "WHERE area_code NOT IN (SELECT area_code FROM new.areas) ORDER BY 1").fetchall()
    changed = con.execute("""
        SELECT n.source_id, n.file_name FROM new.source_files n
        LEFT JOIN wh.source_files o ON o.source_id = n.source_id AND o.file_name = n.file_name
        WHERE o.sha256 IS DISTINCT FROM n.sha256 ORDER BY 1, 2""").fetchall()
    gone = con.execute("""
        SELECT o.source_id, o.file_name FROM wh.source_files o
        LEFT JOIN new.source_files n ON o.source_id = n.source_id AND o.file_name = n.file_name
        WHERE n.file_name IS NULL ORDER BY 1, 2""").fetchall()
    return {
        "first_build": False,
        "new_periods": [{"indicator_id": i, "periods": p} for i, p in new_periods],
        "revised_count": int(revised_count),
        "revised": [{k: (None if v != v else v) for k, v in r.items()} for r in revised.to_dict("records")],
        "new_areas": [{"area_code": c, "area_name": n, "area_type": t} for c, n, t in new_areas],
        "vanished_areas": [{"area_code": c, "area_name": n, "area_type": t} for c, n, t in vanished],
        "changed_files": [{"source_id": s, "file_name": f} for s, f in changed],
        "removed_files": [{"source_id": s, "file_name": f} for s, f in gone],
    }


def summarise(changelog: dict) -> str:
    """One line per kind of change, for the refresh output and the refreshes table."""
    if changelog.get("first_build"):
        return "first build: no previous warehouse to compare with"
    parts = []
    n_new = sum(len(x["periods"]) for x in changelog.get("new_periods", []))
    parts.append(f"{n_new} new indicator-periods")
    parts.append(f"{changelog.get('revised_count', 0)} revised values")
    parts.append(f"{len(changelog.get('new_areas', []))} new areas, {len(changelog.get('vanished_areas', []))} vanished")
    parts.append(f"{len(changelog.get('changed_files', []))} new or changed files, "
                 f"{len(changelog.get('removed_files', []))} removed")
    return "; ".join(parts)
