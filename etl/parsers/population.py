"""ONS mid-year population estimates (MYE2 single year of age; MYE 5 all-ages time series).

Why this parser finds everything by content: the header row, the top age column (`90` or
`90+`) and the year all move between ONS editions (formats.md). The region each LAD sits in is
read from the row order of MYE2 (a region row, then its LADs), because none of the geography
files carry regions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from python_calamine import CalamineWorkbook

from etl.codes import AREA_CODE_PATTERNS
from etl.errors import SourceError
from etl.staged import validate_frame

SEX_SHEETS = {"persons": "persons", "males": "male", "females": "female"}
AGE_BANDS = {"10-17": range(10, 18), "10-24": range(10, 25), "0-17": range(0, 18)}
LAD_RE = re.compile(AREA_CODE_PATTERNS["lad"])


@dataclass
class PopulationFile:
    """What one workbook holds: long population rows and the LAD -> region order."""

    rows: pd.DataFrame  # area_code, area_name, geography, year, age_band, sex, persons
    # lad_code, region_code, region_name (+ utla_code, utla_name, from parse_population_files)
    lad_region: pd.DataFrame
    # lad_code, utla_code, utla_name: the county (E10) each district (E07) is listed under
    lad_utla: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["lad_code", "utla_code", "utla_name"]))


def _open(path: Path, source_id: str) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for zip/xml damage
        raise SourceError(f"not a readable Excel workbook ({exc})", source_id=source_id,
                          file=path.name) from None


def _header_index(rows: list[list], first_cell: str, path: Path, sheet: str, source_id: str) -> int:
    for i, row in enumerate(rows[:50]):
        if row and str(row[0]).strip() == first_cell:
            return i
    raise SourceError(f"sheet {sheet!r}: no header row starting {first_cell!r} in the first 50 rows",
                      source_id=source_id, file=path.name)


def _year_of(rows: list[list], path: Path) -> int | None:
    for row in rows[:8]:
        for cell in row[:3]:
            if m := re.search(r"mid-(\d{4})", str(cell)):
                return int(m.group(1))
    m = re.search(r"mid(\d{4})", path.name)
    return int(m.group(1)) if m else None


def parse_mye2(path: Path, source_id: str) -> PopulationFile:
    """All MYE2 sheets of one workbook -> long rows for single ages, bands and all ages."""
    wb = _open(path, source_id)
    frames, lad_region, lad_utla = [], None, None
    found = {}
    for name in wb.sheet_names:
        m = re.fullmatch(r"MYE\s*2\s*-\s*(persons|males|females)", name.strip(), re.IGNORECASE)
        if m:
            found[SEX_SHEETS[m.group(1).lower()]] = name
    if "persons" not in found:
        raise SourceError("no 'MYE2 - Persons' sheet: not an ONS mid-year estimates workbook",
                          source_id=source_id, file=path.name)
    for sex, sheet in found.items():
        rows = wb.get_sheet_by_name(sheet).to_python()
        year = _year_of(rows, path)
        if year is None:
            raise SourceError(f"sheet {sheet!r}: cannot tell the mid-year (no 'mid-YYYY' in the title)",
                              source_id=source_id, file=path.name)
        h = _header_index(rows, "Code", path, sheet, source_id)
        header = [str(c).strip() for c in rows[h]]
        for col in ("Name", "Geography", "All ages", "0"):
            if col not in header:
                raise SourceError(f"sheet {sheet!r}: column {col!r} missing from the header",
                                  source_id=source_id, file=path.name, row=h + 1, column=col)
        ages = [c for c in header if re.fullmatch(r"\d{1,2}\+?", c)]
        body = [r for r in rows[h + 1:] if r and str(r[0]).strip()]
        df = pd.DataFrame(body, columns=header[: len(body[0])] if body else header)
        df = df.loc[:, ~df.columns.duplicated()]
        numeric = ["All ages"] + ages
        for col in numeric:
            vals = pd.to_numeric(df[col], errors="coerce")
            bad = vals.isna() | (vals < 0)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise SourceError(f"sheet {sheet!r}: population {df[col].iloc[i]!r} is not a "
                                  "non-negative number", source_id=source_id, file=path.name,
                                  row=h + 2 + i, column=col)
            df[col] = vals.astype(float)
        df["Code"] = df["Code"].astype(str).str.strip()
        dup = df["Code"].duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise SourceError(f"sheet {sheet!r}: area code {df['Code'].iloc[i]} appears twice",
                              source_id=source_id, file=path.name, row=h + 2 + i, column="Code")
        single_sum = df[ages].sum(axis=1)
        off = (single_sum - df["All ages"]).abs() > 0.5
        if off.any():
            i = int(np.flatnonzero(off.to_numpy())[0])
            raise SourceError(f"sheet {sheet!r}: single years of age do not add up to 'All ages' "
                              f"for {df['Code'].iloc[i]}", source_id=source_id, file=path.name,
                              row=h + 2 + i, column="All ages")
        keep = df[df["Code"].str.match(r"^(E06|E07|E08|E09|E10|W06|E12|E92|W92|K04)")]
        long = keep.melt(id_vars=["Code", "Name", "Geography"], value_vars=numeric,
                         var_name="age_band", value_name="persons")
        long["age_band"] = long["age_band"].str.replace("All ages", "all").str.rstrip("+")
        bands = []
        for band, span in AGE_BANDS.items():
            cols = [str(a) for a in span]
            b = keep[["Code", "Name", "Geography"]].copy()
            b["age_band"] = band
            b["persons"] = keep[cols].sum(axis=1)
            bands.append(b)
        out = pd.concat([long, *bands], ignore_index=True)
        out["sex"] = sex
        out["year"] = year
        frames.append(out)
        if sex == "persons":
            lad_region = _lad_regions(df)
            lad_utla = _lad_counties(df, source_id=source_id, file=path.name, first_row=h + 2)
    result = pd.concat(frames, ignore_index=True).rename(
        columns={"Code": "area_code", "Name": "area_name", "Geography": "geography"})
    return PopulationFile(result, lad_region, lad_utla)


def _lad_regions(df: pd.DataFrame) -> pd.DataFrame:
    """LAD -> region from row order: each LAD belongs to the last region (or Wales) above it."""
    out, region, region_name = [], None, None
    for code, name in zip(df["Code"], df["Name"]):
        if code.startswith("E12") or code == "W92000004":
            region, region_name = code, str(name).title()
        elif code.startswith(("E92", "K0", "S92", "N92")):
            region = None
        elif LAD_RE.match(code) and region:
            out.append((code, region, region_name))
    return pd.DataFrame(out, columns=["lad_code", "region_code", "region_name"])


def _lad_counties(df: pd.DataFrame, *, source_id: str = "", file: str = "", first_row: int = 2) -> pd.DataFrame:
    """District -> county from row order: MYE2 lists each county (E10) row followed by its
    non-metropolitan districts (E07); any other row (region, unitary, metropolitan county or
    district, London borough) ends the county. A district with no county above it is an error:
    the file's order is the only place the project learns which county a district is in."""
    out, county, county_name = [], None, None
    for i, (code, name) in enumerate(zip(df["Code"], df["Name"])):
        if code.startswith("E10"):
            county, county_name = code, str(name).strip()
        elif code.startswith("E07"):
            if county is None:
                raise SourceError(f"district {code} is not listed under a county (E10) row: the "
                                  "MYE2 row order no longer says which county it is in",
                                  source_id=source_id, file=file, row=first_row + i, column="Code")
            out.append((code, county, county_name))
        else:
            county = None
    return pd.DataFrame(out, columns=["lad_code", "utla_code", "utla_name"])


def parse_mye5(path: Path, source_id: str) -> pd.DataFrame:
    """The MYE 5 density sheet's all-ages columns for every mid-year -> long rows (persons)."""
    wb = _open(path, source_id)
    sheet = next((n for n in wb.sheet_names if re.fullmatch(r"MYE\s*5", n.strip())), None)
    if sheet is None:
        return pd.DataFrame(columns=["area_code", "area_name", "geography", "year", "age_band",
                                     "sex", "persons"])
    rows = wb.get_sheet_by_name(sheet).to_python()
    h = _header_index(rows, "Code", path, sheet, source_id)
    header = [str(c).strip() for c in rows[h]]
    year_cols = {i: int(m.group(1)) for i, c in enumerate(header)
                 if (m := re.fullmatch(r"estimated population mid-(\d{4})", c, re.IGNORECASE))}
    if not year_cols:
        raise SourceError(f"sheet {sheet!r}: no 'Estimated population mid-YYYY' columns",
                          source_id=source_id, file=path.name, row=h + 1)
    recs = []
    for r_i, row in enumerate(rows[h + 1:], start=h + 2):
        code = str(row[0]).strip()
        if not re.match(r"^(E06|E07|E08|E09|E10|W06|E12|E92|W92|K04)", code):
            continue
        for i, year in year_cols.items():
            v = row[i]
            if not isinstance(v, (int, float)) or v < 0:
                raise SourceError(f"sheet {sheet!r}: population {v!r} is not a non-negative number",
                                  source_id=source_id, file=path.name, row=r_i, column=header[i])
            recs.append((code, row[1], row[2], year, "all", "persons", float(v)))
    return pd.DataFrame(recs, columns=["area_code", "area_name", "geography", "year", "age_band",
                                       "sex", "persons"])


POPULATION_SCHEMA = pa.DataFrameSchema(
    {
        "area_code": pa.Column(str, pa.Check.str_matches(r"^((E0[6-9]|E10|W06|E12)\d{6}|E92000001|W92000004|K04000001)$")),
        "year": pa.Column(int, pa.Check.in_range(1981, 2100), coerce=True),
        "age_band": pa.Column(str, pa.Check.str_matches(r"^(all|\d{1,2}|\d{1,2}-\d{1,2})$")),
        "sex": pa.Column(str, pa.Check.isin(["persons", "male", "female"])),
        "persons": pa.Column(float, pa.Check.ge(0), coerce=True),
    },
    unique=["area_code", "year", "age_band", "sex"],
)


def parse_population_files(paths: list[tuple[Path, str]]) -> PopulationFile:
    """Every workbook given (path, source_id) -> one long table, newest edition winning a year.

    When two editions hold the same area and year (MYE 5's back series vs a later MYE2), the
    single-year MYE2 of that year is preferred; otherwise the later file in the list wins.
    """
    frames, regions, counties = [], [], []
    for rank, (path, source_id) in enumerate(paths):
        mye2 = parse_mye2(path, source_id)
        mye2.rows["source_id"], mye2.rows["rank"] = source_id, 100 + rank
        frames.append(mye2.rows)
        regions.append(mye2.lad_region)
        counties.append(mye2.lad_utla)
        mye5 = parse_mye5(path, source_id)
        mye5["source_id"], mye5["rank"] = source_id, rank
        frames.append(mye5)
    rows = pd.concat(frames, ignore_index=True)
    rows = (rows.sort_values("rank")
                .drop_duplicates(["area_code", "year", "age_band", "sex"], keep="last")
                .drop(columns="rank"))
    lad_region = pd.concat(regions).drop_duplicates("lad_code", keep="last")
    lad_utla = pd.concat(counties).drop_duplicates("lad_code", keep="last")
    # The county of each district rides along with its region (geography reads both from here).
    lad_region = lad_region.merge(lad_utla, on="lad_code", how="left")
    rows = validate_frame(POPULATION_SCHEMA, rows.reset_index(drop=True), source_id=paths[-1][1],
                          file=", ".join(p.name for p, _ in paths), row_offset=None)
    return PopulationFile(rows, lad_region.reset_index(drop=True), lad_utla.reset_index(drop=True))


def aggregate_population(rows: pd.DataFrame, links: pd.DataFrame, split_csps: set[str]) -> pd.DataFrame:
    """Add CSP and police force area rows by summing LADs (2021 links).

    A CSP inside a split unitary authority (see geography) has no population of its own: the
    published LAD covers several CSPs and the older districts' populations are not published on
    2021 geography. Such CSPs are left out rather than given a wrong denominator.
    """
    lad_csp = links[(links["child_type"] == "lad") & (links["parent_type"] == "csp") & links["valid_to"].isna()]
    lad_csp = lad_csp[~lad_csp["parent_code"].isin(split_csps)][["child_code", "parent_code"]]
    csp_pfa = links[links["child_type"] == "csp"][["child_code", "parent_code"]]
    lad_pfa = (links[(links["child_type"] == "lad") & links["valid_to"].isna()][["child_code", "parent_code"]]
               .merge(csp_pfa, left_on="parent_code", right_on="child_code", suffixes=("", "_pfa"))
               [["child_code", "parent_code_pfa"]].drop_duplicates("child_code")
               .rename(columns={"parent_code_pfa": "parent_code"}))
    lads = rows[rows["area_code"].str.match(AREA_CODE_PATTERNS["lad"])]
    # Upper-tier authorities the workbook does not list (the 2023 unitaries, the former
    # Buckinghamshire and Northamptonshire counties) are the sum of the 2021 LADs they cover.
    lad_utla = links[(links["child_type"] == "lad") & (links["parent_type"] == "utla")][["child_code", "parent_code"]]
    lad_utla = lad_utla[~lad_utla["parent_code"].isin(set(rows["area_code"]))].drop_duplicates()
    out = [rows]
    for mapping, geography in ((lad_csp, "CSP"), (lad_pfa, "Police force area"),
                               (lad_utla, "Upper-tier local authority")):
        m = lads.merge(mapping, left_on="area_code", right_on="child_code")
        agg = (m.groupby(["parent_code", "year", "age_band", "sex"], as_index=False)
               .agg(persons=("persons", "sum"), source_id=("source_id", "first")))
        # Only years where every LAD of the area is present.
        need = mapping.groupby("parent_code").size()
        have = m.groupby(["parent_code", "year", "age_band", "sex"]).size().rename("n").reset_index()
        agg = agg.merge(have, on=["parent_code", "year", "age_band", "sex"])
        agg = agg[agg["n"] == agg["parent_code"].map(need)].drop(columns="n")
        out.append(agg.rename(columns={"parent_code": "area_code"}).assign(geography=geography, area_name=None))
    return pd.concat(out, ignore_index=True)
