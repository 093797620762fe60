"""Map and Compare at every geography a publisher releases (issue #11): upper-tier councils for
DfE (counties and unitary councils together, the upper tier of each period), regions for HES and
drug deaths, rates per 10,000 children kept in their own unit.

Expected values come from the raw files in the mirror (read here with csv / python_calamine) or
from duckdb on the warehouse, never from app.queries itself.
"""
from __future__ import annotations

import csv
import re

import pytest
from python_calamine import CalamineWorkbook

from tests.app.test_pages_apptest import figures, markdown_text, run_page

KENT, CUMBRIA, CUMBERLAND = "E10000016", "E10000006", "E06000063"
BUCKS_UA, BUCKS_COUNTY = "E06000060", "E10000002"
DFE_FILE = "children/c3_factors_identified_at_end_of_assessment_2018_to_2025.csv"
MYE_2021 = "population/ukpopestimatesmid2021on2021geographyfinal.xlsx"


def _raw_gangs(mirror, code: str, year: str) -> float:
    with open(mirror / DFE_FILE, newline="", encoding="utf-8") as fh:
        hits = [r["Gangs"] for r in csv.DictReader(fh) if r["new_la_code"] == code and r["time_period"] == year]
    assert len(hits) == 1
    return float(hits[0])


def _children_0_17(mirror, code: str) -> float:
    rows = CalamineWorkbook.from_path(str(mirror / MYE_2021)).get_sheet_by_name("MYE2 - Persons").to_python()
    header = next(r for r in rows if r[:2] == ["Code", "Name"])
    ages = [header.index(str(a)) for a in range(18)]
    row = next(r for r in rows if r[0] == code)
    return sum(float(row[i]) for i in ages)


# ---------------------------------------------------------------- which levels
def test_levels_are_the_publishers_geographies(wh):
    from app import queries as q

    assert q.indicator_levels("dfe_cin_gangs_rate") == ["utla", "region"]  # not a 'lad' level of unitaries
    assert q.indicator_levels("dfe_cla_convicted_10_17") == ["utla", "region"]
    assert q.indicator_levels("hes_sharp_object_assault_fae") == ["region"]
    assert q.indicator_levels("drug_deaths_rate_3y") == ["csp", "lad", "region"]
    # police.uk and Home Office knife crime are released per CSP / force: their region rows are
    # our sums of complete forces (benchmarks), never offered as a map or ranking of regions.
    assert q.indicator_levels("police_uk_robbery") == ["csp", "lad", "pfa"]
    assert q.indicator_levels("knife_offences_total") == ["pfa"]
    assert q.indicator_levels("no_such_indicator") == []


# ---------------------------------------------------------------- the upper tier of each period
def test_upper_tier_map_value_is_the_raw_count_over_children(wh, mirror):
    from app import queries as q

    v = q.upper_tier_map_values("dfe_cin_gangs_rate", "2021/22").set_index("area_code")
    count, children = _raw_gangs(mirror, KENT, "2022"), _children_0_17(mirror, KENT)
    assert (count, children) == (145, 336_209)
    assert v.loc[KENT, "count"] == count and v.loc[KENT, "denominator"] == children
    assert v.loc[KENT, "value"] == pytest.approx(145 / 336_209 * 10_000)  # 4.31 per 10,000 children
    assert v.loc[KENT, "unit"] == "per 10,000 children aged 0-17"
    assert v.loc[KENT, "map_unit"] == KENT and v.loc[KENT, "area_type"] == "utla"
    # a unitary council (stored once, as a LAD) is on the same map
    assert v.loc[BUCKS_UA, "count"] == _raw_gangs(mirror, BUCKS_UA, "2022") == 129


@pytest.mark.parametrize("period", ["2017/18", "2019/20", "2021/22", "2022/23", "2023/24", "2024/25"])
def test_upper_tier_map_covers_each_district_once(wh, sql, period):
    from app import queries as q

    v = q.upper_tier_map_values("dfe_cin_gangs", period)
    # every upper-tier council with a DfE row for the period is on the map (as DfE published it)
    published = {c for (c,) in sql(
        "SELECT DISTINCT o.area_code FROM observations o JOIN areas a USING (area_code) "
        "WHERE o.indicator_id = 'dfe_cin_gangs' AND o.period_label = ? AND a.area_type IN ('utla', 'lad')",
        period)}
    assert published <= set(v["area_code"])
    assert v["area_code"].is_unique
    # the drawn shapes cover each current English district exactly once (no shape on another)
    member = dict(sql("SELECT child_code, list(parent_code) FROM area_links WHERE parent_type = 'utla' "
                      "AND child_type = 'lad' GROUP BY child_code"))
    drawn = v.dropna(subset=["map_unit"])["area_code"]
    cover: dict[str, int] = {}
    for code in drawn:
        lads = [lad for lad, parents in member.items() if code in parents] or [code]
        for lad in lads:
            cover[lad] = cover.get(lad, 0) + 1
    english = {c for (c,) in sql("SELECT area_code FROM areas WHERE area_type = 'lad' AND valid_to IS NULL "
                                 "AND area_code LIKE 'E%'")}
    assert {k: n for k, n in cover.items() if n > 1} == {}
    assert english <= set(cover)
    # the geojson holds exactly the drawn shapes, one feature each
    geo = q.level_geojson("utla", tuple(v["area_code"]))
    assert sorted(f["id"] for f in geo["features"]) == sorted(drawn)


def test_reorganised_councils_appear_in_their_own_years(wh):
    from app import queries as q

    before = set(q.upper_tier_map_values("dfe_cin_gangs", "2021/22")["area_code"])
    after = set(q.upper_tier_map_values("dfe_cin_gangs", "2023/24")["area_code"])
    assert CUMBRIA in before and CUMBERLAND not in before
    assert CUMBERLAND in after and CUMBRIA not in after
    early = q.upper_tier_map_values("dfe_cin_gangs", "2018/19").set_index("area_code")
    assert BUCKS_COUNTY in early.index and BUCKS_UA not in early.index
    # Dorset county (to March 2019) matches no set of 2021 districts: listed, not drawn, says why
    assert early.loc["E10000009", "value"] == 10
    assert pd_isna(early.loc["E10000009", "map_unit"]) and "no boundary" in early.loc["E10000009", "map_note"]


def pd_isna(v) -> bool:
    return v is None or v != v


def test_every_upper_tier_council_and_region_with_figures_has_a_shape(sql):
    missing = sql("""
        SELECT DISTINCT o.area_code FROM observations o JOIN indicators i USING (indicator_id)
        JOIN areas a ON a.area_code = o.area_code
        LEFT JOIN boundaries b ON b.area_code = o.area_code AND b.area_type IN ('utla', 'lad', 'region')
        WHERE i.geography_level = 'utla' AND (a.area_type = 'utla' OR a.area_type = 'lad' OR a.area_type = 'region')
          AND b.area_code IS NULL ORDER BY 1""")
    # only the documented exceptions: Dorset county (to 2019) and pre-2019 Bournemouth and Poole
    assert [c for (c,) in missing] == ["E06000028", "E06000029", "E10000009"]
    (regions,), = sql("SELECT count(DISTINCT map_unit) FROM boundaries WHERE area_type = 'region'")
    assert regions == 9


# ---------------------------------------------------------------- pages
def test_map_draws_the_upper_tier_with_links_only_where_a_profile_exists(wh, sql):
    at = run_page("pages/2_Map.py", indicator="dfe_cin_gangs_rate", level="utla", period="2021/22")
    svg = next(m.value for m in at.markdown if "svd-svgmap" in m.value)
    units = re.findall(r'<path data-unit="([^"]+)"', svg)
    assert len(units) == len(set(units)) == 152 and KENT in units and CUMBRIA in units
    (v,), = sql("SELECT value FROM observations WHERE indicator_id = 'dfe_cin_gangs_rate' AND area_code = ? "
                "AND period_label = '2021/22'", KENT)
    kent = re.search(r'<path data-unit="' + KENT + r'" data-value="([^"]+)"', svg)
    assert kent and float(kent.group(1)) == pytest.approx(v, rel=1e-5)
    assert f"Area_profile?area={KENT}" not in svg  # a county has no profile page
    assert f"Area_profile?area={BUCKS_UA}" in svg  # a unitary council is a local authority: it has one
    assert "per 10,000 children aged 0-17" in svg
    assert at.selectbox(key="sel_level").options == ["Upper-tier local authority", "Region"]


def test_map_of_hes_by_region(wh):
    at = run_page("pages/2_Map.py", indicator="hes_sharp_object_assault_fae")
    assert at.query_params["level"] == "region" and at.query_params["period"] == "2021/22"
    svg = next(m.value for m in at.markdown if "svd-svgmap" in m.value)
    assert len(re.findall(r"<path data-unit", svg)) == 9 and "Area_profile" not in svg
    assert "no profile page of its own" in markdown_text(at)


def test_compare_upper_tier_funnel_per_10000_children(wh, sql):
    at = run_page("pages/3_Compare.py", indicator="dfe_cin_gangs_rate", level="utla", period="2021/22",
                  areas=f"{KENT},{BUCKS_UA}")
    assert at.selectbox(key="sel_level").options == ["Upper-tier local authority", "Region"]
    bars, funnel = figures(at)[:2]
    assert set(bars["data"][0]["y"]) == {"Kent", "Buckinghamshire"}
    (eng,), = sql("SELECT value FROM observations WHERE indicator_id = 'dfe_cin_gangs_rate' "
                  "AND area_code = 'E92000001' AND period_label = '2021/22'")
    line = next(t for t in funnel["data"] if t.get("mode") == "lines" and t["name"].startswith("England"))
    assert line["y"][0] == pytest.approx(eng)
    # points are count / children x 10,000 (not per 100,000)
    ys = [y for t in funnel["data"] if t.get("mode") == "markers" for y in t["y"]]
    assert any(y == pytest.approx(145 / 336_209 * 10_000) for y in ys)
    rows = sql("SELECT count(*) FROM observations o JOIN areas a USING (area_code) WHERE o.indicator_id = "
               "'dfe_cin_gangs_rate' AND o.period_label = '2021/22' AND a.area_type IN ('utla', 'lad') "
               "AND o.count IS NOT NULL AND o.denominator IS NOT NULL")
    assert sum(len(t["x"]) for t in funnel["data"] if t.get("mode") == "markers") == rows[0][0]
    assert "England" in markdown_text(at)


def test_compare_hes_regions_and_looked_after_percentages(wh):
    at = run_page("pages/3_Compare.py", indicator="hes_sharp_object_assault_fce")
    assert at.selectbox(key="sel_level").options == ["Region"]
    assert len(figures(at)[0]["data"][0]["y"]) == 8  # the 8 largest of the 9 regions by default
    cla = run_page("pages/3_Compare.py", indicator="dfe_cla_convicted_10_17")
    assert cla.query_params["level"] == "utla"
    assert "not available for this indicator" in markdown_text(cla)  # a percentage has no Poisson funnel
