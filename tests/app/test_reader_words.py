"""What a reader reads, from a review of the pages: thousands separators in tables (CSV downloads
keep plain numbers), "6.2%" not "6.2 %", characteristics by name, counts said to be not compared,
a "not compared" reason said once after the compared figures, no ".)." anywhere, Home's metric
labels short enough to show whole. Expected strings are written out by hand or computed here from
the warehouse with duckdb, not through the code under test.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from app.disclosure_view import download_csv
from app.safe_text import as_shown
from app.table_view import formatters, grouped_number_columns
from tests.app.page_runner import run_page

OXFORD = "E22000308"  # Oxford CSP, Thames Valley police force area


def shown(element) -> pd.DataFrame:
    """A table as the browser draws it: the text of each cell (the Styler's display values)."""
    raw = element.proto.arrow_data.styler.display_values
    return pa.ipc.open_stream(raw).read_all().to_pandas()


def markdown_text(at: AppTest) -> str:
    return as_shown("\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]))


@pytest.fixture(scope="module")
def profile(real_warehouse: Path) -> Iterator[AppTest]:
    """The Oxford profile, run once for this module's page checks."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SVD_DB", str(real_warehouse))
        yield run_page("pages/1_Area_profile.py", area=OXFORD)


# ---------------------------------------------------------------- 1. thousands separators
def test_table_numbers_have_thousands_separators_but_years_do_not():
    df = pd.DataFrame({"count": [12345.0, 7.0], "denominator": [1234567.0, None], "value": [12345.67, 6.24],
                       "mid_year": [2024, 2023], "financial_year": [2019, 2020], "flag": [True, False]})
    f = formatters(df)
    assert [f["count"](v) for v in df["count"]] == ["12,345", "7"]
    assert [f["denominator"](v) for v in df["denominator"]] == ["1,234,567", ""]
    assert [f["value"](v) for v in df["value"]] == ["12,345.7", "6.24"]
    assert [f["mid_year"](v) for v in df["mid_year"]] == ["2024", "2023"]
    assert f["financial_year"](2019) == "2019"
    # a table too large to style cell by cell asks streamlit for separators on the same columns
    assert grouped_number_columns(df) == ["count", "denominator", "value"]


def test_csv_downloads_keep_plain_machine_readable_numbers():
    df = pd.DataFrame({"area_code": ["E22000308"], "count": [12345.0], "denominator": [162100.0], "value": [7615.67]})
    back = pd.read_csv(io.BytesIO(download_csv(df)))
    assert back.loc[0, "count"] == 12345 and back.loc[0, "denominator"] == 162100
    assert "12,345" not in download_csv(df).decode()


def test_profile_table_shows_separators(profile, sql):
    table = next(d for d in profile.dataframe if "denominator" in d.value.columns and "geo_label" in d.value.columns)
    text = shown(table)
    big = table.value["denominator"].dropna()
    big = big[big >= 1000]
    assert len(big), "the profile has populations in the thousands"
    for i, v in big.items():
        assert text.loc[i, "denominator"] == f"{v:,.0f}"
    # the same population as the warehouse holds it, written with a separator
    (pop,) = sql("SELECT denominator FROM observations WHERE area_code = ? AND indicator_id = "
                 "'police_uk_robbery' AND denominator IS NOT NULL ORDER BY period_end DESC LIMIT 1", OXFORD)[0]
    assert f"{pop:,.0f}" in set(text["denominator"])


# ---------------------------------------------------------------- 2. percentages
def test_profile_writes_percentages_against_the_number(profile, sql):
    text = markdown_text(profile)
    assert not re.search(r"\d %", text), re.findall(r".{40}\d %.{10}", text)
    # DfE looked-after children with a substance misuse problem, Oxfordshire's latest year: the
    # registry's unit "percent of children looked after" is written "5.0% of children looked after"
    (v, unit) = sql("SELECT o.value, i.unit FROM observations o JOIN indicators i USING (indicator_id) "
                    "WHERE o.indicator_id = 'dfe_cla_substance_misuse' AND o.area_code = 'E10000025' "
                    "ORDER BY o.period_end DESC LIMIT 1")[0]
    assert unit == "percent of children looked after"
    assert f"**{v:.1f}**% of children looked after" in text


# ---------------------------------------------------------------- 3. similar partnerships by name
def test_similar_partnerships_show_characteristics_by_name(profile, sql):
    table = next(d for d in profile.dataframe if "compared_on" in d.value.columns)
    words = " ".join(table.value["compared_on"])
    labels = dict(sql("SELECT DISTINCT characteristic, label FROM similar_area_characteristics"))
    assert "share_10_24" not in words and labels["share_10_24"] in words
    codes = set(",".join(sql("SELECT characteristics_used FROM similar_areas WHERE area_code = ?", OXFORD)[0]).split(","))
    assert all(labels[c] in words for c in codes)


def test_similar_partnerships_csv_keeps_the_codes(wh, sql):
    from app import queries as q
    from app.similar_view import similar_table

    group = q.similar_partnerships(OXFORD)
    chars = q.similar_characteristics([OXFORD, *group["neighbour_code"]])
    screen, csv = similar_table(group, chars)
    back = pd.read_csv(io.BytesIO(download_csv(csv)))
    (used,) = sql("SELECT characteristics_used FROM similar_areas WHERE area_code = ? AND rank = 1", OXFORD)[0]
    assert back.loc[back["rank"] == 1, "characteristics_used"].iloc[0] == used
    assert "characteristics_used" not in screen.columns
    # a code the warehouse has no label for is shown as it is, never dropped
    assert similar_table(group.head(1).assign(characteristics_used="population,new_thing"), chars)[0][
        "compared_on"].iloc[0] == "Population (all ages); new_thing"


def test_how_the_group_was_chosen_names_its_sources_not_their_ids(profile, sql):
    """The characteristics table and the 'built at refresh from' line name each source by its
    publisher and title, as the warehouse's sources table holds them (read here with SQL)."""
    table = next(d for d in profile.dataframe if "group_median" in d.value.columns).value
    assert "source_id" not in table.columns
    named = {sid: f"{pub}: {title}" for sid, pub, title in sql("SELECT source_id, publisher, title FROM sources")}
    ids = {i for (v,) in sql("SELECT DISTINCT source_id FROM similar_area_characteristics WHERE area_code = ?", OXFORD)
           for i in v.split(",")}
    assert ids and all(named[i] in " ".join(table["source"]) for i in ids)
    assert not any(i in " ".join(table["source"]) for i in ids)
    built = next(c.value for c in profile.caption if "built at refresh from" in c.value)
    (used,) = sql("SELECT sources FROM similar_areas WHERE area_code = ? AND rank = 1", OXFORD)[0]
    assert all(as_shown(named[i]) in as_shown(built) for i in used.split(","))


def test_source_words_keeps_an_unknown_id_and_says_each_source_once():
    from app.similar_view import source_words

    sources = pd.DataFrame([{"source_id": "a", "publisher": "ONS", "title": "Mid-year estimates"}])
    assert source_words("a, b,a", sources) == "ONS: Mid-year estimates; b"
    assert source_words(None, sources) == ""


# ---------------------------------------------------------------- 5 and 6. not compared, said once, punctuation
def test_count_rows_say_not_compared_like_their_profile_line(wh):
    from app import profile as pr

    _, rows = pr.csp_profile(OXFORD, pr.default_month(OXFORD))
    counts = rows[rows["value"].notna() & rows["value_type"].isin(["count", "estimate"])]
    assert len(counts)
    for r in counts.to_dict("records"):
        assert r["bench1_label"].startswith("○ Not compared")
        assert r["_result1"].phrase in r["summary"], r["summary"]


def test_summary_leads_with_compared_figures_and_says_a_shared_reason_once(profile):
    block = next(m.value for m in profile.markdown if "significantly" in m.value and m.value.startswith("- "))
    block = as_shown(block)
    top = [line for line in block.split("\n") if line.startswith("- ")]
    assert "not compared" not in top[0].lower()
    first_not = next(i for i, line in enumerate(top) if "not compared" in line.lower())
    assert not any(("significantly" in line or "similar to" in line) for line in top[first_not:])
    # Thames Valley's recording change: said once, above its four knife figures
    assert block.count("recording change") == 1
    heading = next(line for line in top if "recording change" in line)
    assert heading.endswith("for these 4 figures:") and "Q1)" in heading
    # every count is under one heading saying why counts are not compared
    assert block.count("Not compared (a count, not a rate") == 1


def test_no_double_punctuation_anywhere_on_the_profile(profile):
    text = markdown_text(profile)
    assert ".)." not in text and ".)" not in text
    assert not re.search(r"[^.]\.\.(?!\.)", text), re.findall(r".{30}[^.]\.\.(?!\.)", text)


# ---------------------------------------------------------------- 7. Home metric labels
METRIC_LABEL_MAX = 40  # characters: what a metric label shows whole in one of four columns at 1,400 px


def test_home_metric_labels_are_short_titles_with_the_full_title_in_help(wh, sql):
    at = run_page("dashboard.py")
    assert len(at.metric)
    titles = dict(sql("SELECT short_title, title FROM indicators"))
    for m in at.metric:
        label = as_shown(m.label)
        assert len(label) <= METRIC_LABEL_MAX, label
        assert label in titles, label  # the registry's short title
        assert as_shown(titles[label]) in as_shown(m.proto.help)  # the whole title one click away


# ---------------------------------------------------------------- 8. no third-party request for the tab icon
def test_the_tab_icon_is_drawn_locally(monkeypatch):
    """Streamlit makes a ':material/...' page icon the browser tab's icon by fetching it from
    fonts.gstatic.com (a failed request on a closed network); an emoji is drawn by the browser."""
    from types import SimpleNamespace

    from app import navigation, ui

    assert not ui.PAGE_ICON.startswith(":") and len(ui.PAGE_ICON) == 1  # one emoji character
    pages: list[dict] = []

    def page(target, **kw):
        pages.append(kw)
        return SimpleNamespace(title=kw.get("title"), url_path=kw.get("url_path"), run=lambda: None)

    fake = SimpleNamespace(Page=page, navigation=lambda ps: ps[0], stop=lambda: None)
    monkeypatch.setattr(navigation, "st", fake)
    navigation.route()
    assert len(pages) == 1 + len(navigation.PAGES)
    assert not any(str(p.get("icon") or "").startswith(":material") for p in pages)


def test_the_report_summary_is_grouped_like_the_page(wh):
    from app import profile as pr
    from app import report as rp

    html = rp.profile_report_html(OXFORD, pr.default_month(OXFORD))
    summary = html[html.index("<h2>Summary</h2>"):html.index("</section>", html.index("<h2>Summary</h2>"))]
    assert summary.count("recording change") == 1 and "for these 4 figures:" in summary
    assert summary.index("significantly") < summary.index("recording change")
    assert ".)." not in html
