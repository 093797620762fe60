"""Checks on a freshly built warehouse, run before it may replace the live one.

Each check returns problems as sentences; any problem stops the swap.
"""
from __future__ import annotations

import duckdb

from etl.codes import AREA_CODE_PATTERNS


def run_all(con: duckdb.DuckDBPyConnection) -> list[str]:
    problems: list[str] = []
    for check in (boundaries_complete, observation_areas_known, indicators_defined,
                  police_uk_reconciles, no_negative_counts, quality_labelled):
        problems += check(con)
    return problems


def boundaries_complete(con) -> list[str]:
    missing = con.execute("""
        SELECT a.area_code, a.area_type FROM areas a
        WHERE a.area_type IN ('lad', 'csp', 'pfa') AND a.valid_to IS NULL
          AND a.area_code NOT IN (SELECT area_code FROM boundaries)""").fetchall()
    return [f"{len(missing)} current LAD/CSP/PFA areas have no boundary, e.g. {missing[:3]}"] if missing else []


def observation_areas_known(con) -> list[str]:
    rows = con.execute("""
        SELECT DISTINCT o.source_id, o.area_code FROM observations o
        LEFT JOIN areas a USING (area_code) WHERE a.area_code IS NULL LIMIT 5""").fetchall()
    return [f"source {s}: area code {c} is not in the geography" for s, c in rows]


def indicators_defined(con) -> list[str]:
    rows = con.execute("""SELECT DISTINCT indicator_id FROM observations
                          WHERE indicator_id NOT IN (SELECT indicator_id FROM indicators) LIMIT 5""").fetchall()
    return [f"indicator {i} has observations but no definition" for (i,) in rows]


def police_uk_reconciles(con) -> list[str]:
    """Sum of CSPs + records placed elsewhere = each force's total, per month and crime type."""
    try:
        rows = con.execute("""
            WITH csp AS (
                SELECT o.period_label AS month, l.parent_code AS pfa, o.indicator_id, sum(o.count) AS n
                FROM observations o JOIN area_links l ON l.child_code = o.area_code AND l.child_type = 'csp'
                WHERE o.source_id = 'police_uk_street' GROUP BY ALL),
            pfa AS (
                SELECT period_label AS month, area_code AS pfa, indicator_id, count AS n FROM observations
                WHERE source_id = 'police_uk_street' AND (area_code LIKE 'E23%' OR area_code LIKE 'W15%')),
            placed AS (
                SELECT r.month, c.pfa_code AS pfa, r.crime_type, sum(r.n) FILTER (WHERE r.status = 'placed in a CSP') AS inside,
                       sum(r.n) AS total
                FROM police_uk_reconciliation r JOIN police_uk_coverage c ON c.force = r.force AND c.month = r.month
                WHERE c.status = 'present' AND c.pfa_code IS NOT NULL GROUP BY ALL)
            SELECT p.month, p.pfa, p.indicator_id, p.n, coalesce(c.n, 0) AS csp_sum
            FROM pfa p LEFT JOIN csp c USING (month, pfa, indicator_id)
            WHERE p.n < coalesce(c.n, 0)
            LIMIT 5""").fetchall()
    except duckdb.CatalogException:
        return []
    return [f"police.uk {i} {m} {p}: CSPs add up to {c} but the force total is only {n}" for m, p, i, n, c in rows]


def no_negative_counts(con) -> list[str]:
    n = con.execute("SELECT count(*) FROM observations WHERE count < 0").fetchone()[0]
    return [f"{n} observations have negative counts"] if n else []


def quality_labelled(con) -> list[str]:
    rows = con.execute("""SELECT o.source_id, o.quality, s.quality FROM observations o JOIN sources s USING (source_id)
                          WHERE s.quality = 'synthetic' AND o.quality <> 'synthetic' LIMIT 3""").fetchall()
    return [f"source {s} is synthetic but a value is labelled {q}" for s, q, _ in rows]


__all__ = ["run_all", "AREA_CODE_PATTERNS"]
