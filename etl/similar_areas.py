"""Most similar partnerships, built at refresh from the tables the refresh has just assembled.

Why here and not in the app: the group of an area must be the same for every viewer and every
page until the next refresh, and must say what fed it. So the characteristics of every CSP are
gathered once from the warehouse's own published inputs, the groups are computed with
`methods.similar` and written as two tables:

- `similar_area_characteristics`: per CSP and characteristic, the value, its z-score, weight,
  period and source (what the app shows as "how this group was chosen");
- `similar_areas`: per CSP its 15 most similar CSPs (rank, distance, the characteristics the
  pair was compared on, method version, the sources that fed it).

Only published inputs feed it: observations of quality `official` (a synthetic stand-in, a
modelled or a local figure never does), ONS population, ONS boundaries. A CSP with no
population of its own (inside a unitary authority split across CSPs) gets no group.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import shapely

from methods.similar import DEFAULT_CHARACTERISTICS, GROUP_SIZE, METHOD_VERSION, nearest_neighbours, standardise

BOUNDARY_SOURCE = "ons_lad_boundaries_2022"
POLICE_UK_SOURCE = "police_uk_street"
DFE_SOURCE = "dfe_cin_factors"
OFFENCE_MONTHS = 12  # the latest 12 loaded months (fewer when fewer are loaded)
OFFENCE_TYPES = {
    "police_uk_violence_and_sexual_offences": "share_violence_and_sexual_offences",
    "police_uk_robbery": "share_robbery",
    "police_uk_drugs": "share_drugs",
    "police_uk_possession_of_weapons": "share_possession_of_weapons",
}
# DfE children in need factors (rate per 10,000 children aged 0-17). Trafficking is left out:
# most councils' counts are a handful rounded to 10 or suppressed, so it would rank noise.
CIN_FACTORS = {
    "dfe_cin_gangs_rate": "cin_gangs_rate",
    "dfe_cin_child_criminal_exploitation_rate": "cin_child_criminal_exploitation_rate",
    "dfe_cin_child_sexual_exploitation_rate": "cin_child_sexual_exploitation_rate",
    "dfe_cin_going_missing_rate": "cin_going_missing_rate",
    "dfe_cin_drug_misuse_child_rate": "cin_drug_misuse_child_rate",
}
CHARACTERISTIC_COLUMNS = ["area_code", "characteristic", "label", "group_name", "weight", "value", "z", "period",
                          "source_id"]
SIMILAR_COLUMNS = ["area_code", "neighbour_code", "rank", "distance", "method_version", "characteristics_used",
                   "sources"]


def _official(tables: dict[str, pd.DataFrame], source_id: str) -> bool:
    """Whether the source was loaded this run as a published file (not a synthetic stand-in)."""
    return source_id in _official_sources(tables)


def _official_sources(tables: dict[str, pd.DataFrame]) -> set[str]:
    src = tables.get("sources")
    if src is None or src.empty:
        return set()
    bad = set(src.loc[src["quality"] != "official", "source_id"])
    return set(src["source_id"]) - bad


def _current_csps(areas: pd.DataFrame) -> list[str]:
    cur = areas[(areas["area_type"] == "csp") & areas["valid_to"].isna()]
    return sorted(cur["area_code"].unique())


def population_characteristics(tables: dict[str, pd.DataFrame], csps: list[str]) -> pd.DataFrame:
    """Population, density and age shares per CSP from the latest year with all three bands.

    Returns columns area_code, characteristic, value, period, source_id."""
    pop = tables["population"]
    pop = pop[pop["area_code"].isin(csps) & (pop["sex"] == "persons")
              & pop["age_band"].isin(["all", "10-24", "0-17"])]
    pop = pop[pop["source_id"].isin(_official_sources(tables))]
    wide = pop.pivot_table(index=["area_code", "year"], columns="age_band", values="persons", aggfunc="first")
    wide = wide.dropna(subset=[c for c in ("all", "10-24", "0-17") if c in wide]).reset_index()
    if wide.empty or not {"all", "10-24", "0-17"} <= set(wide.columns):
        return pd.DataFrame(columns=["area_code", "characteristic", "value", "period", "source_id"])
    wide = wide.sort_values("year").groupby("area_code").tail(1)
    src = pop.drop_duplicates(["area_code", "year"]).set_index(["area_code", "year"])["source_id"]
    out = []
    area_km2 = land_area_km2(tables, list(wide["area_code"]))
    for r in wide.to_dict("records"):
        code, year, total = r["area_code"], int(r["year"]), float(r["all"])
        if not total > 0:
            continue
        sid, period = src.loc[(code, year)], f"mid-{year}"
        out += [(code, "population", total, period, sid),
                (code, "share_10_24", float(r["10-24"]) / total, period, sid),
                (code, "share_0_17", float(r["0-17"]) / total, period, sid)]
        km2 = area_km2.get(code)
        if km2 and km2 > 0:
            out.append((code, "density", total / km2, f"{period} population; 2022 boundary",
                        f"{sid},{BOUNDARY_SOURCE}"))
    return pd.DataFrame(out, columns=["area_code", "characteristic", "value", "period", "source_id"])


def land_area_km2(tables: dict[str, pd.DataFrame], codes: list[str]) -> dict[str, float]:
    """Area in km2 of each CSP's own boundary, measured in the British National Grid
    (EPSG:27700). A CSP drawn as one shape with others (a split unitary authority) has no
    boundary of its own, so no area."""
    if not _official(tables, BOUNDARY_SOURCE):
        return {}
    import geopandas as gpd

    b = tables["boundaries"]
    b = b[(b["area_type"] == "csp") & b["area_code"].isin(codes)]
    shared = b["map_unit"].map(b["map_unit"].value_counts()) > 1
    b = b[~shared & (b["map_unit"] == b["area_code"])]
    if b.empty:
        return {}
    geoms = gpd.GeoSeries([shapely.geometry.shape(json.loads(g)) for g in b["geojson"]], crs=4326)
    km2 = geoms.to_crs(27700).area.to_numpy() / 1e6
    return dict(zip(b["area_code"], km2.astype(float), strict=True))


def offence_mix(tables: dict[str, pd.DataFrame], csps: list[str]) -> pd.DataFrame:
    """Each police.uk type's share of the four types' records placed in the CSP, over the
    latest `OFFENCE_MONTHS` loaded months, counting only months in which the CSP's force file
    is complete (`police_uk_coverage` status 'present': a partial month would skew the mix)."""
    if not _official(tables, POLICE_UK_SOURCE) or "police_uk_coverage" not in tables:
        return pd.DataFrame(columns=["area_code", "characteristic", "value", "period", "source_id"])
    obs = tables["observations"]
    obs = obs[obs["indicator_id"].isin(list(OFFENCE_TYPES)) & obs["area_code"].isin(csps)
              & (obs["period_type"] == "month") & (obs["quality"] == "official")
              & ~obs["source_id"].astype(str).str.contains("#", regex=False) & obs["count"].notna()]
    links = tables["area_links"]
    pfa = links[(links["child_type"] == "csp") & (links["parent_type"] == "pfa") & links["valid_to"].isna()]
    cov = tables["police_uk_coverage"]
    present = cov.loc[cov["status"] == "present", ["pfa_code", "month"]].drop_duplicates().rename(
        columns={"month": "period_label"})
    months = sorted(obs["period_label"].unique())[-OFFENCE_MONTHS:]
    obs = (obs[obs["period_label"].isin(months)][["area_code", "indicator_id", "period_label", "count"]]
           .merge(pfa[["child_code", "parent_code"]].rename(columns={"child_code": "area_code",
                                                                     "parent_code": "pfa_code"}),
                  on="area_code", how="inner")
           .merge(present, on=["pfa_code", "period_label"], how="inner"))
    # a month counts only when all four types are there for the CSP
    n_types = obs.groupby(["area_code", "period_label"])["indicator_id"].transform("nunique")
    obs = obs[n_types == len(OFFENCE_TYPES)]
    by_type = obs.pivot_table(index="area_code", columns="indicator_id", values="count", aggfunc="sum")
    by_type = by_type.reindex(columns=list(OFFENCE_TYPES)).fillna(0.0)
    total = by_type.sum(axis=1)
    by_type = by_type[total > 0]
    months_used = obs.groupby("area_code")["period_label"].agg(["min", "max", "nunique"])
    period = {c: (f"{int(r['nunique'])} months: {r['min']} to {r['max']}" if r["nunique"] > 1 else str(r["min"]))
              for c, r in months_used.iterrows()}
    shares = by_type.div(total[total > 0], axis=0).rename(columns=OFFENCE_TYPES)
    out = shares.reset_index().melt(id_vars="area_code", var_name="characteristic", value_name="value")
    out["period"] = out["area_code"].map(period)
    out["source_id"] = POLICE_UK_SOURCE
    return out[["area_code", "characteristic", "value", "period", "source_id"]]


def childrens_social_care(tables: dict[str, pd.DataFrame], csps: list[str]) -> pd.DataFrame:
    """The upper-tier council's DfE children in need factor rates for each CSP, in each
    factor's latest year. The council is the one its districts belonged to in that year (e.g.
    Cumbria County Council for 2021/22, not Cumberland); a CSP spanning several councils gets
    their pooled rate (sum of episodes / sum of children), and none if any of them has no
    figure. Welsh CSPs have none (DfE statistics cover England)."""
    if not _official(tables, DFE_SOURCE):
        return pd.DataFrame(columns=["area_code", "characteristic", "value", "period", "source_id"])
    obs = tables["observations"]
    obs = obs[obs["indicator_id"].isin(list(CIN_FACTORS)) & (obs["quality"] == "official")
              & ~obs["source_id"].astype(str).str.contains("#", regex=False)]
    links = tables["area_links"]
    lad_csp = links[(links["child_type"] == "lad") & (links["parent_type"] == "csp") & links["valid_to"].isna()
                    & links["parent_code"].isin(csps)]
    lad_utla = links[(links["child_type"] == "lad") & (links["parent_type"] == "utla")]
    out = []
    for ind, col in CIN_FACTORS.items():
        mine = obs[(obs["indicator_id"] == ind) & obs["value"].notna()]
        if mine.empty:
            continue
        latest = mine.sort_values(["period_end", "period_start"]).iloc[-1]
        label, end = latest["period_label"], pd.Timestamp(latest["period_end"])
        year = mine[mine["period_label"] == label].drop_duplicates("area_code", keep="last").set_index("area_code")
        starts, ends = pd.to_datetime(lad_utla["valid_from"]), pd.to_datetime(lad_utla["valid_to"])
        valid = lad_utla[(starts.isna() | (starts <= end)) & (ends.isna() | (ends >= end))]
        # each CSP's councils: its districts' upper tier that year, or the district itself (a
        # unitary authority, metropolitan district or London borough is its own upper tier)
        pairs = lad_csp[["parent_code", "child_code"]].merge(
            valid[["child_code", "parent_code"]].rename(columns={"parent_code": "council"}), on="child_code", how="left")
        pairs["council"] = pairs["council"].fillna(pairs["child_code"])
        pairs = pairs[["parent_code", "council"]].drop_duplicates()
        vals = year[["value", "count", "denominator"]].reset_index().rename(columns={"area_code": "council"})
        m = pairs.merge(vals, on="council", how="left")
        agg = m.groupby("parent_code").agg(n=("council", "size"), n_value=("value", "count"),
                                           value=("value", "first"), count=("count", lambda x: x.sum(min_count=len(x))),
                                           denominator=("denominator", lambda x: x.sum(min_count=len(x))))
        agg = agg[agg["n_value"] == agg["n"]]  # every council of the CSP has a figure
        pooled = agg["count"] / agg["denominator"] * 10_000
        agg["value"] = agg["value"].where(agg["n"] == 1, pooled)
        agg = agg[agg["value"].notna()]
        out += [(c, col, float(v), str(label), DFE_SOURCE) for c, v in agg["value"].items()]
    return pd.DataFrame(out, columns=["area_code", "characteristic", "value", "period", "source_id"])


def characteristics_long(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every characteristic of every current CSP, long: area_code, characteristic, value,
    period, source_id."""
    csps = _current_csps(tables["areas"])
    parts = [population_characteristics(tables, csps), offence_mix(tables, csps), childrens_social_care(tables, csps)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["area_code", "characteristic", "value", "period", "source_id"])
    return pd.concat(parts, ignore_index=True)


def similar_tables(tables: dict[str, pd.DataFrame], k: int = GROUP_SIZE) -> dict[str, pd.DataFrame]:
    """`similar_area_characteristics` and `similar_areas` from the refresh's assembled tables."""
    chars = DEFAULT_CHARACTERISTICS
    long = characteristics_long(tables)
    wide = long.pivot_table(index="area_code", columns="characteristic", values="value", aggfunc="first")
    wide = wide.reindex(columns=[c.name for c in chars])
    required = [c.name for c in chars if c.required]
    wide = wide[wide[required].notna().all(axis=1)]
    if wide.empty:
        return {"similar_area_characteristics": pd.DataFrame(columns=CHARACTERISTIC_COLUMNS),
                "similar_areas": pd.DataFrame(columns=SIMILAR_COLUMNS)}
    z = standardise(wide, chars)
    zl = z.reset_index().melt(id_vars="area_code", var_name="characteristic", value_name="z")
    meta = pd.DataFrame([(c.name, c.label, c.group, c.weight) for c in chars],
                        columns=["characteristic", "label", "group_name", "weight"])
    out_chars = (long[long["area_code"].isin(wide.index)].merge(zl, on=["area_code", "characteristic"], how="left")
                 .merge(meta, on="characteristic", how="inner"))
    out_chars = out_chars[CHARACTERISTIC_COLUMNS].sort_values(["area_code", "characteristic"]).reset_index(drop=True)
    groups = nearest_neighbours(wide, chars, k=k)
    sources_of = out_chars.groupby("area_code")["source_id"].apply(
        lambda s: sorted({x for v in s for x in str(v).split(",")})).to_dict()
    groups["method_version"] = METHOD_VERSION
    groups["sources"] = [",".join(sorted(set(sources_of.get(a, [])) | set(sources_of.get(b, []))))
                         for a, b in zip(groups["area_code"], groups["neighbour_code"], strict=True)]
    groups["rank"] = groups["rank"].astype(np.int64)
    return {"similar_area_characteristics": out_chars, "similar_areas": groups[SIMILAR_COLUMNS]}
