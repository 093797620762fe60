"""A police.uk force-month far above the force's normal months, or beyond what its population
allows, is held back like a short one (no figure; 'implausible' in the coverage grid) and said
in the refresh output and log, `etl status` and Data & sources; a file whose Month column
disagrees with its name is refused naming file, row and column. Expected values by hand below."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.safe_text import as_shown
from etl.errors import SourceError
from etl.manifest import source_by_id
from etl.parsers import police_uk
from etl.parsers.police_uk.coverage import coverage_grid, high_months, short_months, too_many_for_population
from etl.refresh import refresh
from etl.refresh_log import REFRESH_LOG
from etl.status import render_text, status
from etl.warehouse import open_read_only
from tests.fixture_mirror import build_fixture_mirror, street_csv, write_street

ROOT = Path(__file__).resolve().parents[2]
VIOLENCE = "Violence and sexual offences"
WEAPONS = "Possession of weapons"


def kent_rows(violence: int, weapons: int) -> list[tuple[str, str, str, int]]:
    return [("E01022222", "Canterbury 001A", WEAPONS, weapons), ("E01022222", "Canterbury 001A", VIOLENCE, violence)]


# ---------------------------------------------------------------- the rule, on series
def test_a_month_over_five_times_its_neighbours_is_held_back():
    # 2019-01: the other months give 40/31, 40/30, 40/31 a day; median 40/31 x 31 days = 40.
    series = {VIOLENCE: {"2018-10": 40, "2018-11": 40, "2018-12": 40, "2019-01": 260}}
    got = high_months(series)
    assert list(got) == ["2019-01"]
    assert got["2019-01"] == (f"{VIOLENCE}: 260 against 40 expected from the median of the force's other "
                              "months (6.5x): held back as implausibly high")


def test_two_high_months_side_by_side_are_both_found():
    # 2019-02: the other four months give 40/31, 40/31, 40/31 and 300/31 a day, median 40/31
    # x 28 days = 36.1, 600 / 36.1 = 16.6x; 2019-01: 40/31 (600/28 is the odd one out) x 31 = 40,
    # 300 / 40 = 7.5x. A median of the force's nearest months would miss one of the two.
    days = {"2018-10": 31, "2018-11": 30, "2018-12": 31, "2019-01": 31, "2019-02": 28}
    series = {"all records": {m: 40 * d / 31 for m, d in days.items()} | {"2019-01": 300, "2019-02": 600}}
    got = high_months(series)
    assert set(got) == {"2019-01", "2019-02"}
    assert "600 against 36 expected" in got["2019-02"] and "(16.6x)" in got["2019-02"]
    assert "300 against 40 expected" in got["2019-01"] and "(7.5x)" in got["2019-01"]


def test_ordinary_rises_and_small_series_are_not_held_back():
    # 4.9x is not over the line; a series expecting fewer than 20 records is not judged (15 -> 100).
    big = {"2019-01": 1000, "2019-02": 1000 * 28 / 31, "2019-03": 4900, "2019-04": 1000 * 30 / 31}
    small = {"2019-01": 15, "2019-02": 15 * 28 / 31, "2019-03": 100, "2019-04": 15 * 30 / 31}
    assert high_months({"all records": big, "Robbery": small}) == {}
    assert high_months({"all records": {"2019-01": 50, "2019-02": 5000}}) == {}  # too few months to judge


def test_a_count_beyond_the_force_population_is_held_back():
    # 0.25 records per resident in a month is the line: 30,000 for 100,000 residents is over it.
    got = too_many_for_population({"2024-01": 24_000, "2024-02": 30_000, "2024-03": 9e9},
                                  lambda m: {"2024-01": 100_000, "2024-02": 100_000}.get(m))
    assert list(got) == ["2024-02"]  # 2024-03 has no population: not judged
    assert got["2024-02"].startswith("all records: 30,000 for 100,000 residents (0.30 a resident")


def test_coverage_grid_holds_back_the_high_month_only():
    # 2019-01: 6,000 against 1,000s (6x) is held back; 2018-12 at 800 is not short: its
    # neighbours 2018-11 and 2018-10 (the high month is left out) give 1000/30, 1000/31 a day,
    # median 32.8 x 31 = 1,017 expected, 800 is 79% (the line is 75%).
    totals = pd.DataFrame({"file_key": [f"{m}/kent" for m in ("2018-10", "2018-11", "2018-12", "2019-01")],
                           "rows": [1000, 1000, 800, 6000]})
    counts = pd.DataFrame(columns=["file_key", "crime_type", "n"])
    grid = coverage_grid(totals, counts, {"kent": "E23000032"}, ["2018-10", "2018-11", "2018-12", "2019-01"],
                         residents=lambda pfa, m: 1_800_000)
    assert dict(zip(grid["month"], grid["status"], strict=True)) == {
        "2018-10": "present", "2018-11": "present", "2018-12": "present", "2019-01": "implausible"}
    assert short_months({"all records": {"2018-10": 1000, "2018-11": 1000, "2018-12": 800}}) == {}
    assert "6,000 against 1,000 expected" in grid.loc[grid["month"] == "2019-01", "note"].iloc[0]


def test_a_force_with_too_few_months_is_judged_by_its_population():
    # One month each: the ratio rule has no other months to judge by. Kent's 300,000 records for
    # 1,000,000 residents is 0.30 a resident (over 0.25): held back; Essex's 200,000 (0.20) is not;
    # BTP (no area, no residents) is never judged this way.
    totals = pd.DataFrame({"file_key": ["2024-01/kent", "2024-01/essex", "2024-01/btp"],
                           "rows": [300_000, 200_000, 900_000]})
    counts = pd.DataFrame(columns=["file_key", "crime_type", "n"])
    asked = []

    def residents(pfa, month):
        asked.append((pfa, month))
        return 1_000_000

    grid = coverage_grid(totals, counts, {"kent": "E23000032", "essex": "E23000028", "btp": None}, ["2024-01"],
                         residents=residents)
    assert dict(zip(grid["force"], grid["status"], strict=True)) == {
        "btp": "present", "essex": "present", "kent": "implausible"}
    assert grid.loc[grid["force"] == "kent", "note"].iloc[0] == (
        "all records: 300,000 for 1,000,000 residents (0.30 a resident in one month): held back as implausibly high")
    assert sorted(asked) == [("E23000028", "2024-01"), ("E23000032", "2024-01")]


# ---------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def refreshed(mirror, tmp_path_factory):
    """Kent has three ordinary months (45 records each) and is built; then its 2019-01 file
    arrives with 280 records (violence 260 against 40 expected: 6.5x) and the refresh runs again."""
    base = tmp_path_factory.mktemp("implausible")
    src = build_fixture_mirror(mirror, base / "mirror")
    for month in ("2018-11", "2018-12"):
        write_street(src, "kent", "Kent Police", month, kent_rows(40, 5))
    db = base / "wh" / "warehouse.duckdb"
    assert refresh(src, db, quiet=True).status == "built"
    write_street(src, "kent", "Kent Police", "2019-01", kent_rows(260, 20))
    result = refresh(src, db, quiet=True)
    assert result.status == "built"
    return db, result


NOTE = (f"{VIOLENCE}: 260 against 40 expected from the median of the force's other months (6.5x): "
        "held back as implausibly high")
WARNING = "WARNING: 1 police.uk force-month(s) held back as implausibly high (no figure published): kent 2019-01"


def test_the_high_month_has_no_figure_and_its_reason(refreshed):
    db, _ = refreshed
    con = open_read_only(db)
    try:
        grid = con.execute("SELECT month, status, rows, note FROM wh.police_uk_coverage WHERE force = 'kent' "
                           "ORDER BY month").fetchall()
        figures = con.execute("SELECT count(*) FROM wh.observations WHERE source_id = 'police_uk_street' "
                              "AND period_label = '2019-01'").fetchone()[0]
        kent_2018 = con.execute("""SELECT count(*) FROM wh.observations o JOIN wh.police_uk_coverage c
                                   ON c.pfa_code = o.area_code AND c.month = o.period_label
                                   WHERE c.force = 'kent' AND o.source_id = 'police_uk_street'""").fetchone()[0]
    finally:
        con.close()
    assert grid == [("2018-10", "present", 45, ""), ("2018-11", "present", 45, ""), ("2018-12", "present", 45, ""),
                    ("2019-01", "implausible", 280, NOTE), ("2024-01", "missing", None, "no file for this force and month")]
    assert figures == 0  # no CSP, district, force, region or national figure for the month
    assert kent_2018 == 3 * 4  # the force's ordinary months are published: 3 months x 4 crime types


def test_the_refresh_output_and_log_warn(refreshed):
    db, result = refreshed
    assert WARNING in result.message
    opened = [g for g in result.changelog["coverage_gaps"]["opened"] if g["force"] == "kent"]
    assert opened == [{"force": "kent", "month": "2019-01", "before": None, "now": "implausible", "note": NOTE}]
    last = json.loads((db.parent / REFRESH_LOG).read_text().splitlines()[-1])
    assert last["status"] == "built" and WARNING in last["message"]


def test_etl_status_warns(refreshed):
    db, _ = refreshed
    text = render_text(status(db))
    assert "implausible 1" in text
    assert f"WARNING: held back as implausibly high: kent 2019-01: {NOTE}" in text
    assert "police.uk new gap: kent 2019-01 (none -> implausible)" in text


def test_data_and_sources_warns(refreshed, monkeypatch):
    db, _ = refreshed
    monkeypatch.setenv("SVD_DB", str(db))
    at = AppTest.from_file(str(ROOT / "pages/4_Data_and_sources.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    warnings = [as_shown(w.value) for w in at.warning]
    assert f"1 force-month(s) held back as implausibly high (no figure published): kent 2019-01: {NOTE}" in warnings


# ---------------------------------------------------------------- Month column against the file name
def test_a_month_column_that_disagrees_with_the_file_name_is_refused(tmp_path):
    """A file named 2024-03 whose third record says 2024-04: file, row 4 and column Month."""
    text = street_csv("Kent Police", "2024-03", kent_rows(2, 1)).decode()
    lines = text.splitlines()
    lines[3] = lines[3].replace(",2024-03,", ",2024-04,", 1)
    path = tmp_path / "2024-03" / "2024-03-kent-street.csv.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(SourceError) as err:
        police_uk.parse([path], source_by_id("police_uk_street"), geo=None)
    assert (err.value.file, err.value.row, err.value.column) == ("2024-03-kent-street.csv.gz", 4, "Month")
    assert "'2024-04' in a file for 2024-03" in str(err.value)
    # the file itself is left as it was
    assert gzip.decompress(path.read_bytes()).decode().splitlines()[3].count("2024-04") == 1
