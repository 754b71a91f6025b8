"""The Images page in a real browser: digits by default, then MNIST through the pretrained CNN."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, screenshot, wait_idle

pytestmark = pytest.mark.e2e


def _plots(page) -> int:
    return page.locator(".js-plotly-plot").count()


def test_images_page_digits_then_mnist(open_page):
    page = open_page("")
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Images", exact=True).click()
    wait_idle(page)
    page.get_by_role("heading", name="Images").first.wait_for()
    page.get_by_text("DKVB: final accuracy").first.wait_for()
    page.locator(".js-plotly-plot").nth(5).wait_for()
    assert_no_exception(page)
    assert _plots(page) == 6
    for heading in ("Accuracy and forgetting", "Keys", "Predictions at each stage end", "Confusion per stage"):
        assert page.get_by_role("heading", name=heading).count() == 1
    dkvb = page.locator('[data-testid="stMetric"]').filter(has_text="DKVB").locator('[data-testid="stMetricValue"]')
    assert float(dkvb.inner_text().rstrip("%")) > 85
    screenshot(page, "images_digits")

    page.locator('[data-testid="stSidebar"]').get_by_text("MNIST 5k (28x28)").click()
    page.get_by_text("trained on Fashion-MNIST").first.wait_for()
    wait_idle(page)
    page.locator(".js-plotly-plot").nth(5).wait_for()
    assert_no_exception(page)
    assert page.get_by_text("never saw these images").count() >= 1
    screenshot(page, "images_mnist")
