"""Serve the dashboard with its caches warmed at server start: `streamlit run serve.py`.

Why: `streamlit run dashboard.py` runs nothing until the first visitor arrives, who then waits
for DuckDB to open and the home page's queries to fill the caches. Here streamlit's st.App
starts app.warmup in a background thread as the server starts (its lifespan hook), so the first
visit reads warm caches like every later one. Same pages, URLs and settings as dashboard.py,
plus read-only routes: `/_svd/warmup` reports the warm-up's state as JSON (the signal the browser
tests wait on), and `/_svd/download/...` serves the downloads built on request (the A4 profile
report, the whole observations table) as plain links (app.download_links says why).
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import download_links, navigation, warmup
from app.download_routes import ROUTES as DOWNLOAD_ROUTES

navigation.navigation_only()  # the first visit to any URL goes through dashboard.py's route()
download_links.enable()  # the pages link to the download routes below


@asynccontextmanager
async def _lifespan(_app: Any) -> AsyncIterator[None]:
    warmup.start()
    yield


async def _warmup_state(_request: Request) -> JSONResponse:
    return JSONResponse(warmup.STATE)


app = st.App("dashboard.py", lifespan=_lifespan, routes=[Route("/_svd/warmup", _warmup_state), *DOWNLOAD_ROUTES])
