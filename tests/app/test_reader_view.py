"""What a reader sees (#10/#12 follow-ups): ranked bars whose words never sit on a whisker and
which keep a suppressed area's row, subtitles wrapped instead of cut, legends that cannot land
on the lineage line, the ISTV colour scale from zero, family names and unit words from data.
Expected values are written out by hand or read from the data files with the csv module."""
from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app import figures as fg
from app.chart_export import LINEAGE_NAME, add_lineage
from app.table_view import formatters
from tests.app.page_runner import run_page

ROOT = Path(__file__).resolve().parents[2]


def _plain(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def _lines(title: str) -> list[str]:
    """The title's lines as the reader sees them (tags dropped, entities read)."""
    return [html.unescape(_plain(x)) for x in title.split("<br>")]


def _ranked_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "area_name": ["A", "B", "Hidden"], "value": [10.0, 50.0, np.nan], "lower_ci": [8.0, 45.0, np.nan],
        "upper_ci": [12.0, 55.0, np.nan], "significance": ["lower", "higher", None],
        "rating": ["better", "worse", None], "quality": "official",
        "suppressed_reason": [None, None, "small count (1-7)"]})


def test_ranked_bars_write_values_after_the_whisker_and_words_on_the_axis():
    fig = fg.ranked_bars(_ranked_frame(), title="t", unit="per 100,000", benchmark_value=30.0,
                         benchmark_name="England & Wales", polarity="higher_is_worse")
    bars = fig.data[0]
    assert bars.textposition == "none"  # nothing drawn on the bar, where the whisker is
    values = next(t for t in fig.data if t.name == "values")
    # each value's text starts at its interval's upper end: 12 and 55, not at the bar's end
    assert list(values.x) == [12.0, 55.0] and list(values.y) == ["A", "B"]
    assert [s.strip() for s in values.text] == ["10.0", "50.0"]
    assert values.textposition == "middle right"
    ticks = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True))
    assert ticks["B"] == "<b>B</b><br>▲ Significantly higher (worse)"
    assert ticks["A"] == "<b>A</b><br>▼ Significantly lower (better)"
    # the axis leaves room for the text after the longest whisker
    assert fig.layout.xaxis.range[1] > 55.0


def test_ranked_bars_keep_a_suppressed_area_labelled_without_a_bar():
    fig = fg.ranked_bars(_ranked_frame(), title="t", unit="per 100,000", benchmark_value=30.0,
                         benchmark_name="England & Wales", polarity="higher_is_worse")
    assert list(fig.data[0].y) == ["A", "B"]  # no bar for it
    # its row is on the axis, at the bottom (plotly's first category), highest value at the top
    assert list(fig.layout.yaxis.categoryarray) == ["Hidden", "A", "B"]
    ticks = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True))
    assert ticks["Hidden"] == "<b>Hidden</b><br>suppressed"
    shown = next(t for t in fig.data if t.name == "not shown")
    assert list(shown.y) == ["Hidden"] and shown.text[0].strip() == "suppressed: not a value"
    assert list(shown.customdata) == ["small count (1-7)"]


def test_ranked_bars_an_area_with_no_figure_says_so():
    df = _ranked_frame().assign(suppressed_reason=None)
    fig = fg.ranked_bars(df, title="t", unit="u", benchmark_value=None, benchmark_name="E&W")
    ticks = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True))
    assert ticks["Hidden"].endswith("no figure")


def _funnel_frame() -> pd.DataFrame:
    counts = [81, 100, 121, 64, 144, 100, 49, 169, 100, 196]
    return pd.DataFrame({"area_code": list("ABCDEFGHIJ"), "area_name": [f"Area {k}" for k in "ABCDEFGHIJ"],
                         "count": counts, "denominator": 200_000, "quality": "official"})


def test_funnel_subtitle_is_wrapped_not_cut():
    fig = fg.funnel_figure(_funnel_frame(), benchmark_rate=50.0, benchmark_name="E&W", title="t",
                           unit="per 100,000")
    result = fg.funnel_result(_funnel_frame(), benchmark_rate=50.0)
    note = result.note()
    assert len(note) > 120  # long enough to be cut on one line
    lines = _lines(fig.layout.title.text)
    assert lines[0] == "t"
    assert all(len(line) <= 75 for line in lines[1:]), lines
    assert " ".join(lines[1:]) == note  # every word of it, in order


def test_legend_sits_under_the_title_not_on_the_lineage_line():
    start = pd.to_datetime(["2024-01-01", "2024-02-01"])
    series = pd.concat([pd.DataFrame({"area_name": a, "period_start": start,
                                      "period_end": start + pd.offsets.MonthEnd(0), "period_label": ["1", "2"],
                                      "value": [5.0, 6.0], "quality": "official"}) for a in ("X", "Y")])
    figs = {
        "trend": fg.trend_figure(series, title="t", unit="u"),
        "funnel": fg.funnel_figure(_funnel_frame(), benchmark_rate=50.0, benchmark_name="E&W", title="t", unit="u"),
        "bars": fg.count_bars(pd.DataFrame({"category": ["a", "b"], "count": [3.0, np.nan]}), title="t"),
    }
    for name, fig in figs.items():
        add_lineage(fig, "Source: somewhere. Period: 2024. Quality: official statistics.")
        legend = fig.layout.legend
        assert legend.yref == "container" and legend.yanchor == "top", name
        # in the band under the title: the title takes 26px and 22px a further line, the legend 14px below
        title_px = fg.TITLE_LINE_PX + fg.SUB_LINE_PX * fig.layout.title.text.count("<br>")
        assert legend.y == pytest.approx(1 - (title_px + 14) / fig.layout.height), name
        assert fig.layout.margin.t >= title_px, name
        lineage = next(a for a in fig.layout.annotations if a.name == LINEAGE_NAME)
        assert lineage.yref == "paper" and lineage.y == 0 and lineage.yshift < 0, name  # under the plot


def test_istv_heatmap_all_zero_starts_at_zero_and_says_no_attendances():
    grid = pd.DataFrame({"dow": ["Mon", "Tue"], "hour": ["00", "01"], "count": [0.0, 0.0],
                         "suppressed_reason": [None, None]})
    fig = fg.istv_heatmap(grid, title="ISTV")
    heat = fig.data[0]
    assert (heat.zmin, heat.zmax, heat.showscale) == (0, 1, False)
    assert fg.NO_ATTENDANCES in _plain(fig.layout.title.text)


def test_istv_heatmap_zeros_beside_suppressed_cells_are_not_called_no_attendances():
    """A suppressed cell may hold 1-7 attendances: zeros elsewhere do not make an empty period."""
    grid = pd.DataFrame({"dow": ["Mon", "Tue"], "hour": ["00", "01"], "count": [0.0, np.nan],
                         "suppressed_reason": [None, "small count (1-7)"]})
    fig = fg.istv_heatmap(grid, title="ISTV")
    assert fig.data[0].zmin == 0
    assert fg.NO_ATTENDANCES not in _plain(fig.layout.title.text)


def test_istv_heatmap_colour_scale_runs_from_zero_to_the_largest_count():
    grid = pd.DataFrame({"dow": ["Mon", "Tue", "Wed"], "hour": ["00", "01", "02"], "count": [12.0, 30.0, np.nan],
                         "suppressed_reason": [None, None, "small count (1-7)"]})
    fig = fg.istv_heatmap(grid, title="ISTV")
    assert (fig.data[0].zmin, fig.data[0].zmax, fig.data[0].showscale) == (0, 30.0, True)
    assert fg.NO_ATTENDANCES not in fig.layout.title.text


# ---------------------------------------------------------------- names and units from data
def _csv(name: str) -> list[dict[str, str]]:
    with (ROOT / "data" / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_family_has_its_name_written_once_in_data():
    from app import queries as q
    from etl.staged import FAMILIES

    names = {r["family"]: r["name"] for r in _csv("families.csv")}
    assert names == q.FAMILY_NAMES
    assert names["knife_crime"] == "Knife crime and weapons"
    assert set(FAMILIES) == set(names)  # every family the refresh accepts has a name
    assert {r["family"] for r in _csv("indicators.csv")} <= set(names)
    assert all(n.strip() and n != f for f, n in names.items())


def test_tables_show_family_names_not_codes():
    df = pd.DataFrame({"family": ["knife_crime", "gangs", "unknown_code"], "title": ["a", "b", "c"]})
    f = formatters(df, names={"family": {"knife_crime": "Knife crime and weapons", "gangs": "Gangs"}})
    assert [f["family"](v) for v in df["family"]] == ["Knife crime and weapons", "Gangs", "unknown_code"]
    assert f["title"]("a") == "a"


def test_count_units_are_words_a_reader_can_put_after_a_number():
    """"566 count" is not English: a count's unit names what is counted ("566 adults in treatment")."""
    bad = [r["indicator_id"] for r in _csv("indicators.csv")
           if r["value_type"] in ("count", "estimate") and r["unit"].strip().lower() in {"count", "number", "n", ""}]
    assert bad == []
    row = next(r for r in _csv("indicators.csv") if r["indicator_id"] == "fingertips_99001_persons_18plus")
    assert row["unit"] == "adults in treatment"


def test_the_old_profile_html_is_gone():
    """The page's HTML download is the report (app.report); the older profile_html was unused."""
    from app import profile

    assert not hasattr(profile, "profile_html")


# ---------------------------------------------------------------- the page
def test_compare_ranks_a_suppressed_area_as_suppressed(wh, sql):
    """ISTV knife attendances (synthetic), March 2024: an area with 1-7 attendances has its rate
    withheld; it keeps a labelled row in the ranked chart instead of vanishing from it."""
    period = "2024-03"
    rows = sql("""SELECT area_code, count FROM observations
                  WHERE indicator_id = 'istv_knife_sharp_attendances' AND period_label = ? AND count IS NOT NULL
                  ORDER BY count DESC, area_code""", period)
    big = [r[0] for r in rows if r[1] >= 10][:2]
    small = [r[0] for r in rows if 1 <= r[1] <= 7][:1]
    assert big and small
    at = run_page("pages/3_Compare.py", indicator="istv_knife_sharp_attendances", level="csp", period=period,
                  areas=",".join(big + small))
    spec = next(json.loads(el.proto.spec) for el in at.get("plotly_chart")
                if any(t.get("name") == "values" for t in json.loads(el.proto.spec)["data"]))
    y_axis = spec["layout"]["yaxis"]
    assert len(y_axis["categoryarray"]) == len(big) + 1  # every chosen area has its row
    bars = next(t for t in spec["data"] if t.get("type") == "bar")
    hidden = y_axis["categoryarray"][0]  # at the bottom of the ranking
    assert hidden not in bars["y"] and len(bars["y"]) == len(big)
    ticks = dict(zip(y_axis["tickvals"], y_axis["ticktext"], strict=True))
    assert ticks[hidden].endswith("suppressed")
    shown = next(t for t in spec["data"] if t.get("name") == "not shown")
    assert shown["y"] == [hidden] and shown["customdata"] == ["small count (1-7)"]  # health count 1-7
    assert "SYNTHETIC" in spec["layout"]["title"]["text"]  # synthetic figures are labelled on the chart


def test_every_istv_weapon_category_has_words():
    names = {r["category"]: r["name"] for r in _csv("istv_weapon_categories.csv")}
    assert {r["category"] for r in _csv("istv_assault_method_map.csv")} | {"all"} <= set(names)
    assert names["knife_sharp"] == "Knife or sharp object"


def test_ae_page_names_weapons_in_words_and_labels_the_synthetic_extract(wh):
    at = run_page("pages/5_AE_ISTV.py", area="E22000308")
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    weapon = next(s for s in specs if "by weapon" in s["layout"]["title"]["text"])
    categories = weapon["data"][0]["x"]
    assert "Knife or sharp object" in categories and "Blunt object" in categories
    assert not [c for c in categories if "_" in c]  # no code such as knife_sharp
    assert all("SYNTHETIC" in s["layout"]["title"]["text"] for s in specs)  # every chart on the page
    heat = next(s for s in specs if s["data"][0]["type"] == "heatmap")
    assert heat["data"][0]["zmin"] == 0


def test_data_page_names_forces_and_writes_the_changelog_in_words(wh, sql):
    at = run_page("pages/4_Data_and_sources.py")
    cov = next(json.loads(el.proto.spec) for el in at.get("plotly_chart")
               if json.loads(el.proto.spec)["data"][0]["type"] == "heatmap")
    forces = cov["data"][0]["y"]
    (gm,), = sql("SELECT DISTINCT a.area_name FROM police_uk_coverage c JOIN areas a ON a.area_code = c.pfa_code "
                 "WHERE c.force = 'greater-manchester'")
    assert gm in forces and "greater-manchester" not in forces
    changelog = [el.value for el in at.markdown if el.value.startswith("Changelog:")]
    assert changelog and not [c for c in changelog if "{" in c or "[" in c]  # no Python dict or list dumped
    assert any("first build: yes" in c for c in changelog) or any("first build: no" in c for c in changelog)


def test_a_long_title_is_broken_between_its_parts_and_keeps_its_file_name():
    from app.chart_export import file_stem

    fig = fg.trend_figure(pd.DataFrame({
        "area_name": ["England"], "period_start": [pd.Timestamp("2023-04-01")],
        "period_end": [pd.Timestamp("2024-03-31")], "period_label": ["2023/24"], "value": [5.0],
        "quality": ["modelled"]}), title="Gangs and child criminal exploitation: Children aged 10-17 who identify "
                                          "as gang members", unit="children")
    lines = _lines(fig.layout.title.text)
    assert lines[:2] == ["Gangs and child criminal exploitation:", "Children aged 10-17 who identify as gang members"]
    assert lines[2].startswith("MODELLED")  # the warning still under it
    # both lines name the file (cut at 80 characters), not the first alone
    full = "gangs_and_child_criminal_exploitation_children_aged_10_17_who_identify_as_gang_members"
    assert file_stem(fig, "k") == full[:80]
    assert fg.titled("Robbery: Oxford", []) == "Robbery: Oxford"  # a short title stays on one line


def test_a_long_title_without_parts_breaks_between_words_and_escapes_each_line():
    title = "Violence & sexual offences recorded by the police in <Oxford> Community Safety Partnership over time"
    lines = fg.titled(title, []).split("<br>")
    assert 1 < len(lines) <= 3 and all(len(x.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
                                       <= fg.TITLE_WIDTH for x in lines)
    assert " ".join(lines).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">") == title
    assert "<Oxford>" not in fg.titled(title, [])  # file text stays text
    # one unbroken word longer than a line is left whole, not cut
    assert fg.titled("x" * 100, []) == "x" * 100


def test_a_table_of_one_indicator_writes_values_with_its_decimals():
    """Compare's table had '6.76' (3 significant figures) beside '12.7': one indicator, one rule."""
    df = pd.DataFrame({"value": [12.7, 8.1], "lower_ci": [6.7642, np.nan], "upper_ci": [21.93, 12.0],
                       "count": [13.0, 9.0]})
    f = formatters(df, registry={"multiplier": 100_000, "decimals": 1, "value_type": "crude_rate"})
    assert [f["lower_ci"](v) for v in df["lower_ci"]] == ["6.8", ""]
    assert [f["upper_ci"](v) for v in df["upper_ci"]] == ["21.9", "12.0"]
    assert f["count"](13.0) == "13"
    assert formatters(df)["lower_ci"](6.7642) == "6.76"  # no registry (a table of several indicators): as before
