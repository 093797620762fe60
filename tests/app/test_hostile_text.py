"""Partner-supplied text is data, never markup: markdown images, links, streamlit badges, blank
lines, backticks and HTML put in every free-text field of every partner template (the local gang
working estimates and the ISTV extract, one file name included) and in `?q=` reach every page
escaped: no element holds them as live markup, and the SVG map keeps one <path> per shape.

The warehouse is built by the real refresh from the code-made fixture mirror plus the hostile
partner files, as a partnership would drop them in (see test_local_estimates.py).
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import figures as fg
from app.mapdata import map_units
from app.safe_text import html as html_text
from app.safe_text import md
from etl.parsers.gang_working_estimates import COLUMNS as GANG_COLUMNS
from etl.parsers.gang_working_estimates import indicator_id
from etl.parsers.istv import LAYOUT_COLUMNS
from etl.refresh import refresh
from methods.spc import xmr_chart
from tests.app.page_runner import run_page
from tests.fixture_mirror import build_fixture_mirror

OXFORD = "E22000308"

# Each attack, and the live markup it would make if rendered as markdown: found when a marker
# is not preceded by a backslash (escaping puts one before each special character).
ATTACKS = {
    "image": ("![p](http://host.example/p.png)", ["![p]", "](http://host.example"]),
    "link": ("[official site](http://phish.example/login)", ["[official site]", "](http://phish.example"]),
    "badge": (":blue-badge[FAKE official]", [":blue-badge[FAKE"]),
    "backticks": ("`tick` ```fence", ["`tick`", "```"]),
    "html": ("<img src=x onerror=alert(1)><b>bold</b>", ["<img", "<b>"]),
    # ':red[red]', not ':red[': the pages colour their own trend words with :red[...]
    "directive": (":red[red] :material/warning: $x^2$", [":red[red]", ":material/", "$x"]),
    "anchor": ('<a href="http://evil.example/x">x</a>', ["<a href"]),
    "template": ("tpl%{x} %{y|%Y}", []),  # plotly's hovertemplate fields, no markdown meaning
}
BLANK = "before-blank\n\nafter-blank"


def payload(tag: str) -> str:
    """Every attack in one value, with a blank line, tagged by the field it is put in."""
    return f"{tag} " + " ".join(text for text, _ in ATTACKS.values()) + f" {BLANK}"


GANG_FIELDS = {"age_band": "gang_members", "notes": "siblings", "supplied_by": "victims_knowing_member"}
ISTV_FIELDS = ["ed_site_name", "assault_location_type", "assault_location_description", "assault_method",
               "assault_method_other"]
GANG_FILE = "gang_working_estimates_`x`[f](http:evil.example)![i](http:evil.example).csv"
ISTV_FILE = "istv_`x`[f](http:evil.example).csv"


def gang_row(**fields: str) -> dict:
    row = {"csp_code": OXFORD, "period_label": "2023/24", "measure": "gang_members", "count": "41",
           "age_band": "10-17", "notes": "", "supplied_by": "Oxford CSP", "supplied_on": "2024-05-01"}
    row.update(fields)
    return row


def istv_row(day: int, **fields: str) -> dict:
    row = {c: "" for c in LAYOUT_COLUMNS}
    row.update({"reporting_period_start": "2023-04-01", "reporting_period_end": "2023-04-30",
                "ed_site_code": "RXX01", "ed_site_name": "Test ED", "csp_code": OXFORD,
                "arrival_datetime": f"2023-04-{day:02d} 22:40", "assault_datetime": f"2023-04-{day:02d} 22:05",
                "assault_location_type": "Street", "assault_method": "Knife", "age_band": "18-24", "sex": "male"})
    row.update(fields)
    return row


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile_wh(mirror, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    src = build_fixture_mirror(mirror, base / "mirror")
    (src / "local").mkdir()
    # One row per hostile field, each a different measure (so each is its own indicator).
    rows = [gang_row(measure=m, **{f: payload(f"gang-{f}")}) for f, m in GANG_FIELDS.items()]
    write_csv(src / "local" / GANG_FILE, GANG_COLUMNS, rows)
    (src / "istv").mkdir()
    write_csv(src / "istv" / ISTV_FILE, LAYOUT_COLUMNS,
              [istv_row(i + 1, **{f: payload(f"istv-{f}")}) for i, f in enumerate(ISTV_FIELDS)]
              + [istv_row(10 + i) for i in range(12)])
    db = base / "wh" / "warehouse.duckdb"
    refresh(src, db, quiet=True)
    return db


@pytest.fixture
def wh(hostile_wh: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVD_DB", str(hostile_wh))
    return hostile_wh


def rendered_text(at: AppTest) -> list[str]:
    """Every string the page hands streamlit's markdown renderer (not the raw-HTML SVG map)."""
    out: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        out += [e.value for e in getattr(at, kind) if "<svg" not in e.value]
    for m in at.metric:
        out += [m.label, m.proto.help]
    out += [e.label for e in at.expander]
    return out


def live_markup(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        for name, (_, markers) in ATTACKS.items():
            found += [f"{name}: {marker!r} in {text[:120]!r}" for marker in markers
                      if re.search(r"(?<!\\)" + re.escape(marker), text)]
        if "before-blank\n" in text or "\nafter-blank" in text:
            found.append(f"blank line kept in {text[:120]!r}")
    return found


PAGES = [
    ("dashboard.py", {}),
    ("pages/1_Area_profile.py", {"area": OXFORD}),
    ("pages/3_Compare.py", {}),
    ("pages/4_Data_and_sources.py", {}),
    ("pages/5_AE_ISTV.py", {"area": OXFORD, "period": "2023-04..2023-04"}),
]


@pytest.mark.parametrize(("page", "params"), PAGES, ids=[p for p, _ in PAGES])
def test_no_page_renders_partner_text_as_markup(wh, page, params):
    at = run_page(page, **params)
    assert live_markup(rendered_text(at)) == []


def test_profile_shows_each_hostile_field_as_text(wh):
    """Shown, not dropped: the escaped age_band is in the profile's indicator lines."""
    text = "\n".join(rendered_text(run_page("pages/1_Area_profile.py", area=OXFORD)))
    assert md(payload("gang-age_band")) in text
    assert md(GANG_FILE) in text  # the file name on each local figure's source line


def test_data_and_sources_shows_file_names_as_text(wh):
    text = "\n".join(rendered_text(run_page("pages/4_Data_and_sources.py")))
    assert md(GANG_FILE) in text and md(ISTV_FILE) in text


@pytest.mark.parametrize("field", list(GANG_FIELDS))
def test_svg_map_keeps_every_shape_with_hostile_text(wh, field):
    age_band = payload("gang-age_band") if field == "age_band" else "10-17"
    target = indicator_id(GANG_FIELDS[field], age_band)
    at = run_page("pages/2_Map.py", indicator=target, level="csp", period="2023/24")
    svg = next(m.value for m in at.markdown if "<svg" in m.value)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        shapes = con.execute("SELECT count(DISTINCT map_unit) FROM boundaries WHERE area_type = 'csp'").fetchone()[0]
    finally:
        con.close()
    assert len(re.findall(r"<path data-unit=", svg)) == shapes
    assert "\n" not in svg  # one raw-HTML block: no line, let alone a blank one, can end it
    assert "<img" not in svg and "<b>" not in svg
    if field == "age_band":
        assert html_text(payload("gang-age_band"), newlines="&#10;") in svg
    assert live_markup(rendered_text(at)) == []


@pytest.mark.parametrize("name", list(ATTACKS) + ["blank"])
def test_search_text_from_the_url_is_not_markup(wh, name):
    text = BLANK if name == "blank" else f"zz {ATTACKS[name][0]}"
    at = run_page("dashboard.py", q=text)
    infos = [i.value for i in at.info if i.value.startswith("No area matches")]
    assert infos == [f"No area matches '{md(text)}'. Try part of the name, e.g. 'Oxford', or a code such as "
                     "E22000308."]
    assert live_markup(rendered_text(at)) == []


# ---------------------------------------------------------------- plotly figures
# plotly.js draws a few HTML tags in every string (titles, tick labels, legend names, annotations,
# hover text): `<a href>` is a live link, `<span style>` restyles, `<b>`/`<br>`/`<sup>` format.
# The builders add only these tags themselves; any other tag in a figure came from data.
OUR_TAGS = {"br", "b", "/b", "sup", "/sup", "extra", "/extra"}
HOSTILE = '<a href="http://evil.example/x">x</a> <img src=x onerror=alert(1)> <span style="color:red">s</span> tpl%{x} $m$'
# What plotly must be given so that it draws HOSTILE as typed (worked out by hand from
# plotly.js svg_text_utils: it decodes &amp; &lt; &gt; and numeric entities between tags).
HOSTILE_ESCAPED = ('&lt;a href="http://evil.example/x"&gt;x&lt;/a&gt; &lt;img src=x onerror=alert(1)&gt; '
                   '&lt;span style="color:red"&gt;s&lt;/span&gt; tpl&#37;{x} &#36;m&#36;')


def strings(obj) -> list[str]:
    """Every string in a figure's JSON (boundary geometry left out)."""
    if isinstance(obj, dict):
        return [s for k, v in obj.items() if k != "geojson" for s in strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in strings(v)]
    return [obj] if isinstance(obj, str) else []


def foreign_tags(fig_json: dict) -> list[str]:
    return [f"<{t}> in {s[:100]!r}" for s in strings(fig_json) for t in re.findall(r"<\s*(/?[a-zA-Z]*)", s)
            if t.lower() not in OUR_TAGS]


def template_fields(fig_json: dict) -> list[list[str]]:
    """The %{...} fields of each trace's hovertemplate, in order."""
    return [re.findall(r"%\{[^}]*\}", t.get("hovertemplate") or "") for t in fig_json.get("data", [])]


def _series(name: str, note: str) -> pd.DataFrame:
    start = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    return pd.DataFrame({
        "area_name": name, "area_code": ["E22000308"] * 3, "period_start": start,
        "period_end": start + pd.offsets.MonthEnd(0), "period_label": note, "value": [5.0, 6.0, 7.0],
        "lower_ci": [4.0, 5.0, 6.0], "upper_ci": [6.0, 7.0, 8.0], "quality": "local", "source_title": note,
        "count": [50.0, 60.0, 70.0], "denominator": [1e6, 1e6, 1e6], "significance": "similar",
        "rating": "similar", "map_unit": ["U1", "U2", "U3"], "note": note, "suppressed_reason": None,
    })


def build_figures(text: str) -> dict[str, dict]:
    """Every builder, with `text` as area name, indicator title, unit, note, benchmark name,
    period label, citation, break description, category and force (JSON as sent to the page)."""
    df = _series(text, text)
    breaks = pd.DataFrame({"break_date": [pd.Timestamp("2024-02-01")], "description": [text]})
    spc = xmr_chart(pd.Series([10, 11, 9, 10, 12, 10, 11, 9, 10, 11, 10, 9, 10, 11, 60],
                              index=pd.period_range("2022-01", periods=15, freq="M").to_timestamp()))
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": u, "properties": {"names": text},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}}
        for u in ("U1", "U2", "U3", "U4")]}
    units = map_units(df.assign(value=[5.0, np.nan, 7.0], area_name=[text, "B", text]), text)
    grid = pd.DataFrame({"dow": ["Mon"], "hour": ["01"], "count": [12.0], "suppressed_reason": [None]})
    figs = {
        "trend": fg.trend_figure(df, title=text, unit=text, breaks=breaks),
        "trend_empty": fg.trend_figure(df.iloc[0:0], title=text, unit=text),
        "spc": fg.spc_figure(spc, title=text, unit=text, qualities=["local"]),
        "ranked": fg.ranked_bars(df, title=text, unit=text, benchmark_value=5.0, benchmark_name=text),
        "funnel": fg.funnel_figure(df, benchmark_rate=6.0, benchmark_name=text, title=text, unit=text,
                                   highlight=["E22000308"]),
        "map": fg.choropleth_figure(units, geojson, title=text, unit=text),
        "istv": fg.istv_heatmap(grid, title=text),
        "bars": fg.count_bars(pd.DataFrame({"category": [text, "other"], "count": [3.0, np.nan]}), title=text,
                              unit=text),
        "coverage": fg.coverage_heatmap(pd.DataFrame({"force": [text], "month": ["2024-01"], "status": ["present"]})),
    }
    return {k: json.loads(f.to_json()) for k, f in figs.items()}


def test_figures_show_file_text_as_text_not_plotly_markup():
    """No tag from the data reaches plotly, no template field is added, and the text is shown
    (escaped exactly as plotly needs it to draw the original characters)."""
    hostile, benign = build_figures(HOSTILE), build_figures("Oxford")
    for name, fig in hostile.items():
        assert foreign_tags(fig) == [], name
        assert template_fields(fig) == template_fields(benign[name]), name
        texts = strings(fig)
        assert not [s for s in texts if "<a" in s or "<img" in s or "tpl%{" in s or "$m$" in s], name
        # a long title is drawn in lines (app.figures breaks it between words): read it as one line
        assert any(HOSTILE_ESCAPED in s.replace("<br>", " ") for s in texts), name


def test_figures_escape_where_plotly_reads_text():
    """Title, legend, tick labels, annotations, hover values and the hovertemplate's literal text."""
    figs = build_figures(HOSTILE)
    trend, ranked, funnel = figs["trend"], figs["ranked"], figs["funnel"]
    assert trend["layout"]["title"]["text"].replace("<br>", " ").startswith(HOSTILE_ESCAPED)
    assert trend["data"][0]["name"] == HOSTILE_ESCAPED
    assert trend["layout"]["yaxis"]["title"]["text"] == HOSTILE_ESCAPED
    assert trend["data"][0]["hovertemplate"].count(HOSTILE_ESCAPED) == 1  # the unit, as literal text
    assert trend["layout"]["annotations"][0]["hovertext"] == HOSTILE_ESCAPED  # series break
    assert HOSTILE_ESCAPED in ranked["data"][0]["y"]
    assert ranked["layout"]["annotations"][0]["text"].startswith(HOSTILE_ESCAPED)
    assert [a["text"] for a in funnel["layout"]["annotations"]] == [HOSTILE_ESCAPED] * 3  # highlighted areas
    assert figs["map"]["data"][0]["hovertext"][0].startswith(f"<b>{HOSTILE_ESCAPED}</b><br>")
    assert figs["coverage"]["data"][0]["y"] == [HOSTILE_ESCAPED]


def test_plain_text_is_unchanged_in_figures():
    """Ordinary names keep their characters: only & < > % $ are written as entities."""
    fig = json.loads(fg.trend_figure(_series("Brighton & Hove", "2024"), title="Knife crime: 5% up",
                                     unit="per 100,000").to_json())
    assert fig["data"][0]["name"] == "Brighton &amp; Hove"
    assert fig["layout"]["title"]["text"].startswith("Knife crime: 5&#37; up")
    assert fig["layout"]["yaxis"]["title"]["text"] == "per 100,000"


@pytest.mark.parametrize(("page", "params"), [
    ("pages/1_Area_profile.py", {"area": OXFORD, "indicator": indicator_id("gang_members", payload("gang-age_band"))}),
    ("pages/2_Map.py", {"indicator": indicator_id("gang_members", payload("gang-age_band")), "level": "csp",
                        "period": "2023/24", "view": "interactive"}),
], ids=["profile", "map"])
def test_pages_charts_hold_partner_text_escaped(wh, page, params):
    """The partner's age band is in the indicator title each chart carries: escaped there."""
    at = run_page(page, **params)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert charts
    texts = [s for c in charts for s in strings(c)]
    assert any("&lt;a href=" in s for s in texts)  # the title with the partner's text is there
    assert [t for c in charts for t in foreign_tags(c)] == []
    assert not [s for s in texts if "tpl%{" in s]
