"""Each page run headless with streamlit's AppTest against a warehouse built by the real
refresh from the mirror (session fixture `real_warehouse`). Expected values are computed here
independently with duckdb, not through app.queries.

One page per AppTest run, absolute paths (AppTest resolves relative paths against this file).
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.safe_text import as_shown

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


@pytest.fixture
def wh(real_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    return real_warehouse


@pytest.fixture
def sql(wh: Path):
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{wh}' AS t (READ_ONLY)")
    con.execute("USE t")

    def run(query: str, *params):
        return con.execute(query, list(params)).fetchall()

    yield run
    con.close()


def run_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def markdown_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return as_shown("\n".join(parts))  # as read: warehouse text is backslash-escaped (app.safe_text)


def _decode(obj):
    """Plotly 7 writes numeric arrays as {'dtype', 'bdata'(, 'shape')}: turn them into lists."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            if "shape" in obj:
                arr = arr.reshape([int(x) for x in str(obj["shape"]).split(",")])
            return arr.tolist()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def figures(at: AppTest) -> list[dict]:
    return [_decode(json.loads(el.proto.spec)) for el in at.get("plotly_chart")]


def test_home_shows_latest_national_figures_with_sources_and_context(wh, sql):
    at = run_page("dashboard.py", q="Oxford")
    (value, label, url), = sql(
        """SELECT o.value, o.period_label, n.source_url FROM observations o
           LEFT JOIN national_sources n USING (indicator_id, area_code, period_start, period_end)
           WHERE o.indicator_id = 'police_recorded_knife_offences__ew_all_forces_ndqis'
             AND o.source_id NOT LIKE '%#%' AND (n.is_current OR n.is_current IS NULL)
           ORDER BY o.period_end DESC LIMIT 1""")
    metrics = {m.label: m.value for m in at.metric}
    knife = [v for k, v in metrics.items() if k.startswith("Police recorded offences involving a knife")]
    assert knife == [f"{value:,.0f}"]
    text = markdown_text(at)
    assert label in text and url in text
    assert ":blue-badge[official]" in text
    for figure in ("27,000", "12,200", "14,800", "33,000", "34,000", "100,000"):
        assert figure in text, figure
    assert "HC 1016" in text and "para 83" in text
    # Area search opens the profile (page_link when run as the app, a plain link otherwise).
    assert "Oxford" in text or any("Oxford" in str(p.proto) for p in at.get("page_link"))
    # National trend: one line per basis, and the source table links every point.
    trend = figures(at)[-1]
    (n_bases,), = sql(
        """SELECT count(DISTINCT indicator_id) FROM observations JOIN indicators USING (indicator_id)
           WHERE series = 'police_recorded_knife_offences' AND source_id = 'national_figures'""")
    assert len([t for t in trend["data"] if t.get("mode") == "lines+markers"]) == n_bases
    assert any("series break" in a.get("text", "") for a in trend["layout"].get("annotations", []))
    assert at.query_params["series"] == "police_recorded_knife_offences"
    table = at.dataframe[-1].value
    assert "source_url" in table.columns and table["source_url"].str.startswith("http").all()


def test_profile_deep_link_shows_labelled_geographies_and_comparisons(wh, sql):
    at = run_page("pages/1_Area_profile.py", area="E22000308", indicator="police_uk_robbery")
    assert at.header[0].value == "Oxford"
    assert at.selectbox(key="sel_area").value == "E22000308"
    assert at.selectbox(key="sel_indicator").value == "police_uk_robbery"
    text = markdown_text(at)
    assert "Police force area: Thames Valley, which includes Oxford" in text

    (v, lo, up, label), = sql(
        """SELECT value, lower_ci, upper_ci, period_label FROM observations WHERE indicator_id = 'police_uk_drugs'
           AND area_code = 'E22000308' ORDER BY period_start DESC LIMIT 1""")
    (ew,), = sql(
        "SELECT value FROM observations WHERE indicator_id = 'police_uk_drugs' AND area_code = 'K04000001' "
        "AND period_label = ?", label)
    expected = "Significantly higher" if lo > ew else "Significantly lower" if up < ew else "Similar"
    drugs_line = [ln for ln in text.split("\n") if ln.startswith("**Drugs (police.uk")][0]
    assert f"**{v:,.1f}**" in drugs_line
    idx = text.index(drugs_line)
    assert f"{expected}" in text[idx: idx + len(drugs_line) + 200].split("\n")[1]

    # Synthetic rows are badged and never compared; a national figure gives context.
    assert ":red-badge[SYNTHETIC - demonstration only]" in text
    assert "Not compared: synthetic data" in " ".join(at.dataframe[0].value["bench1_label"].dropna())
    assert "National figure for context" in text
    # Summary sentence from methods.summary.
    assert "similar to England & Wales" in text or "significantly" in text

    figs = figures(at)
    trend, spc = figs[0], figs[1]
    assert any(t["name"] == "Oxford" for t in trend["data"])
    assert "Robbery" in trend["layout"]["title"]["text"]
    assert any(t["name"].startswith("upper limit") for t in spc["data"])
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("CSV" in s for s in labels) and any("HTML" in s for s in labels)
    assert at.query_params["area"] == "E22000308"


def test_profile_empty_states_say_why(wh):
    met = markdown_text(run_page("pages/1_Area_profile.py", area="E22000193"))  # Croydon, Met police
    assert "no police.uk file for Metropolitan Police" in met
    split = markdown_text(run_page("pages/1_Area_profile.py", area="E22000303"))  # Aylesbury Vale
    assert "Split unitary authority" in split
    assert "no CSP population" in split


def test_map_draws_one_shape_per_map_unit(wh, sql):
    """Default view: the static SVG map, one linked <path data-unit> per map unit."""
    at = run_page("pages/2_Map.py", indicator="police_uk_violence_and_sexual_offences", level="csp",
                  period="2024-03")
    assert not figures(at), "the default map needs no plotly"
    svg = next(m.value for m in at.markdown if "svd-svgmap" in m.value)
    shapes = re.findall(r'<path data-unit="([^"]+)"', svg)
    (n_units,), = sql("SELECT count(DISTINCT map_unit) FROM boundaries WHERE area_type = 'csp'")
    assert len(shapes) == len(set(shapes)) == n_units == 304
    assert re.search(r'<svg [^>]*role="img" aria-label="[^"]+"', svg) and "<desc>" in svg
    (n_missing,), = sql("""SELECT count(DISTINCT b.map_unit) FROM boundaries b WHERE b.area_type = 'csp' AND
                           b.map_unit NOT IN (SELECT b2.map_unit FROM boundaries b2 JOIN observations o USING (area_code)
                           WHERE o.indicator_id = 'police_uk_violence_and_sexual_offences'
                           AND o.period_label = '2024-03' AND o.value IS NOT NULL AND b2.area_type = 'csp')""")
    assert f"No data ({svg.count('-nodata)')} shapes)" in svg and svg.count("-nodata)") >= n_missing > 0
    (unit,), = sql("SELECT map_unit FROM boundaries WHERE area_code = 'E22000308'")
    (v,), = sql("SELECT value FROM observations WHERE indicator_id = 'police_uk_violence_and_sexual_offences' "
                "AND area_code = 'E22000308' AND period_label = '2024-03'")
    oxford = re.search(r'<a href="./Area_profile\?area=E22000308" target="_self"><path data-unit="'
                       + unit + r'" data-value="([^"]+)"[^>]*><title>([^<]*)</title>', svg)
    assert oxford and float(oxford.group(1)) == pytest.approx(v, rel=1e-5)
    assert "Oxford" in oxford.group(2) and "95% interval" in oxford.group(2) and "quality:" in oxford.group(2)
    assert "Text alternative" in markdown_text(at)
    assert "view" not in at.query_params


def test_map_interactive_view_keeps_the_plotly_map(wh, sql):
    at = run_page("pages/2_Map.py", indicator="police_uk_violence_and_sexual_offences", level="csp",
                  period="2024-03", view="interactive")
    assert at.toggle[0].value is True
    fig = figures(at)[0]
    locations = [loc for t in fig["data"] for loc in t["locations"]]
    (n_units,), = sql("SELECT count(DISTINCT map_unit) FROM boundaries WHERE area_type = 'csp'")
    assert len(locations) == len(set(locations)) == n_units
    assert fig["layout"]["map"]["style"] == "white-bg"
    nodata = [t for t in fig["data"] if t.get("name", "").startswith("no data")]
    assert nodata, "areas without data must be drawn grey and labelled"
    (unit,), = sql("SELECT map_unit FROM boundaries WHERE area_code = 'E22000308'")
    assert unit in nodata[0]["locations"] or unit in fig["data"][0]["locations"]
    (v,), = sql("SELECT value FROM observations WHERE indicator_id = 'police_uk_violence_and_sexual_offences' "
                "AND area_code = 'E22000308' AND period_label = '2024-03'")
    main = fig["data"][0]
    assert main["z"][main["locations"].index(unit)] == pytest.approx(v)
    assert "Text alternative" in markdown_text(at)
    at.toggle[0].set_value(False).run()  # back to the static map, and out of the URL
    assert not figures(at) and "view" not in at.query_params


def test_compare_ranks_areas_with_intervals(wh, sql):
    at = run_page("pages/3_Compare.py", indicator="knife_offences_total", level="pfa", period="2018/19",
                  areas="E23000029,E23000001,E23000005")
    bars, funnel, ts = figures(at)[:3]
    assert set(bars["data"][0]["y"]) == {"Thames Valley", "Metropolitan Police", "Greater Manchester"}
    assert any("Significantly" in t for t in bars["data"][0]["text"])
    (n_pfa,), = sql("SELECT count(*) FROM observations o JOIN areas a USING (area_code) WHERE a.area_type = 'pfa' "
                    "AND indicator_id = 'knife_offences_total' AND period_label = '2018/19' AND count IS NOT NULL")
    points = sum(len(t["x"]) for t in funnel["data"] if t.get("mode") == "markers")
    assert points == n_pfa
    assert len(at.dataframe[-1].value) == 3


def test_data_and_sources_lists_every_source_and_coverage(wh, sql):
    at = run_page("pages/4_Data_and_sources.py")
    text = markdown_text(at)
    for (title,) in sql("SELECT title FROM sources"):
        assert title in text
    assert "Changelog:" in text
    cov = figures(at)[0]
    assert "MISSING" in json.dumps(cov["data"][0]["text"])
    assert any(b.proto.label == "Download all observations (CSV)" for b in at.get("download_button"))


def test_istv_suppresses_small_counts_and_is_marked_synthetic(wh, sql):
    at = run_page("pages/5_AE_ISTV.py", area="E22000308", period="2024-03..2024-03")
    heat = figures(at)[0]
    assert "SYNTHETIC" in heat["layout"]["title"]["text"]
    z = heat["data"][0]["z"]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    rows = sql("""SELECT category, sum(count) FROM istv_counts WHERE csp_code = 'E22000308' AND dimension = 'hour_dow'
                  AND month BETWEEN '2024-03-01' AND '2024-03-01' GROUP BY 1""")
    small = 0
    for cat, n in rows:
        if cat.startswith("unknown") or " " not in cat:
            continue
        d, h = cat.split(" ")
        cell = z[days.index(d)][int(h)]
        if 1 <= n <= 7:
            small += 1
            assert cell is None, (cat, n)
        elif cell is not None:
            assert cell == n
    assert at.query_params["period"] == "2024-03..2024-03"
    assert small > 0, "the test month should contain counts of 1-7 to exercise suppression"
    weapons = at.dataframe[-1].value
    assert (weapons["count"].isna() == weapons["suppressed_reason"].notna()).all()


def test_missing_warehouse_explains_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SVD_DB", str(tmp_path / "absent.duckdb"))
    for page in ("dashboard.py", "pages/1_Area_profile.py", "pages/2_Map.py"):
        at = run_page(page)
        assert "No warehouse found" in at.warning[0].value
        assert "python -m etl refresh" in markdown_text(at)


def test_profile_names_the_source_of_every_figure(wh, sql):
    at = run_page("pages/1_Area_profile.py", area="E22000308")
    captions = [as_shown(c.value) for c in at.caption if c.value.startswith("Source:")]
    publishers = {p for (p,) in sql("SELECT DISTINCT s.publisher FROM observations o JOIN sources s USING (source_id) "
                                    "WHERE o.area_code IN ('E22000308', 'E07000178', 'E23000029')")}
    assert captions
    for publisher in publishers:
        assert any(publisher in c for c in captions), publisher
    assert any("SYNTHETIC" in m.value for m in at.markdown)  # synthetic rows carry their badge


def test_profile_period_deep_link_shows_that_month_or_says_why_not(wh, sql):
    at = run_page("pages/1_Area_profile.py", area="E22000308", period="2018-10")
    assert at.query_params["period"] == "2018-10"
    (count,) = sql("SELECT count FROM observations WHERE indicator_id = 'police_uk_robbery' "
                   "AND area_code = 'E22000308' AND period_label = '2018-10'")[0]
    (persons,) = sql("SELECT persons FROM population WHERE area_code = 'E22000308' AND year = 2018 "
                     "AND age_band = 'all' AND sex = 'persons'")[0]
    line = next(as_shown(m.value) for m in at.markdown if as_shown(m.value).startswith("**Robbery (police.uk"))
    assert "Community Safety Partnership: Oxford, October 2018" in line
    assert f"**{count / persons * 100_000:,.1f}**" in line
    # Lancashire published no file for October 2018 in the mirror: said, not drawn as zero
    at = run_page("pages/1_Area_profile.py", area="E22000158", period="2018-10")
    text = markdown_text(at)
    assert "no figure for 2018-10: Lancashire police.uk file missing" in text


def test_istv_day_of_week_groups_counts_safely(wh, sql):
    at = run_page("pages/5_AE_ISTV.py", area="E22000308", period="2023-04..2024-03")
    day = next(f for f in figures(at) if "by day of week" in f["layout"]["title"]["text"])
    shown = dict(zip(day["data"][0]["x"], day["data"][0]["y"], strict=True))
    expected = dict(sql("""SELECT category, sum(count) FROM istv_counts WHERE csp_code = 'E22000308'
                           AND dimension = 'dow' AND month BETWEEN '2023-04-01' AND '2024-03-01'
                           AND category <> 'unknown' GROUP BY 1"""))
    assert list(shown) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    for d, n in expected.items():
        if 1 <= n <= 7:
            assert shown[d] is None
        elif shown[d] is not None:  # may be secondarily suppressed
            assert shown[d] == n
    assert sum(v for v in shown.values() if v is not None) > 0
