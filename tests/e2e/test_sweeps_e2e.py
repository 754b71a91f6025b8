"""The Sweeps page in a real browser: run a small sweep, watch its progress, read the heatmap and
lines, pick a cell and open its config in the Playground."""

from __future__ import annotations

import re
import shutil
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from dkvb_core.sweep import parse_spec
from dkvb_core.sweep.job import out_dir_for
from tests.e2e.conftest import assert_no_exception, screenshot, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The spec the page builds from its defaults with these two axes and 2 seeds (to start afresh).
PAGE_SPEC = {
    "name": "page",
    "preset": "toy",
    "base": {"train": {"steps_per_stage": 200, "models": ["dkvb", "linear", "mlp"]}},
    "axes": {"dkvb.num_codebooks": [1, 2], "dkvb.keys_per_codebook": [4, 16]},
    "seeds": 2,
}


def set_text(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


@pytest.mark.timeout(400)
def test_run_a_sweep_and_open_a_cell_in_the_playground(open_page, page):
    shutil.rmtree(out_dir_for(parse_spec(PAGE_SPEC)), ignore_errors=True)  # no runs left from a former test run
    open_page("")  # the entry page first: a deep link into a fresh server skips st.navigation (see report)
    open_page("sweeps")
    set_text(page, "Values of axis 1", "1, 2")
    set_text(page, "Values of axis 2", "4, 16")
    seeds = page.get_by_label("Seeds", exact=True)
    seeds.fill("2")
    seeds.press("Enter")
    wait_idle(page)
    page.get_by_text("4 configs × 2 seeds = 8 runs").wait_for()
    page.get_by_role("button", name="Start sweep").click()
    progress = page.locator('[data-testid="stProgress"]')
    progress.wait_for(timeout=60_000)
    assert "runs" in page.locator('[data-testid="stApp"]').inner_text()
    page.get_by_text("Done: 8 runs.").wait_for(timeout=240_000)
    wait_idle(page)
    assert_no_exception(page)
    plots = page.locator(".js-plotly-plot")
    expect(plots).to_have_count(2, timeout=30_000)  # heatmap and lines (the second may still be drawing)
    heatmap_text = plots.first.inner_text()
    assert "±" in heatmap_text and "dkvb.keys_per_codebook" in heatmap_text
    plots.first.scroll_into_view_if_needed()  # the app scrolls inside its own container
    screenshot(page, "sweeps_results")

    # Clicking the heatmap's top-right cell (2 codebooks, 16 keys) picks it for the link.
    plots.first.scroll_into_view_if_needed()
    box = plots.first.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    link = page.get_by_role("link", name="Open in Playground")
    expect(link).to_have_attribute("href", re.compile(r"dkvb\.num_codebooks=2"), timeout=30_000)
    wait_idle(page)
    query = parse_qs(urlparse(link.get_attribute("href")).query)
    assert query["dkvb.num_codebooks"] == ["2"] and query["dkvb.keys_per_codebook"] == ["16"]
    with page.expect_popup() as popup:
        link.click()
    playground = popup.value
    wait_idle(playground)
    assert_no_exception(playground)
    assert "dkvb.keys_per_codebook=16" in playground.url
    assert "Page not found" not in playground.locator('[data-testid="stApp"]').inner_text()
    screenshot(playground, "sweeps_opened_in_playground")
