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

The export is written to a temporary folder beside `out` and renamed into place only after
every table's row count has been read back from the Parquet and matched, so a reader never
sees a half-written export. An existing `out` is moved aside first, then removed (the swap
itself is two renames; a reader at that instant may briefly find no folder, never a partial one).
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from etl.errors import RefreshError
from etl.warehouse import open_read_only

PARTITIONED = "observations"
UNKNOWN_FAMILY = "unknown"


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_parquet(db: Path, out: Path) -> Path:
    """Write every table of the warehouse `db` as Parquet under `out` (see module doc); returns `out`."""
    db, out = Path(db), Path(out)
    if not db.exists():
        raise RefreshError(f"no warehouse at {db}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.exporting-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    con = open_read_only(db)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name = 'main' "
            "ORDER BY table_name").fetchall()]
        if not tables:
            raise RefreshError(f"warehouse {db} has no tables")
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
    except BaseException:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    con.close()
    (tmp / "_meta.json").write_text(json.dumps({
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "warehouse": str(db.resolve()),
        "meta": meta,
        "tables": info,
    }, indent=2, default=str) + "\n", encoding="utf-8")
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
