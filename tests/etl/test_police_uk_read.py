"""`aggregate_files` reads a batch of street files as one DuckDB `read_csv` over the file list and
tells the records apart by the file's place in the list: every file's records must land on that
file, whatever its size, position or folder name. Expected counts are the rows written below."""
from __future__ import annotations

import duckdb
import pandas as pd

from etl.parsers.police_uk import aggregate_files, discover
from tests.fixture_mirror import write_street

V, W, R = "Violence and sexual offences", "Possession of weapons", "Robbery"
LSOA = ("E01022222", "Canterbury 001A")


def _totals(folder):
    files = discover(sorted(folder.rglob("*-street.csv.gz")))
    counts, totals = aggregate_files([(f, f.path) for f in files], duckdb.connect())
    by_type = counts.groupby(["file_key", "crime_type"])["n"].sum().to_dict()
    return dict(zip(totals["file_key"], totals["rows"].astype(int), strict=True)), by_type


def test_each_file_keeps_its_own_records(tmp_path):
    # Sizes differ per file, so records landing on the wrong file would show.
    write_street(tmp_path, "kent", "Kent Police", "2024-01", [(*LSOA, V, 3)])
    write_street(tmp_path, "kent", "Kent Police", "2024-02", [(*LSOA, V, 1), (*LSOA, W, 4)])
    write_street(tmp_path, "essex", "Essex Police", "2024-01", [(*LSOA, R, 7), (*LSOA, "Burglary", 2)])
    rows, by_type = _totals(tmp_path)
    assert rows == {"2024-01/essex": 9, "2024-01/kent": 3, "2024-02/kent": 5}
    assert by_type == {("2024-01/essex", R): 7, ("2024-01/kent", V): 3, ("2024-02/kent", V): 1,
                       ("2024-02/kent", W): 4}  # Burglary is read (in rows) but not kept by LSOA


def test_more_files_than_one_batch(tmp_path, monkeypatch):
    # 5 files in batches of 2: the file index restarts in every batch.
    from etl.parsers.police_uk import read
    monkeypatch.setattr(read, "BATCH_FILES", 2)
    for i, month in enumerate(("2024-01", "2024-02", "2024-03", "2024-04", "2024-05"), start=1):
        write_street(tmp_path, "kent", "Kent Police", month, [(*LSOA, V, i)])
    rows, _ = _totals(tmp_path)
    assert rows == {"2024-01/kent": 1, "2024-02/kent": 2, "2024-03/kent": 3, "2024-04/kent": 4, "2024-05/kent": 5}


def test_a_folder_name_with_glob_characters_is_read_literally(tmp_path):
    # Given as a pattern, 'a[b]*' would match the folder 'abc' (and not itself): its file must
    # be read, not the other one.
    write_street(tmp_path / "a[b]*", "kent", "Kent Police", "2024-01", [(*LSOA, V, 2)])
    write_street(tmp_path / "abc", "kent", "Kent Police", "2024-01", [(*LSOA, V, 6)])
    files = discover(sorted((tmp_path / "a[b]*").rglob("*-street.csv.gz")))
    assert len(files) == 1
    _counts, totals = aggregate_files([(f, f.path) for f in files], duckdb.connect())
    assert totals["rows"].astype(int).tolist() == [2]


def test_records_of_types_not_kept_still_count_in_every_total(tmp_path):
    # Records of a type not kept by LSOA (Burglary, Anti-social behaviour) are grouped without
    # their LSOA; an empty code and a code that is not an LSOA code must still reach the totals,
    # and their LSOA must not appear in the counts. Expected values: the rows written here.
    write_street(tmp_path, "kent", "Kent Police", "2024-01",
                 [(*LSOA, V, 2), (*LSOA, "Burglary", 3), ("", "", "Anti-social behaviour", 4),
                  ("E01022223", "Canterbury 001B", "Burglary", 1)])
    write_street(tmp_path, "essex", "Essex Police", "2024-01",
                 [(*LSOA, R, 1), ("X01000001", "Nowhere 001A", "Burglary", 2)])
    files = discover(sorted(tmp_path.rglob("*-street.csv.gz")))
    counts, totals = aggregate_files([(f, f.path) for f in files], duckdb.connect())
    t = totals.set_index("file_key")
    assert t.loc["2024-01/kent", ["rows", "rows_selected", "rows_no_lsoa"]].astype(int).tolist() == [10, 2, 4]
    assert t.loc["2024-01/essex", ["rows", "rows_selected", "rows_no_lsoa"]].astype(int).tolist() == [3, 1, 0]
    assert t.loc["2024-01/essex", "bad_lsoa"] == "X01000001"
    assert t.loc["2024-01/kent", "bad_lsoa"] is None or pd.isna(t.loc["2024-01/kent", "bad_lsoa"])
    assert sorted(counts[["file_key", "lsoa_code", "lsoa_name", "crime_type", "n"]].itertuples(index=False, name=None)) == [
        ("2024-01/essex", "E01022222", "Canterbury 001A", R, 1), ("2024-01/kent", "E01022222", "Canterbury 001A", V, 2)]


def _validated(folder):
    from etl.parsers.police_uk.read import _validate_totals
    files = [(f, f.path) for f in discover(sorted(folder.rglob("*-street.csv.gz")))]
    _counts, totals = aggregate_files(files, duckdb.connect())
    _validate_totals(totals, files, "police_uk_street")


def test_a_file_repeated_onto_itself_is_refused_at_its_first_repeated_row(tmp_path):
    # Every record written twice (an extract concatenated onto itself) would double every
    # count; no other check sees it (2x is not 'implausible'). Rows 2-11 are the 10 records,
    # row 12 is the first repeat.
    import gzip

    import pytest

    from etl.errors import SourceError
    path = write_street(tmp_path, "kent", "Kent Police", "2024-01", [(*LSOA, W, 6), (*LSOA, V, 4)])
    text = gzip.decompress(path.read_bytes())
    header, body = text.split(b"\n", 1)
    path.write_bytes(gzip.compress(header + b"\n" + body + body))
    with pytest.raises(SourceError) as err:
        _validated(tmp_path)
    assert err.value.row == 12 and err.value.column == "Crime ID"
    assert err.value.file == "2024-01-kent-street.csv.gz"
    assert "10 of the 20 records" in str(err.value)


def test_a_few_repeated_records_as_police_uk_publishes_them_still_load(tmp_path):
    # Real police.uk files repeat up to ~5% of their records (Humberside 2024-03): 1 repeat in 20 loads.
    import gzip
    path = write_street(tmp_path, "kent", "Kent Police", "2024-01", [(*LSOA, W, 20)])
    text = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(text + text.split(b"\n")[1] + b"\n"))
    _validated(tmp_path)
    rows, by_type = _totals(tmp_path)
    assert rows == {"2024-01/kent": 21} and by_type == {("2024-01/kent", W): 21}
