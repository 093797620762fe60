"""The monthly refresh end to end on a small fixture mirror: build, no-change, incremental
month, bad inputs (live warehouse untouched), concurrent reader, kill -9, rollback, status."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from etl.errors import SourceError
from etl.refresh import refresh
from etl.warehouse import open_read_only, snapshots
from tests.fixture_mirror import STREET, write_street

ROOT = Path(__file__).resolve().parents[2]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(db: Path, sql: str):
    con = open_read_only(db)
    try:
        return con.execute(sql.replace("FROM ", "FROM wh.").replace("JOIN ", "JOIN wh.")).fetchall()
    finally:
        con.close()


def test_counts_match_the_generated_records(fixture_built):
    _, db = fixture_built
    got = dict(query(db, """SELECT area_code || ' ' || period_label, count FROM observations
                            WHERE indicator_id = 'police_uk_possession_of_weapons'
                              AND area_code IN ('E22000308', 'E22000303', 'E23000029', 'E06000060', 'E22000138')"""))
    # Oxford CSP: 3 in 2018-10 and 6 in 2024-01 (BTP's 2 are not in any area count)
    assert got["E22000308 2018-10"] == 3 and got["E22000308 2024-01"] == 6
    # Aylesbury Vale CSP: 4 under the old name, and 2 in 2024 through the same LSOA's old name
    assert got["E22000303 2018-10"] == 4 and got["E22000303 2024-01"] == 2
    # Thames Valley force total = everything it published of that type, placed or not
    assert got["E23000029 2018-10"] == 3 + 4 + 1 + 2
    assert got["E23000029 2024-01"] == 6 + 2 + 3
    # Buckinghamshire LAD holds the records the split could not place in a CSP
    assert got["E06000060 2024-01"] == 2 + 3
    # Canterbury CSP: Kent's own 5, not Thames Valley's 2 located there
    assert got["E22000138 2018-10"] == 5


def test_reconciliation_accounts_for_every_record(fixture_built):
    _, db = fixture_built
    rows = query(db, """SELECT force, month, sum(n) FROM police_uk_reconciliation GROUP BY ALL""")
    expected = {}
    for (slug, _, month), recs in STREET.items():
        expected[(slug, month)] = sum(k for *_, ct, k in recs if ct != "Burglary")
    assert {(f, m): n for f, m, n in rows} == expected
    reasons = dict(query(db, """SELECT status, sum(n) FROM police_uk_reconciliation
                                WHERE force = 'thames-valley' AND month = '2024-01' GROUP BY 1"""))
    assert reasons["in a unitary LAD split across CSPs; LSOA never seen with a pre-2019 district name"] == 3


def test_missing_force_month_is_missing_not_zero(fixture_built):
    _, db = fixture_built
    # Kent has no 2024-01 file: no Kent or Canterbury value for that month, and coverage says missing
    assert query(db, "SELECT count(*) FROM observations WHERE area_code IN ('E23000032', 'E22000138') "
                     "AND period_label = '2024-01' AND source_id = 'police_uk_street'")[0][0] == 0
    assert query(db, "SELECT status FROM police_uk_coverage WHERE force = 'kent' AND month = '2024-01'")[0][0] == "missing"


def test_second_refresh_with_no_change_does_nothing(fixture_work):
    src, db = fixture_work
    before = sha(db)
    result = refresh(src, db, quiet=True)
    assert result.status == "unchanged"
    assert sha(db) == before


def test_new_month_reads_only_that_month(fixture_work):
    src, db = fixture_work
    write_street(src, "kent", "Kent Police", "2024-01", [("E01022222", "Canterbury 001A", "Robbery", 4)])
    result = refresh(src, db, quiet=True)
    assert result.status == "built"
    reused = dict(query(db, "SELECT file_name, reused FROM source_files WHERE source_id = 'police_uk_street'"))
    assert reused["2024-01-kent-street.csv.gz"] is False
    assert len([k for k in reused if k != "2024-01-kent-street.csv.gz"]) > 0, "nothing to check: an empty result must not pass"
    assert all(v for k, v in reused.items() if k != "2024-01-kent-street.csv.gz")
    new = {x["indicator_id"]: x["periods"] for x in result.changelog["new_periods"]}
    assert query(db, "SELECT count FROM observations WHERE indicator_id = 'police_uk_robbery' "
                     "AND area_code = 'E22000138' AND period_label = '2024-01'")[0][0] == 4
    assert result.changelog["changed_files"] == [{"source_id": "police_uk_street",
                                                  "file_name": "2024-01-kent-street.csv.gz"}]
    assert new == {} or all(isinstance(v, list) for v in new.values())


def test_changed_earlier_month_is_reloaded_and_reported(fixture_work):
    src, db = fixture_work
    rows = list(STREET[("kent", "Kent Police", "2018-10")])
    rows[0] = ("E01022222", "Canterbury 001A", "Possession of weapons", 9)
    write_street(src, "kent", "Kent Police", "2018-10", rows)
    result = refresh(src, db, quiet=True)
    assert result.changelog["revised_count"] > 0
    revised = [r for r in result.changelog["revised"] if r["area_code"] == "E22000138"]
    assert revised and revised[0]["old_count"] == 5 and revised[0]["new_count"] == 9


KENT_2018_10 = "police_uk/2018-10/2018-10-kent-street.csv.gz"


def _edit(src: Path, name: str, edit: Callable[[str], str]) -> None:
    """Rewrite one file of the mirror copy through `edit` (text in, text out; a .gz file is
    unpacked and packed again), so each damage below says only what it changes."""
    p = src / name
    if p.suffix == ".gz":
        p.write_bytes(gzip.compress(edit(gzip.decompress(p.read_bytes()).decode()).encode()))
    else:
        p.write_text(edit(p.read_text(encoding="utf-8-sig")), encoding="utf-8")


def _truncate_gz(src: Path) -> str:
    p = src / KENT_2018_10
    p.write_bytes(p.read_bytes()[:-30])
    return "2018-10-kent-street.csv.gz"


def _rename_column(src: Path) -> str:
    _edit(src, KENT_2018_10, lambda text: text.replace("LSOA code", "LSOA_code", 1))
    return "column 'LSOA code'"


def _wrong_area_code(src: Path) -> str:
    _edit(src, "geography/lad_to_csp.csv", lambda text: text.replace("E22000186", "E2200018X", 1))
    return "row 2, column 'csp-code'"


def _duplicated_rows(src: Path) -> str:
    def repeat_second_data_row(text: str) -> str:
        lines = text.splitlines()
        return "\n".join(lines[:3] + [lines[2]] + lines[3:]) + "\n"
    _edit(src, "geography/LAD17_CSP17_PFA17_EW_LU_ONS.csv", repeat_second_data_row)
    return "duplicate row"


def _non_numeric_count(src: Path) -> str:
    def spoil_a_count(text: str) -> str:
        lines = text.splitlines()
        cells = lines[5].split(",")
        cells[6] = "lots"
        lines[5] = ",".join(cells)
        return "\n".join(lines) + "\n"
    _edit(src, "knife_crime/knifecrime_pfa_quarterly.csv", spoil_a_count)
    return "knifecrime_pfa_quarterly.csv"


def _empty_file(src: Path) -> str:
    (src / "national/national_figures.csv").write_text("")
    return "national_figures.csv"


def _wrong_encoding(src: Path) -> str:
    p = src / "geography/lad_to_csp.csv"
    p.write_bytes(p.read_text(encoding="utf-8-sig").replace("Barnet", "Barnét").encode("cp1252"))
    return "not UTF-8"


def _not_what_its_name_says(src: Path) -> str:
    (src / "geography/LAD_Dec2022_UK_BUC.geojson").write_text("<html><body>Service unavailable</body></html>")
    return "LAD_Dec2022_UK_BUC.geojson"


def _police_html(src: Path) -> str:
    (src / KENT_2018_10).write_bytes(gzip.compress(b"<html>Not found</html>\n"))
    return "expected column 'Crime ID'"


def _truncated_plain_csv(src: Path) -> str:
    p = src / KENT_2018_10
    text = gzip.decompress(p.read_bytes()).decode()
    p.unlink()
    plain = p.with_suffix("")  # .csv, as data.police.uk publishes it
    plain.write_text(text[: len(text) // 2 - 7])
    return "row"


def _bad_lsoa_code(src: Path) -> str:
    _edit(src, KENT_2018_10, lambda text: text.replace("E01022222", "X01022222", 1))
    return "row 2, column 'LSOA code'"


BAD_INPUTS = [_truncate_gz, _rename_column, _wrong_area_code, _duplicated_rows, _non_numeric_count, _empty_file,
              _wrong_encoding, _not_what_its_name_says, _police_html, _truncated_plain_csv, _bad_lsoa_code]


@pytest.mark.parametrize("damage", BAD_INPUTS, ids=[f.__name__.strip("_") for f in BAD_INPUTS])
def test_bad_input_names_the_problem_and_leaves_live_untouched(fixture_work, damage):
    src, db = fixture_work
    before, snaps_before = sha(db), list(snapshots(db))
    expected = damage(src)
    with pytest.raises(SourceError) as err:
        refresh(src, db, quiet=True)
    message = str(err.value)
    assert expected in message, message
    assert err.value.file, "the error must name the file"
    assert sha(db) == before
    assert list(snapshots(db)) == snaps_before
    assert not list(db.parent.glob("*.building-*"))


def test_cli_error_is_one_clear_line_and_exit_code(fixture_work):
    src, db = fixture_work
    _wrong_area_code(src)
    out = subprocess.run([sys.executable, "-m", "etl", "refresh", "--sources", str(src), "--db", str(db), "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "lad_to_csp.csv" in out.stderr and "Traceback" not in out.stderr
    assert "live warehouse was not changed" in out.stderr


def test_reader_open_during_swap_keeps_working_and_then_sees_new_data(fixture_work):
    src, db = fixture_work
    reader = open_read_only(db)
    old_id = reader.execute("SELECT value FROM wh.meta WHERE key = 'refresh_id'").fetchone()[0]
    old_rows = reader.execute("SELECT count(*) FROM wh.observations").fetchone()[0]
    time.sleep(1.1)  # refresh ids have one-second resolution
    assert refresh(src, db, force=True, quiet=True).status == "built"
    # the open reader still reads its (old) file, uninterrupted
    assert reader.execute("SELECT count(*) FROM wh.observations").fetchone()[0] == old_rows
    reader.close()
    fresh = open_read_only(db)
    assert fresh.execute("SELECT value FROM wh.meta WHERE key = 'refresh_id'").fetchone()[0] != old_id
    fresh.close()


def test_kill_9_mid_refresh_leaves_live_byte_identical(fixture_work):
    src, db = fixture_work
    before = sha(db)
    proc = subprocess.Popen([sys.executable, "-m", "etl", "refresh", "--sources", str(src), "--db", str(db),
                             "--force", "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait for the signal (the new warehouse file appears), however long a busy machine takes;
    # give up only if the refresh ends without ever writing one (or after a very long stall).
    deadline = time.monotonic() + 1200
    while not list(db.parent.glob("*.building-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(db.parent.glob("*.building-*")), "the refresh never started writing its new warehouse"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert sha(db) == before
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM observations").fetchone()[0] > 0
    con.close()
    # the next refresh clears the dead one's leftovers and succeeds
    assert refresh(src, db, force=True, quiet=True).status == "built"
    assert not list(db.parent.glob("*.building-*"))


def test_rollback_restores_previous_warehouse(fixture_work):
    src, db = fixture_work
    first = query(db, "SELECT value FROM meta WHERE key = 'refresh_id'")[0][0]
    time.sleep(1.1)
    refresh(src, db, force=True, quiet=True)
    assert query(db, "SELECT value FROM meta WHERE key = 'refresh_id'")[0][0] != first
    out = subprocess.run([sys.executable, "-m", "etl", "rollback", "--db", str(db)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert query(db, "SELECT value FROM meta WHERE key = 'refresh_id'")[0][0] == first


def test_status_json_lists_every_source_with_rows_and_periods(fixture_built):
    _, db = fixture_built
    out = subprocess.run([sys.executable, "-m", "etl", "status", "--json", "--db", str(db)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    ids = {s["source_id"] for s in st["sources"]}
    assert {"police_uk_street", "ons_mye_2021", "lad21_csp_pfa_lookup", "national_figures",
            "istv_ae_assaults", "fingertips_drug_treatment", "cco_gang_estimates"} <= ids
    police = next(s for s in st["sources"] if s["source_id"] == "police_uk_street")
    assert police["rows"] > 0 and police["periods"] == 2
    fams = {f["family"]: f for f in st["families"]}
    assert set(fams) >= {"knife_crime", "ae_assault", "gangs", "drug_treatment"}
    assert "synthetic" in fams["ae_assault"]["qualities"]
    assert "modelled" in fams["gangs"]["qualities"]


def test_warehouse_holds_every_national_figure_and_marks_the_latest(fixture_built, mirror):
    import csv

    _, db = fixture_built
    with open(mirror / "national/national_figures.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert query(db, "SELECT count(*) FROM national_sources")[0][0] == len(rows) == 159
    n_obs = query(db, "SELECT count(*) FROM observations WHERE source_id LIKE 'national_figures%'")[0][0]
    assert n_obs == len(rows)
    # a revision: the same series, period and basis with two numbers; both kept, the later current
    revs = query(db, """SELECT r.indicator_id, r.period_label, r.value_current, r.value_previous FROM revisions r""")
    assert revs
    for indicator_id, label, current, previous in revs:
        kept = dict(query(db, f"""SELECT source_id, value FROM observations WHERE indicator_id = '{indicator_id}'
                                   AND period_label = '{label}'"""))
        assert kept["national_figures"] == current
        assert previous in [v for k, v in kept.items() if k.startswith("national_figures#rev")]
