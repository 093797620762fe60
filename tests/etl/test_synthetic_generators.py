"""Synthetic generators: deterministic, in the publishers' layouts, read back as synthetic."""
from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from etl.geocontext import GeoContext
from etl.manifest import load_manifest
from etl.parsers import fingertips, istv
from etl.synthetic import GENERATORS, generate
from etl.synthetic.sidecar import sidecar_path
from tests.small_geo import ENGLAND, NORTH_EAST, make_geo

LADS = {  # code: (name, region, csp, population)
    "E06000001": ("Hartlepool", "E12000001", "E22000001", 92_000.0),
    "E06000002": ("Middlesbrough", "E12000001", "E22000002", 143_000.0),
    "E08000001": ("Bolton", "E12000002", "E22000003", 296_000.0),
    "E09000001": ("City of London", "E12000007", "E22000004", 8_600.0),
    "W06000001": ("Isle of Anglesey", None, "W14000001", 69_000.0),
}
SOURCES = {s.id: s for s in load_manifest()}
CASES = [  # generator name, source id, parser module
    ("istv", "istv_ae_assaults", istv),
    ("fingertips_violence", "fingertips_violence_admissions", fingertips),
    ("fingertips_drug_treatment", "fingertips_drug_treatment", fingertips),
]


def small_geo() -> GeoContext:
    areas, links, population = [], [], []
    for lad, (name, region, csp, persons) in LADS.items():
        areas += [(lad, name, "lad"), (csp, name, "csp")]
        links.append((lad, csp, "lad", "csp"))
        if region:
            links.append((lad, region, "lad", "region"))
        for code in (lad, csp):
            population += [(code, year, "all", persons) for year in (2020, 2021)]
    areas += [NORTH_EAST, ("E12000002", "North West", "region"), ("E12000007", "London", "region"), ENGLAND]
    return make_geo(areas, links, population, source_id="ons_mye_2021")


def test_generator_names_match_the_manifest() -> None:
    assert {s.synthetic for s in SOURCES.values() if s.synthetic} == set(GENERATORS)
    with pytest.raises(KeyError):
        generate("no_such_generator", small_geo(), Path("."))


@pytest.mark.parametrize(("name", "source_id", "parser"), CASES)
def test_deterministic_and_read_back_as_synthetic(tmp_path: Path, name: str, source_id: str,
                                                  parser) -> None:
    geo = small_geo()
    first = generate(name, geo, tmp_path / "a" / source_id)
    second = generate(name, geo, tmp_path / "b" / source_id)
    assert [p.name for p in first] == [p.name for p in second] and first
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
        assert sidecar_path(a).read_bytes() == sidecar_path(b).read_bytes()

    staged = parser.parse(first, SOURCES[source_id], geo)
    assert not staged.observations.empty
    assert set(staged.observations["quality"]) == {"synthetic"}
    for table in staged.tables.values():
        if "quality" in table:
            assert set(table["quality"]) == {"synthetic"}


@pytest.mark.parametrize(("name", "source_id", "parser"), CASES)
def test_same_file_without_sidecar_is_not_synthetic(tmp_path: Path, name: str, source_id: str,
                                                    parser) -> None:
    geo = small_geo()
    generated = generate(name, geo, tmp_path / "gen")
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    copies = [Path(shutil.copy(p, real_dir / p.name)) for p in generated]
    staged = parser.parse(copies, SOURCES[source_id], geo)
    assert set(staged.observations["quality"]) == {SOURCES[source_id].quality}


def test_istv_layout_coverage_and_magnitudes(tmp_path: Path) -> None:
    geo = small_geo()
    files = generate("istv", geo, tmp_path)
    assert files[0].name == "istv_synthetic_2022-04.csv"
    assert len(files) == 24 and files[-1].name == "istv_synthetic_2024-03.csv"
    with files[0].open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == istv.LAYOUT_COLUMNS
    staged = istv.parse(files, istv_source(), geo)
    obs = staged.observations
    totals = obs[obs["indicator_id"] == istv.ATTENDANCES]
    assert set(totals["area_code"]) == geo.codes("csp")
    assert totals.groupby("area_code").size().eq(24).all()
    # England-and-Wales-wide annual rate per 100,000: assumed about 100 (90-110 plus noise)
    annual = totals["count"].sum() / 2 / sum(p for *_, p in LADS.values()) * 100_000
    assert 60 < annual < 160
    knife = obs.loc[obs["indicator_id"] == istv.KNIFE_SHARP, "count"].sum()
    assert 0.05 < knife / totals["count"].sum() < 0.2
    counts = staged.tables["istv_counts"]
    dow = counts[counts["dimension"] == "dow"].groupby("category")["count"].sum()
    assert dow["Sat"] > dow["Tue"]  # weekend peak
    hours = counts[counts["dimension"] == "hour"].groupby("category")["count"].sum()
    assert hours["22"] > hours["06"]  # late-evening peak


def istv_source():
    return SOURCES["istv_ae_assaults"]


def test_fingertips_layout_and_magnitudes(tmp_path: Path) -> None:
    geo = small_geo()
    (violence,) = generate("fingertips_violence", geo, tmp_path)
    raw = violence.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as published
    header = next(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert len(header) == 27 and header[:22] == fingertips.EXPORT_COLUMNS[:22]
    staged = fingertips.parse([violence], SOURCES["fingertips_violence_admissions"], geo)
    obs = staged.observations
    assert set(obs["period_type"]) == {"pooled_financial_years"}
    assert obs["period_label"].str.fullmatch(r"\d{4}/\d{2} - \d{2}/\d{2}").all()
    england = obs.loc[obs["area_code"] == "E92000001", "value"]
    assert england.between(20, 80).all()
    # Welsh LADs are not in Fingertips; each English LAD was listed twice and de-duplicated
    assert not obs["area_code"].str.startswith("W").any()
    skipped = staged.tables["skipped_rows"]
    assert skipped.loc[skipped["reason"] == fingertips.DUPLICATE_REASON, "rows"].sum() == 4 * 5
    # City of London: small population -> suppressed, with the publisher's note, not zero
    city = obs[obs["area_code"] == "E09000001"]
    assert city["value"].isna().any() and city["suppressed_reason"].notna().any()

    (drugs,) = generate("fingertips_drug_treatment", geo, tmp_path)
    staged = fingertips.parse([drugs], SOURCES["fingertips_drug_treatment"], geo)
    ind = staged.indicators.set_index("indicator_id")
    assert set(ind.index) == {"fingertips_90244_persons_18plus",
                              "fingertips_90245_persons_18plus",
                              "fingertips_99001_persons_18plus"}
    eng = staged.observations[staged.observations["area_code"] == "E92000001"]
    eng = eng.groupby("indicator_id")["value"].mean()
    assert 2 < eng["fingertips_90244_persons_18plus"] < 10
    assert 20 < eng["fingertips_90245_persons_18plus"] < 40
