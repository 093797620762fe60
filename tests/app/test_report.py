"""The A4 profile report (app.report, app.svgchart): built from hand-made profile rows whose
expected cells are written out here, hostile text from files kept as text, synthetic figures
labelled everywhere and never in the lead; and, on the real warehouse, the report's table carries
the profile's own numbers. The PDF itself is checked in tests/browser/test_report_pdf.py.
"""
from __future__ import annotations

import csv
import re
from datetime import date, datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from app import report as rp
from app.svgchart import Line, Point, nice_ticks, trend_svg

REGISTRY = {r["indicator_id"]: r for r in csv.DictReader(
    (Path(__file__).resolve().parents[2] / "data" / "indicators.csv").open(encoding="utf-8"))}

MADE = datetime(2026, 5, 4, 9, 30, tzinfo=timezone.utc)
HOSTILE_NAME = 'Oxford <script>alert(1)</script> "quoted" \\ \n</style>'
HOSTILE_NOTE = "</td></tr></table><img src=x onerror=alert(1)> **bold** :red[x]"


class Doc(HTMLParser):
    """Tags, table rows (cell texts) and headings of a document, as a browser would read them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.h2: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []  # (tr class, cell texts)
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._row_class = ""
        self._h2: list[str] | None = None
        self.text_parts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self._row, self._row_class = [], dict(attrs).get("class") or ""
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self._row_class, self._row))
            self._row = None
        elif tag == "h2" and self._h2 is not None:
            self.h2.append("".join(self._h2).strip())
            self._h2 = None

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._h2 is not None:
            self._h2.append(data)

    @property
    def text(self) -> str:
        return " ".join(self.text_parts)


def _row(**kw) -> dict:
    base = {
        "family": "knife_crime", "indicator_id": "x", "title": "Robbery", "unit": "offences per 100,000 population",
        "polarity": "higher_is_worse", "geo_label": "Community Safety Partnership: Oxford", "area_code": "E22000308",
        "area_name": "Oxford", "area_type": "csp", "period_label": "2024-03", "period_type": "month",
        "period_start": pd.Timestamp("2024-03-01"), "period_end": pd.Timestamp("2024-03-31"),
        "count": None, "value": None, "lower_ci": None, "upper_ci": None, "quality": "official",
        "source_id": "police_uk_street", "note": None, "method": "count and crude rate", "definition": "Robberies.",
        "suppressed_reason": None, "summary": None, "publisher": "Home Office", "source_title": "Street records",
        # the registry's columns (data/indicators.csv) that say how a value is written
        "multiplier": 100_000, "decimals": 1, "value_type": "crude_rate",
    }
    base.update(kw)
    return base


def _bench(i: int, name: str, value: float, label: str, basis: str) -> dict:
    return {f"bench{i}_name": name, f"bench{i}_value": value, f"bench{i}_label": label,
            f"bench{i}_basis": basis, f"bench{i}_phrase": f"{label.lower()} than {name}"}


def make_inputs(area_name: str = "Oxford", note: str | None = None) -> rp.ReportInputs:
    rows = pd.DataFrame([
        _row(indicator_id="police_uk_robbery", title="Robbery (police.uk)", count=530.0, value=331.2065,
             lower_ci=303.61, upper_ci=360.64, note=note,
             summary="Robbery in Oxford were 331 per 100,000 in March 2024, significantly higher than England & Wales.",
             **_bench(1, "England & Wales", 289.6799, "▲ Significantly higher (worse)", "placed records"),
             **_bench(2, "Thames Valley police force area", 244.3, "▲ Significantly higher (worse): reason", "placed")),
        _row(indicator_id="knife_total", title="Knife offences", geo_label="Police force area: Thames Valley",
             area_code="E23000029", area_name="Thames Valley", area_type="pfa", period_label="2018/19",
             period_type="financial_year", period_start=pd.Timestamp("2018-04-01"),
             period_end=pd.Timestamp("2019-03-31"), count=1493.0, value=62.0121, lower_ci=58.91, upper_ci=65.24,
             source_id="ho_knife", summary="Knife offences in Thames Valley were 62 per 100,000 in 2018/19.",
             **_bench(1, "England & Wales", 78.3933, "○ Not compared: recording change", "sum of forces")),
        _row(family="ae_assault", indicator_id="istv", title="ED assault attendances", unit="per 100,000 (monthly)",
             count=11.0, value=6.874, lower_ci=3.43, upper_ci=12.3, quality="synthetic", source_id="istv_ae",
             summary="ED assault attendances in Oxford were 6.9 per 100,000 in March 2024. Synthetic data."),
        _row(family="ae_assault", indicator_id="hes", title="HES sharp-object admissions", count=7.0, value=None,
             suppressed_reason="small count (1-7)", source_id="hes"),
        _row(family="gangs", indicator_id="cin", title="Assessments citing gangs", unit="assessment episodes",
             geo_label="Upper-tier local authority: Oxfordshire County Council area", area_code="E10000025",
             area_type="utla", period_label="2024/25", period_type="financial_year", count=65.0, value=65.0,
             multiplier=1, decimals=0, value_type="count",
             source_id="dfe", summary="Assessments citing gangs in Oxfordshire in 2024/25: 65 assessment episodes.",
             **_bench(1, "England", 8860.0, "○ Not compared: no interval", "as published")),
        _row(family="drug_treatment", indicator_id="deaths", title="Drug deaths", geo_label="not available",
             area_code=None, area_name=None, area_type=None, period_label=None, period_type=None, period_start=None,
             period_end=None, quality=None, source_id=None, method=None, definition=None,
             suppressed_reason="this publication covers England only (no figures for Wales)"),
    ])
    geo = {
        "area": {"area_code": "E22000308", "area_name": area_name, "area_type": "csp"},
        "lads": [{"code": "E07000178", "name": "Oxford", "relation": "same boundary as the partnership"}],
        "csps": [], "pfa": {"code": "E23000029", "name": "Thames Valley"},
        "region": {"code": "E12000008", "name": "South East"}, "country": "E92000001", "split_note": None,
        "not_estimated": [], "utlas": [{"code": "E10000025", "words": "Oxfordshire County Council area"}],
    }
    months = [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
    ends = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    trends = {0: [Line("Oxford", [Point(s, e, f"2024-0{i + 1}", 300.0 + i, 280.0, 330.0) for i, (s, e)
                                  in enumerate(zip(months, ends))]),
                  Line("England & Wales", [Point(s, e, "", 290.0) for s, e in zip(months, ends)], benchmark=True)],
              2: [Line("Oxford", [Point(months[2], ends[2], "2024-03", 6.9, 3.4, 12.3, "synthetic")])]}
    sources = pd.DataFrame([
        {"source_id": "police_uk_street", "publisher": "Home Office", "title": "Street records",
         "file_name": "318 files", "retrieved_at": pd.Timestamp("2026-05-01"), "licence": "OGL v3",
         "attribution": "Contains public sector information", "quality": "official"},
        {"source_id": "istv_ae", "publisher": "EDs", "title": "ISTV", "file_name": "x.csv",
         "retrieved_at": pd.Timestamp("2026-05-01"), "licence": "local", "attribution": "", "quality": "synthetic"},
    ])
    coverage = pd.DataFrame([{"source_id": "police_uk_street", "last_period": pd.Timestamp("2024-03-31")}])
    return rp.ReportInputs(geo=geo, rows=rows, month="2024-03", trends=trends, sources=sources, coverage=coverage,
                           built_at="2026-05-01T08:00:00+00:00")


def table_row(doc: Doc, title_start: str) -> tuple[str, list[str]]:
    hits = [r for r in doc.rows if r[1] and r[1][0].replace("SYNTHETIC ", "").startswith(title_start)]
    assert len(hits) == 1, (title_start, hits)
    return hits[0]


def test_every_section_is_there_in_order():
    inp = make_inputs()
    doc = Doc(rp.report_html(inp, MADE))
    assert doc.h2 == ["About this report", "Summary", "Knife crime and weapons",
                      "A&E attendances and hospital admissions for assault", "Gangs and child criminal exploitation",
                      "Drug treatment and drug-related harm", "Methods and caveats", "Sources and licence"]
    assert doc.h2 == rp.section_headings(inp)
    assert "Made 4 May 2026, 09:30 UTC" in " ".join(doc.text.split())


def test_table_cells_carry_the_profile_numbers_formatted_for_reading():
    doc = Doc(rp.report_html(make_inputs(), MADE))
    head = next(cells for _, cells in doc.rows if cells and cells[0] == "Indicator (unit)")
    assert head[:6] == ["Indicator (unit)", "Area the figure is for", "Period", "Count", "Value", "95% interval"]
    assert "England & Wales rate" in head and "Thames Valley police force area rate" in head
    _, robbery = table_row(doc, "Robbery (police.uk)")
    assert robbery[2:6] == ["March 2024", "530", "331.2", "303.6 to 360.6"]
    assert robbery[head.index("England & Wales rate")].startswith("289.7")
    assert robbery[head.index("Thames Valley police force area rate")].startswith("244.3")
    _, knife = table_row(doc, "Knife offences")
    assert knife[2:6] == ["2018/19", "1,493", "62.0", "58.9 to 65.2"]
    # a count is whole; its benchmark column is headed 'figure', not 'rate'
    gangs_head = [cells for _, cells in doc.rows if cells and cells[0] == "Indicator (unit)"][2]
    assert "England figure" in gangs_head
    _, gangs = table_row(doc, "Assessments citing gangs")
    assert gangs[3:5] == ["65", "65"]
    # suppressed: the count shown, the value 'not shown' with why; absent: why, nothing else
    _, hes = table_row(doc, "HES sharp-object admissions")
    assert hes[3] == "7" and hes[4].startswith("not shown") and "small count (1-7)" in hes[4]
    _, deaths = table_row(doc, "Drug deaths")
    assert deaths[1] == "not available" and "covers England only" in deaths[3]
    assert not re.search(r"\b(None|nan|NaN|NaT)\b", doc.text)


def test_every_figure_has_a_numbered_source_line_and_a_chart_when_it_is_a_rate():
    html = rp.report_html(make_inputs(), MADE)
    notes = re.findall(r"<li value='(\d+)'>(.*?)</li>", html)
    assert [n for n, _ in notes] == ["1", "2", "3", "4", "5"]  # the not-available row has none
    robbery = notes[0][1]
    for part in ("Source: Home Office", "<i>Street records</i>", "318 files; loaded 1 May 2026", "Period: March 2024",
                 "Quality: official statistics", "Comparisons:", "England &amp; Wales: placed records"):
        assert part in robbery
    assert html.count("<svg") == 2 and "Robbery (police.uk) [1]" in html


def test_hostile_area_name_and_notes_stay_text():
    html = rp.report_html(make_inputs(area_name=HOSTILE_NAME, note=HOSTILE_NOTE), MADE)
    doc = Doc(html)
    assert "script" not in doc.tags and "img" not in doc.tags
    assert set(doc.tags) <= {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p",
                             "section", "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td", "span",
                             "br", "ul", "ol", "li", "b", "i", "div", "figure", "figcaption", "svg",
                             "line", "text", "polyline", "circle", "path", "g"}
    assert "Oxford <script>alert(1)</script>" in doc.text  # shown as text, exactly
    assert "<img src=x onerror=alert(1)>" in doc.text
    style = html[html.index("<style>"): html.index("</style>")]
    footer = re.search(r"@bottom-left \{ content: (\"[^\"]*\");", style)
    assert footer, "the footer is one CSS string: no quote in the name closed it"
    assert "<" not in footer.group(1) and "\n" not in footer.group(1)
    assert "default-src 'none'" in html  # no fetch, no script, even if something slipped through


def test_synthetic_figures_are_labelled_everywhere_and_never_lead():
    html = rp.report_html(make_inputs(), MADE)
    doc = Doc(html)
    cls, ed = table_row(doc, "ED assault attendances")
    assert cls == "synthetic" and ed[0].startswith("SYNTHETIC") and ed[-1].startswith("SYNTHETIC")
    summary = html[html.index("<h2>Summary</h2>"): html.index("</section>", html.index("<h2>Summary</h2>"))]
    first_list = summary[summary.index("<ul>"): summary.index("</ul>")]
    assert "ED assault attendances" not in first_list and "Robbery in Oxford" in first_list
    synthetic_part = summary[summary.index("SYNTHETIC data - for demonstration only, not real figures"):]
    assert "<span class='tag'>SYNTHETIC</span> ED assault attendances" in synthetic_part
    chart = re.search(r"<figure class='synthetic'><figcaption>(.*?)</figcaption>", html)
    assert chart and "SYNTHETIC data - for demonstration only, not real figures." in chart.group(1)
    note = re.findall(r"<li value='3'>(.*?)</li>", html)[0]
    assert "SYNTHETIC data - for demonstration only, not real figures" in note
    # the report's first sentence is a real figure's
    assert re.search(r"<h2>Summary</h2><ul><li>([^<]*)", html).group(1).startswith("Robbery in Oxford")


def test_chart_breaks_at_a_missing_period_and_marks_the_gap():
    pts = [Point(date(2019, 1, 1), date(2019, 1, 31), "2019-01", 10.0, 8.0, 12.0),
           Point(date(2019, 2, 1), date(2019, 2, 28), "2019-02", 11.0, 9.0, 13.0),
           Point(date(2024, 1, 1), date(2024, 1, 31), "2024-01", 12.0, 10.0, 14.0),
           Point(date(2024, 2, 1), date(2024, 2, 29), "2024-02", 13.0, 11.0, 15.0)]
    svg = trend_svg([Line("Area <b>", pts)], unit="per 100,000", label="t <x>")
    assert svg.count("<polyline") == 2  # two runs, never joined across 2019-03 .. 2023-12
    assert ">gap</text>" in svg
    assert "Area &lt;b&gt;" in svg and "<b>" not in svg
    assert svg.count("<circle") == 4 + 1  # four points and the legend's marker
    assert nice_ticks(0, 362) == [0, 100, 200, 300, 400]
    assert nice_ticks(0, 1.2) == [0, 0.5, 1.0, 1.5]


def _outcomes(source: str = "NHS England: Hospital Episode Statistics") -> pd.DataFrame:
    from app import outcomes as oc

    rows = [
        {"measure": oc.MEASURES[0], "geography": "South East region (where Oxford is)", "period": "2024/25",
         "figure": "7.9 per 100,000 (730 episodes)", "trend": "no significant trend",
         "trend_detail": "chi-square test for trend over 5 years", "change": "+3% on 2023/24 (7.7)",
         "how_current": "data to March 2025, 20 months before today", "source": source, "quality": "official"},
        {"measure": oc.MEASURES[1], "geography": "Police force area: Thames Valley", "period": "2025",
         "figure": "1,200 offences", "trend": "", "trend_detail": "", "change": "", "how_current": "",
         "source": "ISTV", "quality": "synthetic"},
        {"measure": oc.MEASURES[2], "geography": "England and Wales", "period": "", "figure": "not shown: no national "
         "homicide figure in this warehouse", "trend": "", "trend_detail": "", "change": "", "how_current": "",
         "source": "", "quality": ""},
    ]
    return pd.DataFrame([{**r, "indicator_id": None, "area_code": None, "period_type": None} for r in rows],
                        columns=oc.COLUMNS)


def test_duty_outcome_measures_follow_the_summary_with_the_panels_words():
    from dataclasses import replace

    inp = replace(make_inputs(), outcomes=_outcomes(source=HOSTILE_NOTE))
    html = rp.report_html(inp, MADE)
    doc = Doc(html)
    assert doc.h2[:3] == ["About this report", "Summary", "Serious Violence Duty outcome measures"]
    assert doc.h2 == rp.section_headings(inp)
    head = next(cells for _, cells in doc.rows if cells and cells[0] == "Measure (geography)")
    assert head == ["Measure (geography)", "Period", "Figure", "Trend", "Change on a year earlier", "How current",
                    "Source"]
    hes = next(cells for _, cells in doc.rows if cells and cells[0].startswith("Hospital admissions"))
    assert hes[0] == "Hospital admissions for assault with a knife or sharp objectSouth East region (where Oxford is)"
    assert hes[1:6] == ["2024/25", "7.9 per 100,000 (730 episodes)",
                        "no significant trendchi-square test for trend over 5 years", "+3% on 2023/24 (7.7)",
                        "data to March 2025, 20 months before today"]
    assert hes[6] == HOSTILE_NOTE + "official statistics"  # text from a file stays text
    assert "img" not in doc.tags
    cls, knife = next((c, cells) for c, cells in doc.rows if cells and "recorded by the police" in cells[0])
    assert cls == "synthetic" and knife[0].startswith("SYNTHETIC ")
    assert "SYNTHETIC data - for demonstration only, not real figures" in knife[6]
    homicide = next(cells for _, cells in doc.rows if cells and cells[0].startswith("Homicide"))
    assert homicide[2].startswith("not shown: ")
    # without outcomes (a caller that has none) the section is left out, not shown empty
    assert "Serious Violence Duty" not in rp.report_html(make_inputs(), MADE)


def test_css_string_escapes_everything_but_letters_digits_spaces():
    assert rp.css_string('a"b</style>') == '"a\\22 b\\3c \\2f style\\3e "'


def test_pdf_unavailable_without_chromium(monkeypatch):
    monkeypatch.setenv("SVD_CHROMIUM", "/nonexistent/chromium")
    assert not rp.pdf_available()
    with pytest.raises(rp.PdfUnavailable, match="no Chromium"):
        rp.html_to_pdf("<p>x</p>")


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")
def test_html_to_pdf_prints_a4_pages_with_numbers():
    pypdf = pytest.importorskip("pypdf")
    import io

    data = rp.html_to_pdf(rp.report_html(make_inputs(), MADE))
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 5  # title, one page per family, methods
    for page in reader.pages:
        assert abs(float(page.mediabox.width) - 595) <= 1 and abs(float(page.mediabox.height) - 842) <= 1
    assert f"Page 1 of {len(reader.pages)}" in reader.pages[0].extract_text()


# ---------------------------------------------------------------- the real warehouse
def test_report_table_equals_the_profile_rows_for_oxford(wh):
    import duckdb

    from app import profile as pr

    inp = rp.report_inputs("E22000308", "2024-03")
    assert inp is not None
    _, rows = pr.csp_profile("E22000308", "2024-03")
    doc = Doc(rp.report_html(inp, MADE))
    checked = 0
    for r in rows.to_dict("records"):
        if not isinstance(r.get("area_code"), str) or pd.isna(r.get("value")):
            continue
        hits = [cells for _, cells in doc.rows if cells and re.sub(r"^SYNTHETIC ", "", cells[0]).startswith(r["title"])
                and cells[1] == r["geo_label"]]
        assert len(hits) == 1, r["title"]
        cells = hits[0]
        # written as the registry says (data/indicators.csv, read here directly): counts whole,
        # rates and percentages with its decimals
        reg = REGISTRY[r["indicator_id"]]
        places = 0 if reg["multiplier"] == "1" else int(reg["decimals"])
        assert cells[4] == f"{r['value']:,.{places}f}"
        if not pd.isna(r.get("count")):
            assert cells[3] == f"{r['count']:,.0f}"
        checked += 1
    assert checked >= 20
    # and one value worked out from the warehouse directly, not through app code
    con = duckdb.connect(str(wh), read_only=True)
    (count, value), = con.execute(
        "SELECT count, value FROM observations WHERE indicator_id = 'police_uk_drugs' AND area_code = 'E22000308' "
        "AND period_label = '2024-03' AND source_id NOT LIKE '%#%'").fetchall()
    con.close()
    cells = next(c for _, c in doc.rows if c and c[0].startswith("Drugs (police.uk"))
    assert cells[3:5] == [f"{count:,.0f}", f"{value:,.1f}"]
    # the Duty outcome measures are the profile page's panel, row for row and word for word
    from app import outcomes as oc

    panel = oc.outcomes_table(oc.duty_outcomes(dict(inp.geo)))
    assert len(panel) == 3
    for r in panel.to_dict("records"):
        cells = next(c for _, c in doc.rows if c and c[0].replace("SYNTHETIC ", "").startswith(r["measure"]))
        assert cells[0].endswith(r["geography"]) and cells[1:3] == [r["period"], r["figure"]]
        assert cells[3].startswith(r["trend"]) and cells[4:6] == [r["change on a year earlier"], r["how current"]]
        assert cells[6] == r["source"] + r["quality"]
    assert panel["figure"].str.contains(r"\d").sum() >= 2  # figures, not only "not shown"
    # every charted figure's trend has the area first and at least one benchmark line
    assert inp.trends and all(lines[0].benchmark is False for lines in inp.trends.values())
    assert any(len(lines) > 1 for lines in inp.trends.values())
    # an upper-tier figure compared with England and its region draws both, as the profile page does,
    # at the values the warehouse holds for them (read here with SQL)
    con = duckdb.connect(str(wh), read_only=True)
    want = {(a, p): v for a, p, v in con.execute(
        "SELECT area_code, period_label, value FROM observations WHERE indicator_id = 'dfe_cin_gangs_rate' "
        "AND area_code IN ('E92000001', 'E12000008') AND source_id NOT LIKE '%#%'").fetchall()}
    con.close()
    (gangs,) = [i for i in inp.trends if inp.rows.loc[i, "indicator_id"] == "dfe_cin_gangs_rate"]
    lines = {ln.name: {p.label: p.value for p in ln.points} for ln in inp.trends[gangs][1:]}
    assert set(lines) == {"England", "South East"}
    for name, code in (("England", "E92000001"), ("South East", "E12000008")):
        got = {k: v for k, v in lines[name].items() if v is not None}
        assert got and got == pytest.approx({p: v for (a, p), v in want.items() if a == code and p in got})


@pytest.mark.parametrize("chromium", [True, False])
def test_profile_page_offers_the_report_and_says_when_pdf_is_unavailable(wh, monkeypatch, chromium):
    from streamlit.testing.v1 import AppTest

    if not chromium:
        monkeypatch.setenv("SVD_CHROMIUM", "/nonexistent/chromium")
    elif not rp.pdf_available():
        pytest.skip("no Chromium here")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "pages/1_Area_profile.py"), default_timeout=120)
    at.query_params["area"] = "E22000308"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the profile report (HTML)" in labels
    unavailable = [i.value for i in at.info if "PDF report is unavailable" in i.value]
    if chromium:
        assert "Download the profile report (PDF, A4)" in labels and not unavailable
    else:
        assert "Download the profile report (PDF, A4)" not in labels and len(unavailable) == 1


def test_a_synthetic_chart_says_so_inside_the_drawing():
    pts = [Point(date(2024, 3, 1), date(2024, 3, 31), "2024-03", 6.9, 3.4, 12.3, "synthetic")]
    assert ">SYNTHETIC data - for demonstration only, not real figures</text>" in trend_svg(
        [Line("Oxford", pts)], unit="u", label="l")
    real = [Point(date(2024, 3, 1), date(2024, 3, 31), "2024-03", 6.9, 3.4, 12.3, "official")]
    assert "SYNTHETIC" not in trend_svg([Line("Oxford", real)], unit="u", label="l")


def test_cached_report_is_dated_by_the_day_it_is_served(wh):
    """The Duty outcomes say how many months before today each figure ends: a report cached
    yesterday must not be served today (the cache is keyed on the day as well as the warehouse)."""
    day1, day2 = date(2026, 12, 31), date(2027, 1, 1)
    first = rp.profile_report_html("E22000308", "2024-03", today=day1)
    assert rp.profile_report_html("E22000308", "2024-03", today=day1) is first  # cached
    second = rp.profile_report_html("E22000308", "2024-03", today=day2)
    ages = [re.findall(r"(\d+) months? before today", doc) for doc in (first, second)]
    assert ages[0] and len(ages[0]) == len(ages[1])
    assert [int(b) - int(a) for a, b in zip(*ages)] == [1] * len(ages[0])
