"""Warm the caches once per server process, so the first visitor does not pay for them.

Why: a fresh process opens DuckDB, runs the home page's queries and builds plotly's validators
on the first visit only (1-2 s on two cores); every later visit reads the caches. `serve.py`
starts `warm()` in a background thread when the server starts (st.App lifespan), before anyone
visits; `dashboard.py` also calls `start()` on its first run, a no-op when the server already
warmed, so a plain `streamlit run dashboard.py` warms the rest of the pages' queries early.
The caches are streamlit's own (`st.cache_data` / `st.cache_resource` in app.queries), which
are process-wide, so what a thread fills here is what the pages read.

`STATE` is the signal that the warm-up ran: its status, the steps done, and the error if one
step failed (the warm-up never stops the server: a page then runs the query itself and shows
its own message, e.g. for an unreadable warehouse).
Imports: threading, streamlit (through app.queries), app.outcomes, plotly.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

STATE: dict[str, Any] = {"status": "not started", "steps": [], "error": None, "seconds": None}
_LOCK = threading.Lock()


def _steps() -> list[tuple[str, Callable[[], object]]]:
    """The home page's queries (and the map's CSP boundaries and area list every page's search
    and pickers use), in the order the home page runs them."""
    import plotly.graph_objects as go

    from app import outcomes as oc
    from app import queries as q

    def national_trends() -> None:
        inds = q.indicators()
        for r in q.latest_national().itertuples():
            series = inds.loc[inds["indicator_id"] == r.indicator_id, "series"]
            if not series.empty:
                data = q.national_series(str(series.iloc[0]))
                q.series_breaks(list(data["indicator_id"].unique()))

    return [
        ("meta", q.meta),
        ("latest_national", q.latest_national),
        ("duty_outcomes", oc.duty_outcomes),
        ("national_trends", national_trends),
        ("context_figures", lambda: q.observations(None, [q.ENGLAND])),
        ("national_series_names", q.national_series_names),
        ("default_national_series", lambda: q.national_series("police_recorded_knife_offences")),
        ("areas", q.areas),
        ("csp_boundaries", lambda: q.boundaries_geojson("csp")),
        ("plotly", lambda: go.Figure(go.Scatter(x=[0], y=[0])).to_dict()),
    ]


def warm() -> dict[str, Any]:
    """Run every step once per process (later calls return at once); return `STATE`."""
    with _LOCK:
        if STATE["status"] != "not started":
            return STATE
        STATE["status"] = "running"
    start = time.monotonic()
    try:
        from app import queries as q

        if not q.warehouse_exists() or q.warehouse_problem() is not None:
            STATE["status"] = "skipped: no readable warehouse"
            return STATE
        for name, step in _steps():
            step()
            STATE["steps"].append(name)
        STATE["status"] = "done"
    except BaseException as exc:  # noqa: BLE001 - a failed warm-up must never take the server down
        STATE["status"], STATE["error"] = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        STATE["seconds"] = round(time.monotonic() - start, 3)
    return STATE


def start() -> None:
    """`warm()` in a background daemon thread, at most once per process."""
    if STATE["status"] == "not started":
        threading.Thread(target=warm, name="svd-warmup", daemon=True).start()
