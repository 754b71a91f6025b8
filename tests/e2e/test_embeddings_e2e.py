"""The Embeddings page in a real browser: upload a small .npz, see the charts; a bad file is named and the
charts stay."""

from __future__ import annotations

import numpy as np
import pytest

from tests.e2e.conftest import assert_no_exception, screenshot, wait_idle, wait_rerun

pytestmark = pytest.mark.e2e


def _features(path, nan_row: int | None = None) -> None:
    rng = np.random.default_rng(0)
    means = 4 * rng.normal(size=(6, 32))
    y = np.repeat(np.arange(6), 40)
    x = (means[y] + rng.normal(size=(len(y), 32))).astype(np.float32)
    if nan_row is not None:
        x[nan_row, 3] = np.nan
    np.savez(path, x=x, y=y, stage=y // 2)


def test_upload_a_features_file_and_see_the_charts(open_page, tmp_path):
    good, bad = tmp_path / "my_embeddings.npz", tmp_path / "broken.npz"
    _features(good)
    _features(bad, nan_row=7)
    page = open_page("embeddings?view.source=upload&train.steps_per_stage=50")
    page.get_by_text("Upload a features file").first.wait_for()
    uploader = page.locator('[data-testid="stSidebar"] input[type="file"][accept*=".npz"]')
    uploader.set_input_files(str(good))
    page.get_by_text("DKVB: final accuracy").first.wait_for()
    page.locator(".js-plotly-plot").nth(4).wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert page.get_by_text("my_embeddings.npz: 192 training and 48 held-out samples of 32 features").count() == 1
    assert page.get_by_text("After stage 3 of 3").count() >= 1  # the PCA view's title, at the last stage
    assert page.locator(".js-plotly-plot").count() == 5
    for heading in ("Accuracy and forgetting", "The features in 2-D", "Keys", "Confusion per stage"):
        assert page.get_by_role("heading", name=heading).count() == 1
    screenshot(page, "embeddings_upload")

    uploader.set_input_files(str(bad))
    page.get_by_text("x: row 7 has a value that is NaN or empty (column 3)", exact=False).first.wait_for()
    wait_rerun(page)
    assert_no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 5  # the good file's results stay
    assert "view.source=upload" in page.url
