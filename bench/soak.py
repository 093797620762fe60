"""Endurance: simulated viewers load every page while the refresh swaps the warehouse.

    python -m bench.soak [--viewers 4] [--seconds 120] [--swaps 3] [--sources ../shared/data]

1. Builds a warehouse into a temp folder (`python -m etl refresh --sources S --db TMP`, not timed).
2. Starts `streamlit run serve.py` through `bench.server.streamlit_server` (the one server start of
   the tests and benchmarks) on a free port with `SVD_DB` pointing at it.
3. Runs `--viewers` simulated viewers: one headless Chromium (playwright, async API), one browser
   context per viewer, each loading every page in turn (a fresh navigation, so a new streamlit
   session every time) and waiting until the app is idle
   (`[data-testid='stApp'][data-test-script-state='notRunning']`; the map page also waits for
   its plot). A load is an **error** when the HTTP response fails or is >= 400, the page shows a
   streamlit exception (`stException`) or an error message (`stAlertContentError`), or it does
   not become idle within `--timeout` seconds.
4. Meanwhile a second thread runs `python -m etl refresh --sources S --db TMP --force` `--swaps`
   times, spread over `--seconds` (each run builds a new file and swaps it in with `os.replace`).
   Viewers keep loading until `--seconds` have passed and every swap has finished.

Prints and writes `<out>/soak.json` (every load with its latency) and appends a row to
`<out>/results.md`. Exit 0 only with zero errors and every swap successful.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.run import CHROMIUM, PY, ROOT, log
from bench.server import streamlit_server

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
ERROR_SELECTOR = "[data-testid='stException'], [data-testid='stAlertContentError']"
AREA = "E22000308"


def pages() -> list[tuple[str, str]]:
    """(name, URL path) for the entry point and every file in pages/: streamlit 1.67 serves
    `pages/N_Some_name.py` at `/Some_name` (the leading number and underscore dropped)."""
    out = [("Home", "/")]
    for f in sorted((ROOT / "pages").glob("*.py")):
        name = f.stem.split("_", 1)[1] if f.stem.split("_", 1)[0].isdigit() else f.stem
        query = f"?area={AREA}" if name in ("Area_profile", "AE_ISTV") else ""
        out.append((name, f"/{name}{query}"))
    return out


def build_warehouse(sources: Path, db: Path, *, force: bool = False) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [PY, "-m", "etl", "refresh", "--sources", str(sources), "--db", str(db), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd + (["--force"] if force else []), cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 and not force:
        raise RuntimeError(f"refresh failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


# ------------------------------------------------------------------ viewers
async def viewer(vid: int, browser, base: str, stop: threading.Event, loads: list[dict], timeout_s: float) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    plan = pages()
    i = vid  # viewers start on different pages
    try:
        while not stop.is_set():
            name, path = plan[i % len(plan)]
            i += 1
            rec = {"viewer": vid, "page": name, "started": time.time(), "ok": True, "error": None}
            t0 = time.perf_counter()
            try:
                resp = await page.goto(base + path, timeout=timeout_s * 1000)
                if resp is None or resp.status >= 400:
                    raise RuntimeError(f"HTTP {resp.status if resp else 'no response'}")
                # `notRunning` is only set after a script run finished ("initial" before it).
                await page.wait_for_selector(IDLE, timeout=timeout_s * 1000)
                if name == "Map":
                    await page.wait_for_selector(".svd-svgmap svg path[data-unit]", timeout=timeout_s * 1000)
                rec["seconds"] = time.perf_counter() - t0
                bad = await page.query_selector_all(ERROR_SELECTOR)
                if bad:
                    texts = [(await b.inner_text())[:300] for b in bad[:2]]
                    raise RuntimeError("page shows: " + " | ".join(t.replace("\n", " ") for t in texts))
            except Exception as exc:  # noqa: BLE001 - every failure is counted, the soak goes on
                rec["seconds"] = rec.get("seconds", time.perf_counter() - t0)
                rec["ok"] = False
                rec["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:400] if str(exc) else ''}"
                log(f"viewer {vid} {path}: ERROR {rec['error']}")
                # Start the next load from a blank page so a broken session cannot leak into it.
                with contextlib.suppress(Exception):
                    await page.goto("about:blank")
            loads.append(rec)
    finally:
        await ctx.close()


async def run_viewers(n: int, base: str, stop: threading.Event, loads: list[dict], timeout_s: float) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            await asyncio.gather(*(viewer(v, browser, base, stop, loads, timeout_s) for v in range(n)))
        finally:
            await browser.close()


# ------------------------------------------------------------------ swaps
def swapper(sources: Path, db: Path, swaps: int, seconds: float, started: float, swaps_out: list[dict],
            done: threading.Event) -> None:
    """`swaps` forced refreshes, the k-th started no earlier than k * seconds / swaps after start."""
    try:
        for k in range(swaps):
            wait = started + k * seconds / max(swaps, 1) - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            before = db.stat().st_ino
            secs, proc = build_warehouse(sources, db, force=True)
            after = db.stat().st_ino
            rec = {"swap": k + 1, "seconds": round(secs, 2), "rc": proc.returncode, "inode_changed": before != after,
                   "at": round(time.perf_counter() - started, 1)}
            if proc.returncode != 0:
                rec["stderr"] = proc.stderr[-1500:]
            swaps_out.append(rec)
            log(f"swap {k + 1}/{swaps}: rc {proc.returncode} in {secs:.1f} s (inode changed: {before != after})")
    finally:
        done.set()


# ------------------------------------------------------------------ main
def summarise(loads: list[dict], swaps: list[dict], args, wall: float, startup: float) -> dict:
    ok = [r["seconds"] for r in loads if r["ok"]]
    errors = [r for r in loads if not r["ok"]]
    by_page = {}
    for name, _ in pages():
        s = [r["seconds"] for r in loads if r["ok"] and r["page"] == name]
        by_page[name] = {"loads": sum(1 for r in loads if r["page"] == name),
                         "errors": sum(1 for r in errors if r["page"] == name),
                         "p50": percentile(s, 50), "p90": percentile(s, 90), "max": max(s) if s else None}
    return {
        "viewers": args.viewers, "seconds_requested": args.seconds, "wall_seconds": round(wall, 1),
        "server_start_seconds": round(startup, 2),
        "loads": len(loads), "errors": len(errors),
        "latency": {"p50": percentile(ok, 50), "p90": percentile(ok, 90), "p99": percentile(ok, 99),
                    "max": max(ok) if ok else None, "mean": statistics.fmean(ok) if ok else None},
        "swaps_requested": args.swaps, "swaps_done": sum(1 for s in swaps if s["rc"] == 0),
        "swaps": swaps, "by_page": by_page, "error_samples": errors[:20],
    }


def md_row(s: dict, when: str) -> str:
    lat = s["latency"]

    def f(v):
        return "" if v is None else f"{v:.2f}"

    return (f"| soak: {s['viewers']} viewers x all {len(s['by_page'])} pages for {s['wall_seconds']:.0f} s, "
            f"{s['swaps_done']}/{s['swaps_requested']} warehouse swaps | {s['loads']:,} | {f(lat['p50'])} | | "
            f"**{s['errors']} errors**; page load p50 {f(lat['p50'])} s, p90 {f(lat['p90'])} s, p99 {f(lat['p99'])} s, "
            f"max {f(lat['max'])} s (navigation to idle, headless Chromium); {when[:16]} UTC |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--swaps", type=int, default=3, help="forced refreshes (each ~45 s on 2 cores under load)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds before a page load counts as an error")
    ap.add_argument("--sources", type=Path, default=Path(os.environ.get("SVD_SOURCES") or ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = ap.parse_args(argv)
    sources = args.sources.resolve()
    if not CHROMIUM.exists():
        print(f"error: {CHROMIUM} not found", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    loads: list[dict] = []
    swaps: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="svd-soak-") as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        log(f"building the warehouse in {tmp}")
        secs, _ = build_warehouse(sources, db)
        log(f"built in {secs:.1f} s")
        with streamlit_server(db, start_timeout=60) as server:
            port, startup = server.port, server.startup
            log(f"streamlit on port {port} ({startup:.1f} s); {args.viewers} viewers, {args.swaps} swaps, {args.seconds:.0f} s")
            stop, swaps_done = threading.Event(), threading.Event()
            started = time.perf_counter()
            th = threading.Thread(target=swapper, args=(sources, db, args.swaps, args.seconds, started, swaps, swaps_done),
                                  daemon=True)
            th.start()

            def stopper() -> None:
                swaps_done.wait()
                remaining = started + args.seconds - time.perf_counter()
                if remaining > 0:
                    time.sleep(remaining)
                stop.set()

            threading.Thread(target=stopper, daemon=True).start()
            try:
                asyncio.run(run_viewers(args.viewers, f"http://127.0.0.1:{port}", stop, loads, args.timeout))
            finally:
                wall = time.perf_counter() - started
                stop.set()
                th.join(timeout=300)
        server_log = server.final_log
    s = summarise(loads, swaps, args, wall, startup)
    tracebacks = [ln for ln in server_log.splitlines() if "Traceback" in ln or "Error" in ln]
    s["server_log_error_lines"] = tracebacks[:20]
    s["finished_at"] = datetime.now(timezone.utc).isoformat()
    s["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    s["loads_detail"] = loads
    (args.out / "soak.json").write_text(json.dumps(s, indent=2, default=str) + "\n")
    row = md_row(s, s["finished_at"])
    results = args.out / "results.md"
    if results.exists():
        text = results.read_text()
        lines = [ln for ln in text.splitlines() if not ln.startswith("| soak:")]
        # Put the soak row at the end of the table (before the footnote).
        table_end = max((i for i, ln in enumerate(lines) if ln.startswith("|")), default=len(lines) - 1)
        lines.insert(table_end + 1, row)
        results.write_text("\n".join(lines) + "\n")
    else:
        results.write_text("| Measure | Rows | Seconds | Peak MiB | Notes |\n|---|---:|---:|---:|---|\n" + row + "\n")
    lat = s["latency"]
    print(f"soak: {s['loads']} page loads by {s['viewers']} viewers in {s['wall_seconds']:.0f} s, "
          f"{s['swaps_done']}/{s['swaps_requested']} swaps, errors {s['errors']}")
    print("latency s: " + ", ".join(f"{k} {v:.2f}" for k, v in lat.items() if v is not None))
    for name, p in s["by_page"].items():
        print(f"  {name:<18} loads {p['loads']:>4}  errors {p['errors']:>3}  p50 {p['p50'] or 0:.2f}  "
              f"p90 {p['p90'] or 0:.2f}  max {p['max'] or 0:.2f}")
    for e in s["error_samples"][:10]:
        print(f"  ERROR viewer {e['viewer']} {e['page']}: {e['error']}")
    if tracebacks:
        print(f"server log has {len(tracebacks)} error lines, e.g. {tracebacks[0][:200]}")
    print(f"wrote {args.out / 'soak.json'} and a row in {results}")
    return 0 if s["errors"] == 0 and s["swaps_done"] == args.swaps else 1


if __name__ == "__main__":
    sys.exit(main())
