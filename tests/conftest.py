"""Shared fixtures: the real mirror (../shared/data) and a warehouse built from it once per run.

Tests that need the mirror skip cleanly where it is absent; CI always has it beside the clone.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIRROR = Path(os.environ.get("SVD_TEST_MIRROR", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "MANIFEST.md").exists():
        pytest.skip(f"source mirror not found at {MIRROR}")
    return MIRROR


@pytest.fixture(scope="session")
def real_geo(mirror):
    """GeoContext (areas, links, population) built from the real ONS files in the mirror."""
    from etl.parsers.geography import build_geography
    from etl.parsers.population import aggregate_population, parse_population_files

    pop = parse_population_files([
        (mirror / "population/ukpopestimatesmid2020on2021geography.xlsx", "ons_mye_2020"),
        (mirror / "population/ukpopestimatesmid2021on2021geographyfinal.xlsx", "ons_mye_2021")])
    geog = build_geography(
        (mirror / "geography/LAD17_CSP17_PFA17_EW_LU_ONS.csv", "ons_lad_csp_pfa_2017"),
        (mirror / "geography/lad_to_csp.csv", "lad21_csp_pfa_lookup"),
        (mirror / "geography/LAD_Dec2022_UK_BUC.geojson", "ons_lad_boundaries_2022"), pop.lad_region)
    population = aggregate_population(pop.rows, geog.links, set(geog.split_lads["csp_code"]))
    return geog.context(population)


@pytest.fixture(scope="session")
def real_warehouse(mirror, tmp_path_factory) -> Path:
    """A warehouse built by the real refresh from the mirror, shared by read-only tests."""
    from etl.refresh import refresh

    db = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    refresh(mirror, db, quiet=True)
    return db


@pytest.fixture(scope="session")
def fixture_built(mirror, tmp_path_factory) -> tuple[Path, Path]:
    """(fixture mirror, warehouse built from it by the real refresh), once per run, for every
    module that reads them; a test that changes either works on `fixture_work` instead."""
    from etl.refresh import refresh
    from tests.fixture_mirror import build_fixture_mirror

    base = tmp_path_factory.mktemp("fixture_built")
    src = build_fixture_mirror(mirror, base / "mirror")
    db = base / "wh" / "warehouse.duckdb"
    assert refresh(src, db, quiet=True).status == "built"
    return src, db


@pytest.fixture
def fixture_work(fixture_built, tmp_path) -> tuple[Path, Path]:
    """A private copy of the fixture mirror and its live warehouse (with the generated synthetic
    files beside it), for a test that changes them."""
    import shutil

    src, db = fixture_built
    my_src, my_db = tmp_path / "mirror", tmp_path / "wh" / "warehouse.duckdb"
    shutil.copytree(src, my_src)
    shutil.copytree(db.parent, my_db.parent, ignore=shutil.ignore_patterns("snapshots", "*.lock"))
    return my_src, my_db
