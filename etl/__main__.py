"""Command line: `python -m etl refresh|status|rollback|restore|snapshots|export` (see docs/runbook.md).

Every failure is one line on stderr naming the file (and row/column where there is one), with
exit code 2: bad input, a refused command, a full disk, a read-only folder, an unreadable
warehouse. Names from outside are printed with control characters escaped (`etl.errors.printable`).
Set SVD_TRACEBACK=1 to see the traceback of an unexpected error instead.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import duckdb

from etl.errors import RefreshError, SourceError, one_line, printable

# What each command promises on failure (said after the error, on the same line).
UNCHANGED = {"refresh": "the live warehouse was not changed", "rollback": "the live warehouse was not changed",
             "restore": "the live warehouse was not changed", "status": "nothing was changed",
             "snapshots": "nothing was changed", "export": "nothing was deleted or replaced"}


def main(argv: list[str] | None = None) -> int:
    from etl.refresh import default_db, default_sources

    parser = argparse.ArgumentParser(prog="python -m etl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("refresh", help="fetch what changed, validate, build, swap")
    r.add_argument("--sources", type=Path, default=default_sources(),
                   help="mirror folder with the published files (env SVD_SOURCES)")
    r.add_argument("--db", type=Path, default=default_db(), help="live warehouse (env SVD_DB)")
    r.add_argument("--force", action="store_true", help="rebuild even if no file changed")
    r.add_argument("--download", action="store_true",
                   help="download sources with fetch='url' from their official URL into data/raw first")
    r.add_argument("--month", action="append", default=[], metavar="YYYY-MM",
                   help="with --download: also fetch the police.uk archive for this month (repeatable)")
    r.add_argument("--quiet", action="store_true")
    s = sub.add_parser("status", help="what the live warehouse holds")
    s.add_argument("--db", type=Path, default=default_db())
    s.add_argument("--json", action="store_true")
    b = sub.add_parser("rollback", help="put the previous warehouse back (the live one is kept as a snapshot)")
    b.add_argument("--db", type=Path, default=default_db())
    rs = sub.add_parser("restore", help="put a given snapshot back (the live one is kept as a snapshot)")
    rs.add_argument("snapshot", help="a snapshot name as `snapshots` lists it, or a path")
    rs.add_argument("--db", type=Path, default=default_db())
    ls = sub.add_parser("snapshots", help="list the snapshots kept beside the warehouse")
    ls.add_argument("--db", type=Path, default=default_db())
    e = sub.add_parser("export", help="write the warehouse as hive-partitioned Parquet")
    e.add_argument("--db", type=Path, default=default_db())
    e.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (SourceError, RefreshError) as exc:
        return _fail(args.command, str(exc))
    except OSError as exc:  # disk full, read-only folder, permission denied, ...
        where = printable(exc.filename) if exc.filename else "a file"
        if exc.filename2:
            where += f" -> {printable(exc.filename2)}"
        return _fail(args.command, f"{where}: {exc.strerror or exc}")
    except duckdb.Error as exc:
        return _fail(args.command, f"DuckDB: {exc}")
    except KeyboardInterrupt:
        print(f"interrupted: {UNCHANGED[args.command]}.", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("SVD_TRACEBACK"):
            raise
        return _fail(args.command, f"unexpected {type(exc).__name__}: {exc} (SVD_TRACEBACK=1 shows where)")


def _fail(command: str, message: str) -> int:
    """One line on stderr, exit code 2."""
    print(f"error: {one_line(message)} ({UNCHANGED[command]})", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "refresh":
        from etl.refresh import refresh
        result = refresh(args.sources, args.db, force=args.force, quiet=args.quiet,
                         download=args.download, months=args.month)
        print(f"{result.status}: {result.message} ({result.seconds:.1f}s)")
    elif args.command == "status":
        from etl.status import render_text, status
        st = status(args.db)
        print(json.dumps(st, indent=2, default=str) if args.json else render_text(st))
        return 0 if st.get("exists") else 1
    elif args.command in ("rollback", "restore"):
        from etl.warehouse import restore, rollback
        done = rollback(args.db) if args.command == "rollback" else restore(args.db, args.snapshot)
        lines = [f"{'rolled back' if args.command == 'rollback' else 'restored'} {printable(args.db)} "
                 f"from snapshot {printable(done.source.name)}"]
        if done.kept is not None:
            lines.append(f"the replaced warehouse is kept as snapshot {printable(done.kept.name)} "
                         f"(undo: python -m etl restore {printable(done.kept.name)})")
        lines += [f"removed old snapshot {printable(p.name)} (retention)" for p in done.removed]
        print("\n".join(lines))
    elif args.command == "snapshots":
        from etl.warehouse import KEEP_SNAPSHOTS, describe_snapshots, snapshot_dir
        rows = describe_snapshots(args.db)
        print(f"{len(rows)} snapshot(s) in {printable(snapshot_dir(args.db))}, newest first "
              f"(retention keeps the newest {KEEP_SNAPSHOTS} and any just made or restored from):")
        for r in rows:
            what = (f"UNREADABLE: {one_line(r['problem'])}" if r["problem"]
                    else f"built {r['built_at']} refresh {r['refresh_id']}"
                         + (" (same build as live)" if r["same_build_as_live"] else ""))
            print(f"  {printable(r['name'])}  {r['bytes'] / 1e6:8.1f} MB  {what}")
    elif args.command == "export":
        from etl.export import export_parquet
        out = export_parquet(args.db, args.out)
        print(f"exported to {printable(out)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
