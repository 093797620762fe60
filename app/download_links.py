"""Downloads built on request (the A4 profile report, the whole observations table) as plain links
when the dashboard runs under `serve.py`, and as streamlit's on-click download buttons otherwise.

Why: `st.download_button(data=callable)` builds the file when the button is clicked, stores it in
streamlit's media store referenced by no session, and hands the page a URL to fetch. Streamlit
sweeps unreferenced files whenever any script run or session of the server ends (a file is gone
after two sweeps). On a busy server the sweeps can come before the browser fetches the file: the
browser tests saw such downloads never arrive (the HTML report right after the PDF one, the
whole-table CSV), and an app that forces a sweep every few milliseconds gets its on-click
downloads cancelled or saved as a nameless error file (Streamlit 1.67). A link to a server route
is an ordinary download the user clicked: the browser waits for the answer however long the build
takes, nothing can remove it in between, and every click is its own download. (A browser's limit
on downloads a page starts by itself was also suspected; a headless Chromium took on-click
downloads built in 8 s one after another without refusing any, so it is not relied on.)

`serve.py` registers the routes (app.download_routes) and calls `enable()`; a plain
`streamlit run dashboard.py` has no routes, so the pages keep the on-click buttons there.
The URLs are built here from validated codes only, and every piece is escaped into the markup.
Imports: html, re, urllib.parse only (no streamlit: the pages draw what this returns).
"""
from __future__ import annotations

import html
import re
from urllib.parse import quote

ROUTE_PREFIX = "/_svd/download"
OBSERVATIONS_PATH = f"{ROUTE_PREFIX}/serious_violence_observations.zip"
REPORT_PATH = ROUTE_PREFIX + "/report/{code}/{month}.{ext}"
CHART_PATH = ROUTE_PREFIX + "/chart/{token}/{stem}.svg"
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
STEM_RE = re.compile(r"^[a-z0-9_]{1,80}$")  # app.chart_export.file_stem's alphabet
LATEST = "latest"  # the month part of a report URL when the profile has no monthly figure
REPORT_EXTENSIONS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
CODE_RE = re.compile(r"^[EWSNK]\d{8}$")  # a GSS code (the only kind of area a profile has)
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

_ENABLED = False


def enable() -> None:
    """Called by serve.py, whose st.App serves the routes: the pages then draw links."""
    global _ENABLED
    _ENABLED = True


def enabled() -> bool:
    """True in a server started from serve.py (the routes exist), False under a plain
    `streamlit run dashboard.py` and in AppTest."""
    return _ENABLED


def report_url(code: str, month: str | None, ext: str) -> str:
    """The route serving the report of `code` for `month` (None: no monthly figure) as `ext`."""
    if not CODE_RE.match(code):
        raise ValueError(f"not an area code: {code!r}")
    if month is not None and not MONTH_RE.match(month):
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    if ext not in REPORT_EXTENSIONS:
        raise ValueError(f"no report format {ext!r}")
    return REPORT_PATH.format(code=quote(code, safe=""), month=quote(month or LATEST, safe=""), ext=ext)


def chart_url(token: str, stem: str) -> str:
    """The route serving the SVG of the chart kept under `token` (app.chart_store) as `stem`.svg."""
    if not TOKEN_RE.match(token) or not STEM_RE.match(stem):
        raise ValueError(f"not a chart link: {token!r}, {stem!r}")
    return CHART_PATH.format(token=token, stem=stem)


def link_html(label: str, url: str, file_name: str) -> str:
    """An anchor styled like streamlit's secondary button that downloads `url` as `file_name`.
    Every piece is escaped: the label and file name are ours, but nothing is trusted here."""
    return (f'<a class="svd-download" href="{html.escape(url, quote=True)}" '
            f'download="{html.escape(file_name, quote=True)}">'
            f'<span aria-hidden="true">&#x2193;</span> {html.escape(label)}</a>')


# Streamlit's secondary button look (border, radius, padding) in the theme's own colours, so the
# link sits in a row of buttons without looking like something else.
LINK_CSS = (".svd-download { display: inline-flex; align-items: center; gap: 0.4rem; padding: 0.25rem 0.75rem;"
            " min-height: 2.5rem; border: 1px solid rgba(128, 128, 128, 0.4); border-radius: 0.5rem;"
            " color: inherit !important; text-decoration: none !important; }"
            " .svd-download:hover { border-color: currentColor; }"
            " .svd-download:focus-visible { outline: 2px solid currentColor; outline-offset: 2px; }")
