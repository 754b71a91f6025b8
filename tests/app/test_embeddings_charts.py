"""The Embeddings page's PCA animation, checked on its data: panels, frames, colours, keys, legend."""

import json

import numpy as np
import pytest

from app.charts import embeddings as charts
from dkvb_core import build_stream, preset, run
from dkvb_core.embedding_view import pca_view


@pytest.fixture(scope="module")
def example_run():
    cfg = preset("digits-embeddings").replace(
        **{"train.steps_per_stage": 40, "record.every": 0, "train.models": ["dkvb", "linear"]}
    )
    stream = build_stream(cfg)
    result = run(cfg, stream=stream)
    return result, stream, pca_view(result, stream, codebook=2, max_points=200)


def test_one_panel_a_model_and_a_frame_a_stage(example_run):
    result, _, view = example_run
    fig = json.loads(charts.pca_animation(result, view, ["dkvb", "linear"]).to_json())
    kinds = [(t["name"], t.get("xaxis")) for t in fig["data"][:3]]
    assert kinds == [("keys of codebook 2", "x"), ("DKVB", "x"), ("Linear probe", "x2")]
    assert len(fig["data"]) == 3 + 10  # keys, two panels, a legend entry a class
    assert [f["name"] for f in fig["frames"]] == [str(int(e)) for e in result.stage_end_frames]
    steps = fig["layout"]["sliders"][0]["steps"]
    assert [s["args"][0][0] for s in steps] == [f["name"] for f in fig["frames"]]
    for t, frame in enumerate(fig["frames"]):
        assert len(frame["data"]) == 3  # the legend is never animated
        pred = result.models["linear"].test_predictions[t, view.rows]
        want = np.where(pred == 255, 10, pred)
        np.testing.assert_array_equal(frame["data"][2]["marker"]["color"], want)
        assert f"After stage {t + 1} of 5" in frame["layout"]["title"]["text"]


def test_keys_are_the_owned_ones_coloured_by_their_vote(example_run):
    result, _, view = example_run
    fig = json.loads(charts.pca_animation(result, view, ["dkvb", "linear"]).to_json())
    keys = fig["frames"][-1]["data"][0]
    owned = np.flatnonzero(np.isfinite(view.keys[:, 0]))
    assert keys["customdata"] == owned.tolist()
    votes = result.models["dkvb"].value_votes[result.stage_end_frames[-1], 2, owned]
    np.testing.assert_array_equal(keys["marker"]["color"], np.where(votes == 255, 10, votes))
    sizes = np.array(keys["marker"]["size"])
    assert sizes.min() >= 4 and sizes.max() == pytest.approx(13)  # the busiest key of the stage is largest


def test_without_dkvb_no_keys_and_ranges_cover_every_point(example_run):
    result, _, view = example_run
    fig = json.loads(charts.pca_animation(result, view, ["linear"]).to_json())
    assert fig["data"][0]["name"] == "Linear probe"
    x0, x1 = fig["layout"]["xaxis"]["range"]
    assert x0 < view.points[:, 0].min() and view.points[:, 0].max() < x1
    assert "PC1 (" in charts.axes_note(view) and "PC2 (" in charts.axes_note(view)


def test_prediction_scale_puts_no_class_last_in_grey():
    scale = charts.prediction_scale(3)
    assert len(scale) == 8 and scale[-1] == [1.0, charts.NONE_COLOUR]
    assert charts.colour_ids(np.array([0, 2, 255]), 3) == [0, 2, 3]


def test_more_than_four_models_wrap_into_rows_of_three(example_run):
    result, _, view = example_run
    models = ["dkvb", "linear", "dkvb", "linear", "linear"]  # five panels (names may repeat for the layout)
    fig = json.loads(charts.pca_animation(result, view, models, height=400).to_json())
    assert charts.panel_columns(5) == 3 and charts.panel_columns(4) == 4
    assert fig["layout"]["height"] == 700  # two rows
    assert fig["data"][5]["xaxis"] == "x5"  # the fifth panel (after the keys trace)
    assert fig["layout"]["yaxis4"]["domain"][1] < fig["layout"]["yaxis"]["domain"][0]  # on the second row
