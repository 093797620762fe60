"""Downloads built on request served as plain links (app.download_links, app.download_routes): the
routes answer with the same bytes the pages' fallback buttons build, as attachments, with a clear
status for an unknown area or month and for a server that cannot print; the pages draw links under
serve.py and buttons otherwise. The browser tests click the links (tests/browser).
"""
from __future__ import annotations

import asyncio
import csv
import io

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


def test_observations_route_serves_the_package_and_its_tables_give_back_every_text(wh, sql, monkeypatch):
    """The route's zip: observations through the download rules without the per-indicator and
    per-source texts, which the indicators and sources tables give back exactly on a join (a slice
    of the real table stands in for the whole, which tests/browser downloads in full)."""
    import zipfile


    rows = sql("SELECT * FROM observations ORDER BY area_code, indicator_id, period_start LIMIT 40")
    cols = [c[0] for c in sql("DESCRIBE observations")]
    small = pd.DataFrame(rows, columns=cols)
    keys = small[["indicator_id", "area_code", "period_start", "source_id"]]
    full = droutes.q.all_observations().merge(keys, on=["indicator_id", "area_code", "period_start", "source_id"])
    assert len(full) == 40
    monkeypatch.setattr(droutes.q, "all_observations", lambda: full)
    droutes._observations_zip.cache_clear()
    status, headers, body = get(dl.OBSERVATIONS_PATH)
    droutes._observations_zip.cache_clear()
    assert status == 200 and headers["content-type"] == "application/zip"
    assert headers["content-disposition"] == 'attachment; filename="serious_violence_observations.zip"'
    zf = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(zf.namelist()) == ["README.txt", "indicators.csv", "observations.csv", "source_files.csv",
                                     "sources.csv"]
    obs = pd.read_csv(zf.open("observations.csv"), dtype=str, keep_default_na=False)
    assert len(obs) == 40 and {"what_this_is", "quality", "publisher", "source_id", "indicator_id"} <= set(obs)
    assert not {"definition", "method", "basis", "source_title", "source_url", "licence"} & set(obs)
    inds = pd.read_csv(zf.open("indicators.csv"), dtype=str, keep_default_na=False)
    srcs = pd.read_csv(zf.open("sources.csv"), dtype=str, keep_default_na=False)
    assert len(inds) == sql("SELECT count(*) FROM indicators")[0][0]
    assert len(srcs) == sql("SELECT count(*) FROM sources")[0][0]
    # the join gives back the texts, as the warehouse holds them (read here with SQL, not app code)
    want = {(i, s): (d, u) for i, s, d, u in sql(
        "SELECT o.indicator_id, o.source_id, i.definition, s.url FROM observations o JOIN indicators i USING "
        "(indicator_id) JOIN sources s ON s.source_id = split_part(o.source_id, '#', 1)")}
    joined = obs.assign(base=obs["source_id"].str.split("#").str[0]).merge(
        inds[["indicator_id", "definition"]], on="indicator_id").merge(
        srcs[["source_id", "url"]].rename(columns={"source_id": "base"}), on="base")
    assert len(joined) == 40
    for r in joined.itertuples():
        assert want[(r.indicator_id, r.source_id)] == (r.definition, r.url)
    readme = zf.read("README.txt").decode()
    (refresh_id,) = sql("SELECT value FROM meta WHERE key = 'refresh_id'")[0]
    assert refresh_id in readme
    # the synthetic warning is the one wording's, not a phrase of the package's own
    from methods.wording import quality_wording
    assert "quality = synthetic are generated stand-ins: " + quality_wording("synthetic", "sentence") in readme


def test_package_neutralises_formulas_in_every_table():
    import zipfile

    from app import observations_package as op

    hostile = "=HYPERLINK(\"http://x\")"
    obs = pd.DataFrame([{"indicator_id": "i", "area_code": "E22000308", "area_name": hostile, "area_type": "csp",
                         "title": "t", "unit": "u", "quality": "official", "value": 1.0, "count": None,
                         "period_label": "2024", "source_id": "s", "publisher": "p", "definition": "d"}])
    zf = zipfile.ZipFile(io.BytesIO(op.package(obs, pd.DataFrame([{"indicator_id": "i", "definition": hostile}]),
                                               pd.DataFrame([{"source_id": "s", "title": hostile}]),
                                               pd.DataFrame([{"source_id": "s", "file_name": hostile}]), {})))
    for name in ("observations.csv", "indicators.csv", "sources.csv", "source_files.csv"):
        text = zf.read(name).decode()
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert "'" + hostile in cells and not any(c.startswith("=") for c in cells), name
        assert text.endswith("\r\n"), name


@pytest.mark.parametrize("served", [True, False])
def test_pages_link_under_serve_py_and_keep_buttons_otherwise(wh, sql, monkeypatch, served):
    monkeypatch.setattr(dl, "_ENABLED", served)
    month = a_month(sql)
    profile = run_page("pages/1_Area_profile.py", area=AREA, period=month)
    data = run_page("pages/4_Data_and_sources.py")
    html = " ".join(el.proto.body for at in (profile, data) for el in at.get("html"))
    buttons = [b.proto.label for at in (profile, data) for b in at.get("download_button")]
    wanted = {dl.report_url(AREA, month, "html"): "Download the profile report (HTML)",
              dl.OBSERVATIONS_PATH: "Download all observations (zip of CSVs)"}
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
