"""Checks on a freshly built warehouse, run before it may replace the live one.

Each check returns problems as sentences; any problem stops the swap.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from etl.codes import AREA_CODE_PATTERNS
from etl.registry import load_registry


def run_all(con: duckdb.DuckDBPyConnection) -> list[str]:
    problems: list[str] = []
    for check in (boundaries_complete, observation_areas_known, indicators_defined,
                  police_uk_reconciles, no_negative_counts, quality_labelled, registry_matches_observations):
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


# ---------------------------------------------------------------- police.uk invariants
# Each invariant is a query returning the rows that break it (none when it holds), declared here
# beside the tables it guards (police_uk_reconciliation, police_uk_lsoa_counts, police_uk_coverage
# and the police.uk observations). Codes are matched with etl.codes' patterns, never a LIKE prefix.
POLICE_UK_SOURCE = "police_uk_street"
POLICE_UK_TABLES = ("police_uk_reconciliation", "police_uk_lsoa_counts", "police_uk_coverage")
_TYPES = """(SELECT DISTINCT crime_type, indicator_id FROM (VALUES
    ('Possession of weapons', 'police_uk_possession_of_weapons'),
    ('Violence and sexual offences', 'police_uk_violence_and_sexual_offences'),
    ('Robbery', 'police_uk_robbery'), ('Drugs', 'police_uk_drugs')) t(crime_type, indicator_id))"""
POLICE_UK_INVARIANTS: dict[str, tuple[str, str]] = {
    # Every record of a file is in exactly one reconciliation category: placed + each unplaced
    # category = the file's records of that type, exactly.
    "placed plus unplaced categories equal the force file's records": ("""
        WITH file AS (SELECT split_part(file_key, '/', 1) AS month, split_part(file_key, '/', 2) AS force,
                             crime_type, sum(n) AS records FROM police_uk_lsoa_counts GROUP BY ALL),
             cats AS (SELECT month, force, crime_type, sum(n) AS categories FROM police_uk_reconciliation
                      GROUP BY ALL)
        SELECT month, force, crime_type, coalesce(f.records, 0) AS records, coalesce(c.categories, 0) AS categories
        FROM file f FULL JOIN cats c USING (month, force, crime_type)
        WHERE coalesce(f.records, 0) <> coalesce(c.categories, 0)""", "the categories add up to {categories}, "
        "the file holds {records}: {month} {force} {crime_type}"),
    # A complete force-month: the force figure is everything its file holds (placed or not).
    "force figure equals placed plus unplaced records": ("""
        WITH cats AS (SELECT r.month, c.pfa_code, r.crime_type, sum(r.n) AS categories
                      FROM police_uk_reconciliation r JOIN police_uk_coverage c USING (force, month)
                      WHERE c.status = 'present' AND c.pfa_code IS NOT NULL GROUP BY ALL),
             force AS (SELECT o.period_label AS month, o.area_code AS pfa_code, t.crime_type, o.count AS figure
                       FROM observations o JOIN _TYPES t USING (indicator_id)
                       WHERE o.source_id = $source AND regexp_full_match(o.area_code, $pfa))
        SELECT month, pfa_code, crime_type, coalesce(c.categories, 0) AS categories, f.figure
        FROM cats c FULL JOIN force f USING (month, pfa_code, crime_type)
        WHERE f.figure IS DISTINCT FROM coalesce(c.categories, 0)""", "force figure {figure} but its placed and unplaced "
        "records add up to {categories}: {month} {pfa_code} {crime_type}"),
    # A complete force-month: its CSP figures add up to the records placed in its CSPs, exactly.
    "CSP figures add up to the force's placed records": ("""
        WITH placed AS (SELECT r.month, c.pfa_code, r.crime_type, sum(r.n) AS placed
                        FROM police_uk_reconciliation r JOIN police_uk_coverage c USING (force, month)
                        WHERE c.status = 'present' AND c.pfa_code IS NOT NULL AND r.status = 'placed in a CSP'
                        GROUP BY ALL),
             csp AS (SELECT o.period_label AS month, l.parent_code AS pfa_code, t.crime_type, sum(o.count) AS csp_sum
                     FROM observations o JOIN _TYPES t USING (indicator_id)
                     JOIN area_links l ON l.child_code = o.area_code AND l.parent_type = 'pfa'
                     WHERE o.source_id = $source AND regexp_full_match(o.area_code, $csp) GROUP BY ALL),
             complete AS (SELECT DISTINCT c.month, c.pfa_code, t.crime_type FROM police_uk_coverage c, _TYPES t
                          WHERE c.status = 'present' AND c.pfa_code IS NOT NULL)
        SELECT month, pfa_code, crime_type, coalesce(p.placed, 0) AS placed, coalesce(s.csp_sum, 0) AS csp_sum
        FROM complete k LEFT JOIN placed p USING (month, pfa_code, crime_type)
        LEFT JOIN csp s USING (month, pfa_code, crime_type)
        WHERE coalesce(p.placed, 0) <> coalesce(s.csp_sum, 0)""", "CSPs add up to {csp_sum} but {placed} "
        "records were placed in them: {month} {pfa_code} {crime_type}"),
    # A missing or partial force-month has no figure at all (never a zero or a short count).
    "no figure for a missing or partial force-month": ("""
        SELECT o.period_label AS month, o.area_code, o.indicator_id, c.status
        FROM observations o JOIN area_links l ON l.child_code = o.area_code AND l.parent_type = 'pfa'
        JOIN police_uk_coverage c ON c.pfa_code = l.parent_code AND c.month = o.period_label
        WHERE o.source_id = $source AND c.status <> 'present' AND regexp_full_match(o.area_code, $csp)""",
        "{area_code} has a figure for {month} ({indicator_id}) though its force's file is {status}"),
}


def police_uk_violations(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Each police.uk invariant's offending rows (an empty frame when it holds). A guarded table
    that is missing while police.uk figures exist is itself a violation."""
    has_obs = con.execute("SELECT count(*) FROM observations WHERE source_id = ?", [POLICE_UK_SOURCE]).fetchone()[0]
    present = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    missing = [t for t in POLICE_UK_TABLES if t not in present]
    if missing:
        if not has_obs:
            return {}  # no police.uk in this warehouse at all
        return {"police.uk tables present": pd.DataFrame({"missing_table": missing})}
    params = {"source": POLICE_UK_SOURCE, "pfa": AREA_CODE_PATTERNS["pfa"].strip("^$"),
              "csp": AREA_CODE_PATTERNS["csp"].strip("^$")}
    out = {}
    for name, (sql, _) in POLICE_UK_INVARIANTS.items():
        sql = sql.replace("_TYPES", _TYPES)
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        out[name] = con.execute(sql, used).df()
    return out


def police_uk_reconciles(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The police.uk invariants as sentences naming the offending rows (up to 5 each)."""
    problems = []
    for name, bad in police_uk_violations(con).items():
        if bad.empty:
            continue
        template = POLICE_UK_INVARIANTS[name][1] if name in POLICE_UK_INVARIANTS else "missing table {missing_table}"
        rows = [template.format(**r) for r in bad.head(5).to_dict("records")]
        problems.append(f"police.uk invariant broken ({name}), {len(bad)} row(s): " + "; ".join(rows))
    return problems


def no_negative_counts(con) -> list[str]:
    n = con.execute("SELECT count(*) FROM observations WHERE count < 0").fetchone()[0]
    return [f"{n} observations have negative counts"] if n else []


def quality_labelled(con) -> list[str]:
    rows = con.execute("""SELECT o.source_id, o.quality, s.quality FROM observations o JOIN sources s USING (source_id)
                          WHERE s.quality = 'synthetic' AND o.quality <> 'synthetic' LIMIT 3""").fetchall()
    return [f"source {s} is synthetic but a value is labelled {q}" for s, q, _ in rows]


# ---------------------------------------------------------------- registry invariants
# The indicator registry (data/indicators.csv) and what the parsers emitted must agree, so a
# registry row no parser emits (a renamed indicator, a dropped sheet, a parser that silently
# skipped a table) stops the refresh here rather than only in a test. Sources not loaded in this
# run (optional, no file: `sources_not_loaded`) are not expected to emit anything; a template row
# (`varies_by`, e.g. a partnership's working estimates per age band) has no fixed id to expect.
# Both invariants fail the refresh: an indicator missing from a source that was loaded is a
# parser or registry fault, and an observed indicator the registry lacks has no definition.
REGISTRY_INVARIANTS: dict[str, tuple[str, str]] = {
    "every registry indicator of a loaded source has observations": ("""
        SELECT r.indicator_id, r.source_id FROM _registry r
        WHERE r.varies_by = ''
          AND r.source_id IN (SELECT source_id FROM sources)
          AND r.source_id NOT IN (SELECT source_id FROM _not_loaded)
          AND r.indicator_id NOT IN (SELECT DISTINCT indicator_id FROM observations)
        ORDER BY r.source_id, r.indicator_id""",
        "{indicator_id} (source {source_id}, loaded in this refresh) has no observations"),
    "every observed indicator is in the registry": ("""
        SELECT DISTINCT o.indicator_id, split_part(o.source_id, '#', 1) AS source_id FROM observations o
        WHERE o.indicator_id NOT IN (SELECT indicator_id FROM _registry WHERE varies_by = '')
          AND NOT EXISTS (SELECT 1 FROM _registry t WHERE t.varies_by <> ''
                          AND starts_with(o.indicator_id, t.indicator_id || '_'))
        ORDER BY 2, 1""",
        "{indicator_id} (source {source_id}) has observations but no row in data/indicators.csv"),
}


def registry_violations(con: duckdb.DuckDBPyConnection, registry: pd.DataFrame | None = None
                        ) -> dict[str, pd.DataFrame]:
    """Each registry invariant's offending rows (an empty frame when it holds). `registry`: the
    checked registry (`etl.registry.load_registry()` when None)."""
    reg = load_registry() if registry is None else registry
    present = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    not_loaded = (con.execute("SELECT DISTINCT source_id FROM sources_not_loaded").df()
                  if "sources_not_loaded" in present else pd.DataFrame({"source_id": pd.Series([], dtype=str)}))
    # registered as temporary views of this connection (never written to the file; the caller's
    # USE, e.g. a snapshot attached as `wh`, stays in force), dropped again afterwards
    con.register("_registry", reg[["indicator_id", "source_id", "varies_by"]].reset_index(drop=True))
    con.register("_not_loaded", not_loaded)
    try:
        return {name: con.execute(sql).df() for name, (sql, _) in REGISTRY_INVARIANTS.items()}
    finally:
        con.unregister("_registry")
        con.unregister("_not_loaded")


def registry_matches_observations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The registry invariants as sentences naming every offending indicator. A refresh-time
    check: it holds this run's parsers to the registry this run read. A finished warehouse
    (one with `meta`: a snapshot being restored or rolled back to) was held to the registry of
    its own day when it was built, so a registry row added since does not block going back."""
    present = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "meta" in present:
        return []
    problems = []
    for name, bad in registry_violations(con).items():
        if bad.empty:
            continue
        rows = [REGISTRY_INVARIANTS[name][1].format(**r) for r in bad.to_dict("records")]
        problems.append(f"registry invariant broken ({name}), {len(bad)} indicator(s): " + "; ".join(rows))
    return problems


__all__ = ["run_all", "AREA_CODE_PATTERNS"]
