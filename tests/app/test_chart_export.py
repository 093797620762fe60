"""Chart export (#12 item 2): the lineage drawn into the figure, the PNG button's file name, the
table behind a chart, and on a real page one CSV and one SVG download per chart. Expected
strings are written out by hand."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from app import figures as fg
from app.chart_export import LINEAGE_NAME, add_lineage, figure_table, file_stem, image_config, lineage_text
from app.safe_text import as_shown

ROOT = Path(__file__).resolve().parents[2]


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "publisher": ["ONS", "ONS", "Home Office"],
        "source_title": ["Crime in England and Wales", "Crime in England and Wales", "Knife crime tables"],
        "period_label": ["2023/24", "2021/22", "2022/23"],
        "period_start": pd.to_datetime(["2023-04-01", "2021-04-01", "2022-04-01"]),
        "quality": ["official", "official", "modelled"],
    })


def test_lineage_names_source_period_and_quality():
    assert lineage_text(frame()) == (
        "Source: ONS, Home Office; Crime in England and Wales, Knife crime tables. Period: 2021/22 to 2023/24. "
        "Quality: official statistics, MODELLED estimate - not a published figure.")


def test_lineage_of_a_single_period_and_of_nothing():
    one = frame().iloc[[0]]
    assert "Period: 2023/24." in lineage_text(one) and " to " not in lineage_text(one).split("Period:")[1]
    assert lineage_text(None).startswith("Source and quality: see the table")


def test_lineage_is_drawn_once_under_the_plot_and_escaped():
    fig = go.Figure(go.Scatter(x=[1], y=[2]))
    fig.update_layout(title="Robbery <i>rate</i>", margin={"b": 60})
    data = frame().assign(source_title="<script>alert(1)</script>")
    add_lineage(fig, lineage_text(data))
    add_lineage(fig, lineage_text(data))
    notes = [a for a in fig.layout.annotations if a.name == LINEAGE_NAME]
    assert len(notes) == 1
    assert "&lt;script&gt;" in notes[0].text and "<script>" not in notes[0].text
    assert notes[0].yref == "paper" and notes[0].y == 0 and notes[0].yshift == -60
    lines = notes[0].text.count("<br>") + 1
    assert fig.layout.margin.b == 60 + 14 * lines + 8  # room made below the axis for every line


def test_png_button_is_named_after_the_chart():
    fig = go.Figure()
    fig.update_layout(title="Knife crime: Oxford, 2023/24<br><sup>SYNTHETIC data</sup>")
    assert file_stem(fig, "k") == "knife_crime_oxford_2023_24"
    assert image_config(fig, "k")["toImageButtonOptions"] == {"format": "png", "filename": "knife_crime_oxford_2023_24",
                                                              "scale": 2}
    assert file_stem(go.Figure(), "istv_heat") == "istv_heat"


def test_table_behind_a_chart_leaves_out_the_suppressed_band():
    fig = fg.count_bars(pd.DataFrame({"category": ["knife", "gun"], "count": [20.0, None]}), title="t")
    table = figure_table(fig)
    assert list(table["x"]) == ["knife", "gun"] and set(table["series"]) == {"attendances"}  # no band rows
    assert table["value"].iloc[0] == 20.0 and pd.isna(table["value"].iloc[1])  # suppressed stays blank


def test_table_behind_a_heatmap_has_one_row_a_cell():
    fig = go.Figure(go.Heatmap(z=[[1, None], [3, 4]], x=["a", "b"], y=["r1", "r2"], name="grid"))
    rows = figure_table(fig).fillna({"value": -1}).to_dict("records")
    assert [(r["x"], r["y"], r["value"]) for r in rows] == [("a", "r1", 1), ("b", "r1", -1), ("a", "r2", 3),
                                                            ("b", "r2", 4)]


@pytest.mark.parametrize("page,params", [
    ("pages/5_AE_ISTV.py", {"area": "E22000308", "period": "2023/24"}),
    ("dashboard.py", {}),
    ("pages/1_Area_profile.py", {"area": "E22000308"}),
    ("pages/2_Map.py", {"indicator": "police_uk_violence_and_sexual_offences", "level": "csp", "period": "2024-03",
                        "view": "interactive"}),
    ("pages/3_Compare.py", {"indicator": "knife_offences_total", "level": "pfa", "period": "2018/19"}),
    ("pages/4_Data_and_sources.py", {}),
])
def test_every_chart_has_its_lineage_and_downloads(real_warehouse, monkeypatch, page, params):
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    import json

    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert specs
    for spec in specs:
        notes = [a for a in spec["layout"].get("annotations", []) if a.get("name") == LINEAGE_NAME]
        assert len(notes) == 1 and "Source:" in notes[0]["text"] and "Quality:" in notes[0]["text"], (
            spec["layout"]["title"], notes)
        # and the same line as text under the chart, which wraps on a phone where the drawn one is cut
        drawn = html.unescape(notes[0]["text"].replace("<br>", " "))
        assert any(drawn in as_shown(c.value).replace("\n", " ") for c in at.caption), drawn
    configs = [json.loads(el.proto.config) for el in at.get("plotly_chart")]
    assert all(c["toImageButtonOptions"]["format"] == "png" for c in configs)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("Data behind this chart (CSV)") == len(specs)
    assert labels.count("Chart as SVG") == len(specs)
