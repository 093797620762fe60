"""Upper-tier council figures compared with England AND their own region (issue #11), and
indicators the registry gives no comparators never compared (issue #10), the same on the profile,
Compare, the map and their CSV downloads.

Expected values are read straight from the warehouse's published rows with SQL beside the app
(the council's interval, its region's published DfE rate) and the verdict worked out here: the
95% interval wholly above the benchmark is "higher", wholly below "lower", else "similar".
"""
from __future__ import annotations

from io import StringIO

import pandas as pd
import pytest

from tests.app.page_runner import run_page

IND, PERIOD = "dfe_cin_gangs_rate", "2021/22"
KENT, SOUTH_EAST, ENGLAND = "E10000016", "E12000008", "E92000001"


def _verdict(lower: float, upper: float, bench: float) -> str:
    return "higher" if lower > bench else "lower" if upper < bench else "similar"


def _published(sql, code: str) -> tuple[float, float, float, float]:
    (row,) = sql("SELECT count, value, lower_ci, upper_ci FROM observations WHERE indicator_id = ? "
                 "AND period_label = ? AND area_code = ?", IND, PERIOD, code)
    return row


def test_kent_against_england_and_the_south_east_by_hand(wh, sql):
    """Kent County Council, children in need assessments citing gangs, 2021/22: DfE publishes the
    South East's count (1,300, rounded to 10) and ONS its children aged 0-17 (1,936,228):
    1300 / 1936228 x 10,000 = 6.714 per 10,000. Kent's interval lies wholly below it and below
    England's 11600 / 11761656 x 10,000 = 9.863."""
    from app import queries as q
    from app.benchmarks import profile_comparisons

    se_count, se_value, _, _ = _published(sql, SOUTH_EAST)
    assert se_count == 1300 and se_value == pytest.approx(1300 / 1936228 * 10_000)
    assert _published(sql, ENGLAND)[1] == pytest.approx(11600 / 11761656 * 10_000)
    count, value, lower, upper = _published(sql, KENT)
    assert upper < 1300 / 1936228 * 10_000
    row = q.level_observations(IND, "utla", PERIOD)
    row = row[row["area_code"] == KENT].iloc[0].to_dict()
    comps = profile_comparisons(row, "utla", q.area_geography(KENT))
    assert [(c.role, c.code, c.name) for c, _, _ in comps] == [
        ("national", ENGLAND, "England"), ("region", SOUTH_EAST, "South East")]
    assert [res.significance for _, _, res in comps] == ["lower", "lower"]
    assert comps[1][1]["value"] == pytest.approx(se_value) and comps[1][1]["basis"] == "as published"
    assert comps[1][2].phrase == "significantly lower than South East"


def test_profile_compare_map_and_csv_agree_for_every_council(wh, sql):
    """Every council with a 2021/22 figure: the profile's England and region verdicts equal the
    hand-worked ones, and Compare, the map and both CSVs carry the same words."""
    from app import benchmarks as bm
    from app import queries as q
    from app.benchmarks import profile_comparisons
    from app.disclosure_view import control, download_csv

    everyone = control(q.level_observations(IND, "utla", PERIOD))  # as the profile's rows are
    compared = bm.national_comparisons(everyone, IND, "utla", PERIOD, "financial_year")
    mapped = bm.national_comparisons(q.level_map_values(IND, "utla", PERIOD), IND, "utla", PERIOD, "financial_year")
    compare_csv = pd.read_csv(StringIO(download_csv(compared).decode("utf-8")))
    map_csv = pd.read_csv(StringIO(download_csv(mapped).decode("utf-8")))
    views = {name: df.set_index("area_code") for name, df in
             (("compare", compared), ("map", mapped), ("compare_csv", compare_csv), ("map_csv", map_csv))}
    regions = dict(sql("SELECT area_code, value FROM observations WHERE indicator_id = ? AND period_label = ? "
                       "AND area_code LIKE 'E12%'", IND, PERIOD))
    assert len(regions) == 9
    england = _published(sql, ENGLAND)[1]
    checked, seen = 0, set()
    for r in everyone.to_dict("records"):
        region = q.area_region(r["area_code"])
        assert region is not None and region[0] in regions, r["area_code"]
        comps = profile_comparisons(r, "utla", q.area_geography(r["area_code"]))
        assert [c.role for c, _, _ in comps] == ["national", "region"]
        (_, _, national), (rc, _, regional) = comps
        assert rc.code == region[0]
        if pd.notna(r["value"]) and r["count"] >= 10:
            assert national.significance == _verdict(r["lower_ci"], r["upper_ci"], england), r["area_code"]
            assert regional.significance == _verdict(r["lower_ci"], r["upper_ci"], regions[region[0]]), r["area_code"]
            seen.add(regional.significance)
            checked += 1
        for name, view in views.items():
            assert view.loc[r["area_code"], "comparison_phrase"] == national.phrase, (name, r["area_code"])
            assert view.loc[r["area_code"], "region_phrase"] == regional.phrase, (name, r["area_code"])
    assert checked > 100 and seen == {"higher", "lower", "similar"}


def test_region_without_a_published_figure_is_summed_from_its_councils(wh, sql):
    """Fingertips child injuries (0-14) have no region rows: the South East benchmark of an
    upper-tier figure is the sum of the region's council counts over their populations, and says so."""
    from app import benchmarks as bm

    ind = "fingertips_90284_persons_15"
    (period,) = sql("SELECT max(period_label) FROM observations o JOIN areas a USING (area_code) "
                    "WHERE o.indicator_id = ? AND a.area_type = 'utla'", ind)[0]
    assert not sql("SELECT 1 FROM observations WHERE indicator_id = ? AND area_code LIKE 'E12%'", ind)
    # councils of the South East with a figure: counties by their region link, unitary councils
    # (E06) by the lookup's force area in the South East
    rows = sql("""
        SELECT DISTINCT o.area_code, o.count, o.denominator FROM observations o
        WHERE o.indicator_id = ? AND o.period_label = ? AND o.count IS NOT NULL AND (
            o.area_code IN (SELECT child_code FROM area_links WHERE parent_type = 'region' AND parent_code = ?)
            OR (o.area_code LIKE 'E06%' AND o.area_code IN (
                SELECT l.child_code FROM area_links l JOIN area_links p ON p.child_code = l.parent_code
                JOIN area_links r ON r.child_code = p.parent_code
                WHERE l.parent_type = 'csp' AND p.parent_type = 'pfa' AND r.parent_type = 'region'
                  AND r.parent_code = ?)))""", ind, period, SOUTH_EAST, SOUTH_EAST)
    assert len(rows) > 10
    want = sum(c for _, c, _ in rows) / sum(d for _, _, d in rows) * 10_000
    bench = bm.region_benchmarks(ind, "utla", period, "financial_year", [SOUTH_EAST])
    got = bench[SOUTH_EAST]
    assert got["value"] == pytest.approx(want, rel=1e-9)
    assert got["basis"].startswith(f"sum of the counts of the region's {len(rows)} upper-tier")
    assert "no published regional figure" in got["basis"]


def test_an_indicator_the_registry_does_not_compare_is_not_compared_anywhere(wh):
    """dfe_cin_gangs (a count; registry comparators 'none'): "not compared" with the registry's
    reason on the profile, the map and its CSV, never a verdict."""
    from app import benchmarks as bm
    from app import profile as pr
    from app import queries as q
    from app.disclosure_view import download_csv

    reason = "a count, not a rate: the indicator registry gives it no benchmark"
    _, rows = pr.csp_profile("E22000142")  # Maidstone: shown at Kent County Council
    row = rows[rows["indicator_id"] == "dfe_cin_gangs"].iloc[0]
    assert row["bench1_label"] == f"○ Not compared: {reason}" and not isinstance(row.get("bench1_name"), str)
    assert row["_result1"].reason == reason
    (period,) = q.level_periods("dfe_cin_gangs", "utla")["period_label"].head(1)
    mapped = bm.national_comparisons(q.level_map_values("dfe_cin_gangs", "utla", period), "dfe_cin_gangs", "utla",
                                     period, "financial_year")
    assert set(mapped["significance"]) == {"not compared"} and set(mapped["not_compared_reason"]) == {reason}
    csv = pd.read_csv(StringIO(download_csv(mapped).decode("utf-8")))
    assert set(csv["comparison_phrase"]) == {f"not compared ({reason})"}
    assert bm.national_benchmark("dfe_cin_gangs", "utla", period, "financial_year") == (None, None)


def test_profile_page_shows_the_council_against_its_region(wh):
    from tests.app.test_pages_apptest import markdown_text

    text = markdown_text(run_page("pages/1_Area_profile.py", area="E22000142"))  # Maidstone, in Kent
    assert "vs England" in text and "vs South East" in text
    assert "Not compared: a count, not a rate: the indicator registry gives it no benchmark" in text


def test_compare_page_shows_each_council_against_its_region(wh):
    from tests.app.test_pages_apptest import markdown_text

    at = run_page("pages/3_Compare.py", indicator=IND, level="utla", period=PERIOD,
                  areas=f"{KENT},E06000035")  # Kent and Medway, both South East
    text = markdown_text(at)
    assert "Compared with their region" in text
    assert "Kent: significantly lower than South East" in text
    assert "Benchmark: England (" in text
    # the ranked chart carries the region verdict too (hover), the table's words; the funnel and the
    # chart's line say they are England only
    from tests.app.test_pages_apptest import figures

    bars = figures(at)[0]["data"][0]
    hover = {y: c[4] for y, c in zip(bars["y"], bars["customdata"], strict=True)}
    assert hover["Kent"].startswith("vs region: significantly lower than South East")
    assert "%{customdata[4]}" in bars["hovertemplate"]
    assert "each council's comparison with its own region is in its hover text" in text
    assert "The funnel sets every area against England" in text
