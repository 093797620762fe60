"""Export the warehouse as Parquet for analysts and other tools (`python -m etl export --out DIR`).

Layout under `out/`:
- `observations/family=<family>/year=<yyyy>/*.parquet`: hive-partitioned by the indicator's
  family (from `indicators`) and the calendar year of `period_start`. Read it back with
  `read_parquet('out/observations/**/*.parquet', hive_partitioning=true)` (DuckDB) or
  `pyarrow.dataset.dataset('out/observations', partitioning='hive')`; `family` and `year` come
  back as columns. An observation whose indicator is not in `indicators` goes under
  `family=unknown`; one without a `period_start` under `year=0`.
- `<table>.parquet`: every other warehouse table, one file each.
- `_meta.json`: the tables exported with their row counts and files, and the warehouse's
  `meta` key/values (built_at, refresh_id, fingerprint, ...).
- `.svd-export.json`: the marker, written by export itself, listing every file and folder it
  wrote. Only a folder holding this marker (and nothing it does not list) is ever replaced.

Where it may write: `out` must be absent, an empty folder, or a previous export (its marker
lists every entry in it). Anything else is refused before anything is written: a folder with
any other file (a partner's, say), a file, a symbolic link, the warehouse's own folder or any
folder holding the warehouse or its snapshots. Nothing but the files a previous export listed
is ever deleted.

The export is written to a temporary folder beside `out` (`.<name>.exporting-*`) and renamed
into place only after every table's row count has been read back from the Parquet and matched,
so a reader never sees a half-written export. A previous export is renamed aside first, then
its listed files are removed one by one and its folders only when that leaves them empty (a
file someone added in the meantime survives, and the aside folder is kept and reported). A
reader at the instant of the swap may briefly find no folder, never a partial one.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from etl.errors import RefreshError, one_line, printable
from etl.warehouse import open_warehouse, snapshot_dir

PARTITIONED = "observations"
UNKNOWN_FAMILY = "unknown"


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


MARKER = ".svd-export.json"
MARKER_WRITER = "python -m etl export"


def export_parquet(db: Path, out: Path) -> Path:
    """Write every table of the warehouse `db` as Parquet under `out` (see module doc); returns `out`."""
    db, out = Path(db), Path(out)
    if not db.exists():
        raise RefreshError(f"no warehouse at {printable(db)}")
    previous = _check_target(db, out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.exporting-", dir=out.parent))
    except OSError as exc:
        raise RefreshError(f"cannot write beside {printable(out)}: {exc.strerror or exc}") from None
    try:
        _write_export(db, tmp)
        _swap_export(tmp, out, previous)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)  # made by mkdtemp above: all of it is ours
        if isinstance(exc, OSError):
            name = printable(exc.filename) if exc.filename else printable(out)
            raise RefreshError(f"export to {printable(out)} failed at {name}: {exc.strerror or exc}; "
                               "nothing was replaced") from None
        raise
    return out


def _refuse(out: Path, why: str) -> RefreshError:
    return RefreshError(f"export refuses to write into {printable(out)}: {why}")


def _check_target(db: Path, out: Path) -> list[str] | None:
    """Refuse any `out` that export may not replace (see module doc). Returns the relative paths
    a previous export listed (None when `out` is absent or an empty folder)."""
    if out.is_symlink():
        raise _refuse(out, "it is a symbolic link; give the real folder")
    target = out.resolve()
    live = db.resolve()
    wh_dir, snaps = live.parent, snapshot_dir(live)
    if target == live or wh_dir.is_relative_to(target):
        raise _refuse(out, f"it holds the warehouse {printable(db)} and its snapshots; choose a new folder")
    if target.is_relative_to(snaps) or snaps.is_relative_to(target):
        raise _refuse(out, f"it is or holds the snapshots folder {printable(snaps)}; choose a new folder")
    if not out.exists():
        return None
    if not out.is_dir():
        raise _refuse(out, "it is a file, not a folder")
    try:
        entries = sorted(os.listdir(out))
    except OSError as exc:
        raise _refuse(out, f"it cannot be read ({exc.strerror or exc})") from None
    if not entries:
        return None
    listed = _read_marker(out)
    if listed is None:
        raise _refuse(out, f"it holds {printable(entries[0])}"
                           f"{f' (and {len(entries) - 1} more)' if len(entries) > 1 else ''}"
                           " not written by export (no export marker); choose an empty or new folder")
    files, dirs = listed
    for root, dirnames, filenames in os.walk(out):
        for name in dirnames + filenames:
            full = Path(root, name)
            rel = full.relative_to(out).as_posix()
            ok = (rel in dirs and full.is_dir()) if name in dirnames and not full.is_symlink() \
                else (rel in files and full.is_file() and not full.is_symlink())
            if not ok:
                raise _refuse(out, f"it holds {printable(rel)}, which the previous export did not write; "
                                   "move it away or choose another folder")
    return sorted(files)


def _read_marker(out: Path) -> tuple[set[str], set[str]] | None:
    """The files and folders a previous export listed in its marker, or None without a valid one."""
    marker = out / MARKER
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != MARKER_WRITER:
        return None
    files, dirs = data.get("files"), data.get("dirs")
    if not (isinstance(files, list) and isinstance(dirs, list)):
        return None
    names = [*files, *dirs]
    if not all(isinstance(n, str) and n and not n.startswith("/") and ".." not in n.split("/") for n in names):
        return None
    return set(files), set(dirs)


def _write_export(db: Path, tmp: Path) -> None:
    con = open_warehouse(db)
    try:
        info, meta = _copy_tables(con, db, tmp)
    except duckdb.Error as exc:
        raise RefreshError(f"export of {printable(db)} failed: {one_line(exc)}") from None
    finally:
        con.close()
    (tmp / "_meta.json").write_text(json.dumps({
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "warehouse": str(db.resolve()),
        "meta": meta,
        "tables": info,
    }, indent=2, default=str) + "\n", encoding="utf-8")
    files, dirs = [MARKER], []
    for root, dirnames, filenames in os.walk(tmp):
        dirs += [Path(root, d).relative_to(tmp).as_posix() for d in dirnames]
        files += [Path(root, f).relative_to(tmp).as_posix() for f in filenames]
    (tmp / MARKER).write_text(json.dumps({"written_by": MARKER_WRITER, "files": sorted(files),
                                          "dirs": sorted(dirs)}, indent=1) + "\n", encoding="utf-8")


def _copy_tables(con, db: Path, tmp: Path) -> tuple[dict[str, dict], dict]:
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name = 'main' "
        "ORDER BY table_name").fetchall()]
    if not tables:
        raise RefreshError(f"warehouse {printable(db)} has no tables")
    info: dict[str, dict] = {}
    for name in tables:
        rows = con.execute(f"SELECT count(*) FROM wh.{_ident(name)}").fetchone()[0]
        if name == PARTITIONED and "indicators" in tables:
            target = tmp / name
            con.execute(f"""
                COPY (SELECT o.*, coalesce(i.family, '{UNKNOWN_FAMILY}') AS family,
                             coalesce(year(o.period_start), 0)::INTEGER AS year
                      FROM wh.observations o
                      LEFT JOIN (SELECT DISTINCT indicator_id, family FROM wh.indicators) i
                        USING (indicator_id))
                TO {_q(target)} (FORMAT parquet, PARTITION_BY (family, year))""")
            glob = f"{target}/**/*.parquet"
            back = con.execute(f"SELECT count(*) FROM read_parquet({_q(glob)}, hive_partitioning=true)"
                               ).fetchone()[0] if rows else 0
            parts = con.execute(
                f"SELECT DISTINCT family, year FROM read_parquet({_q(glob)}, hive_partitioning=true) "
                "ORDER BY ALL").fetchall() if rows else []
            info[name] = {"rows": rows, "path": f"{name}/", "partitioned_by": ["family", "year"],
                          "partitions": [f"family={f}/year={y}" for f, y in parts]}
        else:
            target = tmp / f"{name}.parquet"
            con.execute(f"COPY wh.{_ident(name)} TO {_q(target)} (FORMAT parquet)")
            back = con.execute(f"SELECT count(*) FROM read_parquet({_q(target)})").fetchone()[0]
            info[name] = {"rows": rows, "path": f"{name}.parquet"}
        if back != rows:
            raise RefreshError(f"export of {name}: wrote {rows} rows but read back {back}")
    meta = dict(con.execute("SELECT key, value FROM wh.meta").fetchall()) if "meta" in tables else {}
    return info, meta


def _swap_export(tmp: Path, out: Path, previous: list[str] | None) -> None:
    """Rename the finished export into place. An empty `out` folder is replaced by the rename
    itself; a previous export is renamed aside, and only its listed files removed."""
    if previous is None:
        os.replace(tmp, out)  # `out` absent, or an empty folder (rename(2) replaces an empty one)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(aside)  # only the unique name is wanted
    os.rename(out, aside)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(aside, out)  # put the previous export back as it was
        raise
    _remove_listed(aside, previous)


def _remove_listed(folder: Path, files: list[str]) -> None:
    """Delete the files a previous export listed, then its folders only where that leaves them
    empty. Anything else found there is kept, with the folder, and reported."""
    for rel in files:
        path = folder / rel
        if path.is_file() and not path.is_symlink():
            path.unlink()
    for root, _dirs, _files in sorted(os.walk(folder, topdown=False), key=lambda t: -len(t[0])):
        with suppress(OSError):
            os.rmdir(root)
    if folder.exists():
        print(f"note: kept {printable(folder)}: it holds files the previous export did not write",
              file=sys.stderr)
