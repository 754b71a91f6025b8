"""A hostile link in a real browser (issue 15, item 2): its keys and values appear as the literal text
typed, no image, link or heading from the link is rendered, and the browser fetches nothing from the
host the link names."""

from __future__ import annotations

from urllib.parse import quote, urlparse

import pytest

from tests.e2e.conftest import assert_no_exception

pytestmark = pytest.mark.e2e
HOST = "hostile.invalid"
KEYS = {
    f"dkvb.![x](http://{HOST}/p.png)": "1",
    f"dkvb.# Session expired\n[Sign in again](http://{HOST}/login)": "1",
    "dkvb.lr": f'<img src="http://{HOST}/v.png">',
}


def test_a_hostile_link_renders_as_plain_text(page, open_page):
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if urlparse(r.url).hostname == HOST else None)
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in {"train.steps_per_stage": "100", **KEYS}.items())
    open_page(f"?{query}")
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="not valid").first
    alert.wait_for()
    text = alert.inner_text().replace("\u2060", "")  # app.plain's invisible word joiners
    assert f"dkvb.![x](http://{HOST}/p.png)" in text  # the key as typed, brackets and all
    assert "Sign in again" in text and "[Sign in again]" in text
    assert alert.locator("img").count() == 0 and alert.locator("a").count() == 0
    assert alert.locator("h1, h2, h3, h4, h5, h6").count() == 0
    # no image or link points AT the hostile host (a link back to this app may carry the link's text in its query)
    targets = page.eval_on_selector_all(
        "img[src], a[href]", "els => els.map(e => new URL(e.src || e.href, location.href).hostname)"
    )
    assert HOST not in targets
    page.locator(".js-plotly-plot").first.wait_for()
    assert_no_exception(page)
    assert fetched == []
