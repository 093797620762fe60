"""Most similar partnerships on the profile and Compare: the group, its average counted as the
area's figure is (sum of counts / sum of populations), and one verdict on both pages.

Expected values are computed here with duckdb straight from the warehouse tables (the group from
`similar_areas`, counts and populations from `observations`) and exact Poisson limits (tests/poisson_verdict), not through
app.queries or app.benchmarks.
"""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app.indicator_format import is_rate
from app.safe_text import as_shown
from tests.app.page_runner import run_page
from tests.poisson_verdict import verdicts

VIOLENCE = "police_uk_violence_and_sexual_offences"
MONTH = "2024-03"


def expected_verdict(sql, code: str, indicator: str, month: str) -> tuple[frozenset[str], float, int]:
    """(the verdicts a correct product may give, group average, members with a figure) worked out
    from the tables; the verdicts from exact Poisson limits (tests/poisson_verdict)."""
    (count, pop), = sql("SELECT count, denominator FROM observations WHERE indicator_id = ? AND area_code = ? "
                        "AND period_label = ? AND source_id NOT LIKE '%#%'", indicator, code, month)
    (g_count, g_pop, n), = sql(
        """SELECT sum(o.count), sum(o.denominator), count(*) FROM observations o
           JOIN similar_areas s ON s.neighbour_code = o.area_code AND s.area_code = ?
           WHERE o.indicator_id = ? AND o.period_label = ? AND o.source_id NOT LIKE '%#%'
             AND o.count IS NOT NULL AND o.denominator > 0""", code, indicator, month)
    avg = g_count / g_pop * 100_000
    return verdicts(count, pop, avg), avg, n


def shown(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return as_shown("\n".join(parts))


@pytest.mark.parametrize("code", ["E22000308", "W14000015", "E22000001"])
def test_group_average_and_verdict_counted_like_the_figure(wh, sql, code):
    """Oxford, Cardiff (no DfE factors) and Bath & NE Somerset: the group average is the group's
    summed counts over their summed population, and the profile's verdict follows from it."""
    from app import profile as pr

    _, rows = pr.csp_profile(code, MONTH)
    row = rows[(rows["indicator_id"] == VIOLENCE) & (rows["area_code"] == code)].iloc[0]
    want, avg, n = expected_verdict(sql, code, VIOLENCE, MONTH)
    assert row["similar_value"] == pytest.approx(avg, rel=1e-12)
    assert row["_similar_result"].significance in want
    assert row["similar_basis"].startswith(f"sum of the counts of {n} of these 15 partnerships")
    assert row["similar_label"].split(" ", 1)[1].lower().startswith(
        {"higher": "significantly higher", "lower": "significantly lower", "similar": "similar"}[
            row["_similar_result"].significance])
    # a count (not a rate) is never set against the group
    counts = rows[~rows.apply(is_rate, axis=1) & rows["area_code"].eq(code)]
    assert len(counts) and counts["similar_label"].isna().all()


def test_the_same_area_indicator_and_period_get_one_verdict_on_both_pages(wh, sql):
    """Every CSP with a group and a violence figure in March 2024: the profile's verdict
    (`similar_comparison`, as csp_profile calls it) equals Compare's for that area in its similar
    set (`similar_set_comparisons`); both pages are then checked on screen for Oxford."""
    from app import benchmarks as bm
    from app import queries as q
    from app.disclosure_view import control

    everyone = control(q.observations([VIOLENCE], period_label=MONTH))
    everyone = everyone[everyone["area_type"] == "csp"]
    codes = sorted(c for (c,) in sql("SELECT DISTINCT area_code FROM similar_areas"))
    with_figure = [c for c in codes if c in set(everyone.loc[everyone["value"].notna(), "area_code"])]
    assert len(with_figure) > 200
    seen = set()
    for code in with_figure:
        row = everyone[everyone["area_code"] == code].iloc[0].to_dict()
        _, _, profile_result = bm.similar_comparison(row, "csp")
        group = [code, *q.similar_partnerships(code)["neighbour_code"]]
        compare = bm.similar_set_comparisons(everyone[everyone["area_code"].isin(group)], code, VIOLENCE, MONTH, "month")
        assert compare.set_index("area_code").loc[code, "comparison_phrase"] == profile_result.phrase
        seen.add(profile_result.significance)
    assert {"higher", "lower", "similar"} <= seen

    # Both pages, on screen, for Oxford
    want, avg, _ = expected_verdict(sql, "E22000308", VIOLENCE, MONTH)
    assert len(want) == 1, "Oxford's figure is not a borderline case: the words below are checked"
    label = {"higher": "Significantly higher", "lower": "Significantly lower", "similar": "Similar"}[next(iter(want))]
    compare = run_page("pages/3_Compare.py", similar="E22000308", level="csp", indicator=VIOLENCE, period=MONTH)
    profile = run_page("pages/1_Area_profile.py", area="E22000308", period=MONTH, indicator=VIOLENCE)
    compare_line = [ln for ln in shown(compare).split("\n") if "vs most similar partnerships:" in ln]
    assert len(compare_line) == 1 and label in compare_line[0] and f"group average {avg:,.1f}" in compare_line[0]
    text = shown(profile)
    violence = text.index("**Violence and sexual offences (police.uk")
    profile_line = [ln for ln in text[violence:].split("\n") if "vs most similar partnerships:" in ln][0]
    assert label in profile_line and f"({avg:,.1f};" in profile_line
    verdict = compare_line[0].split("vs most similar partnerships: ")[1].split(" (")[0]
    assert profile_line.split("vs most similar partnerships: ")[1].startswith(verdict)


def test_compare_offers_the_group_as_the_comparison_set(wh, sql):
    group = [c for (c,) in sql("SELECT neighbour_code FROM similar_areas WHERE area_code = 'E22000308' ORDER BY rank")]
    with_figure = {c for (c,) in sql("SELECT area_code FROM observations WHERE indicator_id = ? AND period_label = ? "
                                     "AND value IS NOT NULL", VIOLENCE, MONTH)}
    at = run_page("pages/3_Compare.py", similar="e22000308", level="csp", indicator=VIOLENCE, period=MONTH)
    assert at.selectbox(key="sel_similar").value == "E22000308"
    assert at.multiselect[0].value == [c for c in ["E22000308", *group] if c in with_figure]
    assert "Oxford against its most similar partnerships" in [s.value for s in at.subheader]
    members = at.dataframe[0].value
    assert members["area_code"].tolist() == group and members["rank"].tolist() == list(range(1, 16))
    text = shown(at)
    assert "CIPFA" in text and "Home Office" in text and "most similar groups" in text
    # the ranked chart's reference line is the group average, and each bar's words say so
    _, avg, _ = expected_verdict(sql, "E22000308", VIOLENCE, MONTH)
    assert "significantly lower than the 15 partnerships most similar to Oxford" in text or \
        "significantly higher than the 15 partnerships most similar to Oxford" in text or \
        "similar to the 15 partnerships most similar to Oxford" in text
    notes = [a.get("text", "") for el in at.get("plotly_chart")
             for a in json.loads(el.proto.spec).get("layout", {}).get("annotations", [])]
    # a rate per 100,000 is drawn with the registry's one decimal (data/indicators.csv)
    assert f"the 15 partnerships most similar to Oxford: {avg:,.1f}" in notes
    assert at.query_params.get("areas") is None
    # an unknown partnership in the link is said, and nothing is shown in its place
    bad = run_page("pages/3_Compare.py", similar="E22999999", level="csp", indicator=VIOLENCE, period=MONTH)
    assert any("E22999999" in e.value for e in bad.error)
    assert not bad.get("plotly_chart")


def test_profile_lists_the_group_with_links_and_says_why_there_is_none(wh, sql):
    names = [n for (n,) in sql("""SELECT a.area_name FROM similar_areas s JOIN areas a
                                  ON a.area_code = s.neighbour_code AND a.valid_to IS NULL
                                  WHERE s.area_code = 'W14000015' ORDER BY s.rank""")]
    at = run_page("pages/1_Area_profile.py", area="W14000015", period=MONTH)
    assert "Most similar partnerships" in [s.value for s in at.subheader]
    table = [d.value for d in at.dataframe if "neighbour_name" in d.value.columns][0]
    assert table["neighbour_name"].tolist() == names
    assert not table["compared_on"].str.contains("cin_").any()  # Welsh: no DfE factors
    links = " ".join(str(p.proto) for p in at.get("page_link")) + shown(at)
    for name in names:
        assert f"{name} (Community Safety Partnership) - open profile" in links
    assert "Compare Cardiff with its most similar partnerships" in links
    # a partnership inside a split unitary authority has no population, so no group, and says so
    split = run_page("pages/1_Area_profile.py", area="E22000303")
    assert "no population of its own" in shown(split)
