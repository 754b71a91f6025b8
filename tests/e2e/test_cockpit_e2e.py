"""The presenter's cockpit in real Chromium: keys and clicker keys drive the animation, the frame
survives a view toggle, nothing is requested from another host, a story walks its steps, a drawn
stream runs, and presentation mode fits a 1280 x 720 projector. Screenshots of presentation mode,
the dark theme and story mode go to artifacts/screenshots/ (and /work/helpers/shots/cockpit/ when
that folder exists)."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import assert_no_exception, screenshot, wait_idle, wait_rerun

pytestmark = pytest.mark.e2e
SMALL = "train.steps_per_stage=100&record.every=25"
SHOTS = Path("/work/helpers/shots/cockpit")
PLAYER = ".dkvb-player"


def shot(page, name: str, full_page: bool = False) -> None:
    path = screenshot(page, name) if full_page else _viewport_shot(page, name)
    if SHOTS.is_dir():
        shutil.copy(path, SHOTS / path.name)


def _viewport_shot(page, name: str) -> Path:
    from tests.e2e.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def frame(page) -> str:
    return page.locator(PLAYER).first.get_attribute("data-frame") or ""


def title(page) -> str:
    return page.locator(f"{PLAYER} .gtitle").first.text_content() or ""


def wait_drawn(page, name: str | None = None) -> None:
    """The player shows frame ``name`` (any frame if None) and has finished drawing it."""
    check = "p.dataset.drawn === p.dataset.frame" + (f" && p.dataset.frame === '{name}'" if name else "")
    page.wait_for_function(f"() => {{ const p = document.querySelector('{PLAYER}'); return p && {check}; }}")


def press(page, key: str, expect: str) -> None:
    page.keyboard.press(key)
    wait_drawn(page, expect)


def test_keys_drive_the_chart_the_frame_survives_a_toggle_and_nothing_leaves_the_machine(page, app_url):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{app_url}/?{SMALL}")
    wait_idle(page)
    wait_drawn(page, "0")
    assert "step 0 of 400" in title(page)
    for expect in ("1", "2", "3"):
        press(page, "ArrowRight", expect)
    press(page, "ArrowLeft", "2")
    page.keyboard.press("PageDown")  # a clicker's "next": the end of stage 1
    page.wait_for_function("() => document.querySelector('.dkvb-player .gtitle').textContent.includes('step 100 ')")
    kept = frame(page)
    page.get_by_label("Speed").select_option("0.25")
    page.get_by_text("Show held-out points").click()
    wait_rerun(page)
    page.wait_for_function("() => document.querySelector('.dkvb-player .js-plotly-plot').data.length === 3 * 5")
    wait_drawn(page, kept)  # the new figure (held-out points added) opens where the presenter was
    assert "step 100 " in title(page)
    assert page.get_by_label("Speed").input_value() == "0.25"
    page.wait_for_function("() => location.search.includes('view.frame=')")  # the frame is in the link
    page.keyboard.press("Space")
    page.wait_for_function(f"() => document.querySelector('{PLAYER}').dataset.frame !== '{kept}'")
    assert page.locator(PLAYER).get_attribute("data-playing") == "1"
    page.keyboard.press("Space")
    assert page.locator(PLAYER).get_attribute("data-playing") == "0"
    press(page, "End", "16")
    press(page, "Home", "0")
    page.get_by_role("button", name="?").click()
    assert page.get_by_text("Keyboard and clicker").is_visible()
    page.goto(f"{app_url}/keys?{SMALL}")  # a second page: still nothing from elsewhere
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for()
    assert_no_exception(page)
    own = urlparse(app_url).netloc
    outside = [
        u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != own
    ]
    assert not outside, outside
    assert any("/vendor/plotly-" in u for u in requests)  # the chart library came from the app


def test_a_story_walks_its_steps_with_the_clicker(page, app_url):
    page.goto(f"{app_url}/?story=dkvb-paper&step=1")
    wait_idle(page)
    caption = page.locator(".dkvb-story-caption")
    caption.wait_for()
    assert caption.text_content().startswith("Stage 1: every model learns")
    page.wait_for_function(
        "() => (document.querySelector('.dkvb-player .gtitle')||{}).textContent?.includes('step 1,000 ')"
    )
    page.keyboard.press("PageDown")
    page.wait_for_function("() => location.search.includes('step=2')")
    wait_idle(page)
    page.wait_for_function(
        "() => (document.querySelector('.dkvb-player .gtitle')||{}).textContent?.includes('step 2,000 ')"
    )
    assert "the baselines forget" in caption.text_content()
    shot(page, "story_mode")
    page.keyboard.press("PageDown")
    page.wait_for_function(
        "() => (document.querySelector('.dkvb-player .gtitle')||{}).textContent?.includes('step 4,000 ')"
    )
    page.keyboard.press("PageDown")  # step 4 is on the Keys page
    page.get_by_role("heading", name="Keys").first.wait_for()
    page.wait_for_function("() => document.querySelector('.dkvb-story-caption').textContent.startsWith('Why')")
    page.get_by_role("button", name="◀ Previous").click()
    page.wait_for_function("() => location.search.includes('step=3')")
    page.get_by_role("heading", name="Playground").first.wait_for()
    assert_no_exception(page)


def test_a_drawn_stream_runs_and_downloads(page, app_url):
    page.goto(f"{app_url}/?view.figure=draw&{SMALL}")
    wait_idle(page)
    plane = page.locator(".dkvb-draw-plot .nsewdrag").first
    plane.wait_for()
    box = plane.bounding_box()
    assert box is not None

    def stroke(cls: str, stage: str, fx: float, fy: float) -> None:
        page.get_by_label("Class", exact=True).select_option(cls)
        page.get_by_label("Stage", exact=True).select_option(stage)
        x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
        page.mouse.move(x, y)
        page.mouse.down()
        for i in range(1, 13):
            page.mouse.move(x + 10 * i, y + (4 if i % 2 else -4))
        page.mouse.up()

    stroke("0", "0", 0.2, 0.2)
    stroke("1", "0", 0.6, 0.2)
    stroke("2", "1", 0.2, 0.7)
    stroke("3", "1", 0.6, 0.7)
    drawn = int(page.locator(".dkvb-draw").get_attribute("data-points"))
    assert drawn >= 4 * 7
    stroke("3", "1", 0.6, 0.45)
    page.get_by_role("button", name="↶ Undo").click()  # removes the last stroke only
    page.wait_for_function(f"() => document.querySelector('.dkvb-draw').dataset.points === '{drawn}'")
    wait_rerun(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]"
        f".some(e => e.textContent.includes('{drawn} points, 4 classes, 2 stages'))"
    )
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download as CSV").click()
    lines = Path(dl.value.path()).read_text().splitlines()
    assert lines[0] == "Feature_1,Feature_2,Labels,Stage" and len(lines) == drawn + 1
    page.get_by_role("button", name="▶ Run this stream").click()
    wait_rerun(page)
    page.get_by_text("your drawing").first.wait_for()
    wait_drawn(page)
    assert "of 2" in title(page)  # two stages, as drawn
    assert_no_exception(page)


def test_presentation_mode_fits_a_720p_projector_and_the_dark_theme(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        page.goto(f"{app_url}/?present=1&{SMALL}")
        wait_idle(page)
        wait_drawn(page)
        page.wait_for_timeout(400)  # the player's fit to the window
        for selector in (f"{PLAYER} .js-plotly-plot", f"{PLAYER} .dkvb-bar", ".dkvb-play"):
            b = page.locator(selector).first.bounding_box()
            assert b is not None and b["y"] >= 0 and b["y"] + b["height"] <= 720, (selector, b)
            assert b["x"] >= 0 and b["x"] + b["width"] <= 1280, (selector, b)
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('.dkvb-player .gtitle, .dkvb-player .annotation-text')]"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        assert min(sizes) >= 19  # subplot titles 19 px x 1.3; the frame title 21 px x 1.3
        shot(page, "presentation_1280x720")
        page.goto(f"{app_url}/?present=1&embed_options=dark_theme&{SMALL}")
        wait_idle(page)
        wait_drawn(page)
        bg = page.evaluate("() => document.querySelector('.dkvb-player .js-plotly-plot')._fullLayout.paper_bgcolor")
        assert bg == "#0e1117"
        app_bg = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
        assert app_bg == "rgb(14, 17, 23)"
        shot(page, "dark_presentation")
        assert_no_exception(page)
    finally:
        context.close()
