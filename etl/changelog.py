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
                "new_areas": [], "vanished_areas": [], "new_sources": [], "changed_sources": [],
                "held_back": held_back(con)}
    try:
        con.execute("SELECT 1 FROM wh.observations LIMIT 1")
    except duckdb.Error:
        return {"first_build": True, "note": "previous warehouse has no observations table", "held_back": held_back(con)}
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
        "coverage_gaps": coverage_gaps(con),
        "held_back": held_back(con),
        "new_periods": [{"indicator_id": i, "periods": p} for i, p in new_periods],
        "revised_count": int(revised_count),
        "revised": [{k: (None if v != v else v) for k, v in r.items()} for r in revised.to_dict("records")],
        "new_areas": [{"area_code": c, "area_name": n, "area_type": t} for c, n, t in new_areas],
        "vanished_areas": [{"area_code": c, "area_name": n, "area_type": t} for c, n, t in vanished],
        "changed_files": [{"source_id": s, "file_name": f} for s, f in changed],
        "removed_files": [{"source_id": s, "file_name": f} for s, f in gone],
    }


GAP = "('missing', 'partial', 'implausible')"  # no figure for the force-month


def coverage_gaps(con: duckdb.DuckDBPyConnection) -> dict:
    """police.uk force-months that are missing, partial or implausible (held back), against the previous warehouse:
    `opened` (a gap now that was not one before: a new month not published, or a month that
    became partial), `closed` (a gap before, complete now: e.g. a late file arrived) and
    `still_open` (a gap in both). Each lists force, month, status (before -> now) and the note.
    Why: a new gap is the first thing the analyst checks before trusting a monthly run."""
    try:
        con.execute("SELECT 1 FROM new.police_uk_coverage LIMIT 0")
        con.execute("SELECT 1 FROM wh.police_uk_coverage LIMIT 0")
    except duckdb.Error:
        return {"opened": [], "closed": [], "still_open": [], "note": "no police.uk coverage to compare"}
    rows = con.execute(f"""
        SELECT coalesce(n.force, o.force) AS force, coalesce(n.month, o.month) AS month,
               o.status AS before, n.status AS now, coalesce(n.note, o.note) AS note,
               CASE WHEN n.status IN {GAP} AND (o.status IS NULL OR o.status NOT IN {GAP}) THEN 'opened'
                    WHEN o.status IN {GAP} AND n.status = 'present' THEN 'closed'
                    WHEN o.status IN {GAP} AND n.status IN {GAP} THEN 'still_open' END AS kind
        FROM new.police_uk_coverage n FULL JOIN wh.police_uk_coverage o ON n.force = o.force AND n.month = o.month
        ORDER BY month, force""").df()
    out: dict = {}
    for kind in ("opened", "closed", "still_open"):
        part = rows[rows["kind"] == kind]
        out[kind] = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items() if k != "kind"}
                     for r in part.to_dict("records")]
    return out


def held_back(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """police.uk force-months the new build holds back as implausibly high (force, month, note),
    whether or not they were held back before: each is a file to look at, said in every run."""
    try:
        rows = con.execute("""SELECT force, month, note FROM new.police_uk_coverage WHERE status = 'implausible'
                              ORDER BY month, force""").fetchall()
    except duckdb.Error:
        return []
    return [{"force": f, "month": m, "note": n} for f, m, n in rows]


def held_back_warning(changelog: dict) -> str:
    """'WARNING: ...' naming the force-months held back as implausibly high, or ''."""
    held = changelog.get("held_back") or []
    if not held:
        return ""
    return (f"WARNING: {len(held)} police.uk force-month(s) held back as implausibly high (no figure published): "
            + ", ".join(f"{h['force']} {h['month']}" for h in held))


def summarise(changelog: dict) -> str:
    """One line per kind of change, for the refresh output and the refreshes table."""
    warning = held_back_warning(changelog)
    if changelog.get("first_build"):
        return "first build: no previous warehouse to compare with" + (f"; {warning}" if warning else "")
    parts = []
    n_new = sum(len(x["periods"]) for x in changelog.get("new_periods", []))
    parts.append(f"{n_new} new indicator-periods")
    parts.append(f"{changelog.get('revised_count', 0)} revised values")
    parts.append(f"{len(changelog.get('new_areas', []))} new areas, {len(changelog.get('vanished_areas', []))} vanished")
    parts.append(f"{len(changelog.get('changed_files', []))} new or changed files, "
                 f"{len(changelog.get('removed_files', []))} removed")
    gaps = changelog.get("coverage_gaps") or {}
    if gaps.get("opened") or gaps.get("closed") or gaps.get("still_open"):
        parts.append(f"police.uk coverage gaps: {len(gaps.get('opened', []))} new, {len(gaps.get('closed', []))} "
                     f"closed, {len(gaps.get('still_open', []))} still open")
    if warning:
        parts.append(warning)
    return "; ".join(parts)
