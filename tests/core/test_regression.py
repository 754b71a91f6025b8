"""Regression: the 1-D streams, the MSE metrics (lower is better), the engine's regression record and
the refusal of models that cannot regress."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from dkvb_core import Config, ConfigError, DataError, RunResult, build_stream, metrics, run, run_seeds
from dkvb_core.models import REGISTRY
from dkvb_core.streams.regression_csv import load_regression_csv
from dkvb_core.streams.sine_sweep import sweep_function

FAST = {"task": "regression", "train": {"steps_per_stage": 80, "models": ["dkvb", "linear", "mlp", "joint"]}}


def cfg(**regression) -> Config:
    return Config.from_dict({**FAST, "regression": regression, "mlp": {"lr": 0.01}, "record": {"every": 40}})


def test_sine_sweep_stages_sweep_left_to_right_and_test_is_noise_free():
    s = build_stream(cfg(num_stages=5, noise=0.3))
    assert s.task == "regression" and s.num_stages == 5 and s.num_classes == 1 and s.input_dim == 1
    edges = np.linspace(-5, 5, 6)
    for t in range(5):
        xs = s.x_train[s.stage_train == t, 0]
        assert xs.min() >= edges[t] and xs.max() <= edges[t + 1]
        xt = s.x_test[s.stage_test == t, 0]
        assert xt.min() >= edges[t] and xt.max() <= edges[t + 1]
    np.testing.assert_allclose(s.y_test, sweep_function(s.x_test[:, 0].astype(np.float64)), atol=1e-5)
    assert np.std(s.y_train - sweep_function(s.x_train[:, 0].astype(np.float64))) == pytest.approx(0.3, abs=0.05)
    assert s.curve_true.shape == (5, 200)


def test_sine_tasks_each_stage_its_own_sinusoid_over_the_whole_range():
    s = build_stream(cfg(kind="sine-tasks", num_stages=6, noise=0.0))
    for t in range(6):
        xs = s.x_test[s.stage_test == t, 0]
        assert xs.min() < -3 and xs.max() > 3  # every stage covers the range
        amp = np.abs(s.curve_true[t]).max()
        assert 0.1 <= amp <= 5.0
        # the targets lie on the stage's own curve
        np.testing.assert_allclose(np.interp(xs, s.curve_x, s.curve_true[t]), s.y_test[s.stage_test == t], atol=0.02)
    assert len({round(float(np.abs(c).max()), 3) for c in s.curve_true}) == 6  # different amplitudes


def test_regression_csv_with_and_without_stage():
    x = np.linspace(0, 1, 60)
    text = "x,y\n" + "\n".join(f"{a},{2 * a}" for a in x)
    s = load_regression_csv(text.encode(), num_stages=3)
    assert s.num_stages == 3 and s.task == "regression"
    assert s.x_train[s.stage_train == 0].max() < s.x_train[s.stage_train == 2].min()  # contiguous x-ranges
    staged = "x,y,Stage\n" + "\n".join(f"{a},{a},{i % 2 * 7}" for i, a in enumerate(x))
    assert load_regression_csv(staged.encode()).num_stages == 2


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,b\n1,2\n", "missing x, y"),
        ("x,y,z\n1,2,3\n", "unexpected z"),
        ("x,y\n1,2\nfoo,3\n", "x: empty or non-numeric"),
        ("x,y\n1,\n2,3\n", "y: empty"),
        ("x,y,Stage\n1,2,0.5\n2,3,1\n", "Stage: must hold whole numbers"),
        ("x,y\n1,2\n2,3\n", "every stage needs at least 2 rows"),
    ],
)
def test_regression_csv_faults_are_named(text, match):
    with pytest.raises(DataError, match=match):
        load_regression_csv(text.encode(), num_stages=2)


def test_mse_metrics_against_hand_computed_values():
    E = np.array([[0.1, 2.0, 3.0], [0.5, 0.2, 3.0], [0.4, 0.9, 0.3]])
    # forgetting: stage 0 final 0.4 vs best 0.1 -> 0.3; stage 1 final 0.9 vs best 0.2 -> 0.7
    assert metrics.forgetting_mse(E) == pytest.approx(0.5)
    assert metrics.bwt_mse(E) == pytest.approx(((0.4 - 0.1) + (0.9 - 0.2)) / 2)
    assert metrics.online_mse(np.array([1.0, 3.0, 2.0])).tolist() == [1.0, 2.0, 2.0]
    s = metrics.regression_summary(E)
    assert s["final_mse_lower_is_better"] == pytest.approx(np.mean([0.4, 0.9, 0.3]))
    assert all(k.endswith("_lower_is_better") for k in s)


@pytest.fixture(scope="module")
def sweep_result() -> RunResult:
    return run(cfg())


def test_regression_run_records_mse_curves_and_keys(sweep_result):
    r = sweep_result
    F, T = r.num_frames, r.num_stages
    for name, rec in r.models.items():
        assert rec.stage_mse.shape == (F, T) and rec.stage_accuracy.shape == (F, 0), name
        assert rec.curve_predictions.shape == (F, 200) and rec.curve_predictions.dtype == np.float32
        assert np.isfinite(rec.stage_mse).all()
    assert r.models["dkvb"].value_frames.shape == (F, 1, 64)
    assert r.keys_2d.shape == (1, 64, 1) and r.curve_x.shape == (200,)
    assert r.x_train.shape[1] == 1 and r.y_train.dtype == np.float32


def test_dkvb_keeps_the_swept_ranges_and_the_mlp_forgets(sweep_result):
    s = sweep_result.summaries()
    assert s["dkvb"]["forgetting_mse_lower_is_better"] < 0.05
    assert s["mlp"]["forgetting_mse_lower_is_better"] > 5 * max(s["dkvb"]["forgetting_mse_lower_is_better"], 0.01)
    assert s["dkvb"]["final_mse_lower_is_better"] < s["linear"]["final_mse_lower_is_better"]
    assert "online_mse_lower_is_better" in s["dkvb"] and "average_accuracy" not in s["dkvb"]
    json.dumps(s)  # JSON-ready


def test_recorded_stage_mse_equals_brute_force(sweep_result):
    r = sweep_result
    stream = build_stream(r.config)
    pred = r.models["mlp"].test_predictions[-1].astype(np.float64)
    err = (pred - stream.y_test.astype(np.float64)) ** 2
    want = [err[stream.stage_test == t].mean() for t in range(r.num_stages)]
    np.testing.assert_allclose(r.mse_matrix("mlp")[-1], want, rtol=1e-5)


def test_regression_runs_are_deterministic_and_round_trip(sweep_result):
    again = run_seeds(sweep_result.config, [0])[0]
    for name in sweep_result.models:
        assert np.array_equal(again.models[name].stage_mse, sweep_result.models[name].stage_mse)
    back = RunResult.from_json(sweep_result.to_json())
    assert back.summaries() == sweep_result.summaries()


def test_a_model_that_cannot_regress_is_refused(monkeypatch):
    monkeypatch.setitem(REGISTRY, "linear", dataclasses.replace(REGISTRY["linear"], tasks=("classification",)))
    with pytest.raises(ConfigError) as exc:
        Config.from_dict({"task": "regression", "train": {"models": ["dkvb", "linear"]}})
    assert exc.value.problems[0][0] == "train.models"
    assert "linear cannot do regression" in exc.value.problems[0][1]
    Config.from_dict({"task": "regression", "train": {"models": ["dkvb"]}})  # fine without it


def test_regression_config_faults_are_named():
    with pytest.raises(ConfigError, match=r"regression.x_max"):
        Config.from_dict({"task": "regression", "regression": {"x_min": 1, "x_max": 0}})
    with pytest.raises(ConfigError, match=r"regression.noise"):
        Config.from_dict({"regression": {"noise": -1}})
    with pytest.raises(ConfigError, match=r"dkvb.dim_values"):
        Config.from_dict({"task": "regression", "dkvb": {"dim_values": 3}})
    with pytest.raises(ConfigError, match=r"mlp.widths"):
        Config.from_dict({"mlp": {"widths": []}})
    with pytest.raises(ConfigError, match="task"):
        Config.from_dict({"task": "ranking"})


def test_a_sweep_task_of_a_regression_config_keeps_the_mse_figures():
    from dkvb_core.sweep.task import REGRESSION_METRICS, Task, run_task

    config = cfg(num_stages=2)
    rows = run_task(Task("c0", config.to_json(), (0,), ("r0",), (("dkvb.lr", 0.1),)))
    assert set(rows[0]["metrics"]) == {f"{m}/{name}" for m in config.train.models for name in REGRESSION_METRICS}


def test_run_files_of_regression_and_soft_readout_runs_are_checked(sweep_result):
    doc = json.loads(sweep_result.to_json())
    bad = json.loads(json.dumps(doc))
    rec = bad["models"]["mlp"]
    mse = RunResult.from_dict(doc).models["mlp"].stage_mse.copy()
    mse[0, 0] = -1.0
    rec["stage_mse"] = RunResult.from_dict(doc).to_dict()["models"]["mlp"]["stage_mse"] | {
        "__ndarray__": __import__("base64").b64encode(mse.tobytes()).decode()
    }
    with pytest.raises(DataError, match=r"models\.mlp\.stage_mse"):
        RunResult.from_dict(bad)
    soft = run(Config.from_dict({"dkvb": {"readout": "soft", "topk": 4}, "train": {"steps_per_stage": 20}}))
    back = RunResult.from_json(soft.to_json())
    np.testing.assert_array_equal(back.models["dkvb"].readout_leak, soft.models["dkvb"].readout_leak)


def test_seeds_run_together_give_the_numbers_of_separate_runs():
    config = Config.from_dict(
        {
            "task": "regression",
            "dkvb": {"readout": "soft", "topk": 4},
            "mlp": {"lr": 0.001},
            "joint": {"lr": 0.003},
            "replay": {"lr": 0.01},
            "train": {
                "steps_per_stage": 40,
                "models": ["dkvb", "linear", "mlp", "joint", "replay"],
                "optimizer": "adam",
            },
            "record": {"every": 20},
        }
    )
    together = run_seeds(config, [0, 1, 2])
    for s in (0, 2):
        alone = run(config.replace(seed=s))
        for name, rec in alone.models.items():
            assert np.isfinite(rec.stage_mse).all(), (s, name)
            assert np.array_equal(rec.stage_mse, together[s].models[name].stage_mse), (s, name)
            assert np.array_equal(rec.curve_predictions, together[s].models[name].curve_predictions), (s, name)
