"""The app in a real browser: every page loads clean, controls redraw, the animation plays,
a bad CSV is reported without losing the chart, shared links reproduce a view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    SCRIPT,
    SERVE,
    assert_no_exception,
    free_port,
    screenshot,
    start_server,
    stop_server,
    wait_healthy,
    wait_idle,
    wait_rerun,
)

pytestmark = pytest.mark.e2e
SMALL = "train.steps_per_stage=200&record.every=25"


def plot_title(page, index: int = 0) -> str:
    return page.locator(".js-plotly-plot").nth(index).locator(".gtitle").first.text_content() or ""


@pytest.mark.parametrize(("path", "marker"), [("", "Playground"), ("keys", "Keys"), ("forgetting", "Forgetting")])
def test_each_page_loads_without_an_exception(open_page, path, marker):
    page = open_page(f"{path}?{SMALL}")
    page.get_by_role("heading", name=marker).first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    assert_no_exception(page)
    screenshot(page, f"page_{marker.lower()}")


def test_default_landing_page(open_page):
    page = open_page("")
    page.locator(".js-plotly-plot .imagelayer image").first.wait_for()
    assert_no_exception(page)
    assert page.locator(".js-plotly-plot .imagelayer image").count() == 3  # dkvb, linear, mlp
    screenshot(page, "playground_default")


def test_moving_a_control_redraws_the_chart_and_updates_the_url(open_page):
    page = open_page(f"?{SMALL}")
    metric = page.locator('[data-testid="stMetricValue"]').first
    before = metric.text_content()
    thumb = page.locator('[data-testid="stSidebar"] input[type="range"][aria-label="Keys per codebook"]')
    assert thumb.get_attribute("aria-valuetext") == "64"
    thumb.focus()
    for _ in range(4):  # 64 -> 32 -> 16 -> 8 -> 4 keys
        thumb.press("ArrowLeft")
        wait_rerun(page)
    page.wait_for_function("() => location.search.includes('dkvb.keys_per_codebook=4')")
    assert thumb.get_attribute("aria-valuetext") == "4"
    assert metric.text_content() != before
    assert_no_exception(page)
    screenshot(page, "playground_4_keys")


def test_play_runs_the_animation(open_page):
    page = open_page(f"?{SMALL}")
    start = plot_title(page)
    assert "step 0 " in start
    page.get_by_text("▶ Play").first.click()
    page.wait_for_function(
        "() => !document.querySelector('.js-plotly-plot .gtitle').textContent.includes('step 0 ')", timeout=10_000
    )
    page.wait_for_timeout(1200)
    assert page.locator(".js-plotly-plot .imagelayer image").count() == 3  # regions still drawn while playing
    screenshot(page, "playground_playing")
    page.get_by_text("❚❚ Pause").first.click()
    assert re.search(r"Stage \d of 4", plot_title(page))


def test_a_bad_csv_is_reported_and_the_chart_stays(open_page, tmp_path):
    page = open_page(f"?{SMALL}&view.data=Your%20CSV")
    page.locator(".js-plotly-plot").first.wait_for()
    bad = tmp_path / "bad.csv"
    bad.write_text("Feature_1,Labels\n1.0,0\n2.0,1\n")
    page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(str(bad))
    wait_rerun(page)
    page.get_by_text("missing Feature_2").first.wait_for()
    assert page.locator(".js-plotly-plot").count() >= 1
    assert_no_exception(page)
    screenshot(page, "upload_bad_csv")
    page.locator('[data-testid="stFileChipDeleteBtn"]').first.click()  # removing the file clears its fault
    wait_rerun(page)
    expect(page.get_by_text("The uploaded file was not used")).to_have_count(0)
    assert page.locator(".js-plotly-plot").count() >= 1
    good = tmp_path / "good.csv"
    good.write_text(
        ",Feature_1,Feature_2,Labels\n"
        + "\n".join(f"{i},{(i % 3) * 4 + i * 0.01:.2f},{(i % 2) * 3:.2f},{i % 3}" for i in range(60))
    )
    page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(str(good))
    wait_rerun(page)
    page.get_by_text("Using good.csv").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "upload_good_csv")


@pytest.mark.parametrize(
    ("button", "magic"), [("Animation (GIF)", b"GIF89a"), ("Animation (HTML)", b"<html"), ("Run (JSON)", b"{")]
)
def test_downloads_arrive_as_files(open_page, tmp_path, button, magic):
    page = open_page(f"?{SMALL}")
    page.get_by_text("Share and download").click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=button).click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    data = path.read_bytes()
    assert magic in data[:200] and len(data) > 1000
    assert_no_exception(page)


def test_a_shared_link_reproduces_the_view(open_page):
    page = open_page(f"?{SMALL}&dkvb.keys_per_codebook=4&view.figure=paper")
    page.get_by_text("Stage 1: classes 0, 4").first.wait_for()
    keys = page.locator('[data-testid="stSidebar"] input[type="range"][aria-label="Keys per codebook"]')
    assert keys.get_attribute("aria-valuetext") == "4"
    assert_no_exception(page)
    screenshot(page, "shared_link_paper_figure_4_keys")


def test_a_garbage_link_warns_and_uses_defaults(open_page):
    page = open_page("?dkvb.keys_per_codebook=lots&stream.spread=-3&view.heldout=maybe")
    page.get_by_text("dkvb.keys_per_codebook").first.wait_for()
    text = page.locator('[data-testid="stAlert"]').first.text_content() or ""
    assert "stream.spread" in text and "view.heldout" in text
    assert_no_exception(page)
    screenshot(page, "garbage_link_warning")


def test_presentation_mode_hides_the_controls(open_page):
    page = open_page(f"?{SMALL}&present=1")
    page.locator(".js-plotly-plot").first.wait_for()
    assert (
        page.locator('[data-testid="stSidebar"]').is_hidden() or page.locator('[data-testid="stSidebar"]').count() == 0
    )
    page.get_by_role("button", name=re.compile("Exit presentation")).wait_for()
    screenshot(page, "presentation_mode")
    page = open_page("images?present=1")  # a page with its own controls: no dead "open sidebar" button either
    page.locator(".js-plotly-plot").first.wait_for()
    for control in ("stExpandSidebarButton", "stSidebarCollapsedControl"):
        assert all(not el.is_visible() for el in page.locator(f'[data-testid="{control}"]').all())


def test_keys_page_tells_the_4_vs_64_keys_story(open_page):
    page = open_page(f"keys?{SMALL}&dkvb.keys_per_codebook=4&view.compare=1")
    page.get_by_text("4 keys").first.wait_for()
    page.get_by_text("64 keys").first.wait_for()
    wait_idle(page)
    # page charts (key map, overlap, touched, usage) + a key map and an overlap for 4 and for 64 keys
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 8", timeout=30_000)
    assert_no_exception(page)
    page.get_by_role("heading", name="4 keys fail, 64 keys work").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshot(page, "keys_4_vs_64").with_name("keys_4_vs_64_viewport.png")))


@pytest.mark.parametrize("entry", [SERVE, SCRIPT])
def test_a_deep_link_opened_first_on_a_fresh_server_gets_the_whole_app(browser, tmp_path, entry):
    """Either entry (the warm-start server or the page script alone) serves the whole app to a deep link
    opened first; a pages/ folder next to app/main.py must not switch on the old file-based navigation."""
    port = free_port()
    proc = start_server(port, tmp_path / "fresh.log", entry)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/keys?{SMALL}&dkvb.keys_per_codebook=4")
        wait_idle(page)
        page.locator('[data-testid="stMetricValue"]').first.wait_for()
        keys = page.locator('[data-testid="stSidebar"] input[type="range"][aria-label="Keys per codebook"]')
        keys.wait_for(state="attached")
        assert keys.get_attribute("aria-valuetext") == "4"
        assert page.locator('[data-testid="stMetricValue"]').first.text_content() == "1 × 4"
        assert page.get_by_role("link", name="main", exact=True).count() == 0  # no old-style page list
        assert page.get_by_role("link", name="Playground").count() == 1
        assert_no_exception(page)
        screenshot(page, f"fresh_server_deep_link_keys_{Path(entry).stem}")
        context.close()
    finally:
        stop_server(proc)
