"""One measured job per process, started by `bench.run` (which reads the process's peak RSS).

    python -m bench.worker agg ours|ours_by_month|pandas|decompress|duckdb_one_read FILE_LIST  # one .csv.gz path a line
    python -m bench.worker page PAGE_FILE                     # AppTest cold + warm render

Prints one JSON object on the last line of stdout.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


MEMORY_LIMIT = os.environ.get("BENCH_DUCKDB_MEMORY_LIMIT")


def _cpu() -> float:
    """CPU seconds used so far by this process, all threads (user + system): on a shared,
    busy machine wall time swings with the other jobs, CPU time far less."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _con():
    """A DuckDB connection as the refresh opens it (DuckDB's default memory_limit, 80% of RAM),
    or capped at BENCH_DUCKDB_MEMORY_LIMIT (e.g. '6GB', to mimic a smaller machine)."""
    import duckdb

    return duckdb.connect(config={"memory_limit": MEMORY_LIMIT}) if MEMORY_LIMIT else duckdb.connect()


def agg_ours(paths: list[Path]) -> dict:

    from etl.parsers.police_uk import aggregate_files, discover

    files = discover(paths)
    c0, t0 = _cpu(), time.perf_counter()
    counts, totals = aggregate_files([(f, f.path) for f in files], _con())
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": _cpu() - c0, "files": len(files), "rows": int(totals["rows"].sum()),
            "groups_selected": len(counts)}


def agg_ours_by_month(paths: list[Path]) -> dict:
    """The same function called once per month's files (what the refresh could do to bound memory)."""

    from etl.parsers.police_uk import aggregate_files, discover

    files = discover(paths)
    months = sorted({f.month for f in files})
    t0 = time.perf_counter()
    con = _con()
    rows = groups = 0
    for m in months:
        counts, totals = aggregate_files([(f, f.path) for f in files if f.month == m], con)
        rows += int(totals["rows"].sum())
        groups += len(counts)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "files": len(files), "rows": rows, "groups_selected": groups, "batches": len(months)}


def agg_pandas(paths: list[Path]) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    frames = [pd.read_csv(p, usecols=["Month", "LSOA code", "Crime type"]) for p in paths]
    df = pd.concat(frames, ignore_index=True)
    del frames
    g = df.groupby(["LSOA code", "Month", "Crime type"], dropna=False).size()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "files": len(paths), "rows": int(g.sum()), "groups": len(g)}


def _decompressed_lines(path: Path) -> int:
    """Inflate one .gz file in 1 MiB blocks and count its line ends (zlib and bytes.count run in
    C without the GIL, so threads use every CPU; no process start per file)."""
    import zlib

    inflate = zlib.decompressobj(wbits=47)  # gzip or zlib header, auto-detected
    lines = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            lines += inflate.decompress(block).count(b"\n")
            while inflate.unused_data:  # a multi-member gzip file: start the next member
                rest = inflate.unused_data
                inflate = zlib.decompressobj(wbits=47)
                lines += inflate.decompress(rest).count(b"\n")
    return lines + inflate.flush().count(b"\n")


def agg_decompress(paths: list[Path]) -> dict:
    """The physical floor: only decompressing every file and counting lines, as many files at a
    time as there are CPUs (what `zcat | wc -l` two at a time measures, without a process start
    per file). No parsing, no grouping: nothing that reads these files can be faster.
    Rows = lines minus one header line per file (police.uk fields hold no line breaks; the bench
    checks this total against the other methods)."""
    from concurrent.futures import ThreadPoolExecutor

    c0, t0 = _cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        lines = list(pool.map(_decompressed_lines, paths))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": _cpu() - c0, "files": len(paths), "rows": sum(lines) - len(paths)}


def agg_duckdb_one_read(paths: list[Path]) -> dict:

    from etl.parsers.police_uk import HEADER

    t0 = time.perf_counter()
    con = _con()
    cols = {c: "VARCHAR" for c in HEADER}
    n_groups, rows = con.execute(
        """SELECT count(*), sum(n)::BIGINT FROM (
               SELECT "LSOA code", "Month", "Crime type", count(*) AS n
               FROM read_csv($files, columns=$cols, header=true, union_by_name=true)
               GROUP BY ALL)""", {"files": [str(p) for p in paths], "cols": cols}).fetchone()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "files": len(paths), "rows": int(rows or 0), "groups": int(n_groups)}


def page(path: Path) -> dict:
    from streamlit.testing.v1 import AppTest

    out: dict = {"page": path.name}
    at = AppTest.from_file(str(path.resolve()), default_timeout=60)
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        at.run()
        out[label] = time.perf_counter() - t0
        errors = [str(e.value) for e in at.exception]
        if errors:
            out.setdefault("errors", []).extend(errors[:3])
    return out


def main(argv: list[str]) -> int:
    kind = argv[0]
    if kind == "agg":
        method, listing = argv[1], Path(argv[2])
        paths = [Path(line) for line in listing.read_text().splitlines() if line]
        result = {"ours": agg_ours, "ours_by_month": agg_ours_by_month, "pandas": agg_pandas,
                  "decompress": agg_decompress, "duckdb_one_read": agg_duckdb_one_read}[method](paths)
    elif kind == "page":
        result = page(Path(argv[1]))
    else:
        raise SystemExit(f"unknown job {kind!r}")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
