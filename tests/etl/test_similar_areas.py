"""Most similar partnerships as the refresh builds them (etl/similar_areas.py) from the mirror."""
from __future__ import annotations

from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from etl.similar_areas import similar_tables
from methods.similar import DEFAULT_CHARACTERISTICS, GROUP_SIZE, METHOD_VERSION

INPUTS = ("areas", "area_links", "boundaries", "population", "observations", "sources", "police_uk_coverage")


@pytest.fixture(scope="module")
def wh(real_warehouse: Path):
    con = duckdb.connect(str(real_warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def inputs(wh) -> dict[str, pd.DataFrame]:
    return {t: wh.execute(f"SELECT * FROM {t}").df() for t in INPUTS}


def test_every_csp_with_the_characteristics_gets_fifteen_others(wh):
    groups = wh.execute("SELECT * FROM similar_areas").df()
    csps = {c for (c,) in wh.execute("SELECT area_code FROM areas WHERE area_type = 'csp' AND valid_to IS NULL"
                                      ).fetchall()}
    with_pop = {c for (c,) in wh.execute(
        "SELECT DISTINCT area_code FROM population WHERE age_band = 'all' AND sex = 'persons'").fetchall()} & csps
    split = {c for (c,) in wh.execute("SELECT csp_code FROM csp_groups").fetchall()}
    assert len(with_pop) > 290 and not (with_pop & split)
    assert set(groups["area_code"]) == with_pop  # every CSP with a population and an own boundary
    assert not (set(groups["neighbour_code"]) - with_pop)  # nobody outside that set is anyone's neighbour
    assert (groups.groupby("area_code").size() == GROUP_SIZE).all()
    assert (groups["area_code"] != groups["neighbour_code"]).all()
    for _, g in groups.groupby("area_code"):
        assert g.sort_values("rank")["rank"].tolist() == list(range(1, GROUP_SIZE + 1))
        assert g.sort_values("rank")["distance"].is_monotonic_increasing
        assert g["neighbour_code"].is_unique
    assert (groups["method_version"] == METHOD_VERSION).all()
    # Welsh partnerships have groups, compared without the DfE (England-only) factors
    cardiff = groups[groups["area_code"] == "W14000015"]
    assert len(cardiff) == GROUP_SIZE
    assert "cin_gangs_rate" not in cardiff["characteristics_used"].iloc[0]
    assert "share_10_24" in cardiff["characteristics_used"].iloc[0]
    # lineage: the published sources that fed each pair, never a synthetic one
    synthetic = {s for (s,) in wh.execute("SELECT source_id FROM sources WHERE quality <> 'official'").fetchall()}
    fed = {s for v in groups["sources"] for s in v.split(",")}
    assert {"ons_mye_2021", "ons_lad_boundaries_2022", "police_uk_street", "dfe_cin_factors"} <= fed
    assert not fed & synthetic


def test_characteristics_match_the_published_files(wh, mirror):
    ch = wh.execute("SELECT * FROM similar_area_characteristics").df().set_index(["area_code", "characteristic"])
    # Oxford: population and age shares straight from the ONS population table for 2021
    pop = dict(wh.execute("SELECT age_band, persons FROM population WHERE area_code = 'E22000308' AND year = 2021 "
                          "AND sex = 'persons' AND age_band IN ('all', '10-24', '0-17')").fetchall())
    assert ch.loc[("E22000308", "population"), "value"] == pop["all"]
    assert ch.loc[("E22000308", "share_10_24"), "value"] == pytest.approx(pop["10-24"] / pop["all"])
    # density: Oxford's area measured here from the unsimplified ONS boundary in the mirror
    lad = gpd.read_file(mirror / "geography/LAD_Dec2022_UK_BUC.geojson")
    km2 = float(lad[lad["LAD22CD"] == "E07000178"].to_crs(27700).area.iloc[0]) / 1e6
    assert 40 < km2 < 50
    assert ch.loc[("E22000308", "density"), "value"] == pytest.approx(pop["all"] / km2, rel=0.03)
    # offence mix: Oxford's records in Thames Valley's files from the per-LSOA counts (a different
    # table from the CSP figures), in the months Thames Valley's file is complete
    mix = dict(wh.execute("""
        SELECT c.crime_type, sum(c.n) FROM police_uk_lsoa_counts c
        JOIN police_uk_lsoa_placement p USING (lsoa_code, lsoa_name)
        JOIN police_uk_coverage v ON v.month = split_part(c.file_key, '/', 1)
             AND v.force = split_part(c.file_key, '/', 2)
        WHERE p.csp_code = 'E22000308' AND v.status = 'present' AND v.force = 'thames-valley' GROUP BY 1""").fetchall())
    assert ch.loc[("E22000308", "share_robbery"), "value"] == pytest.approx(mix["Robbery"] / sum(mix.values()))
    # children's social care: Allerdale's figure is Cumbria County Council's in 2021/22 (before Cumberland)
    cumbria = wh.execute("SELECT value FROM observations WHERE indicator_id = 'dfe_cin_gangs_rate' "
                         "AND area_code = 'E10000006' AND period_label = '2021/22'").fetchone()[0]
    assert ch.loc[("E22000031", "cin_gangs_rate"), "value"] == pytest.approx(cumbria)
    assert ch.loc[("E22000031", "cin_gangs_rate"), "period"] == "2021/22"
    assert ("W14000015", "cin_gangs_rate") not in ch.index  # Cardiff: DfE covers England
    # z-scores and weights as methods.similar defines them
    weights = {c.name: c.weight for c in DEFAULT_CHARACTERISTICS}
    assert (ch["weight"] == [weights[n] for n in ch.index.get_level_values(1)]).all()
    pop_z = ch.xs("population", level=1)
    lg = np.log(pop_z["value"])
    assert pop_z["z"].to_numpy() == pytest.approx(((lg - lg.mean()) / lg.std(ddof=0)).to_numpy())


def test_synthetic_or_modelled_inputs_never_feed_the_groups(inputs):
    base = similar_tables(inputs)
    # the DfE source as a synthetic stand-in: no children's social care characteristic at all
    sources = inputs["sources"].copy()
    sources.loc[sources["source_id"] == "dfe_cin_factors", "quality"] = "synthetic"
    fake = similar_tables({**inputs, "sources": sources})
    used = fake["similar_area_characteristics"]["characteristic"]
    assert not used.str.startswith("cin_").any()
    assert not fake["similar_areas"]["sources"].str.contains("dfe_cin_factors").any()
    # synthetic observations mixed in (Oxford's police.uk rows): Oxford loses its offence mix
    obs = inputs["observations"].copy()
    mask = (obs["area_code"] == "E22000308") & obs["indicator_id"].str.startswith("police_uk_")
    obs.loc[mask, "quality"] = "synthetic"
    fake = similar_tables({**inputs, "observations": obs})
    ox = fake["similar_area_characteristics"]
    assert not ((ox["area_code"] == "E22000308") & (ox["characteristic"] == "share_robbery")).any()
    b = base["similar_area_characteristics"]
    assert ((b["area_code"] == "E22000308") & (b["characteristic"] == "share_robbery")).any()


def test_the_refresh_writes_the_groups_it_computes(wh, inputs):
    """The warehouse tables are what `similar_tables` gives for the warehouse's own inputs
    (deterministic: the same inputs give the same groups)."""
    again = similar_tables(inputs)["similar_areas"]
    stored = wh.execute("SELECT * FROM similar_areas ORDER BY area_code, rank").df()
    assert stored[["area_code", "neighbour_code", "rank"]].values.tolist() == \
        again.sort_values(["area_code", "rank"])[["area_code", "neighbour_code", "rank"]].values.tolist()
