"""File text in a plotly chart, as a browser draws it: an area name, an indicator title, a unit
and a note holding `<a href>`, `<img>`, `<span style>` and `%{x}` are shown as typed, and the
chart's SVG holds no link, image or styled span made from them; the hover shows `%{x}` literally.
And in the pickers: streamlit 1.67 draws selectbox and multiselect options as plain text (unlike
st.radio options and widget labels, which it renders as markdown: our radios offer only our own
words), so an area name holding markdown is shown as typed in `ui.url_select` and the Compare
page's multiselect, unescaped (escaping would show the backslashes).

Runs a small streamlit app (written to a temporary folder, served by bench.server like the real
app) that builds the charts with the project's own figure builders and `app.ui.chart`, the way
every page does, in headless Chromium.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.server import ServerError, streamlit_server
from tests.browser.test_browser import CHROMIUM, EXCEPTION, IDLE, START_S, WAIT_MS, browser

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium"),
]
__all__ = ["browser"]  # the fixture, imported from test_browser

NAME = '<a href="http://evil.example/x">x</a> <img src=x onerror=alert(1)> <span style="color:red">s</span> tpl%{x}'
UNIT = "per %{x} 100,000"
MD_NAME = "**bold** [link](http://evil.example) ![i](http://evil.example/i.png) :red[x] <b>h</b> `code` $x^2$"

APP = f'''
import pandas as pd
import streamlit as st

from app import figures as fg
from app import ui

ui.page_setup("Plotly text")
NAME, UNIT = {NAME!r}, {UNIT!r}
df = pd.DataFrame({{"area_name": [NAME, "Oxford"], "value": [10.0, 50.0], "lower_ci": [8.0, 45.0],
                    "upper_ci": [12.0, 55.0], "significance": ["lower", "higher"],
                    "rating": ["better", "worse"], "quality": "official"}})
ui.chart(fg.ranked_bars(df, title="Title " + NAME, unit=UNIT, benchmark_value=30.0, benchmark_name=NAME),
         "ranked bars", key="bars")
start = pd.to_datetime(["2024-01-01", "2024-02-01"])
series = pd.concat([pd.DataFrame({{"area_name": area, "period_start": start, "period_end": start + pd.offsets.MonthEnd(0),
                                    "period_label": ["2024-01", "2024-02"], "value": [5.0, 6.0], "quality": "official",
                                    "source_title": NAME}}) for area in (NAME, "Oxford")])  # two lines: a legend
ui.chart(fg.trend_figure(series, title="Trend " + NAME, unit=UNIT), "trend", key="trend")
names = {{"A": {MD_NAME!r}, "B": "Oxford"}}
ui.url_select("Area", ["A", "B"], "area", format_func=names.get)
st.multiselect("Areas", ["A", "B"], default=["A"], format_func=lambda c: names[c], key="areas_ms")
ui.page_ready()
'''


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    script = tmp_path_factory.mktemp("plotly_text_app") / "plotly_text_app.py"
    script.write_text(APP, encoding="utf-8")
    try:
        with streamlit_server(None, script=script, start_timeout=START_S) as srv:
            yield srv.url
    except ServerError as exc:
        pytest.fail(str(exc))


def test_chart_text_from_files_is_drawn_as_text(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(app_url, timeout=WAIT_MS)
    expect(page.locator(".st-key-svd-page-ready [data-svd-page='Plotly text']")).to_be_attached(timeout=WAIT_MS)
    expect(page.locator(IDLE)).to_be_attached(timeout=WAIT_MS)
    assert page.locator(EXCEPTION).count() == 0
    plots = page.locator(".js-plotly-plot")
    expect(plots).to_have_count(2, timeout=WAIT_MS)
    for i in range(2):  # both charts drawn: their titles are in the SVG
        expect(plots.nth(i).locator(".gtitle")).to_be_attached(timeout=WAIT_MS)

    # No element made from the data: plotly's own modebar links live outside the SVG.
    for tag in ("a", "img", "image"):
        assert page.locator(f".js-plotly-plot svg {tag}").count() == 0, tag
    assert page.locator(".js-plotly-plot svg tspan[style*='red']").count() == 0
    # Shown as typed: title, tick label, benchmark annotation, legend name, axis title.
    bars, trend = plots.nth(0), plots.nth(1)
    # a long title is drawn in lines (app.figures breaks it between words): read line by line
    lines = [t.text_content() for t in bars.locator(".gtitle tspan.line").all()]
    assert " ".join(lines or [bars.locator(".gtitle").text_content()]) == "Title " + NAME
    # the tick label's first line is the area's name, its second the comparison's words
    assert any(t.text_content().startswith(NAME) for t in bars.locator(".ytick text").all())
    assert any(NAME in t.text_content() for t in bars.locator(".annotation-text").all())
    assert trend.locator(".legendtext").first.text_content() == NAME
    assert trend.locator(".ytitle").text_content() == UNIT

    # Hover over the hostile bar: the name and the unit keep their %{x}, no link is made.
    # (plotly's drag layer above the bars takes the pointer: move the mouse to the bar's centre)
    box = bars.locator(".bars .point path").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    hover = bars.locator(".hoverlayer .hovertext")
    expect(hover).to_be_attached(timeout=WAIT_MS)
    text = hover.text_content()
    assert NAME in text and UNIT in text, text
    assert bars.locator(".hoverlayer a").count() == 0
    page.close()


MARKUP = ("a", "img", "strong", "em", "code", "b", ".katex")


def test_picker_options_from_files_are_plain_text(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(app_url + "/?area=A", timeout=WAIT_MS)
    expect(page.locator(".st-key-svd-page-ready [data-svd-page='Plotly text']")).to_be_attached(timeout=WAIT_MS)
    expect(page.locator(IDLE)).to_be_attached(timeout=WAIT_MS)
    select, multi = page.locator("[data-testid='stSelectbox']"), page.locator("[data-testid='stMultiSelect']")
    expect(select).to_have_count(1)
    for widget in (select, multi):
        assert [widget.locator(tag).count() for tag in MARKUP] == [0] * len(MARKUP)
    assert MD_NAME in multi.inner_text()  # the chosen area's chip, as typed
    select.click()
    listbox = page.locator("[role='listbox']")
    expect(listbox).to_be_visible(timeout=WAIT_MS)
    assert listbox.inner_text().splitlines() == [MD_NAME, "Oxford"]
    assert [listbox.locator(tag).count() for tag in MARKUP] == [0] * len(MARKUP)
    page.close()
