"""Tests for the Home Office police recorded crime by CSP parser (weapon possession offences).

No real file is in the mirror, so each test writes a small workbook in the published layout
with openpyxl: one sheet per financial year, header on row 1, the 2015/16-on column names and
the older `Force Name` / `Number of Offences` ones. Expected totals are computed here from the
same rows, independently of the parser. odfpy is not installed, so .ods is tested only for the
choice of reader by extension.
"""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.parsers import ho_prc_csp as prc
from tests.small_geo import make_geo

NEW = ["Financial Year", "Financial Quarter", "Police Force", "CSP Name", "Offence Description",
       "Offence Group", "Offence Subgroup", "Offence Code", "Offence Count"]
OLD = ["Financial Year", "Force Name", "CSP Name", "Offence Description", "Offence Group",
       "Offence Subgroup", "Offence Code", "Number of Offences"]
W = "Possession of weapons offences"
V = "Violence against the person"


def geo() -> GeoContext:
    """CSP names as in the ONS lookups (Shepway, City of London, North Devon)."""
    return make_geo(
        [("E22000145", "Shepway", "csp"), ("E22000180", "City of London", "csp"), ("E22000363", "North Devon", "csp"),
         ("E22000186", "Barking and Dagenham", "csp"), ("E23000032", "Kent", "pfa"),
         ("E23000034", "London, City of", "pfa"), ("E23000035", "Devon & Cornwall", "pfa"),
         ("E23000001", "Metropolitan Police", "pfa")],
        [(csp, pfa, "csp", "pfa") for csp, pfa in (("E22000145", "E23000032"), ("E22000180", "E23000034"),
                                                   ("E22000363", "E23000035"), ("E22000186", "E23000001"))])


def new_rows(year: str, quarters=(1, 2, 3, 4)) -> list[list]:
    rows = []
    for q in quarters:
        rows += [
            [year, q, "Kent", "Folkestone and Hythe", "Possession of article with blade or point",
             W, "Possession of weapons offences", "10D", 5 + q],
            [year, q, "Kent", "Folkestone and Hythe", "Possession of other weapons", W,
             "Possession of weapons offences", "10C", 2],
            [year, q, "Kent", "Folkestone and Hythe", "Assault with injury", V,
             "Violence with injury", "8N", 100],
            [year, q, "London, City of", "London, City of", "Other knives offences", W,
             "Possession of weapons offences", 90, 1],
            [year, q, "Devon & Cornwall", "Northern Devon", "Other firearms offences", W,
             "Possession of weapons offences", 81, 3],
            [year, q, "Kent", "Unassigned Kent", "Possession of other weapons", W,
             "Possession of weapons offences", "10C", 1],
            [year, q, "Metropolitan Police", "Barking and Dagenham",
             "Possession of article with blade or point", W, "Possession of weapons offences",
             "10D", 20],
        ]
    return rows


def old_rows(year: str) -> list[list]:
    return [
        [year, "Kent", "Shepway", "Possession of article with blade or point", W,
         "Possession of weapons offences", "10D", 30],
        [year, "Kent", "Shepway", "Possession of firearms offences", W,
         "Possession of weapons offences", "10B", 4],
        [year, "Metropolitan Police", "Barking and Dagenham", "Possession of other weapons", W,
         "Possession of weapons offences", "10C", 50],
        [year, "Metropolitan Police", "Barking and Dagenham", "Homicide", V, "Homicide", "1", 2],
    ]


def make_workbook(path: Path, sheets: dict[str, tuple[list, list]] | None = None,
                  name: str = "prc-csp-mar16-dec24-tables.xlsx") -> Path:
    if sheets is None:
        sheets = {"2014-15": (OLD, old_rows("2014/15")), "2015_16": (NEW, new_rows("2015/16")),
                  "2016_17": (NEW, new_rows("2016/17", quarters=(1, 2)))}
    wb = openpyxl.Workbook()
    wb.active.title = "Introduction"
    wb.active["A1"] = "Police recorded crime open data tables by Community Safety Partnership"
    for sheet, (header, rows) in sheets.items():
        ws = wb.create_sheet(sheet)
        ws.append(header)
        for r in rows:
            ws.append(r)
    out = path / name
    wb.save(out)
    return out


def expected(rows: list[list], header: list, csp_name: str, quarter: int | None = None) -> float:
    """Independent sum of weapon-code counts for one CSP name, straight from the written rows."""
    h = {c: i for i, c in enumerate(header)}
    count = "Offence Count" if "Offence Count" in h else "Number of Offences"
    return sum(r[h[count]] for r in rows
               if r[h["CSP Name"]] == csp_name and str(r[h["Offence Code"]]) in prc.WEAPON_CODES
               and (quarter is None or r[h["Financial Quarter"]] == quarter))


def obs(df: pd.DataFrame, area: str, label: str) -> pd.Series:
    hit = df[(df.area_code == area) & (df.period_label == label)]
    assert len(hit) == 1, (area, label, len(hit))
    return hit.iloc[0]


def test_weapon_totals_per_csp_year_and_quarter(tmp_path):
    s = prc.parse_file(make_workbook(tmp_path), geo())
    o = s.observations
    assert set(o.indicator_id) == {"prc_possession_weapons"}
    rows16 = new_rows("2015/16")
    fh = obs(o, "E22000145", "2015/16")
    assert fh["count"] == expected(rows16, NEW, "Folkestone and Hythe")
    assert fh["period_start"] == pd.Timestamp("2015-04-01")
    assert fh["period_end"] == pd.Timestamp("2016-03-31")
    q2 = obs(o, "E22000145", "2015/16 Q2")
    assert q2["count"] == expected(rows16, NEW, "Folkestone and Hythe", quarter=2) == 9
    assert q2["period_start"] == pd.Timestamp("2015-07-01")
    assert q2["period_end"] == pd.Timestamp("2015-09-30")
    assert obs(o, "E22000180", "2015/16")["count"] == 4          # 'London, City of'
    assert obs(o, "E22000363", "2015/16 Q4")["count"] == 3       # 'Northern Devon'


def test_old_layout_sheet_gives_year_only(tmp_path):
    o = prc.parse_file(make_workbook(tmp_path), geo()).observations
    old = o[o.period_label.str.startswith("2014/15")]
    assert set(old.period_type) == {"financial_year"}
    assert obs(o, "E22000145", "2014/15")["count"] == expected(old_rows("2014/15"), OLD,
                                                                "Shepway")
    assert obs(o, "E22000186", "2014/15")["count"] == 50


def test_part_year_sheet_has_quarters_but_no_year(tmp_path):
    o = prc.parse_file(make_workbook(tmp_path), geo()).observations
    assert not (o.period_label == "2016/17").any()
    assert set(o[o.period_label.str.startswith("2016/17")].period_label) == {
        "2016/17 Q1", "2016/17 Q2"}


def test_unassigned_rows_go_to_force_residuals(tmp_path):
    s = prc.parse_file(make_workbook(tmp_path), geo())
    res = s.tables["prc_force_residuals"]
    kent = res[(res.pfa_code == "E23000032") & (res.period_label == "2015/16")]
    assert kent["count"].tolist() == [4.0]
    assert not s.observations.area_code.isin(["E23000032"]).any()
    assert s.files[0]["rows"] == len(old_rows("x")) + len(new_rows("x")) + len(
        new_rows("x", (1, 2)))


def test_negative_adjustment_kept_in_sum_and_noted(tmp_path):
    rows = new_rows("2015/16")
    rows.append(["2015/16", 3, "Kent", "Folkestone and Hythe", "Possession of other weapons", W,
                 "Possession of weapons offences", "10C", -3])
    path = make_workbook(tmp_path, {"2015_16": (NEW, rows)})
    o = prc.parse_file(path, geo()).observations
    q3 = obs(o, "E22000145", "2015/16 Q3")
    assert q3["count"] == expected(rows, NEW, "Folkestone and Hythe", quarter=3) == 8 + 2 - 3
    assert "negative adjustment" in q3["note"] and "-3" in q3["note"]
    assert "negative adjustment" in obs(o, "E22000145", "2015/16")["note"]


def test_negative_aggregate_is_an_error(tmp_path):
    rows = new_rows("2015/16")
    rows.append(["2015/16", 1, "London, City of", "London, City of", "Other knives offences", W,
                 "Possession of weapons offences", "90", -5])
    with pytest.raises(SourceError) as e:
        prc.parse_file(make_workbook(tmp_path, {"2015_16": (NEW, rows)}), geo())
    assert "negative" in str(e.value) and "E22000180" in str(e.value)


@pytest.mark.parametrize("row, col, value, at, words", [
    # row 8 is Unassigned Kent, Q2: an unknown name must not be guessed
    (8, 3, "Atlantis", (10, "CSP Name"), ("Atlantis", "csp_name_aliases.csv")),
    (0, 8, "lots", (2, "Offence Count"), ("lots",)),
    # row 1 is 'Possession of other weapons' (10C): a weapons row under a code not in the list
    (1, 7, "10E", (3, "Offence Code"), ("10E",)),
    (3, 0, "2014/15", (5, "Financial Year"), ("2014/15",)),
], ids=["unknown_csp", "non_numeric_count", "unlisted_weapon_code", "year_not_the_sheets"])
def test_bad_cell_names_sheet_row_and_column(tmp_path, row, col, value, at, words):
    """One cell spoiled in an otherwise good sheet: the error names the sheet, the spreadsheet
    row (header is row 1, so data row i is row i + 2) and the column, and quotes the value."""
    rows = new_rows("2015/16")
    rows[row][col] = value
    with pytest.raises(SourceError) as e:
        prc.parse_file(make_workbook(tmp_path, {"2015_16": (NEW, rows)}), geo())
    assert (e.value.row, e.value.column) == at
    assert "2015_16" in e.value.file
    for w in words:
        assert w in str(e.value)


def test_renamed_count_column(tmp_path):
    header = NEW[:-1] + ["Offences"]
    with pytest.raises(SourceError) as e:
        prc.parse_file(make_workbook(tmp_path, {"2015_16": (header, new_rows("2015/16"))}),
                       geo())
    assert e.value.row == 1 and "Offence Count" in str(e.value)
    assert "prc-csp-mar16-dec24-tables.xlsx" in str(e.value)


def test_no_year_sheets(tmp_path):
    with pytest.raises(SourceError) as e:
        prc.parse_file(make_workbook(tmp_path, {"Data": (NEW, new_rows("2015/16"))}), geo())
    assert "no financial-year sheets" in str(e.value)


def test_reader_chosen_by_extension(tmp_path):
    bad = tmp_path / "prc-csp-tables.csv"
    bad.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(SourceError) as e:
        prc.parse_file(bad, geo())
    assert "unsupported file type" in str(e.value)
    fake_ods = tmp_path / "prc-csp-tables.ods"
    fake_ods.write_bytes(b"not a zip")
    with pytest.raises(SourceError) as e:
        prc.parse_file(fake_ods, geo())
    assert "cannot open .ods workbook" in str(e.value) and e.value.file == fake_ods.name


def test_sheet_year_names():
    assert prc.sheet_year("2002-03") == 2002
    assert prc.sheet_year("2015_16 ") == 2015
    assert prc.sheet_year("2009-10") == 2009
    assert prc.sheet_year("Notes") is None


def test_alias_file_has_the_known_pairs():
    aliases = prc.load_aliases()
    assert "Shepway" in aliases["folkestone and hythe"]
    assert "City of London" in aliases["london"]
    assert "North Devon" in aliases["northern devon"]


def write_minimal_ods(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A bare OpenDocument spreadsheet written with the standard library (no odfpy here):
    enough for calamine, so the .ods route is tested end to end."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(v: object) -> str:
        if isinstance(v, (int, float)):
            return (f'<table:table-cell office:value-type="float" office:value="{v}">'
                    f"<text:p>{v}</text:p></table:table-cell>")
        return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}'
                "</text:p></table:table-cell>")

    tables = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join("<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>"
                  for r in rows) + "</table:table>" for name, rows in sheets.items())
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
               'office:version="1.2"><office:body><office:spreadsheet>'
               f"{tables}</office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type='
                '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                'manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def test_ods_file_parses_like_xlsx(tmp_path):
    rows = new_rows("2015/16")
    path = write_minimal_ods(tmp_path / "prc-csp-tables.ods", {"2015_16": [NEW, *rows]})
    o = prc.parse_file(path, geo()).observations
    assert obs(o, "E22000145", "2015/16")["count"] == expected(rows, NEW, "Folkestone and Hythe")
    assert obs(o, "E22000363", "2015/16 Q1")["count"] == 3
