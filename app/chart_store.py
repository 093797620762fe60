"""The charts a page has drawn, kept on the server so their SVG can be served from a link
(app.download_routes) instead of an on-click download button.

Why: streamlit stores the file an on-click button builds (`st.download_button(data=callable)`)
referenced by no session, and sweeps unreferenced files whenever any script run or session of the
server ends; on a busy server the sweep can come before the browser fetches the file, and the
download is cancelled (app.download_links). A chart's SVG is drawn by kaleido in a headless browser,
seconds on a busy machine, so its button was exposed to exactly that. Under serve.py the page
instead remembers each chart here and links to it.

A chart is kept under a token derived from the session and the chart's key, so a rerun of the page
replaces its charts instead of adding to them; the store keeps the most recently drawn `LIMIT`
charts across every session (a link to an evicted chart answers 404 and asks for a reload).
Imports: hashlib, threading, collections only.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

LIMIT = 400
_CHARTS: OrderedDict[str, Any] = OrderedDict()
_LOCK = threading.Lock()


def token(session_id: str, key: str) -> str:
    """A URL-safe name for one chart of one session (not guessable without the session's id)."""
    return hashlib.sha256(f"{session_id}\x00{key}".encode()).hexdigest()[:32]


def remember(tok: str, fig: Any) -> None:
    """Keep `fig` under `tok` (replacing that chart's previous drawing), evicting the oldest."""
    with _LOCK:
        _CHARTS[tok] = fig
        _CHARTS.move_to_end(tok)
        while len(_CHARTS) > LIMIT:
            _CHARTS.popitem(last=False)


def recall(tok: str) -> Any | None:
    """The chart kept under `tok`, or None when it was never drawn or has been evicted."""
    with _LOCK:
        return _CHARTS.get(tok)
