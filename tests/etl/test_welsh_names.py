"""Welsh-language area names: the data file is checked (file, row, column on a bad code), CSPs
take their single council's name, and the area search finds Caerdydd, Ynys Mon and the forces."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from etl.errors import SourceError
from etl.welsh_names import welsh_area_names

AREAS = pd.DataFrame({"area_code": ["W06000015", "W06000016", "W06000024", "W14000015", "W14000023", "W15000003"]})
LINKS = pd.DataFrame({
    "child_code": ["W06000015", "W06000016", "W06000024"], "parent_code": ["W14000015", "W14000023", "W14000023"],
    "child_type": "lad", "parent_type": "csp", "valid_to": None})


def names_file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "welsh_area_names.csv"
    path.write_text("area_code,name_cy,name_en\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_csp_of_one_council_takes_its_welsh_name_and_a_merged_one_does_not(tmp_path):
    path = names_file(tmp_path, ["W06000015,Caerdydd,Cardiff", "W06000016,Rhondda Cynon Taf,Rhondda Cynon Taf",
                                 "W06000024,Merthyr Tudful,Merthyr Tydfil", "W15000003,Heddlu De Cymru,South Wales"])
    got = dict(welsh_area_names(AREAS, LINKS, path).itertuples(index=False, name=None))
    assert got == {"W06000015": "Caerdydd", "W06000016": "Rhondda Cynon Taf", "W06000024": "Merthyr Tudful",
                   "W15000003": "Heddlu De Cymru", "W14000015": "Caerdydd"}


@pytest.mark.parametrize("row,column,words", [
    ("E06000015,Caerdydd,Cardiff", "area_code", "not a Welsh area code"),
    ("W06000099,Rhywle,Somewhere", "area_code", "not an area in this geography"),
    ("W06000015,,Cardiff", "name_cy", "empty"),
])
def test_bad_row_names_file_row_and_column(tmp_path, row, column, words):
    path = names_file(tmp_path, ["W06000016,Rhondda Cynon Taf,Rhondda Cynon Taf", row])
    with pytest.raises(SourceError) as err:
        welsh_area_names(AREAS, LINKS, path)
    assert (err.value.file, err.value.row, err.value.column) == ("welsh_area_names.csv", 3, column)
    assert words in str(err.value)


def test_duplicate_code_is_refused(tmp_path):
    path = names_file(tmp_path, ["W06000015,Caerdydd,Cardiff", "W06000015,Caerdydd,Cardiff"])
    with pytest.raises(SourceError, match="listed twice"):
        welsh_area_names(AREAS, LINKS, path)


@pytest.mark.parametrize("text,types,code", [
    ("Caerdydd", ("csp",), "W14000015"),
    ("caerdydd", ("lad",), "W06000015"),
    ("Ynys Mon", ("lad",), "W06000001"),
    ("Heddlu De Cymru", ("pfa",), "W15000003"),
    ("Abertawe", ("csp", "lad"), "W14000011"),
])
def test_area_search_finds_welsh_names(real_warehouse, monkeypatch, text, types, code):
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    from app import queries as q

    hits = q.area_search(text, types)
    assert code in list(hits["area_code"]), hits
    assert hits.iloc[0]["area_code"] == code
