"""National figures are cited to their producer's release first, the quoting page "as reported
by": the citation helpers on rows made here, and the home page on a warehouse built from the
fixture mirror (which carries the real national figures and their origin file)."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pandas as pd
from streamlit.testing.v1 import AppTest

from app import citation

ROOT = Path(__file__).resolve().parents[2]
ROW = {"producer": "Office for National Statistics", "release_title": "Crime in England and Wales: year ending March 2024",
       "release_date": "2024-07-25", "release_table": "Table 5a", "release_url": "https://www.ons.gov.uk/x",
       "origin_confidence": "confirmed", "source_title": "Knife crime [briefing] *new*",
       "source_url": "https://commonslibrary.parliament.uk/y", "no_official_source": False, "correction": None,
       "publisher": "Various"}


def test_release_first_then_as_reported_by_and_text_escaped():
    text = citation.cite(ROW)
    assert text.startswith("Source: Office for National Statistics, [*Crime in England and Wales\\: year ending "
                           "March 2024*](https://www.ons.gov.uk/x) (25 Jul 2024; table: Table 5a), as reported by ")
    assert text.index("Office for National Statistics") < text.index("as reported by") < text.index("briefing")
    assert "Knife crime \\[briefing\\] \\*new\\*" in text  # file text never becomes markup
    assert "](https://commonslibrary.parliament.uk/y)" in text
    likely = citation.cite(ROW | {"origin_confidence": "likely", "release_date": "2020-09", "release_table": None})
    assert "(Sep 2020; origin likely, not confirmed)" in likely


def test_no_official_source_and_corrections_are_said_first():
    text = citation.cite(ROW | {"no_official_source": True, "correction": "An officers' suggestion reported by PA"})
    assert text.startswith("**No official source**: as reported by [")
    assert "Office for National Statistics" not in text and "Correction: An officers' suggestion" in text
    assert citation.cite(ROW | {"no_official_source": pd.NA}).startswith("Source: Office for National Statistics")
    # A figure from the producer's own file (no origin row): the release is the source itself.
    own = citation.cite({"producer": None, "source_title": "Deaths related to drug poisoning",
                         "source_url": "https://www.ons.gov.uk/z", "publisher": "Office for National Statistics"})
    assert own == "Source: [Deaths related to drug poisoning](https://www.ons.gov.uk/z) (Office for National Statistics)."


def test_hover_source_is_plain_text_release_first():
    assert citation.hover_source(ROW) == ("Office for National Statistics: Crime in England and Wales: year ending "
                                          "March 2024 (25 Jul 2024); as reported by Knife crime [briefing] *new*")
    assert "<" not in citation.hover_source(ROW | {"source_title": "<b>x</b>"})


def test_chart_sources_lists_each_release_once():
    df = pd.DataFrame([ROW, ROW | {"source_title": "Other page", "source_url": "https://example.org/p"},
                       ROW | {"release_title": "Another release", "no_official_source": True}])
    text = citation.chart_sources(df)
    assert text.startswith("Sources (producer's release first): Office for National Statistics")
    assert text.count("Crime in England and Wales") == 1 and "[Other page](https://example.org/p)" in text
    assert "**No official source**" in text


def test_home_page_names_the_producers_release_first(fixture_built, monkeypatch, mirror):
    _, db = fixture_built
    monkeypatch.setenv("SVD_DB", str(db))
    con = duckdb.connect(str(db), read_only=True)
    (line, value), = con.execute(
        """SELECT n.file_line, o.value FROM observations o JOIN national_sources n
             USING (indicator_id, area_code, period_start, period_end)
           WHERE o.indicator_id = 'police_recorded_knife_offences__ew_all_forces_ndqis'
             AND o.source_id = 'national_figures' AND n.is_current
           ORDER BY o.period_end DESC LIMIT 1""").fetchall()
    con.close()
    # The expected producer and release, read here straight from the origin file.
    with open(mirror / "national/national_figures_origin.csv", encoding="utf-8", newline="") as fh:
        origin = {int(r["row"]): r for r in csv.DictReader(fh)}[line - 1]
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    card = next(m.value for m in at.markdown if f"Source: {origin['producer']}" in m.value
                and "as reported by" in m.value)
    assert card.index(origin["producer"]) < card.index("as reported by")
    assert origin["release_url"] in card
    # the metric's label is the registry's short title; its help holds the whole title
    assert next(m.value for m in at.metric if "Police recorded offences" in m.proto.help) == f"{value:,.0f}"
    captions = [c.value for c in at.caption if c.value.startswith("Sources (producer's release first)")]
    assert len(captions) >= 2  # every headline chart and the national trend chart
    # Chart points name the release first in their hover text, too.
    specs = " ".join(el.proto.spec for el in at.get("plotly_chart"))
    assert f"{origin['producer']}: " in specs and "; as reported by " in specs
    table = at.dataframe[-1].value
    assert list(table.columns[:5]) == ["producer", "release_title", "release_date", "release_table", "release_url"]
    assert "as_reported_by" in table.columns and table["producer"].notna().all()
