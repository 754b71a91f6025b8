"""The engine: what the paper shows, frames, key usage, determinism, seeds, result files."""

import json

import numpy as np
import pytest

from dkvb_core import Config, RunResult, run, run_seeds
from dkvb_core.streams import load_csv_stream

FAST = {"train": {"steps_per_stage": 200}, "record": {"every": 50, "grid_size": 30}}


@pytest.fixture(scope="module")
def default_run() -> RunResult:
    return run(Config())


def test_dkvb_keeps_what_baselines_forget(default_run):
    s = default_run.summaries()
    assert s["dkvb"]["average_accuracy"] >= 0.97
    assert s["linear"]["average_accuracy"] <= 0.40
    assert s["mlp"]["average_accuracy"] <= 0.40
    assert s["dkvb"]["forgetting"] < 0.02 < 0.5 < s["mlp"]["forgetting"]


def test_four_keys_fail_because_keys_are_shared():
    r = run(Config.from_dict({"dkvb": {"keys_per_codebook": 4}, "train": {"models": ["dkvb"]}}))
    assert r.summary("dkvb")["average_accuracy"] <= 0.6
    usage = r.models["dkvb"].key_usage_stages[:, 0] > 0  # (T, K): keys fetched in each stage
    assert (usage[0] & usage[1:]).any()  # a key of stage 0 is fetched again later


def test_frames_and_shapes(default_run):
    r = default_run
    assert r.frame_steps[0] == 0 and r.frame_steps[-1] == 4000
    assert len(r.frame_steps) == 4000 // 50 + 1
    assert list(r.frame_steps[r.stage_end_frames]) == [1000, 2000, 3000, 4000]
    m = r.models["dkvb"]
    assert m.grid_predictions.shape == (r.num_frames, 100 * 100) and m.grid_predictions.dtype == np.uint8
    assert m.stage_accuracy.shape == (r.num_frames, 4)
    assert m.key_usage_frames.shape == (r.num_frames, 1, 64)
    assert m.step_loss.shape == (4000,) and m.test_predictions.shape == (4, 800)
    assert r.keys_2d.shape == (1, 64, 2) and r.grid_key_index.shape == (1, 100 * 100)
    # frame 0 is before training: untouched values vote for no class
    assert np.all(m.value_votes[0] == 255) and np.all(m.grid_predictions[0] == 255)


def test_accuracy_matrix_is_stage_end_frames(default_run):
    R = default_run.accuracy_matrix("mlp")
    ends = default_run.stage_end_frames
    np.testing.assert_array_equal(R, default_run.models["mlp"].stage_accuracy[ends])
    # after stage 0 the MLP knows stage 0 only
    assert R[0, 0] > 0.9 and R[0, 1:].max() < 0.1


def test_key_usage_counts_every_fetch(default_run):
    m = default_run.models["dkvb"]
    per_stage = m.key_usage_stages.sum(axis=(1, 2))
    assert per_stage.tolist() == [1000 * 10] * 4
    assert m.key_usage_frames[-1].sum() == 4000 * 10
    np.testing.assert_array_equal(m.key_usage_frames[-1], m.key_usage_stages.sum(axis=0))


def test_only_fetched_values_change_with_sgd(default_run):
    m = default_run.models["dkvb"]
    fetched_between = np.diff(m.key_usage_frames, axis=0) > 0
    changed = m.values_changed[1:]
    assert not (changed & ~fetched_between).any()
    assert changed.any()


def test_online_accuracy_and_loss(default_run):
    online = default_run.online_accuracy("dkvb")
    assert online.shape == (4000,) and 0.9 < online[-1] <= 1.0
    loss = default_run.models["linear"].step_loss
    assert loss[0] == pytest.approx(np.log(8), rel=1e-5)  # zero-initialised probe: uniform softmax
    assert loss[-100:].mean() < loss[:10].mean()


def test_same_config_same_numbers():
    a, b = run(Config.from_dict(FAST)), run(Config.from_dict(FAST))
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        for m in d["models"].values():
            m.pop("seconds")
    assert json.dumps(da) == json.dumps(db)


def test_seeds_vectorised_equal_separate_runs():
    cfg = Config.from_dict({**FAST, "train": {"steps_per_stage": 100, "models": ["dkvb", "linear", "mlp", "joint"]}})
    together = run_seeds(cfg, [3, 4])
    alone = run(cfg.replace(seed=4))
    for name in ("dkvb", "linear", "mlp", "joint"):
        np.testing.assert_allclose(
            together[1].models[name].stage_accuracy, alone.models[name].stage_accuracy, atol=1e-6
        )
        np.testing.assert_array_equal(together[1].models[name].grid_predictions, alone.models[name].grid_predictions)
    assert not np.array_equal(together[0].x_train, together[1].x_train)


def test_a_models_numbers_do_not_depend_on_the_other_models_run():
    alone = run(Config.from_dict({**FAST, "train": {"models": ["mlp"], "steps_per_stage": 100}}))
    together = run(Config.from_dict({**FAST, "train": {"models": ["linear", "dkvb", "mlp"], "steps_per_stage": 100}}))
    np.testing.assert_array_equal(alone.models["mlp"].stage_accuracy, together.models["mlp"].stage_accuracy)


def test_joint_reference_learns_everything():
    r = run(Config.from_dict({"train": {"models": ["joint"], "steps_per_stage": 500}}))
    assert r.summary("joint")["average_accuracy"] > 0.9


@pytest.mark.parametrize(
    "dkvb",
    [
        {"num_codebooks": 4, "keys_per_codebook": 32},
        {"num_codebooks": 2, "split": "chunk", "keys_per_codebook": 16},
        {"topk": 3, "keys_per_codebook": 64},
        {"decoder": "linear", "dim_values": 6},
        {"key_init": "random"},
        {"ema_epochs": 2, "threshold_ema_dead_code": 0.5},
        {"value_init": "normal"},
    ],
)
def test_dkvb_variants_run_and_learn(dkvb):
    r = run(Config.from_dict({**FAST, "dkvb": dkvb, "train": {"models": ["dkvb"], "steps_per_stage": 300}}))
    assert r.summary("dkvb")["average_accuracy_seen"][0] > 0.8


def test_adam_runs():
    r = run(Config.from_dict({**FAST, "train": {"optimizer": "adam", "steps_per_stage": 100}}))
    assert set(r.models) == {"dkvb", "linear", "mlp"}


def test_csv_stream_runs_without_grid_when_disabled():
    text = "Feature_1,Feature_2,Labels\n" + "".join(f"{i % 3 * 4 + 0.01 * i},{i % 3 * -4},{i % 3}\n" for i in range(60))
    stream = load_csv_stream(text.encode(), classes_per_stage=1)
    cfg = Config.from_dict(
        {"train": {"steps_per_stage": 50}, "record": {"grid_size": 0}, "dkvb": {"keys_per_codebook": 8}}
    )
    r = run(cfg, stream=stream)
    assert r.grid is None and r.num_stages == 3
    assert r.models["dkvb"].grid_predictions is None
    assert r.summary("dkvb")["average_accuracy"] > 0.9


def test_progress_is_reported_for_keys_and_training():
    seen = []
    run(
        Config.from_dict({**FAST, "train": {"models": ["dkvb", "linear"], "steps_per_stage": 500}}),
        progress=lambda d, t, phase: seen.append((d, t, phase)),
    )
    assert seen[0][2] == "keys" and ("keys" in {p for *_, p in seen})
    train = [(d, t) for d, t, p in seen if p == "train"]
    assert train[-1] == (2000, 2000) and len(train) >= 40  # often enough to cancel a run quickly


def test_a_progress_callback_can_cancel_a_run():
    from dkvb_core.progress import RunCancelled

    calls = []

    def stop_after_three(done: int, total: int, phase: str) -> None:
        calls.append(phase)
        if phase == "train" and len(calls) > 3:
            raise RunCancelled("newer settings")

    with pytest.raises(RunCancelled):
        run(Config.from_dict({**FAST, "train": {"models": ["mlp"], "steps_per_stage": 500}}), progress=stop_after_three)
    assert len(calls) == 4


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_result_file_round_trip_is_lossless(tmp_path, suffix):
    r = run(Config.from_dict(FAST))
    path = tmp_path / f"run{suffix}"
    r.save(path)
    back = RunResult.load(path)
    assert back.config == r.config and back.stage_classes == r.stage_classes
    for name, m in r.models.items():
        for field in ("stage_accuracy", "step_loss", "grid_predictions", "key_usage_frames", "value_votes"):
            a, b = getattr(m, field), getattr(back.models[name], field)
            if a is None:
                assert b is None
            else:
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.x_train, r.x_train)
    assert back.grid.size == r.grid.size
    assert back.summaries() == r.summaries()
