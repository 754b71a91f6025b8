"""The middleware that puts the chart library's preload in the app's HTML page (app/serve.py)."""

import asyncio

from app.early_chart_library import EarlyChartLibrary, preload_tag, with_tag

URL = "/vendor/plotly-x.min.js"


def fake_app(body: bytes, content_type: bytes, extra: list | None = None, seen: list | None = None):
    async def app(scope, receive, send):
        if seen is not None:
            seen.append(dict(scope["headers"]))
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra or [])]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body[:10], "more_body": True})
        await send({"type": "http.response.body", "body": body[10:]})

    return app


def request(app, accept: bytes = b"text/html,*/*", method: str = "GET") -> tuple[dict, bytes]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": "http", "method": method, "headers": [(b"accept", accept), (b"accept-encoding", b"gzip")]}
    asyncio.run(EarlyChartLibrary(app, lambda: URL)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return dict(start["headers"]), body


PAGE = b"<!DOCTYPE html><html><head><meta charset='UTF-8'></head><body></body></html>"


def test_the_page_preloads_the_library_first_in_its_head_with_a_true_length():
    seen: list = []
    headers, body = request(fake_app(PAGE, b"text/html; charset=UTF-8", seen=seen))
    assert body == with_tag(PAGE, URL) and body.index(preload_tag(URL)) == PAGE.index(b"<meta")
    assert int(headers[b"content-length"]) == len(body)
    assert b"accept-encoding" not in seen[0]  # asked uncompressed, so the tag can go in


def test_other_responses_pass_unchanged():
    script = b"console.log('<head>')" * 10
    headers, body = request(fake_app(script, b"text/javascript"))
    assert body == script and int(headers[b"content-length"]) == len(script)
    gz = [(b"content-encoding", b"gzip")]
    assert request(fake_app(PAGE, b"text/html", gz))[1] == PAGE  # compressed: left alone
    assert request(fake_app(PAGE, b"text/html"), accept=b"application/json")[1] == PAGE  # not a page request
    assert request(fake_app(PAGE, b"text/html"), method="POST")[1] == PAGE


def test_a_page_without_a_head_is_unchanged():
    assert with_tag(b"<html><body>hi</body></html>", URL) == b"<html><body>hi</body></html>"
    assert with_tag(b"<HEAD lang='en'>x", URL).startswith(b"<HEAD lang='en'>" + preload_tag(URL))


def test_a_large_non_page_response_streams_through_chunk_by_chunk():
    """A download asked for with a browser's Accept header is not held back until it ends."""
    sent: list[dict] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
        for _ in range(3):
            await send({"type": "http.response.body", "body": b"x" * 1000, "more_body": True})
            assert sent[-1].get("body") == b"x" * 1000  # forwarded before the next chunk is made
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "headers": [(b"accept", b"text/html")]}
    asyncio.run(EarlyChartLibrary(app, lambda: URL)(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sum(len(m.get("body", b"")) for m in sent) == 3000
