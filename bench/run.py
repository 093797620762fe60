"""Benchmarks: refresh, police.uk aggregation three ways, page render, map draw, scale.

    python -m bench.run [--quick] [--sources ../shared/data] [--out bench/out]

Prints a table and writes `<out>/results.json` and `<out>/results.md` (a markdown table for the
README). Every measured job runs in its own subprocess and its peak resident memory is read
from the kernel's rusage for exactly that child (`os.wait4`). See bench/README.md.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench.server import ServerError, streamlit_server

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CHROMIUM = Path("/usr/bin/chromium")
STREET_RE = re.compile(r"^(\d{4})-(\d{2})-(.+-street\.csv\.gz)$")


@dataclass
class Job:
    rc: int
    seconds: float
    peak_mib: float
    stdout: str
    stderr: str

    def json(self) -> dict:
        """The JSON object a bench.worker job printed last."""
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"job printed no result (rc {self.rc}):\n{self.stderr[-2000:]}")


@dataclass
class Row:
    section: str
    measure: str
    rows: int | None = None
    seconds: float | None = None
    peak_mib: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


def run_measured(cmd: list[str], env: dict | None = None, timeout: float = 1800) -> Job:
    """Run `cmd` from the repo root; wall time and the child's own peak RSS (ru_maxrss, KiB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=err)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Job(proc.returncode, seconds, usage.ru_maxrss / 1024, out.read(), err.read())


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def fmt_s(v: float | None) -> str:
    return "" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.1f}")


# ------------------------------------------------------------------ refresh
def bench_refresh(sources: Path, db: Path) -> list[Row]:
    rows = []
    for label, force in (("full refresh (force, empty warehouse)", True), ("no-change refresh", False)):
        log(f"refresh: {label}")
        cmd = [PY, "-m", "etl", "refresh", "--sources", str(sources), "--db", str(db), "--quiet"]
        job = run_measured(cmd + (["--force"] if force else []))
        if job.rc != 0:
            raise RuntimeError(f"{label} failed (rc {job.rc}):\n{job.stderr[-3000:]}")
        status = job.stdout.strip().splitlines()[-1].split(":")[0] if job.stdout.strip() else "?"
        rows.append(Row("refresh", label, None, job.seconds, job.peak_mib, f"status '{status}'"))
    return rows


# ------------------------------------------------------------------ aggregation
def police_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*-street.csv.gz"))


def write_list(paths: list[Path], where: Path) -> Path:
    where.write_text("\n".join(str(p) for p in paths) + "\n")
    return where


def bench_aggregation(listing: Path) -> tuple[list[Row], dict]:
    methods = ("ours", "pandas", "duckdb_one_read", "decompress")
    results = {}
    for method in methods:
        log(f"aggregation: {method}")
        job = run_measured([PY, "-m", "bench.worker", "agg", method, str(listing)])
        r = job.json()
        results[method] = {**r, "wall": job.seconds, "peak_mib": job.peak_mib}
    totals = {m: r["rows"] for m, r in results.items()}
    same = len(set(totals.values())) == 1
    ours = results["ours"]["seconds"]
    ratios = {"ours_over_floor": ours / results["decompress"]["seconds"],
              "ours_over_floor_cpu": results["ours"]["cpu_seconds"] / results["decompress"]["cpu_seconds"],
              "ours_over_pandas": ours / results["pandas"]["seconds"],
              "ours_over_duckdb_one_read": ours / results["duckdb_one_read"]["seconds"]}
    labels = {"ours": "police.uk aggregation: ours (`aggregate_files`, one read_csv per batch of files)",
              "pandas": "police.uk aggregation: pandas read_csv(usecols) + concat + groupby",
              "duckdb_one_read": "police.uk aggregation: DuckDB one read_csv over the file list (union_by_name) + GROUP BY",
              "decompress": "floor: decompress only (inflate + count lines, one file per CPU at a time)"}
    rows = []
    for m in methods:
        r = results[m]
        note = f"{r['rows'] / r['seconds']:,.0f} rows/s"
        if "cpu_seconds" in r:
            note += f"; CPU {r['cpu_seconds']:.2f} s"
        if m == "ours":
            note += (f"; ours/floor {ratios['ours_over_floor']:.2f}x (CPU {ratios['ours_over_floor_cpu']:.2f}x), "
                     f"ours/pandas {ratios['ours_over_pandas']:.2f}x, "
                     f"ours/DuckDB one read {ratios['ours_over_duckdb_one_read']:.2f}x")
        if not same:
            note += f"; TOTAL DIFFERS ({r['rows']:,})"
        rows.append(Row("aggregation", labels[m], r["rows"], r["seconds"], r["peak_mib"], note, {"files": r["files"]}))
    return rows, {"totals": totals, "same_total": same, **ratios}


# ------------------------------------------------------------------ pages
def page_files() -> list[Path]:
    pages = [ROOT / "dashboard.py"] if (ROOT / "dashboard.py").exists() else []
    return pages + sorted((ROOT / "pages").glob("*.py"))


def bench_pages(db: Path) -> list[Row]:
    rows = []
    for page in page_files():
        log(f"page render: {page.relative_to(ROOT)}")
        job = run_measured([PY, "-m", "bench.worker", "page", str(page)], env={"SVD_DB": str(db)}, timeout=300)
        try:
            r = job.json()
        except RuntimeError as exc:
            rows.append(Row("pages", f"page render: {page.relative_to(ROOT)}", note=f"FAILED: {str(exc)[:200]}"))
            continue
        note = f"cold {fmt_s(r['cold'])} s (fresh process), warm {fmt_s(r['warm'])} s (second run)"
        if r.get("errors"):
            note += f"; page raised: {r['errors'][0][:120]}"
        rows.append(Row("pages", f"page render: `{page.relative_to(ROOT)}`", None, r["cold"], job.peak_mib, note,
                        {"cold": r["cold"], "warm": r["warm"], "errors": r.get("errors", [])}))
    return rows


# ------------------------------------------------------------------ map in Chromium
def bench_map(db: Path) -> list[Row]:
    maps = [p for p in page_files() if "map" in p.stem.lower()]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if not CHROMIUM.exists() or sync_playwright is None or not maps:
        why = "no /usr/bin/chromium" if not CHROMIUM.exists() else "no playwright" if sync_playwright is None \
            else "no *Map* page"
        log(f"map draw: skipped ({why})")
        return [Row("map", "map draw in headless Chromium", note=f"skipped: {why}")]
    page_path = re.sub(r"^\d+_", "", maps[0].stem)
    try:
        with streamlit_server(db, start_timeout=60) as server:
            port, startup = server.port, server.startup
            log(f"map draw: streamlit on port {port}, page /{page_path}")
            timings = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                try:
                    ctx = None
                    for visit in ("cold", "warm", "returning"):
                        # cold/warm: a fresh browser profile (empty HTTP cache: streamlit's scripts are
                        # fetched and compiled again); returning: a new tab in the warm visit's
                        # profile (cached scripts, as a viewer's second visit).
                        if visit != "returning":
                            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                        page = ctx.new_page()
                        t1 = time.perf_counter()
                        page.goto(f"http://127.0.0.1:{port}/{page_path}")
                        # the default map view is the SVG map (the plotly view: bench/maptime.py --view plotly)
                        page.wait_for_selector(".svd-svgmap svg path[data-unit]", timeout=120_000)
                        plot = time.perf_counter() - t1
                        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                                               timeout=120_000)
                        idle = time.perf_counter() - t1
                        timings.append((plot, idle))
                        page.close()
                        if visit == "cold":
                            ctx.close()
                    ctx.close()
                finally:
                    browser.close()
    except ServerError as exc:
        return [Row("map", "map draw in headless Chromium", note=f"skipped: server did not start ({str(exc)[-200:]!r})")]
    except Exception as exc:  # noqa: BLE001 - an optional measurement never fails the run
        return [Row("map", "map draw in headless Chromium", note=f"skipped: {type(exc).__name__}: {str(exc)[:150]}")]
    (cp, ci), (wp, wi), (rp, ri) = timings
    return [Row("map", f"map draw in headless Chromium (`{maps[0].name}`)", None, ci, None,
                f"first session (server and browser cold): plot {fmt_s(cp)} s, idle {fmt_s(ci)} s; second session "
                f"(fresh browser profile): plot {fmt_s(wp)} s, idle {fmt_s(wi)} s; returning tab (browser cache warm): "
                f"plot {fmt_s(rp)} s, idle {fmt_s(ri)} s; server start {fmt_s(startup)} s",
                {"cold_plot": cp, "cold_idle": ci, "warm_plot": wp, "warm_idle": wi, "returning_plot": rp,
                 "returning_idle": ri, "server_start": startup})]


# ------------------------------------------------------------------ scale
YEARS_PER_SHIFT = 6  # the mirror spans 2018-10..2024-03: 6-year steps never land on a real month


def _replicate(src: str, out_root: str, shifts: list[int]) -> list[tuple[int, str]]:
    """Copies of one real street file, copy k with every month moved 6*k years forward."""
    path = Path(src)
    year, month, rest = STREET_RE.match(path.name).groups()
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    old = f",{year}-{month},".encode()
    made = []
    for k in shifts:
        ym = f"{int(year) + YEARS_PER_SHIFT * k}-{month}"
        target = Path(out_root) / f"shift{k:02d}" / ym / f"{ym}-{rest}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wb", compresslevel=1) as fh:
            fh.write(data.replace(old, f",{ym},".encode()))
        made.append((k, str(target)))
    return made


def generate(originals: list[Path], out_root: Path, shifts: list[int]) -> dict[int, list[Path]]:
    """{shift: files}; the copies are written by one process per core."""
    by_shift: dict[int, list[Path]] = {k: [] for k in shifts}
    with ProcessPoolExecutor(max(1, min(os.cpu_count() or 1, 4))) as pool:
        for part in pool.map(_replicate, [str(p) for p in originals], [str(out_root)] * len(originals),
                             [shifts] * len(originals)):
            for k, f in part:
                by_shift[k].append(Path(f))
    return by_shift


def bench_scale_refresh(sources: Path, paths: list[Path], work: Path, factor: int) -> Row:
    """The whole refresh (ONS files, geometry, synthetic families included) over a mirror whose
    police.uk folder holds `factor` x the real volume: symlinks, so nothing is copied."""
    mirror = work / f"mirror{factor}x"
    shutil.rmtree(mirror, ignore_errors=True)
    mirror.mkdir(parents=True)
    for name in ("geography", "population", "knife_crime", "national", "MANIFEST.md"):
        (mirror / name).symlink_to((sources / name).resolve())
    for p in paths:
        year, month, _ = STREET_RE.match(p.name).groups()
        target = mirror / "police_uk" / f"{year}-{month}" / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(p.resolve())
    db = work / f"refresh{factor}x" / "warehouse.duckdb"
    shutil.rmtree(db.parent, ignore_errors=True)
    log(f"scale {factor}x: full refresh over {len(paths)} police.uk files")
    job = run_measured([PY, "-m", "etl", "refresh", "--sources", str(mirror), "--db", str(db), "--quiet"])
    measure = f"scale {factor}x: full refresh (all sources, empty warehouse)"
    if job.rc != 0:
        why = next((ln.strip() for ln in reversed(job.stderr.splitlines()) if ln.strip()), f"rc {job.rc}")
        return Row("scale", measure, None, job.seconds, job.peak_mib, f"FAILED: {why[:160]}", {"factor": factor})
    return Row("scale", measure, None, job.seconds, job.peak_mib, f"{len(paths)} police.uk files", {"factor": factor})


def bench_scale(originals: list[Path], factors: list[int], work: Path, ours_1x: dict | None,
                sources: Path | None = None) -> list[Row]:
    """Factor N = the real files plus N-1 copies shifted 6, 12, ... years forward (every copy a
    distinct month; copies are reused by the next factor)."""
    rows, copies = [], {}
    for factor in factors:
        todo = [k for k in range(1, factor) if k not in copies]
        gen_seconds = 0.0
        if todo:
            log(f"scale {factor}x: generating {len(todo)} shifted copies of {len(originals)} files (not timed)")
            t0 = time.perf_counter()
            copies.update(generate(originals, work / "scale", todo))
            gen_seconds = time.perf_counter() - t0
        paths = list(originals) + [p for k in range(1, factor) for p in copies[k]]
        months = {"-".join(STREET_RE.match(p.name).groups()[:2]) for p in paths}
        info = {"factor": factor, "files": len(paths), "months": len(months), "generation_seconds": gen_seconds}
        listing = write_list(paths, work / f"scale{factor}.txt")
        for method, label in (("ours", "our police stage (`aggregate_files`, all files in one call)"),
                              ("ours_by_month", "same, called once per month")):
            if factor == 1 and method == "ours" and ours_1x:
                r, peak, rc, err = ours_1x, ours_1x["peak_mib"], 0, ""
            else:
                log(f"scale {factor}x: {method} over {len(paths)} files")
                job = run_measured([PY, "-m", "bench.worker", "agg", method, str(listing)])
                rc, peak, err = job.rc, job.peak_mib, job.stderr
                try:
                    r = job.json()
                except RuntimeError:
                    r = None
            measure = f"scale {factor}x: {label}"
            if r is None:
                why = next((ln.strip() for ln in reversed(err.splitlines()) if "Error" in ln), f"rc {rc}")
                rows.append(Row("scale", measure, None, job.seconds, peak,
                                f"FAILED after {job.seconds:.0f} s: {why[:160]}", {**info, "method": method, "failed": True}))
                continue
            note = f"{len(paths)} files, {len(months)} months; {r['rows'] / r['seconds']:,.0f} rows/s"
            if ours_1x and r["rows"] != factor * ours_1x["rows"]:
                note += f"; ROWS DIFFER from {factor} x {ours_1x['rows']:,}"
            rows.append(Row("scale", measure, r["rows"], r["seconds"], peak, note,
                            {**info, "method": method, "rows_per_second": r["rows"] / r["seconds"]}))
        if sources is not None and factor == max(factors) and factor > 1:
            rows.append(bench_scale_refresh(sources, paths, work, factor))
    return rows


# ------------------------------------------------------------------ output
HEAD = ["Measure", "Rows", "Seconds", "Peak MiB", "Notes"]


def to_markdown(rows: list[Row], info: dict) -> str:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join(["---", "---:", "---:", "---:", "---"]) + "|"]
    for r in rows:
        lines.append("| " + " | ".join([
            r.measure, f"{r.rows:,}" if r.rows is not None else "", fmt_s(r.seconds),
            f"{r.peak_mib:,.0f}" if r.peak_mib is not None else "", r.note]) + " |")
    lines.append("")
    lines.append(f"_{info['mode']} run {info['finished_at'][:16]} UTC on {info['cpus']} CPU(s), Python "
                 f"{info['python']}, DuckDB {info['duckdb']}, pandas {info['pandas']}; total bench wall time "
                 f"{info['wall_seconds']:.0f} s. Seconds are wall time; peak MiB is the measured process's max RSS._")
    return "\n".join(lines) + "\n"


def to_text(rows: list[Row]) -> str:
    table = [HEAD] + [[r.measure.replace("`", ""), f"{r.rows:,}" if r.rows is not None else "", fmt_s(r.seconds),
                       f"{r.peak_mib:,.0f}" if r.peak_mib is not None else "", r.note] for r in rows]
    widths = [min(max(len(row[i]) for row in table), 70 if i == 0 else 200) for i in range(len(HEAD))]
    return "\n".join("  ".join(c.ljust(widths[i]) if i in (0, 4) else c.rjust(widths[i]) for i, c in enumerate(row))
                     for row in table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="scale 1x and 10x only (skip 30x)")
    ap.add_argument("--sources", type=Path, default=Path(os.environ.get("SVD_SOURCES") or ROOT.parent / "shared" / "data"),
                    help="the source mirror (default ../shared/data or $SVD_SOURCES)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--no-map", action="store_true", help="skip the headless Chromium map measurement")
    ap.add_argument("--aggregation-only", action="store_true",
                    help="only the police.uk aggregation rows (ours, pandas, DuckDB one read, decompression floor)")
    args = ap.parse_args(argv)
    sources = args.sources.resolve()
    if not (sources / "police_uk").is_dir():
        print(f"error: no police_uk/ folder in {sources}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    originals = police_files(sources / "police_uk")
    factors = [1, 10] if args.quick else [1, 10, 30]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="svd-bench-") as tmp:
        work = Path(tmp)
        db = work / "wh" / "warehouse.duckdb"
        if not args.aggregation_only:
            rows += bench_refresh(sources, db)
        agg_rows, agg = bench_aggregation(write_list(originals, work / "real.txt"))
        rows += agg_rows
        if not args.aggregation_only:
            rows += bench_pages(db)
            if not args.no_map:
                rows += bench_map(db)
            ours = agg_rows[0]
            ours_1x = {"rows": ours.rows, "seconds": ours.seconds, "peak_mib": ours.peak_mib}
            rows += bench_scale(originals, factors, work, ours_1x, sources=args.sources)
    import duckdb
    import pandas as pd
    mode = "aggregation only" if args.aggregation_only else "quick" if args.quick else "full"
    info = {"mode": mode, "finished_at": datetime.now(timezone.utc).isoformat(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pd.__version__, "platform": platform.platform(), "sources": str(sources),
            "wall_seconds": time.perf_counter() - started}
    md = to_markdown(rows, info)
    (args.out / "results.json").write_text(json.dumps({"info": info, "aggregation": agg,
                                                       "results": [asdict(r) for r in rows]}, indent=2) + "\n")
    (args.out / "results.md").write_text(md)
    print(to_text(rows))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.md'} ({info['wall_seconds']:.0f} s)")
    if not agg["same_total"]:
        print(f"WARNING: the aggregations disagree on the total: {agg['totals']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
