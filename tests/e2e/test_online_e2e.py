"""The Online page in a real browser: every chart drawn, the regions play, a link reproduces the settings."""

from __future__ import annotations

from tests.e2e.conftest import assert_no_exception, screenshot, wait_idle

LINK = "online?online.steps=1000&online.p=0.9"


def test_online_page_draws_and_plays(open_page):
    page = open_page(LINK)
    page.wait_for_selector(".js-plotly-plot", timeout=90_000)
    wait_idle(page)
    assert_no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 5
    assert "online.p=0.9" in page.url
    screenshot(page, "online_page")
    title = page.locator(".js-plotly-plot").nth(4).locator(".gtitle").first
    before = title.text_content()
    page.get_by_text("▶ Play").click()
    page.wait_for_timeout(2500)
    assert title.text_content() != before  # the frames advance along the timeline
    screenshot(page, "online_playing")
