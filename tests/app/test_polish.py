"""Polish (#12 item 8): table headings and blanks, suppressed bars drawn as suppressed, the
phone-sized map legend, the navigation registry and the cache warm-up. Expected values are
written out by hand."""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from app import figures as fg
from app import navigation, warmup
from app.table_view import column_label, formatters, number_text

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("name,label", [
    ("bench1_label", "Benchmark 1: comparison"), ("bench3_basis", "Benchmark 3: how it counts"),
    ("bench2_value", "Benchmark 2: value"), ("lower_ci", "Lower 95% limit"), ("area_name", "Area"),
    ("suppressed_reason", "Why not shown"), ("recent trend", "Recent trend"), ("how_current", "How current"),
])
def test_column_headings_are_for_people(name, label):
    assert column_label(name) == label


@pytest.mark.parametrize("value,text", [
    (14.0, "14"), (64626.0, "64,626"), (1234567.5, "1,234,567.5"), (185.6838, "185.7"), (9.87654, "9.88"), (0.012345, "0.0123"),
    (None, ""), (math.nan, ""), (pd.NA, ""), (3, "3"),
])
def test_numbers_whole_counts_and_blanks(value, text):
    assert number_text(value) == text


def test_formatters_blank_missing_text_and_leave_configured_columns():
    df = pd.DataFrame({"count": [14.0, None], "note": [None, "None"], "flag": [True, False], "url": ["a", None]})
    f = formatters(df, skip={"url"})
    assert set(f) == {"count", "note"}  # booleans left to streamlit, `url` formatted by the page
    assert [f["count"](v) for v in df["count"]] == ["14", ""]
    assert [f["note"](v) for v in df["note"]] == ["", ""]
    assert formatters(df, missing="suppressed")["count"](None) == "suppressed"


def test_suppressed_bars_are_drawn_as_suppressed_not_as_zero():
    df = pd.DataFrame({"category": ["knife", "gun", "other"], "count": [20.0, None, 0.0]})
    fig = fg.count_bars(df, title="t", qualities=["synthetic"])
    values, hidden = fig.data
    assert list(values.y) == [20.0, None, 0.0]  # a real zero stays a zero
    top = fig.layout.yaxis.range[1]
    assert top == pytest.approx(20.0 * 1.18)
    assert list(hidden.y) == [None, top, None]  # full axis height: a band, not a value
    assert list(hidden.text) == ["", "suppressed", ""]
    assert hidden.marker.pattern.shape == "/" and "not a value" in hidden.name
    assert fig.layout.showlegend is True and fig.layout.barmode == "overlay"


def test_bars_without_suppression_have_no_hatched_trace():
    fig = fg.count_bars(pd.DataFrame({"category": ["a"], "count": [5.0]}), title="t")
    assert len(fig.data) == 1 and fig.layout.showlegend is False


def test_all_suppressed_still_has_an_axis():
    fig = fg.count_bars(pd.DataFrame({"category": ["a", "b"], "count": [None, None]}), title="t")
    assert fig.layout.yaxis.range[1] == 1.0 and list(fig.data[1].y) == [1.0, 1.0]


def test_map_legend_is_its_own_svg_that_fits_a_phone():
    from tests.app.test_svgmap import build

    doc = ET.fromstring(build())
    svgs = list(doc.iter(f"{SVG}svg"))
    assert len(svgs) == 2
    legend = svgs[1]
    assert legend.get("class") == "svd-map-legend"
    assert int(legend.get("width")) <= 300  # drawn 1:1 inside a 375px phone's content column
    assert "max-width:100%" in legend.get("style")
    assert "No data (2 shapes)" in [t.text for t in legend.iter(f"{SVG}text")]
    assert all(p.get("data-unit") for p in svgs[0].iter(f"{SVG}path"))  # every shape in the map SVG


def test_navigation_keeps_every_page_file_and_url():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
    assert sorted(f for f, _, _ in navigation.PAGES) == files  # a new page file must be registered
    titles = [t for _, t, _ in navigation.PAGES]
    assert "A&E (ISTV)" in titles and navigation.HOME_TITLE == "Home"
    # the paths streamlit derived from the file names before: links already shared keep working
    assert [p for _, _, p in navigation.PAGES] == ["Area_profile", "Map", "Compare", "Data_and_sources", "AE_ISTV"]


@pytest.fixture
def fresh_state(monkeypatch):
    state = {"status": "not started", "steps": [], "error": None, "seconds": None}
    monkeypatch.setattr(warmup, "STATE", state)
    return state


def test_warmup_runs_the_home_queries_once(real_warehouse, monkeypatch, fresh_state):
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    calls: list[str] = []
    real = warmup._steps

    def counted():
        return [(n, lambda s=s, n=n: calls.append(n) or s()) for n, s in real()]

    monkeypatch.setattr(warmup, "_steps", counted)
    state = warmup.warm()
    assert state["status"] == "done", state
    assert state["steps"] == ["meta", "latest_national", "duty_outcomes", "national_trends", "context_figures",
                              "national_series_names", "default_national_series", "areas", "csp_boundaries",
                              "plotly"]
    assert warmup.warm() is state and len(calls) == len(state["steps"])  # once per process


def test_warmup_without_a_warehouse_is_skipped_not_fatal(tmp_path, monkeypatch, fresh_state):
    monkeypatch.setenv("SVD_DB", str(tmp_path / "absent.duckdb"))
    assert warmup.warm()["status"] == "skipped: no readable warehouse"


def test_warmup_failure_is_recorded(real_warehouse, monkeypatch, fresh_state):
    monkeypatch.setenv("SVD_DB", str(real_warehouse))

    def broken() -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(warmup, "_steps", lambda: [("meta", broken)])
    state = warmup.warm()
    assert state["status"] == "failed" and state["error"] == "RuntimeError: disk gone"
