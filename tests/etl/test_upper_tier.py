"""Upper-tier local authorities (counties and unitaries) from the real ONS files: membership from
the MYE2 row order, the 2023 reorganisations, shapes that tile England, 0-17 / 10-17 population.

Expected values come from the raw workbook read here with calamine (not through the parser) or
from well-known facts (Kent has 12 districts; Maidstone is in Kent).
"""
from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
import shapely
from python_calamine import CalamineWorkbook

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.parsers.geography import UTLA_CHANGES, build_geography, upper_tier
from etl.parsers.population import _lad_counties, aggregate_population, parse_population_files

MYE21 = "population/ukpopestimatesmid2021on2021geographyfinal.xlsx"


@pytest.fixture(scope="module")
def pop(mirror):
    return parse_population_files([
        (mirror / "population/ukpopestimatesmid2020on2021geography.xlsx", "ons_mye_2020"),
        (mirror / MYE21, "ons_mye_2021")])


@pytest.fixture(scope="module")
def geog(mirror, pop):
    return build_geography(
        (mirror / "geography/LAD17_CSP17_PFA17_EW_LU_ONS.csv", "ons_lad_csp_pfa_2017"),
        (mirror / "geography/lad_to_csp.csv", "lad21_csp_pfa_lookup"),
        (mirror / "geography/LAD_Dec2022_UK_BUC.geojson", "ons_lad_boundaries_2022"), pop.lad_region)


@pytest.fixture(scope="module")
def geo(geog, pop) -> GeoContext:
    return geog.context(aggregate_population(pop.rows, geog.links, set(geog.split_lads["csp_code"])))


@pytest.fixture(scope="module")
def raw(mirror) -> pd.DataFrame:
    """MYE2 - Persons of mid-2021 as published: code, name, geography, 0-17 summed here."""
    rows = CalamineWorkbook.from_path(str(mirror / MYE21)).get_sheet_by_name("MYE2 - Persons").to_python()
    h = next(i for i, r in enumerate(rows) if r and str(r[0]).strip() == "Code")
    header = [str(c).strip() for c in rows[h]]
    ages = [header.index(str(a)) for a in range(18)]
    return pd.DataFrame([(str(r[0]).strip(), r[1], r[2], sum(float(r[i]) for i in ages))
                         for r in rows[h + 1:] if r and str(r[0]).strip()],
                        columns=["code", "name", "geography", "age0_17"])


def current_utla_links(geog) -> pd.DataFrame:
    links = geog.links
    return links[(links.child_type == "lad") & (links.parent_type == "utla") & links.valid_to.isna()]


def test_counties_and_their_districts_follow_the_row_order(geog, raw):
    counties = raw[raw.geography == "County"]
    assert len(counties) == 24  # county councils on 2021 geography
    areas = geog.areas[geog.areas.area_type == "utla"]
    assert set(counties.code) <= set(areas.area_code)
    kent = geog.links[(geog.links.parent_code == "E10000016") & (geog.links.child_type == "lad")]
    assert len(kent) == 12 and "E07000110" in set(kent.child_code)  # Maidstone
    oxford = geog.links[(geog.links.child_code == "E07000178") & (geog.links.parent_type == "utla")]
    assert list(oxford.parent_code) == ["E10000025"]
    # Every current non-metropolitan district has exactly one current county (or 2023 unitary).
    districts = set(raw.code[raw.code.str.startswith("E07")])
    cur = current_utla_links(geog)
    assert set(cur.child_code) >= districts
    assert not cur[cur.child_code.isin(districts)].child_code.duplicated().any()
    # Unitary, metropolitan and London authorities are stored once, as LADs, with no current utla link.
    own = raw.code[raw.geography.isin(["Unitary Authority", "Metropolitan District", "London Borough"])]
    assert not cur.child_code.isin(own).any()
    utla_codes = set(geog.areas[geog.areas.area_type == "utla"].area_code)
    assert not utla_codes & set(geog.areas[geog.areas.area_type == "lad"].area_code)


def test_2023_reorganisations_replace_the_counties_on_1_april_2023(geog):
    areas = geog.areas.set_index("area_code")
    for county in ("E10000006", "E10000023", "E10000027"):  # Cumbria, North Yorkshire, Somerset
        assert areas.loc[county, "valid_to"] == date(2023, 3, 31)
    for new in ("E06000063", "E06000064", "E06000065", "E06000066"):
        assert areas.loc[new, "area_type"] == "utla"
        assert areas.loc[new, "valid_from"] == date(2023, 4, 1) and pd.isna(areas.loc[new, "valid_to"])
    cur = current_utla_links(geog).set_index("child_code")["parent_code"]
    assert cur["E07000028"] == "E06000063"  # Carlisle -> Cumberland
    assert cur["E07000031"] == "E06000064"  # South Lakeland -> Westmorland and Furness
    assert cur["E07000165"] == "E06000065"  # Harrogate -> North Yorkshire
    assert cur["E07000246"] == "E06000066"  # Somerset West and Taunton -> Somerset
    old = geog.links[(geog.links.child_code == "E07000028") & (geog.links.parent_code == "E10000006")]
    assert list(old.valid_to) == [date(2023, 3, 31)]
    # Dorset county (to 2019) matches no set of 2021 districts: no link, no shape.
    assert geog.links[geog.links.parent_code == "E10000009"].empty
    assert geog.boundaries[geog.boundaries.area_code == "E10000009"].empty


def test_upper_tier_regions(geo):
    assert geo.parents("E10000016", "region") == ["E12000008"]  # Kent: South East
    assert geo.parents("E06000063", "region") == ["E12000002"]  # Cumberland: North West
    assert geo.parents("E07000110", "utla") == ["E10000016"]


def test_upper_tier_codes(geo):
    codes = geo.upper_tier_codes()
    assert {"E10000016", "E06000063", "E09000001", "E08000025", "E06000035", "E10000021"} <= codes
    assert "E07000110" not in codes and "E22000142" not in codes


def test_population_0_17_and_10_17(geo, raw):
    by_code = raw.set_index("code")["age0_17"]
    # A county's published row equals the sum of its districts (independent check of the row order).
    kent_districts = [c for c in geo.children("E10000016", "lad")]
    assert geo.population_exact("E10000016", 2021, "0-17") == by_code["E10000016"]
    assert sum(by_code[c] for c in kent_districts) == pytest.approx(by_code["E10000016"])
    # 2023 unitaries are the sum of the districts they replaced.
    cumberland = by_code["E07000026"] + by_code["E07000028"] + by_code["E07000029"]
    assert geo.population_exact("E06000063", 2021, "0-17") == pytest.approx(cumberland)
    assert geo.population_exact("E10000021", 2021, "0-17") == pytest.approx(by_code["E06000061"] + by_code["E06000062"])
    assert geo.population_exact("E10000016", 2021, "10-17") > 0
    assert geo.population_exact("E10000016", 2019, "0-17") is None  # no borrowing of another year
    assert geo.population_years("0-17") == [2020, 2021]


def test_upper_tier_shapes_tile_england(geog):
    b = geog.boundaries
    areas = geog.areas
    current_utla = set(areas[(areas.area_type == "utla") & areas.valid_to.isna()].area_code)
    unitary = set(areas[(areas.area_type == "lad") & areas.valid_to.isna()
                        & areas.area_code.str.match(r"^E0[689]")].area_code)
    shapes = [shapely.geometry.shape(json.loads(g)) for g in
              pd.concat([b[(b.area_type == "utla") & b.area_code.isin(current_utla)],
                         b[(b.area_type == "lad") & b.area_code.isin(unitary)]]).geojson]
    assert len(shapes) == len(current_utla) + len(unitary)
    english_lads = [shapely.geometry.shape(json.loads(g))
                    for g in b[(b.area_type == "lad") & b.area_code.str.startswith("E")].geojson]
    england = shapely.union_all(english_lads)
    tiled = shapely.union_all(shapes)
    assert abs(tiled.area - england.area) / england.area < 1e-3
    assert abs(sum(s.area for s in shapes) - tiled.area) / tiled.area < 1e-3  # no overlaps


def test_district_before_any_county_names_row_and_column():
    df = pd.DataFrame({"Code": ["E12000008", "E07000110"], "Name": ["SOUTH EAST", "Maidstone"]})
    with pytest.raises(SourceError) as err:
        _lad_counties(df, source_id="ons_mye_2021", file="mye.xlsx", first_row=9)
    assert err.value.row == 10 and err.value.column == "Code" and err.value.file == "mye.xlsx"


def test_mapping_that_disagrees_with_the_row_order_is_refused(pop):
    lad_region = pop.lad_region.copy()
    extra = lad_region[lad_region.lad_code == "E07000110"].index  # pretend Maidstone were in Cumbria
    lad_region.loc[extra, ["utla_code", "utla_name"]] = ["E10000006", "Cumbria"]
    with pytest.raises(SourceError, match="E10000006"):
        upper_tier(lad_region, set(lad_region.lad_code))


def test_changes_name_2021_districts_only(geog):
    lads = set(geog.areas[geog.areas.area_type == "lad"].area_code)
    for c in UTLA_CHANGES:
        assert set(c.lads) <= lads, c.code
