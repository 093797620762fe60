"""Every CSV a user can download is formula-neutralised (OWASP "CSV injection"): a text cell
starting with = + - @ tab or carriage return gets a leading apostrophe; numbers, negative ones
included, stay numbers. The table toolbar's own CSV export is built in the browser and cannot be
neutralised by us, so it is switched off on every page (app.ui.page_setup) and pages offer our
download instead."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.disclosure_view import download_csv

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
           "\tcmd", "\rcmd"]


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("text", HOSTILE)
def test_download_csv_prefixes_formula_cells(text: str) -> None:
    frame = pd.DataFrame({"indicator_id": ["x"], "title": [text], "area_name": [text], "note": [text],
                          "count": [12.0], "value": [-5.5], "quality": ["local"]})
    row = rows_of(download_csv(frame))[0]
    for col in ("title", "area_name", "note"):
        assert row[col] == "'" + text
    assert row["what_this_is"].startswith("'")  # built from the title, so it starts the same way
    assert row["value"] == "-5.5"  # a negative number is not a formula
    assert row["count"] == "12.0"


def test_plain_text_is_untouched() -> None:
    frame = pd.DataFrame({"title": ["Knife crime"], "note": ["rate - per 100,000"], "count": [3.0],
                          "value": [-1.0]})
    row = rows_of(download_csv(frame))[0]
    assert row["title"] == "Knife crime" and row["note"] == "rate - per 100,000" and row["value"] == "-1.0"


def test_table_toolbar_export_is_off_on_every_page(real_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    st.set_option("client.disableDataExport", False)
    at = AppTest.from_file(str(ROOT / "pages/4_Data_and_sources.py"), default_timeout=180)
    at.run()
    assert not at.exception
    assert at.dataframe
    assert st.get_option("client.disableDataExport") is True
