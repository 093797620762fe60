"""Command line: `python -m etl refresh|status|rollback|export` (see docs/runbook.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from etl.errors import RefreshError, SourceError


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
    b = sub.add_parser("rollback", help="put the previous warehouse back")
    b.add_argument("--db", type=Path, default=default_db())
    e = sub.add_parser("export", help="write the warehouse as hive-partitioned Parquet")
    e.add_argument("--db", type=Path, default=default_db())
    e.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
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
        elif args.command == "rollback":
            from etl.warehouse import rollback
            used = rollback(args.db)
            print(f"rolled back {args.db} to {used.name}")
        elif args.command == "export":
            from etl.export import export_parquet
            out = export_parquet(args.db, args.out)
            print(f"exported to {out}")
    except (SourceError, RefreshError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("The live warehouse was not changed.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the live warehouse was not changed.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
