"""`python -m etl status`: what the live warehouse holds, read-only."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from etl.errors import RefreshError, printable
from etl.refresh_log import last_failed_run
from etl.warehouse import open_warehouse, snapshots

UNREADABLE_HINT = ("put a snapshot back with `python -m etl rollback` (or `restore NAME`), "
                   "or rebuild with `python -m etl refresh --force`")


def status(db: Path) -> dict:
    if not db.exists():
        return {"db": str(db), "exists": False,
                "message": f"no warehouse at {printable(db)}: run `python -m etl refresh --sources DIR`"}
    try:
        con = open_warehouse(db, f"the live warehouse {printable(db)}")
    except RefreshError as exc:
        raise RefreshError(f"{exc}; {UNREADABLE_HINT}") from None
    try:
        meta = dict(con.execute("SELECT key, value FROM wh.meta").fetchall())
        sources = con.execute("""
            SELECT s.source_id, s.family, s.publisher, s.title, s.quality, s.origin, s.rows, s.file_name,
                   s.sha256, s.retrieved_at::VARCHAR AS retrieved_at,
                   count(DISTINCT o.period_label) AS periods, min(o.period_start)::DATE::VARCHAR AS first_period,
                   max(o.period_end)::DATE::VARCHAR AS last_period, count(DISTINCT o.area_code) AS areas,
                   count(DISTINCT o.indicator_id) AS indicators,
                   list(DISTINCT o.quality) FILTER (WHERE o.quality IS NOT NULL) AS qualities
            FROM wh.sources s LEFT JOIN wh.observations o
              ON o.source_id = s.source_id OR o.source_id LIKE s.source_id || '#%'
            GROUP BY ALL ORDER BY s.family, s.source_id""").df()
        families = con.execute("""
            SELECT i.family, count(DISTINCT i.indicator_id) AS indicators, count(*) AS observations,
                   list(DISTINCT o.quality) AS qualities, min(o.period_start)::DATE::VARCHAR AS first_period,
                   max(o.period_end)::DATE::VARCHAR AS last_period, count(DISTINCT o.area_code) AS areas
            FROM wh.observations o JOIN wh.indicators i USING (indicator_id) GROUP BY 1 ORDER BY 1""").df()
        try:
            coverage = con.execute("""SELECT status, count(*) AS force_months FROM wh.police_uk_coverage
                                      GROUP BY 1 ORDER BY 1""").df().to_dict("records")
            unresolved = con.execute("""SELECT status, sum(n)::BIGINT AS records FROM wh.police_uk_reconciliation
                                        GROUP BY 1 ORDER BY 2 DESC""").df().to_dict("records")
        except Exception:
            coverage, unresolved = [], []
        try:
            held = con.execute("""SELECT force, month, note FROM wh.police_uk_coverage WHERE status = 'implausible'
                                  ORDER BY month, force""").df().to_dict("records")
        except duckdb.Error:
            held = []
        try:
            not_loaded = con.execute("SELECT * FROM wh.sources_not_loaded ORDER BY source_id").df()
        except duckdb.Error:  # a warehouse built before this table existed
            not_loaded = None
        last = con.execute("""SELECT refresh_id, started_at::VARCHAR AS started_at, finished_at::VARCHAR AS finished_at,
                                     status, message, changelog
                              FROM wh.refreshes ORDER BY started_at DESC LIMIT 1""").df().to_dict("records")
    except duckdb.Error as exc:
        reason = printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise RefreshError(f"the live warehouse {printable(db)} cannot be read: {reason}; {UNREADABLE_HINT}") from None
    finally:
        con.close()
    if last:
        last[0]["changelog"] = json.loads(last[0]["changelog"] or "{}")
    return {
        "db": str(db), "exists": True, "built_at": meta.get("built_at"),
        "pipeline_version": meta.get("pipeline_version"),
        "families": _records(families), "sources": _records(sources),
        "police_uk_coverage": coverage, "police_uk_records_by_placement": unresolved,
        "police_uk_held_back": held,
        "last_refresh": last[0] if last else None,
        "last_failed_run": last_failed_run(db),
        "sources_not_loaded": None if not_loaded is None else _records(not_loaded),
        "snapshots": [p.name for p in snapshots(db)],
    }


def _records(df) -> list[dict]:
    out = []
    for rec in df.to_dict("records"):
        out.append({k: (list(v) if hasattr(v, "tolist") and not isinstance(v, str) else v) for k, v in rec.items()})
    return out


def render_text(st: dict) -> str:
    if not st.get("exists"):
        return st["message"]
    lines = [f"Warehouse {printable(st['db'])} built {st['built_at']}", "", "Families:"]
    for f in st["families"]:
        lines.append(f"  {f['family']:<15} {f['indicators']:>3} indicators {f['observations']:>8} values "
                     f"{f['first_period']} .. {f['last_period']}  quality: {', '.join(map(str, f['qualities']))}")
    lines += ["", "Sources:"]
    for s in st["sources"]:
        span = (f"{s['first_period']} .. {s['last_period']}" if isinstance(s["first_period"], str)
                else "(reference data: no periods)")
        lines.append(f"  {s['source_id']:<32} {s['quality']:<9} {s['origin']:<9} rows={s['rows']!s:<7} "
                     f"periods={s['periods']} {span}")
    if st["police_uk_coverage"]:
        lines += ["", "police.uk coverage (force x month): " +
                  ", ".join(f"{c['status']} {c['force_months']}" for c in st["police_uk_coverage"])]
    for h in st.get("police_uk_held_back") or []:
        lines.append(f"  WARNING: held back as implausibly high: {printable(h['force'])} {printable(h['month'])}: "
                     f"{printable(str(h['note']))}")
    if st["last_refresh"]:
        lines += ["", f"Last refresh {st['last_refresh']['refresh_id']}: {st['last_refresh']['message']}"]
        gaps = (st["last_refresh"].get("changelog") or {}).get("coverage_gaps") or {}
        for kind, words in (("opened", "new gap"), ("closed", "gap closed"), ("still_open", "still a gap")):
            for g in gaps.get(kind, []):
                lines.append(f"  police.uk {words}: {g['force']} {g['month']} ({g['before'] or 'none'} -> "
                             f"{g['now'] or 'none'}){': ' + g['note'] if g.get('note') else ''}")
    failed = st.get("last_failed_run")
    if failed:
        since = "a later run succeeded" if failed["succeeded_since"] else "NO successful run since"
        lines += ["", f"Last FAILED refresh (started {failed['started_at']}; {since}):",
                  f"  {printable(str(failed['message']))}"]
    if st.get("sources_not_loaded"):
        lines += ["", "Manifest sources not loaded:"]
        lines += [f"  {s['source_id']}: {printable(s['reason'])}" for s in st["sources_not_loaded"]]
    lines += ["", f"Snapshots kept for rollback: {printable(', '.join(st['snapshots'])) or 'none'}"]
    return "\n".join(lines)
