"""Children's Commissioner estimates, the modelled CSP estimate, and local working estimates."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.manifest import Source
from etl.parsers import gang_working_estimates as gwe
from etl.parsers import gangs
from etl.parsers import national_figures as nf
from tests.csv_rows import write_dict_rows
from tests.small_geo import ENGLAND, TEES_CSPS, TEES_LAD_CSP, TEES_LADS, make_geo

REAL = Path("/work/shared/data/national/national_figures.csv")
TEMPLATE = ROOT / "data" / "templates" / "gang_working_estimates.csv"
CCO = Source(id="cco_gang_estimates", family="gangs", publisher="CCO", title="t", url="",
             licence="OGL", attribution="a", format="csv", cadence="one-off",
             mirror="national/national_figures.csv", parser="gangs", quality="official")
LOCAL = Source(id="local_gang_working_estimates", family="gangs", publisher="CSP", title="t",
               url="", licence="l", attribution="a", format="csv", cadence="when supplied",
               mirror="local/gang_working_estimates*.csv", parser="gang_working_estimates",
               quality="local")
ENGLAND_10_17 = 5_400_000.0
CSP_10_17 = 12_000.0


def small_geo() -> GeoContext:
    """Two ordinary English CSPs, two CSPs sharing one split unitary LAD, one Welsh CSP."""
    return make_geo(
        [ENGLAND, ("W92000004", "Wales", "country"), *TEES_LADS,
         ("E06000060", "Buckinghamshire", "lad"), ("W06000001", "Isle of Anglesey", "lad"), *TEES_CSPS,
         ("E22000003", "Aylesbury Vale", "csp"), ("E22000004", "Wycombe", "csp"), ("W14000001", "Anglesey", "csp")],
        [*TEES_LAD_CSP, ("E06000060", "E22000003", "lad", "csp"), ("E06000060", "E22000004", "lad", "csp"),
         ("W06000001", "W14000001", "lad", "csp")],
        [("E92000001", 2017, "10-17", ENGLAND_10_17), ("E92000001", 2017, "all", 55_000_000.0),
         ("E92000001", 2020, "10-17", 9_999_999.0),  # other years must not be used
         ("E22000001", 2017, "10-17", CSP_10_17), ("E22000002", 2017, "10-17", 20_000.0),
         ("E06000060", 2017, "10-17", 60_000.0), ("W14000001", 2017, "10-17", 7_000.0)])


def write_national(tmp_path: Path, rows: list[dict]) -> Path:
    return write_dict_rows(tmp_path / "national_figures.csv", nf.COLUMNS, rows)


GANG_ROW = {
    "series": "childrens_commissioner_gang_estimates", "geography": "England",
    "period": "2019 report (CSEW 2017/18 data)", "period_type": "point estimate",
    "value": "27000", "unit": "children aged 10-17 who identify as a gang member", "note": "",
    "source_title": "CCO press release (Feb 2019)", "source_url": "https://example.org/cco",
    "quote": "estimates there are 27,000 children in England who identify as a gang member",
}


# --------------------------------------------------------------- official + modelled

@pytest.fixture(scope="module")
def staged():
    if not REAL.exists():
        pytest.skip("national figures mirror not present")
    return gangs.parse([REAL], CCO, small_geo())


def test_official_estimates_for_england(staged):
    off = staged.observations[staged.observations["quality"] == "official"]
    assert set(off["area_code"]) == {"E92000001"}
    values = dict(zip(off["indicator_id"], off["value"]))
    assert values == {
        "gangs_cco_gang_members_10_17": 27_000, "gangs_cco_gang_members_girls_10_17": 12_200,
        "gangs_cco_gang_members_boys_10_17": 14_800, "gangs_cco_siblings": 33_000,
        "gangs_cco_victims_knowing_member": 34_000, "gangs_cco_high_risk_total": 100_000}
    assert set(off["period_label"]) == {"2017/18"}
    notes = dict(zip(off["indicator_id"], off["note"]))
    # file rows are the citation when present, paragraph 83 otherwise
    assert "childrenscommissioner.gov.uk" in notes["gangs_cco_gang_members_10_17"]
    assert "rezume.co.uk" in notes["gangs_cco_siblings"]
    assert "paragraph 83" in notes["gangs_cco_gang_members_girls_10_17"]


def test_modelled_csp_estimate_computed_independently(staged):
    mod = staged.observations[staged.observations["quality"] == "modelled"]
    row = mod[mod["area_code"] == "E22000001"].iloc[0]
    prevalence = 27_000 / ENGLAND_10_17  # 0.5% of England's 10-17s
    expected = prevalence * CSP_10_17  # = 60 children
    assert expected == pytest.approx(60.0)
    assert row["value"] == round(expected)
    assert row["lower_ci"] == round(expected * 0.5 * 0.7)  # 21
    assert row["upper_ci"] == round(expected * 2.0 * 1.3)  # 156
    assert row["denominator"] == CSP_10_17
    assert row["indicator_id"] == "gangs_modelled_gang_members_10_17"
    assert "not a confidence interval" in row["note"]
    ind = staged.indicators.set_index("indicator_id").loc["gangs_modelled_gang_members_10_17"]
    assert ind["geography_level"] == "csp" and "England only" in ind["definition"]


def test_no_welsh_or_split_values_and_reasons_listed(staged):
    mod = staged.observations[staged.observations["quality"] == "modelled"]
    assert set(mod["area_code"]) == {"E22000001", "E22000002"}
    skipped = staged.tables["not_estimated"].set_index("area_code")["reason"]
    assert set(skipped.index) == {"E22000003", "E22000004", "W14000001"}
    assert "England only" in skipped["W14000001"]
    assert "split" in skipped["E22000003"] and "E06000060" in skipped["E22000003"]


def test_falls_back_to_paragraph_83_without_file_rows(tmp_path):
    other = GANG_ROW | {"series": "county_lines_missing_children", "geography": "England and Wales"}
    st = gangs.parse([write_national(tmp_path, [other])], CCO, small_geo())
    off = st.observations[st.observations["quality"] == "official"]
    assert len(off) == 6 and off["note"].str.contains("HC 1016").all()


def test_file_row_disagreeing_with_paragraph_83_is_an_error(tmp_path):
    bad = GANG_ROW | {"value": "28000", "quote": "there are 28,000 children"}
    with pytest.raises(SourceError) as err:
        gangs.parse([write_national(tmp_path, [bad])], CCO, small_geo())
    assert err.value.row == 2 and err.value.column == "value"


def test_no_england_population_is_an_error(tmp_path):
    geo = small_geo()
    geo.population = geo.population[geo.population["area_code"] != "E92000001"]
    with pytest.raises(SourceError, match="England"):
        gangs.parse([write_national(tmp_path, [GANG_ROW])], CCO, geo)


# ------------------------------------------------------------------ local working estimates

def write_local(tmp_path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    return write_dict_rows(tmp_path / "gang_working_estimates.csv", columns or gwe.COLUMNS, rows, drop_extra=True)


LOCAL_ROW = {"csp_code": "E22000001", "period_label": "2024/25", "measure": "gang_members",
             "count": "14", "age_band": "10-17", "notes": "from the exploitation panel",
             "supplied_by": "Hartlepool CSP analyst", "supplied_on": "2025-05-01"}


def test_template_has_header_and_one_marked_example():
    rows = list(csv.DictReader(TEMPLATE.open(encoding="utf-8")))
    assert list(rows[0]) == gwe.COLUMNS and len(rows) == 1
    assert rows[0]["supplied_by"] == "EXAMPLE" and rows[0]["notes"].startswith("EXAMPLE ROW")
    with pytest.raises(SourceError, match="example row"):
        gwe.parse([TEMPLATE], LOCAL, small_geo())


def test_local_estimates_loaded_as_local(tmp_path):
    rows = [LOCAL_ROW, LOCAL_ROW | {"measure": "siblings", "count": "[c]"},
            LOCAL_ROW | {"measure": "high_risk_total", "count": "1,020"}]
    st = gwe.parse([write_local(tmp_path, rows)], LOCAL, small_geo())
    obs = st.observations.set_index("indicator_id")
    assert len(obs) > 0, "nothing to check: an empty result must not pass"
    assert (obs["quality"] == "local").all()
    assert obs.loc["gangs_local_gang_members_10_17", "value"] == 14
    assert obs.loc["gangs_local_high_risk_total_10_17", "value"] == 1020
    assert pd.isna(obs.loc["gangs_local_siblings_10_17", "value"])
    assert obs.loc["gangs_local_siblings_10_17", "suppressed_reason"] == "confidential [c]"
    assert "Hartlepool CSP analyst" in obs.loc["gangs_local_gang_members_10_17", "note"]
    assert set(st.indicators["family"]) == {"gangs"}


@pytest.mark.parametrize("change,column", [
    ({"csp_code": "E22999999"}, "csp_code"), ({"csp_code": "E06000001"}, "csp_code"),
    ({"period_label": "next year"}, "period_label"), ({"measure": "members"}, "measure"),
    ({"count": "-3"}, "count"), ({"count": "2.5"}, "count"), ({"count": "lots"}, "count"),
    ({"supplied_on": "May 2025"}, "supplied_on"), ({"supplied_by": ""}, "supplied_by"),
    ({"count": "1" + "0" * 23}, "count"), ({"period_label": "1900/01"}, "period_label"),
    ({"period_label": "2099/00"}, "period_label"), ({"supplied_on": "2099-01-01"}, "supplied_on"),
])
def test_bad_local_rows(tmp_path, change, column):
    path = write_local(tmp_path, [LOCAL_ROW, LOCAL_ROW | {"measure": "siblings"} | change])
    with pytest.raises(SourceError) as err:
        gwe.parse([path], LOCAL, small_geo())
    assert (err.value.row, err.value.column) == (3, column)
    assert err.value.file == "gang_working_estimates.csv"


def test_local_duplicate_and_missing_column_and_empty(tmp_path):
    with pytest.raises(SourceError, match="twice"):
        gwe.parse([write_local(tmp_path, [LOCAL_ROW, LOCAL_ROW])], LOCAL, small_geo())
    cols = [c for c in gwe.COLUMNS if c != "count"]
    with pytest.raises(SourceError) as err:
        gwe.parse([write_local(tmp_path, [LOCAL_ROW], cols)], LOCAL, small_geo())
    assert err.value.column == "count"
    with pytest.raises(SourceError, match="no data rows"):
        gwe.parse([write_local(tmp_path, [])], LOCAL, small_geo())
