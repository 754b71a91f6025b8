"""Regression chart builders on real small runs: traces, frames, ranges and the numbers they carry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.charts import regression as charts
from dkvb_core import Config, run

SMALL = {"task": "regression", "train": {"steps_per_stage": 60, "models": ["dkvb", "linear", "mlp"]}}


@pytest.fixture(scope="module")
def sweep():
    return run(Config.from_dict({**SMALL, "record": {"every": 20}, "regression": {"num_stages": 3}}))


@pytest.fixture(scope="module")
def tasks():
    return run(Config.from_dict({**SMALL, "record": {"every": 0}, "regression": {"kind": "sine-tasks"}}))


def test_animation_traces_and_frames(sweep):
    fig = charts.prediction_animation(sweep, list(sweep.models))
    doc = json.loads(fig.to_json())
    names = [t["name"] for t in doc["data"]]
    assert names == [
        "true function",
        "earlier stages",
        "current stage",
        "DKVB",
        "Linear probe",
        "MLP",
        "DKVB keys (colour: value)",
    ]
    assert len(doc["frames"]) == sweep.num_frames  # few frames: all sent
    last = doc["frames"][-1]["data"]
    np.testing.assert_allclose(last[4]["y"], sweep.models["linear"].curve_predictions[-1], atol=1e-3)
    np.testing.assert_allclose(last[-1]["marker"]["color"], sweep.models["dkvb"].value_frames[-1].ravel(), atol=1e-3)
    # the last stage's points are bold, the first two stages' faded
    assert len(last[2]["x"]) == 100 and len(last[1]["x"]) == 200
    assert doc["frames"][0]["data"][1]["x"] == []  # before training: no earlier stage
    lo, hi = doc["layout"]["yaxis"]["range"]
    assert lo < sweep.y_train.min() and hi > sweep.y_train.max()
    assert all(lo <= y <= hi for y in last[-1]["y"])  # key ticks inside the plot, at the bottom
    assert len(doc["layout"]["shapes"]) == 3
    assert "end of stage 3" in [s["label"] for s in doc["layout"]["sliders"][0]["steps"]]


def test_stage_ranges_sweep_left_to_right(sweep):
    r = charts.stage_ranges(sweep)
    assert r.shape == (3, 2) and np.all(r[:-1, 1] <= r[1:, 0]) and r[0, 0] >= -5 and r[-1, 1] <= 5


def test_sine_tasks_truth_changes_with_the_stage(tasks):
    doc = json.loads(charts.prediction_animation(tasks, ["dkvb"]).to_json())
    truths = {tuple(np.round(f["data"][0]["y"][:5], 3)) for f in doc["frames"]}
    assert len(truths) == tasks.num_stages  # one true function a stage


def test_mse_matrices_and_forgetting_bars_carry_the_run_numbers(sweep):
    fig = charts.mse_matrices(sweep, ["dkvb", "mlp"])
    fig.to_json()
    assert len(fig.data) == 2
    np.testing.assert_allclose(np.asarray(fig.data[1].z), sweep.mse_matrix("mlp"))
    bars = charts.forgetting_bars(sweep, ["dkvb", "mlp"]).data
    assert [b.name for b in bars] == ["final test MSE, all stages", "forgetting (rise of old stages' MSE)"]
    s = sweep.summaries()
    assert list(bars[1].y) == pytest.approx([s[m]["forgetting_mse_lower_is_better"] for m in ("dkvb", "mlp")])


def test_a_classification_run_is_refused(small_result):
    with pytest.raises(ValueError, match="regression"):
        charts.prediction_animation(small_result, ["dkvb"])


def test_sine_tasks_stages_share_their_inputs_so_nothing_is_shaded(tasks, sweep):
    assert json.loads(charts.prediction_animation(tasks, ["dkvb"]).to_json())["layout"].get("shapes", []) == []
    assert len(json.loads(charts.prediction_animation(sweep, ["dkvb"]).to_json())["layout"]["shapes"]) == 3


def test_downloads_of_a_regression_run(sweep):
    from app import downloads

    text = downloads.metrics_csv(sweep).decode()
    header = text.splitlines()[0].split(",")
    assert {"model", "final_mse_lower_is_better", "forgetting_mse_lower_is_better", "E[0][0]", "E[2][2]"} <= set(header)
    assert "average_accuracy" not in header and len(text.splitlines()) == 1 + len(sweep.models)
    html = downloads.animation_html(charts.prediction_animation(sweep, ["dkvb"]))
    assert b"<html>" in html[:100] and b"end of stage 3" in html
