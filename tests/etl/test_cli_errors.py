"""Every failure of `python -m etl refresh|export|rollback|restore|status` is one line naming the
file, exit code 2, no traceback: a corrupt live warehouse, a full disk, a read-only folder; and
names holding terminal control characters are printed escaped. Tiny warehouses made by code."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from etl import refresh as refresh_module
from etl import warehouse
from etl.__main__ import main
from etl.refresh import RefreshResult
from etl.warehouse import snapshot_dir, snapshots
from tests.fixture_mirror import build_fixture_mirror
from tests.tiny_warehouse import digests, make_tiny, sha

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def one_line(stderr: str, *names: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and lines[0].startswith("error: "), stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture
def garbage_live(tmp_path) -> Path:
    live = tmp_path / "data" / "warehouse.duckdb"
    live.parent.mkdir()
    live.write_bytes(os.urandom(300_000))
    return live


@pytest.mark.parametrize("command", ["status", "export", "rollback", "snapshots-then-restore"])
def test_corrupt_live_warehouse_gives_one_line(garbage_live, tmp_path, command):
    before = digests(tmp_path)
    if command == "export":
        out = run_cli("export", "--db", str(garbage_live), "--out", str(tmp_path / "export"))
    elif command == "snapshots-then-restore":
        assert run_cli("snapshots", "--db", str(garbage_live)).returncode == 0
        out = run_cli("restore", "nothing.duckdb", "--db", str(garbage_live))
    else:
        out = run_cli(command, "--db", str(garbage_live))
    assert out.returncode == 2, out
    line = one_line(out.stderr)
    assert str(garbage_live) in line or "snapshots" in line, line
    assert digests(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_rollback_repairs_a_corrupt_live_warehouse_and_keeps_it(garbage_live):
    snaps = snapshot_dir(garbage_live)
    snaps.mkdir()
    good = make_tiny(snaps / "warehouse-20260101T000000000000Z.duckdb", 1)
    good_sha, garbage_sha = sha(good), sha(garbage_live)
    out = run_cli("rollback", "--db", str(garbage_live))
    assert out.returncode == 0, out.stderr
    assert sha(garbage_live) == good_sha and sha(good) == good_sha
    kept = [p for p in snapshots(garbage_live) if p != good]
    assert [sha(p) for p in kept] == [garbage_sha]
    assert f"undo: python -m etl restore {kept[0].name}" in out.stdout
    assert run_cli("status", "--db", str(garbage_live)).returncode == 0


def test_control_characters_in_names_are_escaped(tmp_path):
    folder = tmp_path / "wh\x1b[31mRED\rover\u202e"
    folder.mkdir()
    live = folder / "warehouse.duckdb"
    live.write_bytes(b"not a warehouse")
    for args in (["status", "--db", str(live)],
                 ["export", "--db", str(live), "--out", str(tmp_path / "out\x1b[2J")],
                 ["restore", "snap\x1b[1m.duckdb", "--db", str(live)]):
        out = run_cli(*args)
        assert out.returncode == 2
        line = one_line(out.stderr)
        assert "\x1b" not in line and "\r" not in line and "\u202e" not in line, repr(line)
        assert ("wh\\x1b[31mRED\\rover\\u202e" in line) or ("snap\\x1b[1m" in line), line


def test_export_refusal_names_an_escaped_foreign_file(tmp_path):
    live = make_tiny(tmp_path / "wh.duckdb", 1)
    out = tmp_path / "partner"
    out.mkdir()
    (out / "evil\x1b]0;title\x07.csv").write_text("x")
    before = digests(tmp_path)
    res = run_cli("export", "--db", str(live), "--out", str(out))
    line = one_line(res.stderr, "evil\\x1b]0;title\\x07.csv")
    assert "\x1b" not in line and "\x07" not in line
    assert digests(tmp_path) == before


# ------------------------------------------------------------ refresh: disk full, read-only folder
@pytest.fixture(scope="module")
def small_mirror(mirror, tmp_path_factory) -> Path:
    return build_fixture_mirror(mirror, tmp_path_factory.mktemp("cli-mirror"))


@pytest.fixture
def tiny_refresh(monkeypatch):
    """The refresh with its build step replaced by a tiny warehouse, so the locate, lock, swap,
    snapshot, log and error-reporting steps run for real in a fraction of a second."""
    def build(run, manifest, located):
        make_tiny(run.build, 5)
        return RefreshResult("built", run.live, "tiny build", {}, 0.0)

    monkeypatch.setattr(refresh_module, "build_warehouse", build)


def test_refresh_swaps_and_keeps_the_previous_file(small_mirror, tiny_refresh, tmp_path, capsys):
    live = make_tiny(tmp_path / "warehouse.duckdb", 1)
    old = sha(live)
    assert main(["refresh", "--sources", str(small_mirror), "--db", str(live), "--quiet"]) == 0
    assert [sha(p) for p in snapshots(live)] == [old]
    assert sha(live) != old


@pytest.mark.parametrize("failing", ["os.replace", "os.link+copy"])
def test_refresh_on_a_full_disk_is_one_line_and_leaves_live_alone(small_mirror, tiny_refresh, tmp_path,
                                                                 monkeypatch, capsys, failing):
    live = make_tiny(tmp_path / "warehouse.duckdb", 1)
    before = sha(live)

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "os.replace":
        monkeypatch.setattr(os, "replace", full)
    else:
        monkeypatch.setattr(os, "link", full)
        monkeypatch.setattr(warehouse.shutil, "copyfile", full)
    code = main(["refresh", "--sources", str(small_mirror), "--db", str(live), "--quiet"])
    assert code == 2
    one_line(capsys.readouterr().err, str(live), "No space left on device", "the live warehouse was not changed")
    assert sha(live) == before
    assert snapshots(live) == []
    ours = {p.name for p in tmp_path.iterdir()} - {"warehouse.duckdb.lock", "refresh-log.jsonl"}
    assert ours <= {"warehouse.duckdb", "snapshots"}, ours
    assert not [p for p in tmp_path.rglob("*") if ".building-" in p.name or ".partial-" in p.name]


def test_refresh_in_a_read_only_folder_is_one_line(small_mirror, tiny_refresh, tmp_path, monkeypatch, capsys):
    live = make_tiny(tmp_path / "warehouse.duckdb", 1)
    before = digests(tmp_path)
    real_open = open

    def read_only_open(path, mode="r", *a, **kw):
        if any(m in mode for m in "wax+"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(warehouse, "open", read_only_open, raising=False)
    monkeypatch.setattr(refresh_module, "open", read_only_open, raising=False)
    assert main(["refresh", "--sources", str(small_mirror), "--db", str(live), "--quiet"]) == 2
    one_line(capsys.readouterr().err, "warehouse.duckdb.lock", "Read-only file system")
    assert digests(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_refresh_and_rollback_in_a_chmod_read_only_folder(small_mirror, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    live = make_tiny(folder / "warehouse.duckdb", 1)
    before = digests(folder)
    folder.chmod(0o555)
    try:
        for args in (["refresh", "--sources", str(small_mirror), "--db", str(live), "--quiet"],
                     ["rollback", "--db", str(live)]):
            res = run_cli(*args)
            assert res.returncode == 2
            one_line(res.stderr)
    finally:
        folder.chmod(0o755)
    assert digests(folder) == before


def test_export_into_a_read_only_folder_is_one_line(tmp_path, monkeypatch, capsys):
    live = make_tiny(tmp_path / "wh.duckdb", 1)

    def read_only(*a, **kw):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    assert main(["export", "--db", str(live), "--out", str(tmp_path / "export")]) == 2
    one_line(capsys.readouterr().err, str(tmp_path / "export"), "Read-only file system")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh.duckdb"]


def test_unexpected_error_is_still_one_line(tmp_path, monkeypatch, capsys):
    live = make_tiny(tmp_path / "wh.duckdb", 1)
    import etl.status

    def boom(db):
        raise ValueError("something odd\nwith two lines")

    monkeypatch.setattr(etl.status, "status", boom)
    monkeypatch.delenv("SVD_TRACEBACK", raising=False)
    assert main(["status", "--db", str(live)]) == 2
    one_line(capsys.readouterr().err, "ValueError", "something odd with two lines")


@pytest.mark.slow
def test_refresh_builds_over_a_corrupt_live_warehouse_and_keeps_it(small_mirror, tmp_path):
    """A real refresh (no stand-in build): the unreadable live file is neither opened for reuse
    nor lost; it becomes a snapshot and a good warehouse takes its place."""
    live = tmp_path / "warehouse.duckdb"
    live.write_bytes(os.urandom(100_000))
    garbage = sha(live)
    assert refresh_module.refresh(small_mirror, live, quiet=True).status == "built"
    assert [sha(p) for p in snapshots(live)] == [garbage]
    assert warehouse.check_warehouse(live)["refresh_id"]
    assert main(["status", "--db", str(live)]) == 0
