"""Running a page under Streamlit's AppTest the one way every page test does: the warehouse
chosen through SVD_DB (the `wh` fixture in tests/app/conftest.py), query parameters set as a link
would, no exception, and the page's ready signal set exactly once (the browser tests wait on it).
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # seconds for one run on a busy machine; a wait limit, never an assertion on speed


def ready_signals(at: AppTest) -> int:
    """How many `ui.page_ready` markers this run rendered (the browser tests wait on it)."""
    return sum("data-svd-page=" in el.proto.body for el in at.get("html"))


def run_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert ready_signals(at) == 1, "every finished run of a page sets the ready signal exactly once"
    return at
