"""Each page run headless with streamlit's AppTest against a warehouse built by the real
refresh from the mirror (session fixture `real_warehouse`). Expected values are computed here
independently with duckdb, not through app.queries.

One page per AppTest run, absolute paths (AppTest resolves relative paths against this file).
"""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.safe_text import as_shown
from tests.app.page_runner import run_page
from tests.disclosure_attack import attack_sums


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
    # labelled with the registry's short title, the whole title in the metric's help
    knife = [m.value for m in at.metric if m.proto.help.startswith("Police recorded offences involving a knife")]
    assert knife == [f"{value:,.0f}"]
    text = markdown_text(at)
    assert label in text and url in text
    assert ":blue-badge[official statistics]" in text
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
    assert ":red-badge[SYNTHETIC data - for demonstration only, not real figures]" in text
    profile_table = next(d.value for d in at.dataframe if "bench1_label" in d.value.columns)
    assert "Not compared: synthetic data" in " ".join(profile_table["bench1_label"].dropna())
    assert "National figure for context" in text
    # Its title keeps its acronyms mid-sentence ("(HES finished consultant episodes (FCE) ...)",
    # "(NDTMS adults ...)"): only the first letter is lowered, never "(hes ... (fce)" or "ndtms".
    context = [ln for ln in text.split("\n") if ln.startswith("National figure for context")]
    titles = [t for (t,) in sql("SELECT title FROM indicators") if any(c.isupper() for c in t[1:])]
    kept = [t for t in titles if any(t[1:].replace("(", "\\(").replace(")", "\\)") in ln
                                     or t[1:] in ln for ln in context)]
    assert kept, f"no context line keeps a title with capitals inside it: {context}"
    # Summary sentence from methods.summary.
    assert "similar to England & Wales" in text or "significantly" in text

    figs = figures(at)
    trend, spc = figs[0], figs[1]
    assert any(t["name"] == "Oxford" for t in trend["data"])
    assert "Robbery" in trend["layout"]["title"]["text"]
    # Control chart per continuous run: the mirror holds Oct 2018 - Feb 2019 and Jan - Mar 2024,
    # so neither run has 12 months: a mean per run, no limits, no signals, and it says why.
    months = [m for (m,) in sql("SELECT period_start FROM observations WHERE indicator_id = 'police_uk_robbery' "
                                "AND area_code = 'E22000308' AND period_type = 'month' ORDER BY 1")]
    gaps = sum(1 for a, b in zip(months, months[1:]) if (b.year - a.year) * 12 + b.month - a.month > 2)
    means = [t for t in spc["data"] if t["name"] == "mean"]
    assert len(means) == gaps + 1 == 2
    assert not any(t["name"] in ("upper limit", "lower limit", "special cause (signal)") for t in spc["data"])
    notes = [a["text"] for a in spc["layout"]["annotations"] if a.get("name") != "svd-lineage"]  # not the source line
    assert notes == ["too few points for limits"] * 2
    assert "2 separate runs" in spc["layout"]["title"]["text"]
    # Monthly figures get no trend marker, and the table says why.
    trend_table = next(d.value for d in at.dataframe if "recent trend" in d.value.columns)
    assert len(trend_table) > 0, "nothing to check: an empty result must not pass"
    assert (trend_table["recent trend"] == "– No trend marker").all()
    assert trend_table["how it was tested / why not"].str.contains("monthly and quarterly").all()
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
    assert re.search(r'<svg [^>]*role="group" aria-label="[^"]+"', svg) and "<desc>" in svg
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
    assert sorted(a["text"] for a in funnel["layout"]["annotations"] if a.get("name") != "svd-lineage") == [
        "Greater Manchester", "Metropolitan Police", "Thames Valley"]


def _independent_funnel(rows, rate, level_z):
    """Spiegelhalter's additive random-effects funnel worked here with numpy alone:
    z = 2(sqrt O - sqrt E), winsorised at the 10th/90th percentiles, phi = mean z²,
    tau² = (n phi - (n - 1)) / (sum w - sum w² / sum w), w = 4E; an area is outside when
    sqrt(O/E) is more than level_z × sqrt(1/(4E) + tau²) from 1."""
    o = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows], dtype=float) * rate / 1e5
    z = 2 * (np.sqrt(o) - np.sqrt(e))
    lo, hi = np.percentile(z, [10, 90])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = 4 * e
    tau2 = max(0.0, (len(z) * phi - (len(z) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    dev = (np.sqrt(o / e) - 1) / np.sqrt(1 / (4 * e) + tau2)
    return phi, tau2, int((dev > level_z).sum()), int((dev < -level_z).sum())


def test_compare_funnel_adjusts_for_overdispersion_on_real_data(wh, sql):
    at = run_page("pages/3_Compare.py", indicator="knife_offences_total", level="pfa", period="2018/19",
                  areas="E23000029,E23000001,E23000005")
    funnel = figures(at)[1]
    rows = sql("SELECT o.count, o.denominator FROM observations o JOIN areas a USING (area_code) "
               "WHERE a.area_type = 'pfa' AND indicator_id = 'knife_offences_total' AND period_label = '2018/19' "
               "AND o.count IS NOT NULL AND o.denominator IS NOT NULL")
    # The benchmark the page drew (its comparator is chosen elsewhere), checked against the warehouse.
    line = next(t for t in funnel["data"] if t.get("mode") == "lines" and t["name"].startswith("England"))
    bench = line["y"][0]
    assert any(abs(v - bench) < 1e-9 for (v,) in sql(
        "SELECT value FROM observations WHERE indicator_id = 'knife_offences_total' AND period_label = '2018/19' "
        "AND area_code IN ('K04000001', 'E92000001', 'W92000004')"))
    phi, tau2, above95, below95 = _independent_funnel(rows, bench, 1.959964)
    title = funnel["layout"]["title"]["text"]
    assert "additive random effects" in title and f"phi = {phi:.2f}" in title and f"tau² = {tau2:.4f}" in title
    shown = {t["name"].rsplit(" (", 1)[0]: len(t["x"]) for t in funnel["data"] if t.get("mode") == "markers"}
    n_above = sum(n for k, n in shown.items() if k.startswith("above"))
    n_below = sum(n for k, n in shown.items() if k.startswith("below"))
    assert (n_above, n_below) == (above95, below95)
    # Far fewer than the unadjusted funnel names (35 of 42 forces outside 99.8% in the issue).
    assert n_above + n_below < len(rows) / 4
    # Higher is worse for knife crime: "above" is worse and drawn in the "worse" colour.
    for t in funnel["data"]:
        if t.get("mode") == "markers" and t["name"].startswith("above"):
            assert "(worse)" in t["name"] and t["marker"]["color"] == "#D55E00"
    # The unadjusted limits stay available.
    at.radio(key="funnel_limits").set_value("unadjusted Poisson").run()
    raw = figures(at)[1]
    assert "Unadjusted Poisson limits" in raw["layout"]["title"]["text"]
    outside = sum(len(t["x"]) for t in raw["data"] if t.get("mode") == "markers" and "99.8%" in t["name"])
    assert outside > len(rows) / 2


def test_compare_trend_marker_on_real_data(wh, sql):
    at = run_page("pages/3_Compare.py", indicator="knife_offences_total", level="pfa", period="2018/19",
                  areas="E23000029,E23000001,E23000005")
    table = next(d.value for d in at.dataframe if "recent trend" in d.value.columns).set_index("area_name")
    # Greater Manchester has a recorded break (2018/19) inside its last five years: no marker.
    (when,), = sql("SELECT break_date FROM series_breaks WHERE indicator_id = 'knife_offences_total' "
                   "AND area_code = 'E23000005'")
    assert str(when)[:4] == "2018"
    assert table.loc["Greater Manchester", "recent trend"] == "– No trend marker"
    assert "series break" in table.loc["Greater Manchester", "how it was tested / why not"]
    # The Met: Poisson score test for the slope over the last five financial years, by hand.
    rows = sql("SELECT period_start, count, denominator FROM observations WHERE indicator_id = 'knife_offences_total' "
               "AND area_code = 'E23000001' AND period_type = 'financial_year' ORDER BY period_start DESC LIMIT 5")
    rows = rows[::-1]
    x = np.array([(r[0] - rows[0][0]).days / 365.25 for r in rows])
    o = np.array([r[1] for r in rows], dtype=float)
    n = np.array([r[2] for r in rows], dtype=float)
    e = n * o.sum() / n.sum()
    score = (x * (o - e)).sum()
    x2 = score**2 / ((e * x**2).sum() - (e * x).sum() ** 2 / e.sum())
    assert x2 > 3.841  # significant at 95%
    word = "Increasing" if score > 0 else "Decreasing"
    better = "worse" if score > 0 else "better"
    assert table.loc["Metropolitan Police", "recent trend"] == f"{'↑' if score > 0 else '↓'} {word} and getting {better}"


def test_data_and_sources_lists_every_source_and_coverage(wh, sql):
    at = run_page("pages/4_Data_and_sources.py")
    text = markdown_text(at)
    for (title,) in sql("SELECT title FROM sources"):
        assert title in text
    assert "Changelog:" in text
    cov = figures(at)[0]
    assert "MISSING" in json.dumps(cov["data"][0]["text"])
    assert any(b.proto.label == "Download all observations (zip of CSVs)" for b in at.get("download_button"))


def test_istv_suppresses_small_counts_and_is_marked_synthetic(wh, sql):
    at = run_page("pages/5_AE_ISTV.py", area="E22000308", period="2023/24")
    heat = figures(at)[0]
    assert "SYNTHETIC" in heat["layout"]["title"]["text"]
    z = heat["data"][0]["z"]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    rows = sql("""SELECT category, sum(count) FROM istv_counts WHERE csp_code = 'E22000308' AND dimension = 'hour_dow'
                  AND month BETWEEN '2023-04-01' AND '2024-03-01' GROUP BY 1""")
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
    assert at.query_params["period"] == "2023/24"
    assert small > 0, "the test month should contain counts of 1-7 to exercise suppression"
    weapons = at.dataframe[-1].value
    assert len(weapons) > 0, "nothing to check: an empty result must not pass"
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
    at = run_page("pages/5_AE_ISTV.py", area="E22000308", period="2023/24")
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


def test_istv_page_figures_survive_a_differencing_attack(wh, sql):
    at = run_page("pages/5_AE_ISTV.py", area="E22000308", period="2022/23")
    # Only fixed, non-overlapping periods can be chosen: no two ranges to subtract.
    options = at.selectbox(key="sel_period").options
    assert options == ["2022/23", "2023/24"] and not at.get("select_slider")
    figs = figures(at)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    shown: dict[str, float | None] = {}
    z = figs[0]["data"][0]["z"]
    for i, d in enumerate(days):
        for h in range(24):
            shown[f"{d} {h:02d}"] = z[i][h]
    day_fig = next(f for f in figs if "by day of week" in f["layout"]["title"]["text"])
    band_fig = next(f for f in figs if "3-hour bands" in f["layout"]["title"]["text"])
    month_fig = next(f for f in figs if "by month" in f["layout"]["title"]["text"])
    for x, y in zip(day_fig["data"][0]["x"], day_fig["data"][0]["y"], strict=True):
        shown[f"day {x}"] = y
    for x, y in zip(band_fig["data"][0]["x"], band_fig["data"][0]["y"], strict=True):
        shown[f"band {x}"] = y
    for x, y in zip(month_fig["data"][0]["x"], month_fig["data"][0]["y"], strict=True):
        shown[f"month {str(x)[:7]}"] = y
    weapons = at.dataframe[-1].value
    for c, n in zip(weapons["category"], weapons["count"], strict=True):
        shown[f"weapon {c}"] = None if n is None or n != n else float(n)
    shown["no time"] = None  # never shown: the total minus the day totals
    shown = {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)) for k, v in shown.items()}
    total = "weapon all"
    sums = [(f"day {d}", [f"{d} {h:02d}" for h in range(24)]) for d in days]
    for b in range(8):
        label = f"{3 * b:02d}:00-{3 * b + 2:02d}:59"
        sums.append((f"band {label}", [f"{d} {h:02d}" for d in days for h in range(3 * b, 3 * b + 3)]))
    sums.append((total, [f"day {d}" for d in days] + ["no time"]))
    sums.append((total, [k for k in shown if k.startswith("weapon ") and k != total]))
    sums.append((total, [k for k in shown if k.startswith("month ")]))
    # The true values (from the warehouse) lie within the attacker's bounds, and none is pinned.
    truth = dict(sql("""SELECT category, sum(count) FROM istv_counts WHERE csp_code = 'E22000308'
                        AND dimension = 'hour_dow' AND month BETWEEN '2022-04-01' AND '2023-03-01' GROUP BY 1"""))
    small = [k for k, n in truth.items() if k in shown and 1 <= n <= 7]
    assert small and all(shown[k] is None for k in small)
    bounds = attack_sums(shown, sums, truth=truth)
    assert set(small) <= set(bounds)
    for name, (lo, hi) in bounds.items():
        assert hi - lo > 0.5, (name, lo, hi)
