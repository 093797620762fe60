"""Downloads built on request served as plain links (app.download_links, app.download_routes): the
routes answer with the same bytes the pages' fallback buttons build, as attachments, with a clear
status for an unknown area or month and for a server that cannot print; the pages draw links under
serve.py and buttons otherwise. The browser tests click the links (tests/browser).
"""
from __future__ import annotations

import asyncio

import pandas as pd
import pytest
from starlette.routing import Router

from app import download_links as dl
from app import download_routes as droutes
from app import report as rp
from tests.app.page_runner import run_page

AREA = "E22000308"  # Oxford CSP


def get(path: str) -> tuple[int, dict[str, str], bytes]:
    """GET `path` from the download routes, driven as ASGI directly (status, headers, body)."""
    app = Router(routes=droutes.ROUTES)
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [], "root_path": "", "scheme": "http", "server": ("test", 80), "http_version": "1.1"}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def a_month(sql) -> str:
    return sql("SELECT max(month) FROM police_uk_coverage WHERE status = 'present'")[0][0]


def test_report_url_accepts_only_codes_months_and_formats():
    assert dl.report_url(AREA, "2024-03", "pdf") == "/_svd/download/report/E22000308/2024-03.pdf"
    assert dl.report_url(AREA, None, "html") == "/_svd/download/report/E22000308/latest.html"
    for code, month, ext in [("../etc", "2024-03", "pdf"), (AREA, "2024-13", "pdf"), (AREA, "2024-03/x", "html"),
                             (AREA, "2024-03", "exe"), ("E2200030", "2024-03", "pdf")]:
        with pytest.raises(ValueError):
            dl.report_url(code, month, ext)


def test_link_markup_escapes_everything():
    out = dl.link_html('Report "<b>x</b>"', '/a?b="c"&d', 'f"<x>.pdf')
    assert "<b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert 'href="/a?b=&quot;c&quot;&amp;d"' in out and 'download="f&quot;&lt;x&gt;.pdf"' in out


def test_report_route_serves_the_pages_report_as_an_attachment(wh, sql):
    month = a_month(sql)
    status, headers, body = get(dl.report_url(AREA, month, "html"))
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert headers["content-disposition"] == f'attachment; filename="{rp.report_file_name(AREA, month, "html")}"'
    assert body.decode("utf-8") == rp.profile_report_html(AREA, month)
    (name,) = sql("SELECT area_name FROM areas WHERE area_code = ? AND valid_to IS NULL", AREA)[0]
    assert name in body.decode("utf-8")


@pytest.mark.parametrize("path, says", [
    ("/_svd/download/report/E22999999/latest.html", "No area with code E22999999"),
    ("/_svd/download/report/E22000308/2031-01.html", "No month 2031-01"),
    ("/_svd/download/report/E22000308/2024-03.exe", "No such report"),
    ("/_svd/download/report/E22000308/2024-3.pdf", "No month 2024-3"),
])
def test_report_route_says_what_is_missing(wh, path, says):
    status, headers, body = get(path)
    assert status == 404 and headers["content-type"].startswith("text/plain")
    assert body.decode().startswith(says)


def test_pdf_route_says_when_the_server_cannot_print(wh, sql, monkeypatch):
    monkeypatch.setenv("SVD_CHROMIUM", "/nonexistent/chromium")
    rp._cached_pdf.cache_clear()
    status, _, body = get(dl.report_url(AREA, a_month(sql), "pdf"))
    assert status == 503
    assert "PDF report is unavailable" in body.decode() and "no Chromium" in body.decode()


def test_observations_route_serves_the_controlled_csv(wh, sql, monkeypatch):
    """The route's bytes are the table's CSV through the download rules (a small slice of the real
    table stands in for the whole, which tests/browser downloads in full)."""
    rows = sql("SELECT * FROM observations ORDER BY area_code, indicator_id, period_start LIMIT 40")
    cols = [c[0] for c in sql("DESCRIBE observations")]
    small = pd.DataFrame(rows, columns=cols)
    monkeypatch.setattr(droutes.q, "all_observations", lambda: small)
    droutes._observations_csv.cache_clear()
    status, headers, body = get(dl.OBSERVATIONS_PATH)
    droutes._observations_csv.cache_clear()
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"] == 'attachment; filename="observations.csv"'
    lines = body.decode("utf-8").split("\r\n")
    assert lines[-1] == "" and len(lines) - 2 == 40
    assert "quality" in lines[0].split(",") and "source_id" in lines[0].split(",")


@pytest.mark.parametrize("served", [True, False])
def test_pages_link_under_serve_py_and_keep_buttons_otherwise(wh, sql, monkeypatch, served):
    monkeypatch.setattr(dl, "_ENABLED", served)
    month = a_month(sql)
    profile = run_page("pages/1_Area_profile.py", area=AREA, period=month)
    data = run_page("pages/4_Data_and_sources.py")
    html = " ".join(el.proto.body for at in (profile, data) for el in at.get("html"))
    buttons = [b.proto.label for at in (profile, data) for b in at.get("download_button")]
    wanted = {dl.report_url(AREA, month, "html"): "Download the profile report (HTML)",
              dl.OBSERVATIONS_PATH: "Download all observations (CSV)"}
    if rp.pdf_available():
        wanted[dl.report_url(AREA, month, "pdf")] = "Download the profile report (PDF, A4)"
    for url, label in wanted.items():
        if served:
            assert f'href="{url}"' in html and label not in buttons
        else:
            assert f'href="{url}"' not in html and label in buttons


def test_chart_route_serves_the_chart_the_page_drew_and_says_when_it_is_gone():
    import plotly.graph_objects as go

    from app import chart_store

    fig = go.Figure(go.Bar(x=["Oxford", "Reading"], y=[3, 5]), layout={"title": {"text": "Route test chart"}})
    tok = chart_store.token("session-a", "dl_svg_route_test")
    assert tok != chart_store.token("session-b", "dl_svg_route_test")
    chart_store.remember(tok, fig)
    status, headers, body = get(dl.chart_url(tok, "route_test_chart"))
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert headers["content-disposition"] == 'attachment; filename="route_test_chart.svg"'
    assert body.startswith(b"<svg")
    gone = chart_store.token("session-a", "never drawn")
    status, _, body = get(dl.chart_url(gone, "x"))
    assert status == 404 and b"reload the page" in body
    for bad in ("/_svd/download/chart/../x.svg", f"/_svd/download/chart/{tok}/A%20b.svg"):
        assert get(bad)[0] == 404


def test_chart_store_keeps_the_latest_drawings_only(monkeypatch):
    from app import chart_store

    monkeypatch.setattr(chart_store, "_CHARTS", type(chart_store._CHARTS)())
    monkeypatch.setattr(chart_store, "LIMIT", 3)
    for i in range(5):
        chart_store.remember(f"t{i}", i)
    chart_store.remember("t2", "redrawn")  # a rerun replaces a chart and makes it the newest
    chart_store.remember("t5", 5)
    assert [chart_store.recall(f"t{i}") for i in range(6)] == [None, None, "redrawn", None, 4, 5]


@pytest.mark.parametrize("served", [True, False])
def test_chart_svg_is_a_link_under_serve_py(wh, monkeypatch, served):
    monkeypatch.setattr(dl, "_ENABLED", served)
    at = run_page("dashboard.py")
    links = [el.proto.body for el in at.get("html") if "/_svd/download/chart/" in el.proto.body]
    buttons = [b for b in at.get("download_button") if b.proto.label == "Chart as SVG"]
    if served:
        assert links and not buttons
        assert all('download="' in body and '.svg"' in body for body in links)
    else:
        assert buttons and not links
