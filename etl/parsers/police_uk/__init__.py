"""police.uk street-level crime files -> monthly counts per LAD, CSP, force, region and E&W.

Why it is built this way:
- DuckDB reads the (gzip) CSVs and aggregates to LSOA x crime type inside one SQL query, so
  millions of records never become Python objects. A batch of files is one `read_csv` over the
  file list with the schema given and sniffing off (`auto_detect=false`): with sniffing on,
  DuckDB 2.0 given a file list silently skipped whole files (seen here), so every file's row
  count is also checked to be present.
- Aggregates are kept per file with the file's sha256, so a refresh that adds a month reuses the
  earlier months' aggregates from the live warehouse and only reads the new files.
- Records are placed LSOA -> LAD -> CSP -> force by the LSOA name (`<LAD name> 043A`, LAD names
  of the LSOA's publication) and both lookup vintages. An LSOA code seen anywhere with a
  pre-2019 district name lets later records in a split unitary authority (named after the new
  LAD) reach their old CSP. What cannot be placed is counted by reason, never dropped.
- A CSP's count comes from its own force's file: a month without that file is missing, never
  zero; a file far shorter than the force's usual month is 'partial' and its counts withheld;
  one far above it (or beyond any count the force's population allows) is 'implausible' and
  held back the same way.

The package: `read` (files -> per-file LSOA aggregates), `place` (LSOA -> LAD -> CSP),
`coverage` (force x month status), `rates` (area counts, rates, roll-ups, benchmarks),
`indicators` (what the figures are published as); `parse` here runs them in that order.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.manifest import Source
from etl.parsers.police_uk.coverage import coverage_grid, high_months, short_months, too_many_for_population
from etl.parsers.police_uk.indicators import _indicators
from etl.parsers.police_uk.place import _all_force_slugs, _lad_pfa, district_key, resolve_lsoas
from etl.parsers.police_uk.rates import _level_counts, _rollup, like_for_like_benchmarks
from etl.parsers.police_uk.read import (
    _EMPTY_COUNTS,
    CRIME_TYPES,
    HEADER,
    LSOA_COUNTS_SCHEMA,
    MAX_MEMBER_BYTES,
    NON_TERRITORIAL,
    StreetFile,
    _previous_aggregates,
    _validate_totals,
    aggregate_files,
    check_header,
    diagnose,
    discover,
    extract_member,
    file_sha256,
)
from etl.staged import Staged, finish_observations, validate_frame

__all__ = ["CRIME_TYPES", "HEADER", "MAX_MEMBER_BYTES", "StreetFile", "aggregate_files",
           "build_staged", "coverage_grid", "discover", "district_key", "extract_member", "high_months", "parse",
           "short_months", "too_many_for_population"]


def parse(paths: list[Path], source: Source, geo: GeoContext, *,
          previous: duckdb.DuckDBPyConnection | None = None) -> Staged:
    """All street files -> staged observations, coverage, reconciliation and per-file aggregates.

    `previous` (a declared dependency, `etl.parsers.DEPENDENCIES`): a read-only connection to
    the live warehouse; per-file aggregates whose sha256 is unchanged are taken from it instead
    of re-reading the file. Records are placed with the 2017 and 2021 LAD -> CSP lookups the
    geography context carries (`geo.lookups`).
    """
    files = discover(paths)
    if not files:
        raise SourceError("no police.uk street files found (expected YYYY-MM/YYYY-MM-<force>-street.csv[.gz] "
                          "or a monthly .zip archive)", source_id=source.id)
    con = duckdb.connect()
    reused_counts, reused_totals, to_read, file_rows = [], [], [], []
    shas = {f: file_sha256(f) for f in files}
    prev_counts, prev_totals = _previous_aggregates(previous, set(shas.values()))
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            sha = shas[f]
            key = f"{f.month}/{f.force}"
            file_rows.append({"file_key": key, "month": f.month, "force": f.force, "file_name": f.name, "sha256": sha})
            if sha in prev_totals:
                reused_counts.append(prev_counts.get(sha, _EMPTY_COUNTS).assign(file_key=key))
                reused_totals.append(prev_totals[sha].assign(file_key=key))
                continue
            local = f.path
            if f.member:
                local = Path(tmp) / Path(f.member).name
                extract_member(f, local)
            check_header(f, local)
            to_read.append((f, local))
        try:
            new_counts, new_totals = aggregate_files(to_read, con)
        except duckdb.Error:
            for f, local in to_read:
                try:
                    aggregate_files([(f, local)], con)
                except duckdb.Error:
                    raise diagnose(f, local).located(source_id=source.id) from None
            raise
        _validate_totals(new_totals, to_read, source.id)
    # Only what was read now is checked: reused aggregates were checked when first stored.
    if len(new_counts):
        new_counts = validate_frame(LSOA_COUNTS_SCHEMA, new_counts[["file_key", "lsoa_code", "lsoa_name", "crime_type", "n"]],
                                    source_id=source.id, file="police.uk street files (aggregated)", row_offset=None)
    counts = pd.concat([*reused_counts, new_counts], ignore_index=True)
    totals = pd.concat([*reused_totals, new_totals], ignore_index=True)
    files_df = pd.DataFrame(file_rows).merge(totals[["file_key", "rows", "rows_selected", "rows_no_lsoa"]],
                                             on="file_key", how="left")
    files_df["reused"] = files_df["file_key"].isin([c["file_key"].iloc[0] for c in reused_counts if len(c)])
    return build_staged(counts, files_df, source, geo, geo.lookups, n_read=len(to_read))


def build_staged(counts: pd.DataFrame, files_df: pd.DataFrame, source: Source, geo: GeoContext,
                 lookups: dict[str, pd.DataFrame], n_read: int = 0) -> Staged:
    months = sorted(files_df["month"].unique())
    slugs = set(files_df["force"]) | _all_force_slugs(geo)
    pfa_by_slug = {s: (None if s in NON_TERRITORIAL else geo.pfa_code(s.replace("-", " "))) for s in slugs}
    unknown = [s for s, c in pfa_by_slug.items() if c is None and s not in NON_TERRITORIAL]
    if unknown:
        bad = files_df[files_df["force"].isin(unknown)]
        raise SourceError(f"force {unknown[0]!r} is not an England & Wales police force",
                          source_id=source.id, file=bad["file_name"].iloc[0] if len(bad) else "")
    con = duckdb.connect()
    con.register("counts", counts)
    by_type = con.execute("SELECT file_key, crime_type, sum(n)::BIGINT AS n FROM counts GROUP BY ALL").df()
    coverage = coverage_grid(files_df, by_type, pfa_by_slug, months,
                             residents=lambda pfa, m: geo.population_for(pfa, int(m[:4]))[0])
    lsoas = con.execute("SELECT DISTINCT lsoa_code, lsoa_name FROM counts").df()
    placed = resolve_lsoas(lsoas, geo, lookups["l17"], lookups["l21"])
    # Collapse LSOA rows to one row per file x placement x crime type in DuckDB: at 30x the
    # mirror the LSOA table has millions of rows, the collapsed one a few hundred thousand.
    con.register("placed", placed)
    c = con.execute("""
        SELECT c.file_key, p.lad21_code, p.csp_code, p.reason, c.crime_type, sum(c.n)::BIGINT AS n
        FROM counts c LEFT JOIN placed p
          ON c.lsoa_code IS NOT DISTINCT FROM p.lsoa_code AND c.lsoa_name IS NOT DISTINCT FROM p.lsoa_name
        GROUP BY ALL""").df()
    con.close()
    for col in ("lad21_code", "csp_code", "reason"):
        c[col] = c[col].astype(object).where(c[col].notna(), None)
    keys = files_df.set_index("file_key")
    c["force"] = c["file_key"].map(keys["force"])
    c["month"] = c["file_key"].map(keys["month"])
    c["force_pfa"] = c["force"].map(pfa_by_slug)
    csp_pfa = geo.links[geo.links["child_type"] == "csp"].set_index("child_code")["parent_code"].to_dict()
    c["csp_pfa"] = c["csp_code"].map(csp_pfa)
    c["outside"] = c["csp_code"].notna() & c["force_pfa"].notna() & (c["csp_pfa"] != c["force_pfa"])
    c["status"] = np.select(
        [c["force_pfa"].isna(), c["reason"].notna(), c["outside"]],
        ["non-territorial force (not placed in CSPs)", c["reason"].fillna(""),
         "located outside the reporting force's area"], "placed in a CSP")
    reconciliation = (c.groupby(["month", "force", "crime_type", "status"], as_index=False)["n"].sum())

    present_keys = set(coverage.loc[coverage["status"] == "present", "month"] + "/"
                        + coverage.loc[coverage["status"] == "present", "force"])
    ok = c[c["file_key"].isin(present_keys)]
    terr = ok[ok["force_pfa"].notna()]
    obs = []
    # CSP: records of the CSP's own force, placed in the CSP
    inside = terr[terr["status"] == "placed in a CSP"]
    obs.append(_level_counts(inside, "csp_code", coverage, csp_pfa, geo, "csp", months))
    # LAD (2021): records of the LAD's force placed in the LAD; split LADs only here
    lad_pfa = _lad_pfa(geo)
    lad_in = terr[terr["lad21_code"].notna() & (terr["lad21_code"].map(lad_pfa) == terr["force_pfa"])]
    obs.append(_level_counts(lad_in, "lad21_code", coverage, lad_pfa, geo, "lad", months))
    # PFA: everything the force reported, placed or not (the force's own published total)
    obs.append(_level_counts(terr.assign(pfa=terr["force_pfa"]), "pfa", coverage,
                             {p: p for p in set(pfa_by_slug.values()) if p}, geo, "pfa", months))
    pfa_obs = obs[-1]
    benchmarks = pd.concat([like_for_like_benchmarks(obs[0], "csp", csp_pfa, geo),
                            like_for_like_benchmarks(obs[1], "lad", lad_pfa, geo)], ignore_index=True)
    obs.append(_rollup(pfa_obs, geo, coverage, "region"))
    obs.append(_rollup(pfa_obs, geo, coverage, "national"))
    observations = pd.concat([o for o in obs if len(o)], ignore_index=True)
    observations["quality"] = source.quality
    observations["source_id"] = source.id
    observations["period_type"] = "month"
    staged = Staged(source_id=source.id)
    staged.observations = finish_observations(observations, source_id=source.id)
    staged.indicators = _indicators(source.id)
    staged.tables = {
        "police_uk_coverage": coverage,
        "police_uk_reconciliation": reconciliation,
        "police_uk_lsoa_counts": counts[["file_key", "lsoa_code", "lsoa_name", "crime_type", "n"]],
        "police_uk_files": files_df,
        "police_uk_lsoa_placement": placed,
        "benchmarks": benchmarks.assign(quality=source.quality, source_id=source.id),
    }
    staged.files = [{"file_name": r.file_name, "sha256": r.sha256, "rows": int(r.rows), "period": r.month,
                     "reused": bool(r.reused)} for r in files_df.itertuples()]
    staged.stats = {"files": len(files_df), "files_read": n_read}
    return staged
