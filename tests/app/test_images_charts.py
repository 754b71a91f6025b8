"""Chart builders of the Images page, checked on their data (traces, shapes, ranges, labels)."""

import json

import numpy as np
import pytest

from app.charts import images as charts
from dkvb_core import build_stream, preset, run
from dkvb_core import image_analysis as ia


@pytest.fixture(scope="module")
def digits_run():
    cfg = preset("digits").replace(
        **{
            "train.steps_per_stage": 40,
            "record.every": 0,
            "train.models": ["dkvb", "linear", "mlp"],
            "dkvb.num_codebooks": 4,
            "dkvb.keys_per_codebook": 64,
        }
    )
    return run(cfg), build_stream(cfg)


def _json(fig) -> dict:
    return json.loads(fig.to_json())


def test_accuracy_matrices_one_heatmap_per_model(digits_run):
    result, _ = digits_run
    fig = _json(charts.accuracy_matrices(result, ["dkvb", "mlp"]))
    assert [t["type"] for t in fig["data"]] == ["heatmap", "heatmap"]
    z = np.array(fig["data"][1]["z"])
    np.testing.assert_allclose(z, result.accuracy_matrix("mlp"))
    assert fig["data"][0]["zmin"] == 0 and fig["data"][0]["zmax"] == 1
    assert fig["data"][0]["x"] == ["S1", "S2", "S3", "S4", "S5"]


def test_forgetting_bars_per_model_and_stage(digits_run):
    result, _ = digits_run
    fig = _json(charts.forgetting_bars(result, ["dkvb", "mlp"]))
    assert len(fig["data"]) == 2 and len(fig["data"][0]["x"]) == 4
    mlp = np.array(fig["data"][1]["y"])
    assert mlp.mean() > 0.5  # the MLP forgets
    assert "mean" in fig["data"][1]["name"]


def test_key_usage_heatmap_sorted_into_a_staircase(digits_run):
    result, _ = digits_run
    usage = result.models["dkvb"].key_usage_stages
    fig = _json(charts.key_usage_heatmap(usage, 2))
    trace = fig["data"][0]
    counts = np.array(trace["customdata"])
    assert counts.shape == (5, 64)
    assert counts.sum() == usage[:, 2].sum()
    main = np.where(counts.sum(0) > 0, counts.argmax(0), 5)
    assert list(main) == sorted(main)  # keys ordered by the stage that used them most
    assert sorted(trace["x"]) == list(range(64))


def test_mosaic_tiles_with_gaps():
    imgs = np.arange(3 * 2 * 2).reshape(3, 2, 2).astype(float)
    m = charts.mosaic(imgs, columns=2, gap=1)
    assert m.shape == (5, 5)
    np.testing.assert_array_equal(m[:2, :2], imgs[0])
    np.testing.assert_array_equal(m[3:, :2], imgs[2])
    assert (m[2] == -1).all() and (m[3:, 3:] == -1).all()
    assert charts.mosaic(np.zeros((0, 2, 2)), 3).shape == (0, 0)
    assert charts.mosaic(imgs, columns=2, gap=1, row_gap=3).shape == (7, 5)


def test_key_images_show_the_images_on_the_key(digits_run):
    result, stream = digits_run
    key = int(ia.busiest_keys(result, 0, 1)[0])
    view = ia.key_view(result, stream, 0, key)
    fig = _json(charts.key_images(view, ia.training_images(stream), stream.y_train, stream.class_names, max_images=12))
    shown = min(12, len(view.train_rows))
    assert len(fig["layout"]["annotations"]) == shown
    assert f"key {key}" in fig["layout"]["title"]["text"]
    assert stream.class_names[view.vote] in fig["layout"]["title"]["text"]
    z = np.array(fig["data"][0]["z"], dtype=float)
    rows, cols, gap = -(-shown // 10), min(shown, 10), charts.label_gap(8)
    assert z.shape == (8 * rows + gap * (rows - 1), 8 * cols + cols - 1)


def test_prediction_gallery_rows_per_model_and_stage(digits_run):
    result, stream = digits_run
    rows = ia.gallery_rows(stream, 1, seed=0)
    preds = ia.gallery_predictions(result, stream, rows)
    fig = _json(
        charts.prediction_gallery(ia.held_out_images(stream)[rows], stream.y_test[rows], preds, stream.class_names)
    )
    grid = fig["data"][1]
    assert len(grid["y"]) == 3 * 5 and len(grid["z"][0]) == 10
    # a cell is green (1) exactly when the prediction is right
    z = np.array(grid["z"])
    np.testing.assert_array_equal(z[5:10], (preds["linear"] == stream.y_test[rows]).astype(float))
    assert grid["text"][0][0] in stream.class_names or grid["text"][0][0] == "none"
    assert len(fig["layout"]["annotations"]) == 10


def test_confusion_matrices_one_panel_per_stage(digits_run):
    result, stream = digits_run
    cms = ia.confusion_per_stage(result, stream, "mlp")
    fig = _json(charts.confusion_matrices(cms, stream.class_names, "MLP"))
    assert len(fig["data"]) == 5
    z = np.array(fig["data"][4]["z"])
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=0.01)
    assert fig["data"][0]["y"] == list(stream.class_names)
    with_none = np.zeros((1, 2, 3), int)
    with_none[0, 0, 2] = 4
    with_none[0, 1, 1] = 2
    fig2 = _json(charts.confusion_matrices(with_none, ("a", "b"), "ties"))
    assert fig2["data"][0]["x"] == ["a", "b", "none"]
