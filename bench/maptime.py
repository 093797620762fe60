"""Quick map-draw timing in headless Chromium (for iterating on the map; bench.run has the
recorded figure).

    python -m bench.maptime [--db PATH] [--visits 3] [--path /Map] [--view svg|plotly]
                            [--sources ../shared/data]

Starts the dashboard through bench.server (`streamlit run serve.py`, as the browser tests and
bench.run do) with SVD_DB=PATH (built into a temp folder
from --sources when PATH is not given), opens PATH in a new browser context (fresh profile)
`--visits` times and prints, per visit, seconds from navigation until:
  --view svg (default, the page's static map): map (the SVG and all its shapes,
    `path[data-unit]`, are in the page), idle (the script state is notRunning);
  --view plotly (adds view=interactive to the URL): plot (`.js-plotly-plot` is in the page),
    canvas (the map's WebGL canvas exists), idle;
and the bytes received over the websocket. "shapes" is the number of map shapes drawn.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.run import CHROMIUM, ROOT
from bench.server import streamlit_server
from bench.soak import IDLE, build_warehouse


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.maptime")
    ap.add_argument("--db", type=Path)
    ap.add_argument("--sources", type=Path, default=Path(os.environ.get("SVD_SOURCES") or ROOT.parent / "shared" / "data"))
    ap.add_argument("--visits", type=int, default=3)
    ap.add_argument("--path", default="/Map")
    ap.add_argument("--view", choices=("svg", "plotly"), default="svg")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="svd-maptime-") as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "warehouse.duckdb"
            build_warehouse(args.sources.resolve(), db)
        out = []
        with streamlit_server(db, start_timeout=120) as server:
            port, startup = server.port, server.startup
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                for i in range(args.visits):
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = ctx.new_page()
                    received = [0]

                    def on_ws(ws, received=received):
                        ws.on("framereceived", lambda p: received.__setitem__(
                            0, received[0] + len(p if isinstance(p, (bytes, str)) else b"")))

                    page.on("websocket", on_ws)
                    url = f"http://127.0.0.1:{port}{args.path}"
                    if args.view == "plotly":
                        url += ("&" if "?" in url else "?") + "view=interactive"
                    t0 = time.perf_counter()
                    page.goto(url)
                    r: dict = {"visit": i + 1}
                    if args.view == "plotly":
                        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
                        r["plot"] = round(time.perf_counter() - t0, 2)
                        page.wait_for_selector(".js-plotly-plot canvas", timeout=120_000)
                        r["canvas"] = round(time.perf_counter() - t0, 2)
                    else:
                        page.wait_for_selector(".svd-svgmap svg path[data-unit]", timeout=120_000)
                        r["map"] = round(time.perf_counter() - t0, 2)
                    page.wait_for_selector(IDLE, timeout=120_000)
                    r["idle"] = round(time.perf_counter() - t0, 2)
                    r["shapes"] = page.evaluate(
                        "() => document.querySelectorAll('.svd-svgmap path[data-unit]').length"
                        " || (document.querySelector('.js-plotly-plot')?.data || [])"
                        ".reduce((n, t) => n + (t.locations || []).length, 0)")
                    r["ws_bytes"] = received[0]
                    out.append(r)
                    print(json.dumps(r), flush=True)
                    ctx.close()
                browser.close()
    print(json.dumps({"view": args.view, "server_start": round(startup, 2), "visits": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
