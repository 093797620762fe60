"""Size limits and plausibility: archive members, months, symlinks, monthly archives in the mirror."""
from __future__ import annotations

import hashlib
import zipfile
from datetime import date
from pathlib import Path

import pytest

from etl.errors import SourceError
from etl.locate import mirror_paths
from etl.manifest import source_by_id
from etl.parsers import police_uk
from etl.periods import future_date, implausible_count, implausible_period

HEADER = ",".join(police_uk.HEADER) + "\n"


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_archive_member_declared_over_the_cap_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(police_uk.read, "MAX_MEMBER_BYTES", 1_000_000)
    bomb = _zip(tmp_path / "2018-10.zip", {"2018-10/2018-10-kent-street.csv": HEADER.encode() + b"\0" * 5_000_000})
    digest = hashlib.sha256(bomb.read_bytes()).hexdigest()
    with pytest.raises(SourceError, match="5,000,[0-9]+ bytes, over the 1,000,000-byte limit") as err:
        police_uk.discover([bomb])
    assert "2018-10.zip!2018-10/2018-10-kent-street.csv" in str(err.value)
    assert hashlib.sha256(bomb.read_bytes()).hexdigest() == digest


def test_archive_member_over_a_smaller_cap_is_refused_and_nothing_left(tmp_path):
    arch = _zip(tmp_path / "2018-10.zip", {"2018-10/2018-10-kent-street.csv": HEADER.encode() * 50_000})
    (f,) = police_uk.discover([arch])
    dest = tmp_path / "member.csv"
    with pytest.raises(SourceError, match="over the 100,000-byte limit"):
        police_uk.extract_member(f, dest, limit=100_000)
    assert not dest.exists()
    police_uk.extract_member(f, dest)  # under the real cap: copied whole
    assert dest.read_bytes() == HEADER.encode() * 50_000


@pytest.mark.parametrize("month", ["1900-01", "2099-12", "2010-11"])
def test_month_outside_police_uk_range_is_refused(tmp_path, month):
    p = tmp_path / f"{month}-kent-street.csv"
    p.write_text(HEADER)
    with pytest.raises(SourceError, match=f"month {month}") as err:
        police_uk.discover([p])
    assert err.value.file == p.name and err.value.column == "Month"


def test_first_police_uk_month_is_accepted(tmp_path):
    p = tmp_path / "2010-12-kent-street.csv"
    p.write_text(HEADER)
    assert [f.month for f in police_uk.discover([p])] == ["2010-12"]


def test_period_helpers():
    today = date(2026, 12, 4)
    assert implausible_period(date(1900, 1, 1), today=today).startswith("period starts 1900-01-01, before")
    assert "in the future" in implausible_period(date(2099, 1, 1), today=today)
    assert implausible_period(date(2026, 12, 1), date(2026, 12, 31), today=today) is None
    assert future_date(date(2026, 12, 5), today) == "date 2026-12-05 is in the future (today is 2026-12-04)"
    assert future_date(date(2026, 12, 4), today) is None
    assert "exceeds any plausible population" in implausible_count(1e23)
    assert implausible_count(float("nan")) == "count is not a finite number"
    assert implausible_count(61_000_000) is None


def test_symlink_out_of_the_sources_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere" / "secret.csv"
    outside.parent.mkdir()
    outside.write_text("x\n")
    mirror = tmp_path / "mirror" / "istv"
    mirror.mkdir(parents=True)
    (mirror / "extract.csv").symlink_to(outside)
    with pytest.raises(SourceError, match="symlink leading outside the sources folder") as err:
        mirror_paths(source_by_id("istv_ae_assaults"), tmp_path / "mirror")
    assert "extract.csv" in err.value.file


def test_symlinked_folder_out_of_the_sources_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.csv").write_text("x\n")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "istv").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SourceError, match="symlink"):
        mirror_paths(source_by_id("istv_ae_assaults"), tmp_path / "mirror")


def test_symlink_inside_the_sources_folder_is_allowed(tmp_path):
    mirror = tmp_path / "mirror" / "istv"
    mirror.mkdir(parents=True)
    (tmp_path / "mirror" / "real.csv").write_text("x\n")
    (mirror / "extract.csv").symlink_to(tmp_path / "mirror" / "real.csv")
    assert [p.name for p in mirror_paths(source_by_id("istv_ae_assaults"), tmp_path / "mirror")] == ["extract.csv"]


def test_monthly_archive_where_the_runbook_says_is_found(tmp_path):
    """docs/runbook.md: 'put its files (or the monthly .zip archive) under police_uk/YYYY-MM/'."""
    month_dir = tmp_path / "police_uk" / "2018-10"
    month_dir.mkdir(parents=True)
    arch = _zip(month_dir / "2018-10.zip", {"2018-10/2018-10-kent-street.csv": HEADER.encode()})
    (tmp_path / "police_uk" / "2018-11").mkdir()
    loose = tmp_path / "police_uk" / "2018-11" / "2018-11-kent-street.csv"
    loose.write_text(HEADER)
    found = mirror_paths(source_by_id("police_uk_street"), tmp_path)
    assert found == [arch, loose]
    assert [(f.month, f.member) for f in police_uk.discover(found)] == [
        ("2018-10", "2018-10/2018-10-kent-street.csv"), ("2018-11", None)]


def test_small_csv_header_limits_are_clear_errors(tmp_path, monkeypatch):
    from etl import csvtable
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(120_000)) + "\n1\n")
    with pytest.raises(SourceError, match="120,000 columns") as err:
        csvtable.read_required_columns(wide, "s", ["c0"])
    assert (err.value.file, err.value.row) == ("wide.csv", 1)
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("a,b, a\n1,2,3\n")  # pandas alone would rename the second to 'a.1'
    with pytest.raises(SourceError, match="column 'a' appears 2 times") as err:
        csvtable.read_required_columns(repeated, "s", ["a"])
    assert (err.value.row, err.value.column) == (1, "a")
    long = tmp_path / "long.csv"
    long.write_text("a,b\n1,2\n3," + "x" * (128 * 1024) + "\n")
    with pytest.raises(SourceError, match="a cell of 131,072 characters") as err:
        csvtable.read_required_columns(long, "s", ["a"])
    assert (err.value.row, err.value.column) == (3, "b")
    monkeypatch.setattr(csvtable, "MAX_SMALL_CSV_BYTES", 10)
    with pytest.raises(SourceError, match="more than the 10 a hand-kept table"):
        csvtable.read_required_columns(long, "s", ["a"])
