"""Writing a new warehouse file and swapping it in atomically; snapshots and rollback.

The live file is only ever replaced by `os.replace` of a complete, checked, closed file, so a
failed or killed refresh leaves it byte-identical. Before a swap the live file is hard-linked
into `snapshots/` (no copy, same bytes), and the newest few snapshots are kept for rollback.
"""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from etl.errors import RefreshError

KEEP_SNAPSHOTS = 3
SCHEMA_VERSION = 1


def snapshot_dir(live: Path) -> Path:
    return live.parent / "snapshots"


@contextmanager
def refresh_lock(live: Path) -> Iterator[None]:
    """One refresh at a time per warehouse; a second one fails fast instead of racing."""
    lock_path = live.with_name(live.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshError(f"another refresh holds {lock_path}") from None
        yield


def new_build_path(live: Path) -> Path:
    """A fresh temporary path beside the live file (same filesystem, so os.replace is atomic).
    Leftovers of killed refreshes are removed first."""
    for stale in live.parent.glob(live.name + ".building-*"):
        pid = stale.name.rsplit("-", 1)[-1].split(".")[0]
        if not pid.isdigit() or not _alive(int(pid)):
            stale.unlink(missing_ok=True)
    return live.with_name(f"{live.name}.building-{os.getpid()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_tables(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Create the warehouse file with every table, then CHECKPOINT and close (no .wal left)."""
    con = duckdb.connect(str(path))
    try:
        for name, df in tables.items():
            con.register("_df", df)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _df')
            con.unregister("_df")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def swap_in(new: Path, live: Path) -> Path | None:
    """Snapshot the live file (hard link), then atomically replace it. Returns the snapshot."""
    snap = None
    if live.exists():
        snaps = snapshot_dir(live)
        snaps.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        snap = snaps / f"{live.stem}-{stamp}.duckdb"
        try:
            os.link(live, snap)
        except OSError:
            import shutil
            shutil.copy2(live, snap)
    os.replace(new, live)
    _fsync_dir(live.parent)
    prune_snapshots(live)
    return snap


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshots(live: Path) -> list[Path]:
    return sorted(snapshot_dir(live).glob(f"{live.stem}-*.duckdb"))


def prune_snapshots(live: Path, keep: int = KEEP_SNAPSHOTS) -> None:
    for old in snapshots(live)[:-keep]:
        old.unlink(missing_ok=True)


def rollback(live: Path) -> Path:
    """Put the newest snapshot back as the live warehouse (the current one is snapshotted
    first, so a rollback can itself be undone)."""
    snaps = snapshots(live)
    if not snaps:
        raise RefreshError(f"no snapshot to roll back to in {snapshot_dir(live)}")
    target = snaps[-1]
    staged = live.with_name(f"{live.name}.rollback-{os.getpid()}")
    import shutil
    shutil.copy2(target, staged)
    with refresh_lock(live):
        os.replace(staged, live)
        _fsync_dir(live.parent)
    target.unlink()
    return target


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the file attached READ_ONLY as `wh`.

    A plain duckdb.connect(path, read_only=True) can hand back a cached instance of the old
    file after a swap; attaching into a fresh in-memory database always opens the current one.
    """
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS wh (READ_ONLY)")
    return con


def wait_for(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
