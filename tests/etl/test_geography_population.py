"""Geography and population parsers on the real ONS files, against the published checks."""
from __future__ import annotations

import json

import pytest
import shapely

from etl.codes import AREA_CODE_PATTERNS
from etl.errors import SourceError
from etl.parsers.geography import read_lookup_2021


def persons(rows, code, year, band):
    sel = rows[(rows.area_code == code) & (rows.year == year) & (rows.age_band == band) & (rows.sex == "persons")]
    assert len(sel) == 1
    return sel.persons.iloc[0]


def test_population_matches_published_checks(pop):
    # MANIFEST checks, from the ONS release
    assert persons(pop.rows, "K04000001", 2020, "all") == 59_719_724
    assert persons(pop.rows, "K04000001", 2021, "all") == 59_641_829
    assert persons(pop.rows, "K04000001", 2020, "10-17") == 5_600_736
    assert persons(pop.rows, "K04000001", 2021, "10-17") == 5_650_632


def test_age_bands_are_sums_of_single_years(pop):
    r = pop.rows
    oxford = r[(r.area_code == "E07000178") & (r.year == 2021) & (r.sex == "persons")].set_index("age_band").persons
    assert oxford["10-24"] == sum(oxford[str(a)] for a in range(10, 25))
    males = persons(r[r.sex == "male"].assign(sex="persons"), "E07000178", 2021, "all")
    females = persons(r[r.sex == "female"].assign(sex="persons"), "E07000178", 2021, "all")
    assert males + females == oxford["all"]


def test_every_lad_has_a_region_and_wales_is_wales(pop):
    lr = pop.lad_region.set_index("lad_code").region_code
    assert len(lr) == 331
    assert lr["E07000178"] == "E12000008"  # Oxford, South East
    assert len([c for c in lr.index if c.startswith("W06")]) > 0, "nothing to check: an empty result must not pass"
    assert all(lr[c] == "W92000004" for c in lr.index if c.startswith("W06"))


def test_every_lad_csp_and_pfa_has_a_boundary(geog):
    areas = geog.areas[geog.areas.valid_to.isna()]
    for level in ("lad", "csp", "pfa"):
        codes = set(areas.loc[areas.area_type == level, "area_code"])
        have = set(geog.boundaries.loc[geog.boundaries.area_type == level, "area_code"])
        assert codes and codes <= have, (level, sorted(codes - have)[:5])
    assert len(set(areas.loc[areas.area_type == "csp", "area_code"])) == 314
    assert len(set(areas.loc[areas.area_type == "pfa", "area_code"])) == 43


def test_csp_shapes_tile_without_overlap(geog):
    b = geog.boundaries[geog.boundaries.area_type == "csp"].drop_duplicates("map_unit")
    geoms = [shapely.geometry.shape(json.loads(g)) for g in b.geojson]
    union_area = shapely.union_all(geoms).area
    assert sum(g.area for g in geoms) == pytest.approx(union_area, rel=1e-3)


def test_split_unitary_authorities_form_map_units(geog):
    g = geog.split_lads
    assert set(g.lad_code) == {"E06000060", "E06000061", "E06000062", "E07000244", "E06000058", "E06000059"}
    bucks = set(g.loc[g.lad_code == "E06000060", "csp_name"])
    assert bucks == {"Aylesbury Vale", "Chiltern", "South Bucks", "Wycombe"}
    units = geog.boundaries[geog.boundaries.area_code.isin(g.csp_code)]
    assert units.groupby("map_unit").size().to_dict()["E06000058+E06000059"] == 3
    assert units.note.str.contains("split across these CSPs").all()


def test_codes_follow_their_patterns(geog):
    for level in ("lad", "csp", "pfa", "region"):
        codes = geog.areas.loc[geog.areas.area_type == level, "area_code"]
        assert codes.str.fullmatch(AREA_CODE_PATTERNS[level].strip("^$")).all()


def test_force_names_from_every_publisher_resolve(geog):
    geo = geog.context()
    assert geo.pfa_code("Avon and Somerset Constabulary") == geo.pfa_code("avon-and-somerset".replace("-", " "))
    assert geo.pfa_code("Metropolitan Police Service") == "E23000001"
    assert geo.pfa_code("City of London Police") == geo.pfa_code("London, City of") == "E23000034"
    assert geo.pfa_code("Devon and Cornwall") == geo.pfa_code("Devon & Cornwall")
    assert geo.pfa_code("British Transport Police") is None


def test_lookup_with_wrong_code_names_row_and_column(tmp_path, mirror):
    text = (mirror / "geography/lad_to_csp.csv").read_text(encoding="utf-8-sig").splitlines()
    text[4] = text[4].replace(";E23000001;", ";E2300001;")
    bad = tmp_path / "lad_to_csp.csv"
    bad.write_text("\n".join(text))
    with pytest.raises(SourceError) as err:
        read_lookup_2021(bad, "lad21_csp_pfa_lookup")
    assert "row 5" in str(err.value) and "PFA21CD" in str(err.value)


def test_a_lookup_code_without_a_boundary_is_reported_on_the_lookup_row(tmp_path):
    # A retired or mistyped code in a new lookup vintage: the error must point at the lookup's
    # row and column (where the officer must look), not only at the boundary file.
    from etl.parsers.geography import read_boundaries
    lookup = tmp_path / "lad_to_csp.csv"
    lookup.write_text("lad-code;lad-name;csp-code;csp-name;PFA21CD;PFA21NM\n"
                      "E06000001;Hartlepool;E22000001;Hartlepool;E23000013;Cleveland\n"
                      "E06000999;Nowhere;E22000999;Nowhere;E23000013;Cleveland\n", encoding="utf-8")
    square = {"type": "Polygon", "coordinates": [[[-1.3, 54.6], [-1.2, 54.6], [-1.2, 54.7], [-1.3, 54.6]]]}
    shapes = tmp_path / "lad.geojson"
    shapes.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"LAD22CD": "E06000001"}, "geometry": square}]}))
    l21 = read_lookup_2021(lookup, "lad21_csp_pfa_lookup")
    with pytest.raises(SourceError) as err:
        read_boundaries(shapes, "ons_lad_boundaries_2022", set(l21["lad_code"]),
                        lookup=(l21, lookup.name, "lad21_csp_pfa_lookup"))
    e = err.value
    assert (e.file, e.row, e.column, e.source_id) == ("lad_to_csp.csv", 3, "lad-code", "lad21_csp_pfa_lookup")
    assert "'E06000999'" in e.message and "lad.geojson" in e.message
