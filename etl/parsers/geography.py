"""Geography: LAD (2017 and 2021 vintages) -> CSP -> police force area -> region -> country,
and map shapes built from the ONS LAD boundaries.

Decisions (documented in docs/geography.md):
- Validity: links from the 2017 lookup are valid 2017-01-01 .. 2021-03-31 unless the same link
  is in the 2021 lookup; links only in the 2021 lookup start 2021-04-01. These are lookup
  vintages, not the legal date of each merger.
- Five 2021 unitary LADs lie across several older CSPs (Buckinghamshire, Bournemouth,
  Christchurch and Poole, North and West Northamptonshire, East Suffolk). No boundary or
  population of the old districts exists in the mirror, so those CSPs share their LAD's shape
  on the map ("map unit" = the LAD, labelled with its CSPs) and have no population of their own.
- Merged CSPs (several whole LADs, e.g. North Yorkshire) are the union of their LADs.
- Regions are not in the lookups: a LAD's region comes from the population workbook's row order,
  and a PFA's region from its LADs (all must agree, else the refresh stops).
- Upper-tier local authorities (`utla`): a county (E10) and its districts come from the same
  row order (a county row, then its districts); unitary authorities, metropolitan districts and
  London boroughs are their own upper tier and stay stored once, as LADs. The reorganisations
  the 2021 lookups do not show (`UTLA_CHANGES`: Cumbria, North Yorkshire and Somerset in 2023;
  Buckinghamshire, Northamptonshire, Dorset earlier) are mapped by hand to the 2021 districts
  they replaced or became, checked against the row order, and documented in docs/geography.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.pandas as pa
import shapely

from etl.codes import AREA_CODE_PATTERNS, ENGLAND, ENGLAND_AND_WALES, UNITED_KINGDOM, WALES
from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.staged import validate_frame

V2017_FROM, V2017_TO, V2021_FROM = date(2017, 1, 1), date(2021, 3, 31), date(2021, 4, 1)
SIMPLIFY_DEGREES = 0.0005  # ~50 m: keeps the generalised (BUC) outline, halves the payload
ROUND_DIGITS = 4  # ~10 m


@dataclass(frozen=True)
class UtlaChange:
    """An upper-tier authority the 2021 row order does not show, mapped to 2021 districts."""

    code: str
    name: str
    lads: tuple[str, ...]  # 2021 LADs whose area it is; empty when none covers it exactly
    valid_from: date
    valid_to: date | None
    replaced: str | None  # the county it was carved from (its districts must be exactly these)
    note: str


REORG_2023_FROM, REORG_2023_TO = date(2023, 4, 1), date(2023, 3, 31)
UTLA_CHANGES = (
    UtlaChange("E06000063", "Cumberland", ("E07000026", "E07000028", "E07000029"), REORG_2023_FROM, None,
               "E10000006", "unitary from 1 April 2023: the former Allerdale, Carlisle and Copeland districts "
               "of Cumbria"),
    UtlaChange("E06000064", "Westmorland and Furness", ("E07000027", "E07000030", "E07000031"), REORG_2023_FROM,
               None, "E10000006", "unitary from 1 April 2023: the former Barrow-in-Furness, Eden and South "
               "Lakeland districts of Cumbria"),
    UtlaChange("E06000065", "North Yorkshire", tuple(f"E07000{n}" for n in range(163, 170)), REORG_2023_FROM,
               None, "E10000023", "unitary from 1 April 2023: the seven former districts of North Yorkshire "
               "county (York and the Tees Valley unitaries were never part of it)"),
    UtlaChange("E06000066", "Somerset", ("E07000187", "E07000188", "E07000189", "E07000246"), REORG_2023_FROM,
               None, "E10000027", "unitary from 1 April 2023: the four former districts of Somerset county "
               "(North Somerset and Bath and North East Somerset were never part of it)"),
    UtlaChange("E10000002", "Buckinghamshire (county)", ("E06000060",), V2017_FROM, date(2020, 3, 31), None,
               "county until 31 March 2020; the Buckinghamshire unitary authority (E06000060) covers exactly "
               "its area"),
    UtlaChange("E10000021", "Northamptonshire (county)", ("E06000061", "E06000062"), V2017_FROM,
               date(2021, 3, 31), None, "county until 31 March 2021; North and West Northamptonshire "
               "(E06000061, E06000062) cover exactly its area"),
    UtlaChange("E10000009", "Dorset (county)", (), V2017_FROM, date(2019, 3, 31), None,
               "county until 31 March 2019; its area became Dorset (E06000059) and the Christchurch part of "
               "Bournemouth, Christchurch and Poole (E06000058), so no 2021 district or set of districts "
               "covers it exactly: no shape and no population"),
)


@dataclass
class GeographyTables:
    areas: pd.DataFrame
    links: pd.DataFrame
    boundaries: pd.DataFrame
    split_lads: pd.DataFrame  # map_unit, lad_code, lad_name, csp_code, csp_name (split components)
    lookups: dict[str, pd.DataFrame] = field(default_factory=dict)  # {'l17': ..., 'l21': ...} as read

    def context(self, population: pd.DataFrame | None = None) -> GeoContext:
        geo = GeoContext(self.areas, self.links, lookups=self.lookups)
        if population is not None:
            geo.population = population
        return geo


def _read_csv(path: Path, source_id: str, sep: str, expected: list[str]) -> pd.DataFrame:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start})", source_id=source_id,
                          file=path.name) from None
    if not text.strip():
        raise SourceError("file is empty", source_id=source_id, file=path.name)
    from io import StringIO
    df = pd.read_csv(StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise SourceError(f"expected column(s) {missing} not in header {list(df.columns)}",
                          source_id=source_id, file=path.name, row=1, column=missing[0])
    df = df[expected].apply(lambda s: s.str.strip())
    for col in expected:
        blank = df[col] == ""
        if blank.any():
            i = int(np.flatnonzero(blank.to_numpy())[0])
            raise SourceError("empty value (truncated file?)", source_id=source_id,
                              file=path.name, row=i + 2, column=col)
    return df


def _lookup_schema(code_cols: dict[str, str], name_cols: list[str], key: list[str]) -> pa.DataFrameSchema:
    """Codes by their real GSS patterns, names present, one row per key (methods.md)."""
    columns = {col: pa.Column(str, pa.Check.str_matches(AREA_CODE_PATTERNS[level],
                                                        error=f"a {level.upper()} code ({AREA_CODE_PATTERNS[level]})"))
               for col, level in code_cols.items()}
    columns.update({col: pa.Column(str, pa.Check.str_length(min_value=1)) for col in name_cols})
    return pa.DataFrameSchema(columns, unique=key)


LOOKUP_2017_SCHEMA = _lookup_schema({"LAD17CD": "lad", "CSP17CD": "csp", "PFA17CD": "pfa"},
                                    ["LAD17NM", "CSP17NM", "PFA17NM"], ["LAD17CD"])
LOOKUP_2021_SCHEMA = _lookup_schema({"lad-code": "lad", "csp-code": "csp", "PFA21CD": "pfa"},
                                    ["lad-name", "csp-name", "PFA21NM"], ["lad-code", "csp-code"])


def read_lookup_2017(path: Path, source_id: str) -> pd.DataFrame:
    cols = ["LAD17CD", "LAD17NM", "CSP17CD", "CSP17NM", "PFA17CD", "PFA17NM"]
    df = validate_frame(LOOKUP_2017_SCHEMA, _read_csv(path, source_id, ",", cols), source_id=source_id,
                        file=path.name)
    return df.set_axis(["lad_code", "lad_name", "csp_code", "csp_name", "pfa_code", "pfa_name"], axis=1)


def read_lookup_2021(path: Path, source_id: str) -> pd.DataFrame:
    cols = ["lad-code", "lad-name", "csp-code", "csp-name", "PFA21CD", "PFA21NM"]
    df = validate_frame(LOOKUP_2021_SCHEMA, _read_csv(path, source_id, ";", cols), source_id=source_id,
                        file=path.name)
    return df.set_axis(["lad_code", "lad_name", "csp_code", "csp_name", "pfa_code", "pfa_name"], axis=1)


def read_boundaries(path: Path, source_id: str, lad_codes: set[str], *,
                    lookup: tuple[pd.DataFrame, str, str] | None = None) -> gpd.GeoDataFrame:
    """The LAD shapes of `lad_codes`. `lookup` (frame with `lad_code` in file order, its file
    name, its source id): a LAD with no shape is then reported on the lookup's row, where a
    retired or mistyped code is, naming the boundary file it is missing from."""
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise SourceError(f"not a readable GeoJSON file ({type(exc).__name__}: {exc})",
                          source_id=source_id, file=path.name) from None
    code_col = next((c for c in gdf.columns if c.upper().startswith("LAD") and c.upper().endswith("CD")), None)
    if code_col is None:
        raise SourceError("no LADyyCD property on the features", source_id=source_id,
                          file=path.name, column="LAD22CD")
    gdf = gdf.rename(columns={code_col: "lad_code"})
    if gdf.crs is not None and gdf.crs.to_epsg() not in (4326, None):
        gdf = gdf.to_crs(4326)
    gdf = gdf[gdf["lad_code"].isin(lad_codes)][["lad_code", "geometry"]]
    missing = lad_codes - set(gdf["lad_code"])
    if missing and lookup is not None:
        frame, lookup_file, lookup_source = lookup
        pos = int(np.flatnonzero(frame["lad_code"].isin(missing).to_numpy())[0])
        code = frame["lad_code"].iloc[pos]
        raise SourceError(f"LAD code {code!r} has no boundary in {path.name} ({len(missing)} such code(s) "
                          f"in all): a retired, mistyped or newer code than the boundary file's",
                          source_id=lookup_source, file=lookup_file, row=pos + 2, column="lad-code")
    if missing:
        raise SourceError(f"{len(missing)} LAD(s) of the lookup have no boundary, e.g. "
                          f"{sorted(missing)[:3]}", source_id=source_id, file=path.name,
                          column=code_col)
    return gdf.reset_index(drop=True)


def build_geography(lookup17: tuple[Path, str], lookup21: tuple[Path, str],
                    boundaries: tuple[Path, str], lad_region: pd.DataFrame) -> GeographyTables:
    """Areas, links and boundaries from the two lookups, the LAD shapes and LAD -> region."""
    l17 = read_lookup_2017(*lookup17)
    l21 = read_lookup_2021(*lookup21)
    shapes = read_boundaries(boundaries[0], boundaries[1], set(l21["lad_code"]),
                             lookup=(l21, lookup21[0].name, lookup21[1]))

    # --- areas -----------------------------------------------------------------------------
    lad21 = l21[["lad_code", "lad_name"]].drop_duplicates("lad_code")
    lad17_only = l17[~l17["lad_code"].isin(lad21["lad_code"])][["lad_code", "lad_name"]]
    csp = pd.concat([l21[["csp_code", "csp_name"]], l17[["csp_code", "csp_name"]]]).drop_duplicates("csp_code")
    pfa = pd.concat([l21[["pfa_code", "pfa_name"]], l17[["pfa_code", "pfa_name"]]]).drop_duplicates("pfa_code")
    lad_region = lad_region[lad_region["lad_code"].isin(lad21["lad_code"])]
    missing_region = set(lad21["lad_code"]) - set(lad_region["lad_code"])
    if missing_region:
        raise SourceError(f"LADs with no region in the population workbook: {sorted(missing_region)[:5]}",
                          source_id="population")
    regions = lad_region[lad_region["region_code"].str.startswith("E12")][["region_code", "region_name"]].drop_duplicates()

    utla_areas, utla_links = upper_tier(lad_region, set(lad21["lad_code"]))
    areas = pd.concat([
        _areas(lad21, "lad_code", "lad_name", "lad", V2017_FROM, None, "2021"),
        _areas(lad17_only, "lad_code", "lad_name", "lad", V2017_FROM, V2017_TO, "2017"),
        _areas(csp, "csp_code", "csp_name", "csp", V2017_FROM, None, "2017/2021"),
        _areas(pfa, "pfa_code", "pfa_name", "pfa", V2017_FROM, None, "2017/2021"),
        _areas(regions, "region_code", "region_name", "region", V2017_FROM, None, "2021"),
        utla_areas,
        pd.DataFrame({"area_code": [ENGLAND, WALES], "area_name": ["England", "Wales"],
                      "area_type": "country", "valid_from": V2017_FROM, "valid_to": None, "vintage": "2021"}),
        pd.DataFrame({"area_code": [ENGLAND_AND_WALES], "area_name": ["England and Wales"],
                      "area_type": "national", "valid_from": V2017_FROM, "valid_to": None, "vintage": "2021"}),
        # UK-only publications (county lines, NRM) are held at the UK, not at England & Wales.
        pd.DataFrame({"area_code": [UNITED_KINGDOM], "area_name": ["United Kingdom"],
                      "area_type": "uk", "valid_from": V2017_FROM, "valid_to": None, "vintage": "2021"}),
    ], ignore_index=True)
    # LADs that kept their code keep the 2021 name but were valid from 2017.
    # --- links -----------------------------------------------------------------------------
    k17 = set(zip(l17["lad_code"], l17["csp_code"]))
    k21 = set(zip(l21["lad_code"], l21["csp_code"]))
    lad_links = [(c, p, V2017_FROM, None, "2017/2021") for c, p in sorted(k17 & k21)]
    lad_links += [(c, p, V2017_FROM, V2017_TO, "2017") for c, p in sorted(k17 - k21)]
    lad_links += [(c, p, V2021_FROM, None, "2021") for c, p in sorted(k21 - k17)]
    links = pd.DataFrame(lad_links, columns=["child_code", "parent_code", "valid_from", "valid_to", "vintage"])
    links["child_type"], links["parent_type"] = "lad", "csp"
    csp_pfa = pd.concat([l21[["csp_code", "pfa_code"]], l17[["csp_code", "pfa_code"]]]).drop_duplicates()
    if csp_pfa["csp_code"].duplicated().any():
        bad = csp_pfa[csp_pfa["csp_code"].duplicated(keep=False)]
        raise SourceError(f"CSP in more than one police force area: {bad.to_dict('records')[:2]}",
                          source_id=lookup21[1], file=lookup21[0].name, column="PFA21CD")
    csp_links = _links(csp_pfa, "csp_code", "pfa_code", "csp", "pfa")
    pfa_region = (l21[["pfa_code", "lad_code"]].merge(lad_region, on="lad_code")
                  [["pfa_code", "region_code"]].drop_duplicates())
    if pfa_region["pfa_code"].duplicated().any():
        bad = pfa_region[pfa_region["pfa_code"].duplicated(keep=False)]
        raise SourceError(f"police force area spans regions: {bad.to_dict('records')[:2]}",
                          source_id=lookup21[1], file=lookup21[0].name)
    welsh = pfa_region["region_code"] == WALES
    pfa_reg = _links(pfa_region[~welsh], "pfa_code", "region_code", "pfa", "region")
    pfa_wales = _links(pfa_region[welsh], "pfa_code", "region_code", "pfa", "country")
    reg_country = _links(regions.assign(country=ENGLAND), "region_code", "country", "region", "country")
    country_nat = _links(pd.DataFrame({"c": [ENGLAND, WALES], "p": ENGLAND_AND_WALES}), "c", "p",
                         "country", "national")
    links = pd.concat([links, csp_links, pfa_reg, pfa_wales, reg_country, country_nat, utla_links],
                      ignore_index=True)
    links = links[["child_code", "parent_code", "child_type", "parent_type", "valid_from", "valid_to", "vintage"]]

    split = csp_groups(l21)
    boundaries = build_boundaries(shapes, l21, pfa_region, split, areas)
    boundaries = pd.concat([boundaries, utla_boundaries(boundaries, utla_links)], ignore_index=True)
    return GeographyTables(areas, links, boundaries, split.reset_index(drop=True), {"l17": l17, "l21": l21})


def upper_tier(lad_region: pd.DataFrame, lads: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(areas, links) for the upper tier: county areas and district -> county links from the
    MYE2 row order (`utla_code` / `utla_name` columns beside each LAD's region), the changes in
    `UTLA_CHANGES`, and each such authority's region.

    Unitary authorities, metropolitan districts and London boroughs are their own upper tier:
    they are already areas (as LADs, same code) and get no second row or link.
    """
    cols = ["area_code", "area_name", "area_type", "valid_from", "valid_to", "vintage"]
    link_cols = ["child_code", "parent_code", "child_type", "parent_type", "valid_from", "valid_to", "vintage"]
    if "utla_code" not in lad_region:
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=link_cols)
    member = lad_region[lad_region["lad_code"].isin(lads) & lad_region["utla_code"].notna()]
    counties = member[["utla_code", "utla_name"]].drop_duplicates("utla_code")
    replaced = {c.replaced: c for c in UTLA_CHANGES if c.replaced}
    region_of = dict(zip(lad_region["lad_code"], lad_region["region_code"]))
    areas, links = [], []
    for code, name in zip(counties["utla_code"], counties["utla_name"]):
        end = REORG_2023_TO if code in replaced else None
        areas.append((code, name, "utla", V2017_FROM, end, "2021"))
        for lad in member.loc[member["utla_code"] == code, "lad_code"]:
            links.append((lad, code, "lad", "utla", V2017_FROM, end, "2021"))
    county_lads = member.groupby("utla_code")["lad_code"].agg(frozenset).to_dict()
    for old, _ in replaced.items():
        new = [c for c in UTLA_CHANGES if c.replaced == old]
        given = frozenset(lad for c in new for lad in c.lads)
        if old in county_lads and given != county_lads[old]:
            raise SourceError(f"the districts listed under {old} in the MYE2 row order "
                              f"({sorted(county_lads[old])}) are not those its successors "
                              f"{[c.code for c in new]} are mapped to ({sorted(given)}): "
                              "check UTLA_CHANGES", source_id="population", column="Code")
    for c in UTLA_CHANGES:
        missing = [lad for lad in c.lads if lad not in lads]
        if missing:
            raise SourceError(f"upper-tier authority {c.code} ({c.name}) is mapped to LADs not in the "
                              f"2021 lookup: {missing}", source_id="lad21_csp_pfa_lookup", column="lad-code")
        areas.append((c.code, c.name, "utla", c.valid_from, c.valid_to, "2023" if c.replaced else "2017"))
        links += [(lad, c.code, "lad", "utla", c.valid_from, c.valid_to, "2023" if c.replaced else "2017")
                  for lad in c.lads]
    areas_df = pd.DataFrame(areas, columns=cols)
    links_df = pd.DataFrame(links, columns=link_cols)
    # Each upper-tier area sits in the region of its districts (all must agree).
    reg = links_df.assign(region=links_df["child_code"].map(region_of))[["parent_code", "region"]].drop_duplicates()
    if reg["parent_code"].duplicated().any():
        bad = reg[reg["parent_code"].duplicated(keep=False)]
        raise SourceError(f"upper-tier authority spans regions: {bad.to_dict('records')[:2]}",
                          source_id="population", column="Code")
    valid = areas_df.set_index("area_code")
    region_links = pd.DataFrame({
        "child_code": reg["parent_code"].to_numpy(), "parent_code": reg["region"].to_numpy(),
        "child_type": "utla", "parent_type": "region",
        "valid_from": valid.loc[reg["parent_code"], "valid_from"].to_numpy(),
        "valid_to": valid.loc[reg["parent_code"], "valid_to"].to_numpy(), "vintage": "2021"})
    return areas_df, pd.concat([links_df, region_links], ignore_index=True)[link_cols]


def utla_boundaries(boundaries: pd.DataFrame, utla_links: pd.DataFrame) -> pd.DataFrame:
    """Upper-tier shapes dissolved from the same simplified LAD coverage as every other level
    (so they meet the LAD, CSP and force shapes exactly). Unitary authorities keep their LAD
    shape under area type 'lad'; an authority with no whole 2021 district (Dorset county before
    2019) gets none."""
    lad_geom = {r.area_code: shapely.geometry.shape(json.loads(r.geojson))
                for r in boundaries[boundaries["area_type"] == "lad"].itertuples()}
    members = utla_links[(utla_links["child_type"] == "lad") & (utla_links["parent_type"] == "utla")]
    rows = []
    for code, grp in members.groupby("parent_code"):
        geom = shapely.set_precision(shapely.coverage_union_all([lad_geom[c] for c in grp["child_code"]]),
                                     10 ** -ROUND_DIGITS)
        rows.append((code, "utla", code, json.dumps(shapely.geometry.mapping(geom)), ""))
    return pd.DataFrame(rows, columns=["area_code", "area_type", "map_unit", "geojson", "note"])


def _areas(df, code, name, kind, start, end, vintage) -> pd.DataFrame:
    return pd.DataFrame({"area_code": df[code].to_numpy(), "area_name": df[name].to_numpy(),
                         "area_type": kind, "valid_from": start, "valid_to": end, "vintage": vintage})


def _links(df, child, parent, child_type, parent_type) -> pd.DataFrame:
    return pd.DataFrame({"child_code": df[child].to_numpy(), "parent_code": df[parent].to_numpy(),
                         "child_type": child_type, "parent_type": parent_type,
                         "valid_from": V2017_FROM, "valid_to": None, "vintage": "2021"})


def csp_groups(l21: pd.DataFrame) -> pd.DataFrame:
    """LAD-CSP links that belong to a split unitary LAD's group, with the group's map unit id.

    Groups are the connected parts of the LAD-CSP graph that hold more than one CSP: e.g.
    Bournemouth, Christchurch and Poole (split across Bournemouth, Poole and Dorset CSPs) joins
    Dorset LAD, because the Dorset CSP also covers it. Inside a group no CSP can be drawn or
    given a population on its own; the group is (`map_unit` = its LAD codes joined by '+').
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for lad, csp in zip(l21["lad_code"], l21["csp_code"]):
        parent[find("L" + lad)] = find("C" + csp)
    comp = l21.assign(root=[find("L" + c) for c in l21["lad_code"]])
    multi = comp.groupby("root")["csp_code"].transform("nunique") > 1
    comp = comp[multi & comp.groupby("root")["lad_code"].transform("nunique").ge(1)]
    has_split = comp.groupby("root")["lad_code"].transform(lambda s: s.duplicated().any())
    comp = comp[has_split]
    unit = comp.groupby("root")["lad_code"].transform(lambda s: "+".join(sorted(set(s))))
    out = comp.assign(map_unit=unit)[["map_unit", "lad_code", "lad_name", "csp_code", "csp_name"]]
    return out.reset_index(drop=True)


def build_boundaries(shapes: gpd.GeoDataFrame, l21: pd.DataFrame, pfa_region: pd.DataFrame,
                     split: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Simplify the LAD coverage once (shared edges stay shared), then dissolve upward.

    Every map layer is built from the same simplified LAD coverage, so CSP, force and region
    shapes meet without gaps or overlaps. Each row says which map unit it is drawn as.
    """
    lads = shapes.copy()
    lads["geometry"] = lads.geometry.simplify_coverage(SIMPLIFY_DEGREES)
    by_lad = dict(zip(lads["lad_code"], lads.geometry))
    set(split["lad_code"])
    split_csps = set(split["csp_code"])
    names = dict(zip(areas["area_code"], areas["area_name"]))
    rows = []

    def add(code, kind, geom, map_unit, note=""):
        geom = shapely.set_precision(geom, 10 ** -ROUND_DIGITS)
        rows.append((code, kind, map_unit, json.dumps(shapely.geometry.mapping(geom)), note))

    for code, geom in by_lad.items():
        add(code, "lad", geom, code)
    whole = l21[~l21["csp_code"].isin(split_csps)]
    for csp_code, grp in whole.groupby("csp_code"):
        add(csp_code, "csp", shapely.coverage_union_all([by_lad[c] for c in grp["lad_code"]]), csp_code)
    for unit, grp in split.groupby("map_unit"):
        geom = shapely.coverage_union_all([by_lad[c] for c in sorted(set(grp["lad_code"]))])
        lad_names = " and ".join(sorted({names[c] for c in grp["lad_code"]}))
        csp_names = ", ".join(sorted(set(grp["csp_name"])))
        for csp_code in sorted(set(grp["csp_code"])):
            add(csp_code, "csp", geom, unit,
                f"drawn with {csp_names} as one shape ({lad_names}): the unitary authority is "
                "split across these CSPs and no boundary of the older districts is published")
    lad_pfa = l21[["lad_code", "pfa_code"]].drop_duplicates()
    for pfa_code, grp in lad_pfa.groupby("pfa_code"):
        add(pfa_code, "pfa", shapely.coverage_union_all([by_lad[c] for c in grp["lad_code"]]), pfa_code)
    pfa_geoms = {r[0]: r for r in rows if r[1] == "pfa"}
    for region_code, grp in pfa_region.groupby("region_code"):
        kind = "country" if region_code == WALES else "region"
        geoms = [shapely.geometry.shape(json.loads(pfa_geoms[p][3])) for p in grp["pfa_code"]]
        add(region_code, kind, shapely.union_all(geoms), region_code)
    return pd.DataFrame(rows, columns=["area_code", "area_type", "map_unit", "geojson", "note"])
