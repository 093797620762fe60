"""Writing a new warehouse file and swapping it in atomically; snapshots, rollback and restore.

The live file is only ever replaced by `os.replace` of a complete, checked, closed file, so a
failed or killed refresh leaves it byte-identical. No version is ever lost by a swap:
- before any swap (refresh, rollback, restore) the live file is kept in `snapshots/` as
  `<stem>-<UTC time>.duckdb`: a hard link (no copy, same bytes), or a copy where links are not
  possible, always made under a temporary name (`.<name>.partial-<pid>`) and renamed, so a
  snapshot name never points at a half-written file; if the snapshot cannot be made, nothing
  is swapped;
- a file is opened read-only and checked (the contract tables and `meta` present, the checks of
  `etl.checks` pass) before it becomes live; rollback and restore copy the snapshot beside the
  live file, check that copy, and only then rename it into place, so the snapshot itself is
  never modified, moved or deleted;
- retention keeps the newest `KEEP_SNAPSHOTS` snapshots *plus* the one just made and the one
  being restored from: an operation never deletes the version it relies on or the version it
  just replaced.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from etl import checks
from etl.errors import RefreshError, one_line, printable

KEEP_SNAPSHOTS = 3
SCHEMA_VERSION = 1


def snapshot_dir(live: Path) -> Path:
    return live.parent / "snapshots"


@contextmanager
def refresh_lock(live: Path) -> Iterator[None]:
    """One refresh at a time per warehouse; a second one fails fast instead of racing."""
    lock_path = live.with_name(live.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "w")  # noqa: SIM115 (closed by the `with fh` below)
    except OSError as exc:
        raise RefreshError(f"cannot create the lock file {printable(lock_path)}: {exc.strerror or exc} "
                           "(the warehouse folder must be writable)") from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshError(f"another refresh holds {printable(lock_path)}") from None
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
    """Keep the live file as a snapshot, then atomically replace it with `new`. Returns the
    snapshot (None when there was no live file). If the snapshot cannot be made or the rename
    fails, the live file is left as it was and the snapshot just made is removed."""
    snap = keep_snapshot(live) if live.exists() else None
    try:
        os.replace(new, live)
    except OSError as exc:
        if snap is not None:
            snap.unlink(missing_ok=True)  # made just now by us; the live file still holds those bytes
        raise RefreshError(f"cannot put the new warehouse in place of {printable(live)}: "
                           f"{exc.strerror or exc}") from None
    _settle(live, protect=[snap] if snap else [])
    return snap


def _settle(live: Path, protect: list[Path]) -> list[Path]:
    """After a swap (which cannot be undone by an error here): make the rename durable and apply
    retention. Failures only warn: the swap itself has happened."""
    try:
        _fsync(live.parent)
    except OSError as exc:
        _warn(f"could not flush the folder {printable(live.parent)}: {exc.strerror or exc}")
    try:
        return prune_snapshots(live, protect=protect)
    except OSError as exc:
        _warn(f"could not apply snapshot retention in {printable(snapshot_dir(live))}: {exc.strerror or exc}")
        return []


def _warn(text: str) -> None:
    print(f"warning: {one_line(text)}", file=sys.stderr)


def keep_snapshot(live: Path) -> Path:
    """Keep the current live file in `snapshots/` (hard link, else copy), under a temporary name
    first and renamed to `<stem>-<UTC time>.duckdb` when complete. Raises RefreshError (and leaves
    nothing behind) when it cannot."""
    snaps = snapshot_dir(live)
    try:
        snaps.mkdir(parents=True, exist_ok=True)
        _clear_stale_partials(snaps)
        while True:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            final = snaps / f"{live.stem}-{stamp}.duckdb"
            if not final.exists():
                break
    except OSError as exc:
        raise RefreshError(f"cannot keep a snapshot of {printable(live)} in {printable(snaps)}: "
                           f"{exc.strerror or exc}") from None
    partial = snaps / f".{final.name}.partial-{os.getpid()}"
    try:
        try:
            os.link(live, partial)
        except OSError:
            # no hard links here (another filesystem, or one without links): a full copy
            partial.unlink(missing_ok=True)
            shutil.copyfile(live, partial)
            _fsync(partial)
        if final.exists():
            raise FileExistsError(f"{final} appeared while the snapshot was being made")
        os.rename(partial, final)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise RefreshError(f"cannot keep a snapshot of {printable(live)} in {printable(snaps)}: "
                           f"{exc.strerror or exc}") from None
    return final


def _clear_stale_partials(snaps: Path) -> None:
    """Remove `.*.partial-<pid>` files left by a killed process (only ours: that name pattern)."""
    for stale in snaps.glob(".*.partial-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file's bytes, or a folder's entries (a rename is durable only once its folder
    is flushed), to disk: the same open-read-only-and-fsync for both."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshots(live: Path) -> list[Path]:
    """The snapshots of `live`, oldest first (the names sort by the time they were taken)."""
    return sorted(snapshot_dir(live).glob(f"{live.stem}-*.duckdb"))


def prune_snapshots(live: Path, keep: int = KEEP_SNAPSHOTS, protect: list[Path] = ()) -> list[Path]:
    """Delete snapshots beyond the newest `keep`, never one in `protect` (the snapshot just made,
    the one being restored from). Returns the deleted paths."""
    protected = {p.name for p in protect if p is not None}
    removed = []
    for old in snapshots(live)[:-keep] if keep > 0 else snapshots(live):
        if old.name in protected:
            continue
        old.unlink(missing_ok=True)
        removed.append(old)
    return removed


# --------------------------------------------------------------------- checking a warehouse file
# The tables and columns the dashboard reads (docs: ../shared/docs/design.md, "Warehouse"), plus
# `meta`, which identifies the build.
CONTRACT_TABLES: dict[str, tuple[str, ...]] = {
    "areas": ("area_code", "area_name", "area_type", "valid_from", "valid_to"),
    "area_links": ("child_code", "parent_code"),
    "boundaries": ("area_code", "geojson"),
    "population": ("area_code", "year", "persons"),
    "indicators": ("indicator_id", "family", "multiplier", "decimals", "value_type"),  # registry columns read
    "observations": ("indicator_id", "area_code", "period_start", "period_end", "period_label", "count", "value",
                     "quality", "source_id"),
    "sources": ("source_id", "family", "publisher", "title", "file_name", "sha256", "rows", "quality"),
    "refreshes": ("refresh_id", "started_at", "finished_at", "status", "message", "changelog"),
    "meta": ("key", "value"),
}


def open_warehouse(path: Path, label: Path | str | None = None) -> duckdb.DuckDBPyConnection:
    """`open_read_only`, with a file DuckDB cannot open reported as one RefreshError line naming
    it (`label`, when the file is a temporary copy of another)."""
    try:
        return open_read_only(path)
    except duckdb.Error as exc:
        raise RefreshError(f"{printable(label or path)} cannot be opened as a DuckDB warehouse: "
                           f"{_duck_reason(exc, path)}") from None


def _duck_reason(exc: BaseException, path: Path) -> str:
    """DuckDB's message without the error class prefix and with the (temporary) path shortened."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = text.split(": ", 1)[1] if text.split(": ", 1)[0].endswith("Error") and ": " in text else text
    return printable(text.replace(f'"{path}" ', "").replace(str(path), Path(path).name))


def read_meta(path: Path, label: Path | str | None = None) -> dict[str, str]:
    """The `meta` key/values of a warehouse file (cheap: opens it read-only, reads one table)."""
    con = open_warehouse(path, label)
    try:
        return dict(con.execute("SELECT key, value FROM wh.meta").fetchall())
    except duckdb.Error as exc:
        raise RefreshError(f"{printable(label or path)} is not a warehouse: {_duck_reason(exc, path)}") from None
    finally:
        con.close()


def check_warehouse(path: Path, label: Path | str | None = None) -> dict[str, str]:
    """Open `path` read-only and check it is a warehouse the dashboard can serve: every contract
    table and column present, `meta` readable and the refresh's own checks (`etl.checks`) passing.
    Returns its meta; raises RefreshError naming the file (`label`) otherwise."""
    name = printable(label or path)
    con = open_warehouse(path, label)
    try:
        have: dict[str, set[str]] = {}
        for table, column in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() "
                "WHERE database_name = 'wh' AND schema_name = 'main'").fetchall():
            have.setdefault(table, set()).add(column)
        missing = [t for t in CONTRACT_TABLES if t not in have]
        if missing:
            raise RefreshError(f"{name} is not a complete warehouse: no table {', '.join(missing)}")
        for table, columns in CONTRACT_TABLES.items():
            lacking = [c for c in columns if c not in have[table]]
            if lacking:
                raise RefreshError(f"{name} is not a complete warehouse: table {table} has no column "
                                   f"{', '.join(lacking)}")
        meta = dict(con.execute("SELECT key, value FROM wh.meta").fetchall())
        con.execute("USE wh")
        problems = checks.run_all(con)
        if problems:
            raise RefreshError(f"{name} fails the warehouse checks: {'; '.join(problems)}")
        return meta
    except duckdb.Error as exc:
        raise RefreshError(f"{name} cannot be read as a warehouse: {_duck_reason(exc, path)}") from None
    finally:
        con.close()


# --------------------------------------------------------------------------- rollback and restore
@dataclass
class Restored:
    """What a rollback or restore did: the snapshot now live, the snapshot that keeps the file it
    replaced (None when there was no live file), and old snapshots removed by retention."""

    source: Path
    kept: Path | None
    removed: list[Path] = field(default_factory=list)


def resolve_snapshot(live: Path, name: str | Path) -> Path:
    """A snapshot given by its name (as `python -m etl snapshots` lists it) or by a path."""
    text = str(name)
    path = snapshot_dir(live) / text if os.sep not in text else Path(text)
    if not path.is_file():
        raise RefreshError(f"no snapshot {printable(text)} (looked for {printable(path)}); "
                           "`python -m etl snapshots` lists them")
    if live.exists() and os.path.samefile(path, live):
        raise RefreshError(f"{printable(path)} is the live warehouse itself")
    return path


def restore(live: Path, snapshot: str | Path) -> Restored:
    """Make a copy of `snapshot` the live warehouse, after checking that copy. The file it
    replaces is kept as a new snapshot, so a restore can itself be undone; the snapshot restored
    from is left exactly as it was."""
    source = resolve_snapshot(live, snapshot)
    with refresh_lock(live):
        return _restore_locked(live, source)


def rollback(live: Path) -> Restored:
    """Put back the newest snapshot built before the live warehouse (by `meta.built_at`), so
    rolling back twice goes back two builds. The live file is kept as a snapshot first (undo it
    with `restore`). A snapshot that cannot be opened stops the rollback with its name instead
    of being skipped silently; `restore NAME` can then put back any other one."""
    if not snapshots(live):
        raise RefreshError(f"no snapshot to roll back to in {printable(snapshot_dir(live))}")
    with refresh_lock(live):
        snaps = snapshots(live)
        if not snaps:
            raise RefreshError(f"no snapshot to roll back to in {printable(snapshot_dir(live))}")
        live_built = None
        if live.exists():
            try:
                live_built = _built_at(read_meta(live))
            except RefreshError:
                live_built = None  # unreadable live file: any readable snapshot is better
        for snap in reversed(snaps):
            built = _built_at(read_meta(snap))
            if live_built is None or built < live_built:
                return _restore_locked(live, snap)
        raise RefreshError(f"no snapshot in {printable(snapshot_dir(live))} was built before the live warehouse; "
                           "`python -m etl snapshots` lists them, `python -m etl restore NAME` puts one back")


def _built_at(meta: dict[str, str]) -> datetime:
    try:
        value = datetime.fromisoformat(meta["built_at"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _restore_locked(live: Path, source: Path) -> Restored:
    staged = live.with_name(f"{live.name}.restoring-{os.getpid()}")
    kept = None
    try:
        try:
            shutil.copyfile(source, staged)
            _fsync(staged)
        except OSError as exc:
            raise RefreshError(f"cannot copy snapshot {printable(source)} beside {printable(live)}: "
                               f"{exc.strerror or exc}") from None
        check_warehouse(staged, label=source)
        kept = keep_snapshot(live) if live.exists() else None
        try:
            os.replace(staged, live)
        except OSError as exc:
            raise RefreshError(f"cannot put {printable(source)} in place of {printable(live)}: "
                               f"{exc.strerror or exc}") from None
    except BaseException:
        staged.unlink(missing_ok=True)
        if kept is not None:
            kept.unlink(missing_ok=True)  # made just now by us; the live file is unchanged
        raise
    removed = _settle(live, protect=[p for p in (kept, source) if p is not None])
    return Restored(source, kept, removed)


def describe_snapshots(live: Path) -> list[dict]:
    """Each snapshot with its size and build (from its `meta`), or why it cannot be read; newest first."""
    live_meta = None
    if live.exists():
        with suppress(RefreshError):
            live_meta = read_meta(live)
    out = []
    for snap in reversed(snapshots(live)):
        row = {"name": snap.name, "bytes": snap.stat().st_size, "built_at": None, "refresh_id": None,
               "problem": None, "same_build_as_live": False}
        try:
            meta = read_meta(snap)
            row.update(built_at=meta.get("built_at"), refresh_id=meta.get("refresh_id"),
                       same_build_as_live=bool(live_meta) and meta.get("built_at") == live_meta.get("built_at"))
        except RefreshError as exc:
            row["problem"] = str(exc)
        out.append(row)
    return out


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
