"""ASGI middleware for ``app/serve.py``: the app's HTML page preloads the chart library from its head.

Without it the browser requests plotly.js only when the first chart's loader mounts, about 0.7 s into a
visit, when this same process is busy running the page's script: the 0.5 MB download then took 0.1 to
0.5 s. A ``<link rel="preload">`` in the page head fetches it in the first 0.15 s, beside Streamlit's
own code, and the loader's script tag (``app/cockpit.js``) then evaluates it from the browser's cache.
(An ``async`` script tag evaluated it too early: the ~0.4 s evaluation delayed the websocket and the
whole page by as much, measured with fresh servers.)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
TAG_ID = "dkvb-plotly"
_HEAD = re.compile(rb"<head[^>]*>", re.IGNORECASE)


def preload_tag(url: str) -> bytes:
    """The tag put in the page head: a preload (fetched at once, evaluated when the loader asks)."""
    return f'<link id="{TAG_ID}" rel="preload" as="script" href="{url}">'.encode()


def with_tag(html: bytes, url: str) -> bytes:
    """``html`` with the tag right after its ``<head>`` (unchanged when there is none)."""
    match = _HEAD.search(html)
    return html if match is None else html[: match.end()] + preload_tag(url) + html[match.end() :]


class EarlyChartLibrary:
    """Adds :func:`preload_tag` to HTML pages; ``url`` gives the library's path (read per request)."""

    def __init__(self, app: ASGIApp, url: Callable[[], str]) -> None:
        self.app, self.url = app, url

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]], send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"")
        if scope["type"] != "http" or scope.get("method") != "GET" or b"text/html" not in accept:
            await self.app(scope, receive, send)
            return
        # the page is small: ask for it uncompressed, so the tag can go in
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                if not _is_page(message):  # anything else (a download, a script) streams through untouched
                    await send(message)
                    return
                start.update(message)
                return
            if message["type"] != "http.response.body" or not start:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                await self._send_page(start, b"".join(chunks), send)

        await self.app({**scope, "headers": headers}, receive, capture)

    async def _send_page(self, start: Message, body: bytes, send) -> None:
        body = with_tag(body, self.url())
        headers = [(k, v) for k, v in start.get("headers") or [] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_page(start: Message) -> bool:
    """An uncompressed HTML response: the only kind the tag goes in."""
    info = {k.lower(): v for k, v in start.get("headers") or []}
    return info.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in info
