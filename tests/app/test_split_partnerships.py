"""Split and merged partnerships on the profile (issue #12 item 5).

- Aylesbury Vale shares the Buckinghamshire unitary authority with three other CSPs and has no
  population of its own: its count stands beside Buckinghamshire's rate, with a link.
- North Yorkshire CSP is seven former districts: one partnership total first, the districts
  folded underneath, and no total where a district's figure is suppressed or the rate is a DSR.

Expected values are worked out here: police.uk records counted from the raw Thames Valley file
and the ONS mid-2021 population read from the MYE2 sheet; district sums and the Wilson interval
computed by hand from the warehouse rows with duckdb, not through app code.
"""
from __future__ import annotations

import csv
import gzip
import math

import pytest
from python_calamine import CalamineWorkbook

from tests.app.test_pages_apptest import markdown_text, run_page

AYLESBURY, BUCKS, NORTH_YORKS = "E22000303", "E06000060", "E22000372"
MONTH = "2024-03"


def _raw_bucks_records(mirror, crime_type: str) -> int:
    """Thames Valley's March 2024 records whose LSOA is in Buckinghamshire (LSOA names carry the
    council's name, or a pre-2020 district's)."""
    districts = {"Buckinghamshire", "Aylesbury Vale", "Chiltern", "South Bucks", "Wycombe"}
    with gzip.open(mirror / "police_uk" / MONTH / f"{MONTH}-thames-valley-street.csv.gz", "rt",
                   encoding="utf-8") as fh:
        return sum(1 for r in csv.DictReader(fh)
                   if r["Crime type"] == crime_type and r["LSOA name"].rsplit(" ", 1)[0] in districts)


def _mid_2021_population(mirror, code: str) -> float:
    rows = CalamineWorkbook.from_path(
        str(mirror / "population/ukpopestimatesmid2021on2021geographyfinal.xlsx")).get_sheet_by_name(
        "MYE2 - Persons").to_python()
    return float(next(r for r in rows if r[0] == code)[3])


def test_split_csp_gets_its_councils_rate_beside_its_count(wh, mirror):
    from app import queries as q
    from app.profile import csp_profile

    assert list(q.split_councils(AYLESBURY)["area_code"]) == [BUCKS]
    assert q.split_councils(NORTH_YORKS).empty  # whole districts: the CSP has its own population
    _, rows = csp_profile(AYLESBURY, MONTH)
    r = rows[rows.indicator_id == "police_uk_violence_and_sexual_offences"].iloc[0]
    assert r["area_code"] == AYLESBURY and r["count"] == 390 and math.isnan(r["value"])  # never divided
    count = _raw_bucks_records(mirror, "Violence and sexual offences")
    pop = _mid_2021_population(mirror, BUCKS)
    assert (count, pop) == (1136, 555_257)
    assert (r["council_code"], r["council_name"], r["council_period"]) == (BUCKS, "Buckinghamshire", MONTH)
    assert r["council_count"] == count
    assert r["council_value"] == pytest.approx(count / pop * 100_000)  # 204.6 per 100,000
    assert r["council_lower_ci"] < r["council_value"] < r["council_upper_ci"]
    assert r["council_phrase"].startswith("significantly lower than England & Wales")
    drugs = rows[rows.indicator_id == "police_uk_drugs"].iloc[0]
    assert drugs["council_count"] == _raw_bucks_records(mirror, "Drugs") == 71
    # rows that have a figure of their own get no council figure
    assert rows.loc[rows.value.notna(), "council_code"].isna().all()


def test_split_csp_profile_page_links_the_council(wh):
    at = run_page("pages/1_Area_profile.py", area=AYLESBURY, period=MONTH)
    text = markdown_text(at)
    assert ("its council, **Buckinghamshire** (local authority E06000060, which includes Aylesbury Vale), "
            "in the same period: **204.6**") in text
    assert "count 1,136" in text
    assert f"[Buckinghamshire (Local authority) - open profile](/Area_profile?area={BUCKS})" in text


def test_merged_csp_total_first_districts_folded(wh, sql):
    from app.profile import csp_profile

    _, rows = csp_profile(NORTH_YORKS, MONTH)
    ind = "fingertips_90245_persons_18plus"  # a percentage: completions / adults in treatment
    mine = rows[rows.indicator_id == ind]
    total, parts = mine.iloc[0], mine.iloc[1:]
    assert total["area_code"] == NORTH_YORKS and total["partnership_total_of"] == 7
    assert total["geo_label"] == "Community Safety Partnership: North Yorkshire, total of its 7 former districts"
    assert len(parts) == 7 and (parts["folded_under"] == ind).all()
    (x, n), = sql(
        "SELECT sum(o.count), sum(o.denominator) FROM observations o JOIN area_links l ON l.child_code = o.area_code "
        "WHERE l.parent_code = ? AND l.child_type = 'lad' AND l.valid_to IS NULL AND o.indicator_id = ? "
        "AND o.period_label = '2022/23' AND o.source_id NOT LIKE '%#%'", NORTH_YORKS, ind)
    assert (x, n) == (176, 553)
    p, z = x / n, 1.959963984540054
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n
                                                                                           + z * z / (4 * n * n))
    assert total["count"] == x and total["denominator"] == n
    assert total["value"] == pytest.approx(100 * p)
    assert (total["lower_ci"], total["upper_ci"]) == pytest.approx((100 * (centre - half), 100 * (centre + half)))
    assert total["quality"] == "synthetic" and "not compared" in total["bench1_phrase"]  # stand-ins stay labelled
    # a suppressed district: no total (adding the others would understate it), and why
    opiates = rows[rows.indicator_id == "fingertips_90244_persons_18plus"].iloc[0]
    assert math.isnan(opiates["value"]) and "4 of the 7 districts' counts are suppressed" in opiates["suppressed_reason"]
    # a directly standardised rate is not added up
    dsr = rows[rows.indicator_id == "fingertips_11201_persons_all"].iloc[0]
    assert "directly standardised rate cannot be added up" in dsr["suppressed_reason"]
    # figures published for the CSP itself are left alone
    assert (rows[rows.indicator_id == "drug_deaths_rate_3y"]["area_code"] == NORTH_YORKS).all()


def test_merged_csp_page_folds_the_districts(wh):
    at = run_page("pages/1_Area_profile.py", area=NORTH_YORKS, period=MONTH)
    folds = [e for e in at.expander if e.label.startswith("The 7 former districts")]
    assert len(folds) == 3 + 1  # 11201, 90244, 90245, 99001
    assert "Craven, Hambleton, Harrogate, Richmondshire, Ryedale, Scarborough, Selby" in folds[0].label
    everywhere = [m.value for m in at.markdown]
    inside = [m.value for e in folds for m in e.markdown]
    craven = [v for v in everywhere if "Local authority\\: Craven" in v]
    assert len(craven) == 4 and craven == [v for v in inside if "Local authority\\: Craven" in v]  # all folded
    totals = [v for v in everywhere if "North Yorkshire, total of its 7 former districts" in v]
    assert len(totals) == 4 and not set(totals) & set(inside)  # the totals stand outside the folds
    assert any("2022/23: **1,764** adults in treatment" in v for v in totals)
