"""Snapshots never lose a version: swap, swap, rollback, rollback, restore and refused restores,
with the sha256 of every version checked at each step (tiny warehouses made by code)."""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from etl import warehouse
from etl.errors import RefreshError
from etl.warehouse import (
    KEEP_SNAPSHOTS,
    check_warehouse,
    describe_snapshots,
    read_meta,
    refresh_lock,
    restore,
    rollback,
    snapshot_dir,
    snapshots,
    swap_in,
)
from tests.tiny_warehouse import digests, make_tiny, sha


def swap(live: Path, version: int) -> Path | None:
    """What the refresh does once its new file is built and checked: lock, swap."""
    build = make_tiny(live.with_name(f"{live.name}.building-{os.getpid()}"), version)
    with refresh_lock(live):
        return swap_in(build, live)


def snap_digests(live: Path) -> dict[str, str]:
    return {p.name: sha(p) for p in snapshots(live)}


def leftovers(live: Path) -> list[str]:
    """Temporary files of ours that must never outlive an operation."""
    names = [p.name for p in live.parent.iterdir()]
    if snapshot_dir(live).exists():
        names += [p.name for p in snapshot_dir(live).iterdir()]
    return [n for n in names if ".partial-" in n or ".restoring-" in n or ".building-" in n]


@pytest.fixture
def live(tmp_path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


def build_three(live: Path) -> dict[int, str]:
    live.parent.mkdir(parents=True, exist_ok=True)
    shas = {}
    for v in (1, 2, 3):
        snap = swap(live, v)
        shas[v] = sha(live)
        if v == 1:
            assert snap is None
        else:
            assert snap is not None and sha(snap) == shas[v - 1], "the replaced version is kept, byte for byte"
    return shas


def test_swap_swap_rollback_rollback_restore_keeps_every_version(live):
    shas = build_three(live)
    assert len(set(shas.values())) == 3
    assert sorted(snap_digests(live).values()) == sorted([shas[1], shas[2]])
    seen = snap_digests(live)

    # rollback: version 2 is live again, version 3 kept as a snapshot, the snapshot used untouched
    done = rollback(live)
    assert sha(live) == shas[2]
    assert sha(done.source) == shas[2] and sha(done.kept) == shas[3]
    now = snap_digests(live)
    assert len(seen) > 0, "nothing to check: an empty result must not pass"
    assert all(now[name] == digest for name, digest in seen.items()), "no snapshot changed or vanished"
    assert sorted(now.values()) == sorted([shas[1], shas[2], shas[3]])
    seen = now

    # rollback again goes one build further back (by meta.built_at), not back to version 3
    done = rollback(live)
    assert sha(live) == shas[1]
    assert sha(done.kept) == shas[2]
    now = snap_digests(live)
    assert all(now[name] == digest for name, digest in seen.items())
    seen = now

    # restore by name: version 3 (kept by the first rollback) comes back
    v3 = next(name for name, digest in seen.items() if digest == shas[3])
    done = restore(live, v3)
    assert sha(live) == shas[3]
    assert sha(done.kept) == shas[1]
    now = snap_digests(live)
    assert {shas[1], shas[2], shas[3]} <= set(now.values()), "every version is still kept"
    assert all(now[name] == digest for name, digest in seen.items() if name in now)
    # the restored file is a copy, not a link: the snapshot does not change with the live file
    assert os.stat(live).st_ino != os.stat(snapshot_dir(live) / v3).st_ino
    assert leftovers(live) == []


def test_rollback_is_undone_by_restoring_the_kept_snapshot(live):
    shas = build_three(live)
    done = rollback(live)
    assert sha(live) == shas[2]
    restore(live, done.kept.name)
    assert sha(live) == shas[3]


def test_corrupt_snapshot_is_refused_and_nothing_changes(live):
    shas = build_three(live)
    newest = snapshot_dir(live) / "warehouse-29991231T000000000000Z.duckdb"
    newest.write_bytes(os.urandom(200_000))
    before_live, before_folder = sha(live), digests(live.parent)

    with pytest.raises(RefreshError, match="warehouse-29991231T000000000000Z.duckdb") as err:
        rollback(live)
    assert "cannot be opened as a DuckDB warehouse" in str(err.value)
    with pytest.raises(RefreshError, match="warehouse-29991231T000000000000Z.duckdb"):
        restore(live, newest.name)
    assert sha(live) == before_live == shas[3]
    assert digests(live.parent) == before_folder, "a refused rollback/restore leaves nothing behind"
    assert leftovers(live) == []


@pytest.mark.parametrize("damage,refusal,by_path", [
    ("DROP TABLE observations", "no table observations", False),  # missing a contract table
    ("UPDATE observations SET count = -5", "negative counts", True),  # failing the checks
], ids=["missing-contract-table", "failing-checks"])
def test_damaged_snapshot_is_refused_and_nothing_changes(live, damage, refusal, by_path):
    """Asked for by its name or by its path, a snapshot that is not a sound warehouse is refused."""
    build_three(live)
    bad = snapshot_dir(live) / "warehouse-29991231T000000000000Z.duckdb"
    make_tiny(bad, 9)
    con = duckdb.connect(str(bad))
    con.execute(damage)
    con.close()
    before = digests(live.parent)
    with pytest.raises(RefreshError, match=refusal):
        restore(live, str(bad) if by_path else bad.name)
    assert digests(live.parent) == before


def test_restore_of_something_that_is_not_a_snapshot(live):
    build_three(live)
    before = digests(live.parent)
    with pytest.raises(RefreshError, match="no snapshot nope.duckdb"):
        restore(live, "nope.duckdb")
    with pytest.raises(RefreshError, match="is the live warehouse itself"):
        restore(live, str(live))
    assert digests(live.parent) == before


def test_rollback_with_nothing_older_is_refused(live):
    live.parent.mkdir()
    swap(live, 1)
    with pytest.raises(RefreshError, match="no snapshot to roll back to"):
        rollback(live)
    swap(live, 2)
    rollback(live)  # live = 1, snapshots hold 1 and 2
    before = digests(live.parent)
    with pytest.raises(RefreshError, match="built before the live warehouse"):
        rollback(live)
    assert digests(live.parent) == before


def test_rollback_over_a_corrupt_live_file_keeps_it(live):
    shas = build_three(live)
    live.write_bytes(b"\x00garbage" * 1000)  # what a disk error or a stray write leaves
    garbage = sha(live)
    done = rollback(live)
    assert sha(live) == shas[2], "the newest readable snapshot comes back"
    assert sha(done.kept) == garbage, "the unreadable file is kept, not lost"


def test_snapshot_copy_fallback_is_made_under_a_temporary_name(live, monkeypatch):
    live.parent.mkdir()
    swap(live, 1)
    old = sha(live)
    targets = []
    real_copy = shutil.copyfile

    def no_links(src, dst, **kw):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    def copy(src, dst, **kw):
        targets.append(Path(dst).name)
        return real_copy(src, dst, **kw)

    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(shutil, "copyfile", copy)
    snap = swap(live, 2)
    assert sha(snap) == old
    assert targets and all(t.startswith(".") and ".partial-" in t for t in targets), targets
    assert snap.name not in targets
    assert leftovers(live) == []


@pytest.mark.parametrize("where", ["copy", "replace"])
def test_disk_full_during_a_swap_leaves_live_and_snapshots_alone(live, monkeypatch, where):
    build_three(live)
    before_live, before_snaps = sha(live), snap_digests(live)
    full = OSError(errno.ENOSPC, "No space left on device")

    def fail(*a, **kw):
        raise full

    monkeypatch.setattr(os, "link", fail)
    if where == "copy":  # no hard link possible, and the copy fills the disk
        monkeypatch.setattr(shutil, "copyfile", fail)
    if where == "replace":
        monkeypatch.setattr(os, "replace", fail)
    build = make_tiny(live.with_name("warehouse.duckdb.building-1"), 4)
    with pytest.raises(RefreshError, match="No space left on device"):
        swap_in(build, live)
    assert sha(live) == before_live
    assert snap_digests(live) == before_snaps
    assert leftovers(live) == ["warehouse.duckdb.building-1"]  # the refresh removes its own build


@pytest.mark.parametrize("where", ["copy", "replace"])
def test_disk_full_during_a_restore_leaves_nothing_behind(live, monkeypatch, where):
    build_three(live)
    before = digests(live.parent)
    oldest = snapshots(live)[0]

    def fail(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil if where == "copy" else os, "copyfile" if where == "copy" else "replace", fail)
    with pytest.raises(RefreshError, match="No space left on device"):
        restore(live, oldest.name)
    assert digests(live.parent) == before
    assert leftovers(live) == []


def test_retention_never_deletes_the_new_snapshot_or_the_one_restored_from(live):
    live.parent.mkdir()
    for v in range(1, 7):
        swap(live, v)
    snaps = snapshots(live)
    assert len(snaps) == KEEP_SNAPSHOTS, "retention keeps the newest three after swaps"
    assert [read_meta(p)["refresh_id"] for p in snaps] == ["R3", "R4", "R5"]
    live_before = sha(live)
    oldest = snaps[0]
    oldest_sha = sha(oldest)
    done = restore(live, oldest.name)
    assert oldest.exists() and sha(oldest) == oldest_sha, "the snapshot restored from is kept"
    assert done.kept.exists() and sha(done.kept) == live_before, "the snapshot just made is kept"
    assert done.removed == []
    # the next swap applies retention again: back to the newest three, nothing more
    swap(live, 7)
    assert len(snapshots(live)) == KEEP_SNAPSHOTS


def test_stale_partial_of_a_dead_process_is_cleared(live):
    live.parent.mkdir()
    swap(live, 1)
    snapshot_dir(live).mkdir()
    dead = snapshot_dir(live) / ".warehouse-x.duckdb.partial-999999999"
    dead.write_bytes(b"half")
    theirs = snapshot_dir(live) / "notes.txt"
    theirs.write_text("a partner's notes")
    swap(live, 2)
    assert not dead.exists()
    assert theirs.read_text() == "a partner's notes"


def test_check_warehouse_and_listing(live):
    build_three(live)
    assert check_warehouse(live)["refresh_id"] == "R3"
    (snapshot_dir(live) / "warehouse-29991231T000000000000Z.duckdb").write_bytes(b"junk")
    rows = describe_snapshots(live)
    assert rows[0]["problem"] and "cannot be opened" in rows[0]["problem"]
    assert [r["refresh_id"] for r in rows[1:]] == ["R2", "R1"]


def test_keep_snapshot_refuses_when_the_snapshots_folder_cannot_be_made(live, monkeypatch):
    live.parent.mkdir()
    swap(live, 1)
    before = sha(live)

    def read_only(*a, **kw):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", read_only)
    build = make_tiny(live.with_name("warehouse.duckdb.building-2"), 2)
    with pytest.raises(RefreshError, match="Read-only file system"):
        warehouse.swap_in(build, live)
    assert sha(live) == before
