"""DKVB Explorer's server: ``streamlit run app/serve.py`` (what the README and the Dockerfile start).

The same app as ``streamlit run app/main.py`` (every visit runs ``main.py``), plus a warm start:
before the server reports itself up it imports the engine (torch) and trains the default config
(~2 s in all), so the first visitor's landing page finds its result cached instead of waiting.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from app import vendor, warmup  # noqa: E402 - light: only the standard library
from app.early_chart_library import EarlyChartLibrary  # noqa: E402

IMMUTABLE = "public, max-age=31536000, immutable"


@asynccontextmanager
async def _warm_start(_server: st.App):
    """Server start: warm up in a worker thread (the event loop stays free), then serve."""
    await asyncio.to_thread(warmup.warm_default)
    await asyncio.to_thread(vendor.gzipped_plotly_js)
    yield


async def _chart_library(request: Request) -> Response:
    """The chart library from memory, gzipped once: Streamlit's static serving would gzip 4.8 MB on every
    request, on the event loop that also carries the page's websocket."""
    if request.path_params["name"] != vendor.plotly_js_name():
        return Response("not found", status_code=404)
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = await asyncio.to_thread(vendor.gzipped_plotly_js)
        return Response(body, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"})
    source = await asyncio.to_thread(lambda: vendor.chart_library()[0].read_bytes())
    return Response(source, media_type="text/javascript", headers=headers)


vendor.activate_route()
streamlit_app = st.App(
    "main.py",
    lifespan=_warm_start,
    routes=[Route(vendor.ROUTE + "/{name}", _chart_library, methods=["GET"])],
    middleware=[Middleware(EarlyChartLibrary, url=vendor.plotly_js_url)],
)
