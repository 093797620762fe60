"""The server routes behind app.download_links, and the builders both they and the pages' fallback
buttons use: the A4 profile report (HTML or PDF), the whole observations table (a zip of CSVs) and the SVG
of a chart the page drew (app.chart_store).

Why: see app.download_links. Each route answers a plain GET with the file as an attachment
(or a short plain-text error with the right status: 404 for an unknown area or month, 503 when the
server cannot print a PDF; 404 for a chart no longer held), so a click on the link is an ordinary download the browser waits for.
Starlette runs these synchronous endpoints in its thread pool, so a slow build never blocks the
server's event loop. The builders are cached per warehouse version, like the pages' queries.
Imports: starlette, app.queries, app.report, app.observations_package, app.chart_export, app.chart_store,
app.download_links.
"""
from __future__ import annotations

from functools import lru_cache

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app import chart_store
from app import download_links as dl
from app import queries as q
from app import report as rp
from app.chart_export import svg_bytes
from app.observations_package import PACKAGE_FILE, warehouse_package


@lru_cache(maxsize=1)
def _observations_zip(version: str | None) -> bytes:
    return warehouse_package()


def observations_zip() -> bytes:
    """Every observation with its indicator and source tables (app.observations_package), built
    once per warehouse version."""
    return _observations_zip(q.warehouse_version())


def _attachment(body: bytes, file_name: str, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{file_name}"',
        "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


def observations(_request: Request) -> Response:
    if not q.warehouse_exists():
        return PlainTextResponse("No warehouse has been built on this server yet.", status_code=503)
    return _attachment(observations_zip(), PACKAGE_FILE, "application/zip")


def report(request: Request) -> Response:
    code = request.path_params["code"]
    month_part = request.path_params["month"]
    ext = request.path_params["ext"]
    month = None if month_part == dl.LATEST else month_part
    if not dl.CODE_RE.match(code) or ext not in dl.REPORT_EXTENSIONS:
        return PlainTextResponse("No such report.", status_code=404)
    if month is not None and (not dl.MONTH_RE.match(month) or month not in set(q.coverage_grid()["month"])):
        return PlainTextResponse(f"No month {month} in this warehouse.", status_code=404)
    if q.area(code) is None:
        return PlainTextResponse(f"No area with code {code} in this warehouse.", status_code=404)
    try:
        if ext == "pdf":
            body = rp.profile_report_pdf(code, month)
        else:
            body = rp.profile_report_html(code, month).encode("utf-8")
    except KeyError:  # an area with no figure to report
        return PlainTextResponse(f"No profile for area {code} in this warehouse.", status_code=404)
    except rp.PdfUnavailable as exc:
        return PlainTextResponse(f"The PDF report is unavailable on this server: {exc}. "
                                 "Download the HTML report and print it from your browser.", status_code=503)
    return _attachment(body, rp.report_file_name(code, month, ext), dl.REPORT_EXTENSIONS[ext])


def chart_svg(request: Request) -> Response:
    """A chart the page drew (app.chart_store) as SVG, rendered now, as the page's button would."""
    tok, stem = request.path_params["token"], request.path_params["stem"]
    fig = chart_store.recall(tok) if dl.TOKEN_RE.match(tok) and dl.STEM_RE.match(stem) else None
    if fig is None:
        return PlainTextResponse("This chart is no longer held on the server: reload the page and click the "
                                 "link again.", status_code=404)
    return _attachment(svg_bytes(fig), f"{stem}.svg", "image/svg+xml")


ROUTES = [
    Route(dl.OBSERVATIONS_PATH, observations, methods=["GET"]),
    Route(dl.ROUTE_PREFIX + "/report/{code}/{month}.{ext}", report, methods=["GET"]),
    Route(dl.ROUTE_PREFIX + "/chart/{token}/{stem}.svg", chart_svg, methods=["GET"]),
]
