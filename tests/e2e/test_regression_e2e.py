"""The Regression page in a real browser: the sine sweep animates, the soft readout adds its table,
and the settings go into the link."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, screenshot, wait_idle, wait_rerun

pytestmark = pytest.mark.e2e


def _title(page) -> str:
    return page.locator(".js-plotly-plot .gtitle").first.text_content() or ""


def test_regression_page_plays_and_switches_to_the_soft_readout(open_page):
    page = open_page("regression")
    page.get_by_role("heading", name="Regression").first.wait_for()
    page.get_by_text("DKVB: final MSE").first.wait_for()
    page.locator(".js-plotly-plot").nth(2).wait_for()
    assert_no_exception(page)
    assert "task=regression" in page.url
    assert "Stage 1 of 5" in _title(page) and "step 0 of 2,500" in _title(page)
    screenshot(page, "regression_start")
    legend = page.locator(".js-plotly-plot").first.locator(".legend .traces").all_text_contents()
    for name in ("true function", "current stage", "DKVB", "Linear probe", "MLP", "Joint (i.i.d.)", "DKVB keys"):
        assert any(text.startswith(name) for text in legend), name

    page.get_by_text("▶ Play").first.click()
    page.wait_for_function(
        "() => !document.querySelector('.js-plotly-plot .gtitle').textContent.includes('step 0 of')", timeout=15_000
    )
    page.get_by_text("❚❚ Pause").first.click()
    assert "step 0 of" not in _title(page)

    page.locator('[data-testid="stSidebar"]').get_by_text("soft", exact=True).click()
    wait_rerun(page)
    page.get_by_text("effective keys").first.wait_for()
    assert_no_exception(page)
    assert "dkvb.readout=soft" in page.url
    screenshot(page, "regression_soft")

    page.goto(page.url)  # the link alone reproduces the view
    wait_idle(page)
    page.get_by_text("effective keys").first.wait_for()
    assert_no_exception(page)


def test_regression_csv_upload_bad_then_good(open_page, tmp_path):
    page = open_page("regression?task=regression&train.steps_per_stage=50&train.optimizer=adam&view.regdata=csv")
    page.get_by_text("Upload a CSV with columns x, y").first.wait_for()
    bad = tmp_path / "bad.csv"
    bad.write_text("x,z\n1,2\n3,4\n")
    page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(str(bad))
    wait_rerun(page)
    page.get_by_text("bad.csv: columns: missing y").first.wait_for()
    assert page.locator(".js-plotly-plot").count() == 0
    assert_no_exception(page)
    good = tmp_path / "good.csv"
    good.write_text("x,y\n" + "\n".join(f"{i / 20:.3f},{(i / 20) ** 2:.4f}" for i in range(100)))
    page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(str(good))
    wait_rerun(page)
    page.locator(".js-plotly-plot").nth(2).wait_for()
    assert_no_exception(page)
    screenshot(page, "regression_csv")
