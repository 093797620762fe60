"""Tests for the ONS Police Force Area data tables knife-table parser.

No real workbook is in the mirror, so each test writes a small one in the published (likely)
layout with openpyxl: title in A1, notes, header row starting `Area Code`, `[note N]` markers
and line breaks in headers and names, count and percentage columns alternating.
"""
from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.parsers import ons_pfa_knife as ons
from tests.small_geo import make_geo

HEADER = ["Area Code", "Area Name [note 2]", "Apr 2010 to Mar 2011 [note 3]",
          "Percentage of total [note 4]", "Apr 2011 to\nMar 2012", "Percentage of total",
          "Percentage change\nApr 2010 to Mar 2011 compared with Apr 2011 to Mar 2012"]
ROWS = [
    ["K04000001", "England and Wales", 32000, 100, 30000, 100, -6],
    ["E92000001", "England", 31000, 97, 29100, 97, -6],
    ["E12000008", "South East", 3000, 9, 2800, 9, -7],
    ["E23000029", "Thames Valley [note 5]", 900, 3, "1,010", 3, 12],
    ["E23000005", "Greater\nManchester", "[x]", "[x]", 1500, 5, "[x]"],
    ["W15000002", "Gwent", 120, 0.4, 110, 0.4, -8],
    ["", "British Transport Police", 200, 1, 210, 1, 5],
]


# The Notes sheet: number (as ONS writes it, 'Note 3', or a bare number) -> text
NOTES = {"Note 1": "Police recorded crime data are not designated as accredited official statistics.",
         "Note 2": "Area names as at 2023.",
         3: "Figures for this year exclude Greater Manchester Police, which could not supply data\nfor this period.",
         "Note 5": "Thames Valley Police changed its recording system in 2014."}


def geo() -> GeoContext:
    return make_geo([("E23000029", "Thames Valley", "pfa"), ("E23000005", "Greater Manchester", "pfa"),
                     ("W15000002", "Gwent", "pfa")], [],
                    [("E23000029", 2010, "all", 2_300_000.0), ("W15000002", 2011, "all", 580_000.0)])


def make_workbook(path: Path, header: list | None = None, rows: list | None = None,
                  sheet: str = "Table P6 ", title: str | None = None, notes: dict | None = None) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Cover sheet"
    wb.active["A1"] = "Crime in England and Wales: Police Force Area data tables"
    p1 = wb.create_sheet("Table P1")
    p1.append(["Table P1: Police recorded crime by offence group and police force area"])
    p1.append(["Area Code", "Area Name", "Total recorded crime"])
    ws = wb.create_sheet(sheet)
    ws.append([title or "Table P6: Police recorded offences involving a knife or sharp "
               "instrument, by police force area [note 1]"])
    ws.append(["This worksheet contains one table. Some cells refer to notes [note 1]"])
    ws.append([])
    ws.append(header or HEADER)
    for r in rows if rows is not None else ROWS:
        ws.append(r)
    ns = wb.create_sheet("Notes")
    ns.append(["Notes"])
    ns.append(["This worksheet contains one table."])
    ns.append(["Note number", "Note text"])
    for number, text in (notes if notes is not None else NOTES).items():
        ns.append([number, text])
    out = path / "pfa_tables.xlsx"
    wb.save(out)
    return out


def by(df: pd.DataFrame, area: str, label: str) -> pd.Series:
    hit = df[(df.area_code == area) & (df.period_label == label)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_counts_only_notes_stripped_and_rates(tmp_path):
    s = ons.parse_file(make_workbook(tmp_path), geo())
    o = s.observations
    assert set(o.period_label) == {"Apr 2010 to Mar 2011", "Apr 2011 to Mar 2012"}
    assert len(o) == 6 * 2
    tv = by(o, "E23000029", "Apr 2011 to Mar 2012")
    assert tv["count"] == 1010
    assert tv["period_start"] == pd.Timestamp("2011-04-01")
    assert tv["period_end"] == pd.Timestamp("2012-03-31")
    assert tv["period_type"] == "year_ending"
    # mid-2011 is absent for Thames Valley: the nearest (2010) is used and said so
    assert tv["denominator"] == 2_300_000.0
    assert math.isclose(tv["value"], 1010 / 2_300_000 * 100_000)
    assert "nearest available" in tv["note"]
    ew = by(o, "K04000001", "Apr 2010 to Mar 2011")
    assert ew["count"] == 32000 and pd.isna(ew["value"])
    assert ew["suppressed_reason"] == "no population for rate"
    assert s.indicators.iloc[0]["indicator_id"] == ons.INDICATOR_ID
    assert s.files[0]["sheet"] == "Table P6"


def test_ons_footnotes_on_a_row_or_period_column_are_carried_into_the_note(tmp_path):
    o = ons.parse_file(make_workbook(tmp_path), geo()).observations
    note3 = ("ONS note 3: Figures for this year exclude Greater Manchester Police, which could not supply data "
             "for this period.")
    note5 = "ONS note 5: Thames Valley Police changed its recording system in 2014."
    # Thames Valley's row note, then the column's; then the population note, after ONS's own
    tv10, tv11 = by(o, "E23000029", "Apr 2010 to Mar 2011"), by(o, "E23000029", "Apr 2011 to Mar 2012")
    assert tv10["note"].startswith(f"{note5}; {note3}")
    assert tv11["note"].startswith(note5) and "note 3" not in tv11["note"] and "nearest available" in tv11["note"]
    # a column note reaches every area's figure for that period, and only that period
    assert by(o, "W15000002", "Apr 2010 to Mar 2011")["note"].startswith(note3)
    assert "ONS note" not in str(by(o, "W15000002", "Apr 2011 to Mar 2012")["note"])
    # the table's title note and the name column's note are not put on every figure
    assert not o["note"].fillna("").str.contains("ONS note [12]:").any()


def test_a_note_the_notes_sheet_lacks_is_said_not_dropped(tmp_path):
    o = ons.parse_file(make_workbook(tmp_path, notes={"Note 3": "GMP excluded."}), geo()).observations
    assert by(o, "E23000029", "Apr 2011 to Mar 2012")["note"].startswith(
        "ONS note 5 (text not in the workbook's Notes sheet)")
    assert by(o, "E23000029", "Apr 2010 to Mar 2011")["note"].startswith(
        "ONS note 5 (text not in the workbook's Notes sheet); ONS note 3: GMP excluded.")


def test_note_numbers():
    assert ons.note_numbers("Thames Valley [note 5] [Note 2, 7]") == ["5", "2", "7"]
    assert ons.note_numbers("Gwent [notes 3 and 4]") == ["3", "4"]
    assert ons.note_numbers("Gwent") == [] and ons.note_numbers(None) == []


def test_marker_is_missing_with_reason_never_zero(tmp_path):
    o = ons.parse_file(make_workbook(tmp_path), geo()).observations
    gmp = by(o, "E23000005", "Apr 2010 to Mar 2011")
    assert pd.isna(gmp["count"]) and gmp["suppressed_reason"] == "not available [x]"


def test_row_without_area_code_is_listed_not_dropped(tmp_path):
    s = ons.parse_file(make_workbook(tmp_path), geo())
    un = s.tables["ons_knife_unmatched_rows"]
    assert un["area_name"].tolist() == ["British Transport Police"]
    assert un["row"].tolist() == [11]


def test_sheet_found_by_content_when_not_p6(tmp_path):
    path = make_workbook(tmp_path, sheet="Table P7")
    assert ons.parse_file(path, geo()).files[0]["sheet"] == "Table P7"


def test_missing_header_row_names_file_and_sheet(tmp_path):
    header = ["Code"] + HEADER[1:]
    with pytest.raises(SourceError) as e:
        ons.parse_file(make_workbook(tmp_path, header=header), geo())
    assert "pfa_tables.xlsx" in str(e.value) and "Table P6" in str(e.value)
    assert "Area Code" in str(e.value)


def test_missing_name_column(tmp_path):
    header = ["Area Code", "Force"] + HEADER[2:]
    with pytest.raises(SourceError) as e:
        ons.parse_file(make_workbook(tmp_path, header=header), geo())
    assert e.value.column == "Area Name" and e.value.row == 4


def test_no_period_columns(tmp_path):
    header = ["Area Code", "Area Name", "Year 1", "Year 2", "x", "y", "z"]
    with pytest.raises(SourceError) as e:
        ons.parse_file(make_workbook(tmp_path, header=header), geo())
    assert "no period columns" in str(e.value)


def test_non_numeric_count_names_row_and_column(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[5][4] = "about 100"
    with pytest.raises(SourceError) as e:
        ons.parse_file(make_workbook(tmp_path, rows=rows), geo())
    assert (e.value.row, e.value.column) == (10, "Apr 2011 to Mar 2012")


def test_no_knife_sheet(tmp_path):
    path = make_workbook(tmp_path, sheet="Table P3", title="Table P3: rates per 1,000")
    with pytest.raises(SourceError) as e:
        ons.parse_file(path, geo())
    assert "no single knife table" in str(e.value) and e.value.file == "pfa_tables.xlsx"


def test_clean_strips_notes_and_breaks():
    assert ons.clean("Apr 2010 to\nMar 2011 [note 3]") == "Apr 2010 to Mar 2011"
    assert ons.clean("Area Name [note 2] [note 10]") == "Area Name"


# ---------------------------------------------------------------- the NDQIS break
YEARS = ["Apr 2016 to Mar 2017", "Apr 2017 to Mar 2018", "Apr 2018 to Mar 2019", "Apr 2019 to Mar 2020",
         "Apr 2020 to Mar 2021", "Apr 2021 to Mar 2022"]


def ndqis_workbook(tmp_path: Path) -> Path:
    """Six years ending March, across the NDQIS change (April 2020), for E&W and two forces."""
    rows = [["K04000001", "England and Wales", 40000, 42000, 44000, 46000, 48000, 50000],
            ["E23000029", "Thames Valley", 900, 950, 1000, 1050, 1400, 1450],
            ["W15000002", "Gwent", 120, 125, 130, 135, 160, 165]]
    return make_workbook(tmp_path, header=["Area Code", "Area Name", *YEARS], rows=rows)


def ndqis_geo() -> GeoContext:
    return make_geo([("E23000029", "Thames Valley", "pfa"), ("W15000002", "Gwent", "pfa")], [],
                    [(c, y, "all", p) for c, p in (("E23000029", 2_400_000.0), ("W15000002", 590_000.0))
                     for y in range(2016, 2022)])


def test_the_ndqis_change_is_a_break_in_every_area_of_the_table(tmp_path):
    s = ons.parse_file(ndqis_workbook(tmp_path), ndqis_geo())
    b = s.tables["series_breaks"]
    # data/indicator_breaks.csv records it once, for England and Wales, as a change of method
    assert sorted(b["area_code"]) == ["E23000029", "K04000001", "W15000002"]
    assert (b["break_date"] == pd.Timestamp("2020-04-01")).all()
    assert b["affects"].isna().all()  # a method change, not a recording problem: still compared
    assert b["description"].str.contains("NDQIS").all()
    assert not b["description"].str.contains("Thames Valley").any()


def test_no_trend_is_joined_across_the_ndqis_break_but_comparisons_stand(tmp_path):
    from methods.benchmark import recording_problem
    from methods.trend import trend_marker

    s = ons.parse_file(ndqis_workbook(tmp_path), ndqis_geo())
    o, b = s.observations, s.tables["series_breaks"]
    tv = o[o.area_code == "E23000029"].sort_values("period_start")
    # without the break, 900 .. 1,450 over six years is a clear rise (chi-squared test for trend)
    rising = trend_marker(tv, value_type="crude_rate", polarity="higher_is_worse")
    assert rising.words.startswith("Increasing")
    marker = trend_marker(tv, value_type="crude_rate", polarity="higher_is_worse",
                          breaks=b[b.area_code == "E23000029"])
    assert marker.words == "No trend marker" and "series break" in marker.detail
    latest = tv.iloc[-1]
    assert recording_problem(b, "E23000029", latest["period_start"], latest["period_end"]) is None


def test_notes_on_the_whole_table_are_kept_once_on_the_files_lineage(tmp_path):
    """The title's note 1 and the name column's note 2 describe the whole table: kept on the
    file's lineage row, in the order met, with a note the sheet lacks said, not dropped."""
    staged = ons.parse_file(make_workbook(tmp_path, title="Table P6: knife offences [note 1] [note 9]"), geo())
    (record,) = staged.files
    assert record["publisher_notes"] == (
        f"ONS note 1: {NOTES['Note 1']}; ONS note 9 (text not in the workbook's Notes sheet); "
        f"ONS note 2: {NOTES['Note 2']}")
    assert not staged.observations["note"].fillna("").str.contains("ONS note [129]\\b").any()


def test_a_table_without_whole_table_notes_has_none(tmp_path):
    header = ["Area Code", "Area Name"] + HEADER[2:]
    path = make_workbook(tmp_path, header=header, title="Table P6: knife offences")
    wb = openpyxl.load_workbook(path)
    wb["Table P6 "]["A2"] = "This worksheet contains one table. Some cells refer to notes."
    wb.save(path)
    staged = ons.parse_file(path, geo())
    assert staged.files[0]["publisher_notes"] is None
    # the period column's note 3 still reaches its figures
    assert by(staged.observations, "W15000002", "Apr 2010 to Mar 2011")["note"].startswith("ONS note 3:")


def test_the_whole_table_notes_reach_the_lineage_row_and_the_warehouse_column(tmp_path, real_warehouse):
    import duckdb

    from etl import refresh
    from etl.locate import Located

    path = make_workbook(tmp_path)
    staged = ons.parse_file(path, geo())
    loc = Located(source=None, paths=[path], origin="mirror", quality="official")
    (row,) = refresh._file_rows("ons_pfa_knife_table", staged, loc)
    assert row["publisher_notes"] == f"ONS note 1: {NOTES['Note 1']}; ONS note 2: {NOTES['Note 2']}"
    # a file whose parser reports no notes (every real source here) gives a text column, not NULL-typed
    with duckdb.connect(str(real_warehouse), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'source_files'").fetchall())
    assert types["publisher_notes"] == "VARCHAR"
