"""The online stream (OSAKA): the Markov chain's statistics, labels, metrics from the step log, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dkvb_core import Config, ConfigError, RunResult, build_stream, preset, run, run_seeds
from dkvb_core.cli import main as cli_main
from dkvb_core.online_schedule import online_schedule, switch_points
from dkvb_core.streams.images import fashion_missing

SMALL = {"online": {"enabled": True, "steps": 400, "pretrain_steps": 50}, "record": {"every": 50, "grid_size": 20}}


def small(**updates) -> Config:
    return Config.from_dict(SMALL).replace(**updates)


@pytest.fixture(scope="module")
def toy_run() -> RunResult:
    return run(small(**{"train.models": ["dkvb", "linear", "mlp", "joint"], "joint.lr": 0.05}))


@pytest.mark.parametrize("p", [0.9, 0.98])
def test_segment_lengths_are_geometric(p):
    lengths = []
    for seed in range(200):
        starts = switch_points(p, 5000, np.random.default_rng(seed))
        lengths.extend(np.diff(starts))  # complete segments only (the last one is cut by the stream's end)
    lengths = np.asarray(lengths)
    mean, se = lengths.mean(), lengths.std() / np.sqrt(len(lengths))
    assert abs(mean - 1 / (1 - p)) < 4 * se
    assert abs((lengths == 1).mean() - (1 - p)) < 0.01  # P(L = 1) = 1 - p
    assert abs((lengths <= 10).mean() - (1 - p**10)) < 0.02  # P(L <= 10) = 1 - p^10


def test_modes_follow_their_probabilities():
    config = small(**{"online.steps": 5000, "online.p": 0.9, "online.mode_probs": [0.6, 0.3, 0.1]})
    stream = build_stream(config)
    seg_modes, step_modes = [], []
    for seed in range(40):
        sched = online_schedule("stream", stream, config.replace(seed=seed))
        log = sched.online
        seg = log.segment[log.pretrain_steps :]
        first = np.flatnonzero(np.diff(seg, prepend=-1) != 0) + log.pretrain_steps
        seg_modes.extend(log.mode[first])
        step_modes.extend(log.mode[log.pretrain_steps :])
    for counts, n in ((np.bincount(seg_modes, minlength=3), len(seg_modes)), (np.bincount(step_modes), None)):
        share = counts / counts.sum()
        tol = 0.015 if n else 0.03  # steps come in correlated runs: a looser bound
        np.testing.assert_allclose(share, [0.6, 0.3, 0.1], atol=tol)


@pytest.mark.parametrize("rule", ["global", "task_local"])
def test_labels_follow_the_rule(rule):
    config = small(**{"online.labels": rule, "online.p": 0.9})
    stream = build_stream(config)
    sched = online_schedule("stream", stream, config)
    log, pre = sched.online, config.online.pretrain_steps
    y = stream.y_train[sched.rows]
    assert np.isin(y[:pre], stream.stage_classes[0]).all()  # pre-training: mode 0 only
    for t in range(pre, sched.total):
        classes = log.task_classes[log.task[t]]
        assert set(y[t]) <= set(classes.tolist())
        assert set(y[t]) <= set(log.mode_classes[log.mode[t]])
        want = y[t] if rule == "global" else np.array([list(classes).index(c) for c in y[t]])
        np.testing.assert_array_equal(sched.labels[t], want)
    if rule == "task_local":
        assert sched.labels.max() < config.online.n_way


def test_online_metrics_match_a_plain_recount(toy_run):
    """Per-mode online accuracy and recovery recomputed with plain loops over the step log."""
    r, k, pre = toy_run, toy_run.config.online.recovery_k, toy_run.config.online.pretrain_steps
    log = r.online
    for name in ("dkvb", "linear", "mlp"):
        s = r.summary(name)
        acc = [c / r.batch_size for c in r.models[name].step_correct.tolist()]
        by_mode: dict[int, list[float]] = {}
        for t in range(pre, len(acc)):
            by_mode.setdefault(int(log.mode[t]), []).append(acc[t])
        assert s["online_accuracy"] == pytest.approx(sum(acc[pre:]) / len(acc[pre:]))
        for m, values in by_mode.items():
            assert s["online_accuracy_per_mode"][m] == pytest.approx(sum(values) / len(values))
        segments: list[tuple[int, int, int]] = []  # (task, first step, end)
        for t in range(pre, len(acc)):
            if t == pre or log.segment[t] != log.segment[t - 1]:
                segments.append((int(log.task[t]), t, t + 1))
            else:
                segments[-1] = (segments[-1][0], segments[-1][1], t + 1)
        gaps = []
        for i, (task, a, b) in enumerate(segments):
            prev = [seg for seg in segments[:i] if seg[0] == task]
            if prev:
                _, pa, pb = prev[-1]
                first = acc[a : min(a + k, b)]
                before = acc[max(pb - k, pa) : pb]
                gaps.append(sum(first) / len(first) - sum(before) / len(before))
        assert s["returns"] == len(gaps) > 0
        assert s["recovery_gap"] == pytest.approx(sum(gaps) / len(gaps))


def test_step_correct_matches_a_float64_linear_probe():
    """The recorded online hits of the linear probe equal a float64 brute-force replay of the same batches."""
    config = small(**{"train.models": ["linear"], "online.labels": "task_local"})
    r = run(config)
    stream = build_stream(config)
    sched = online_schedule("stream", stream, config)
    x, n_out, lr = stream.x_train.astype(np.float64), config.online.n_way, config.linear.lr
    W, b = np.zeros((2, n_out)), np.zeros(n_out)
    hits = []
    for rows, y in zip(sched.rows, sched.labels, strict=True):
        logits = x[rows] @ W + b
        tie = logits.max(axis=1) == logits.min(axis=1)
        hits.append(int(((logits.argmax(axis=1) == y) & ~tie).sum()))
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        W -= lr * x[rows].T @ p / len(y)
        b -= lr * p.mean(axis=0)
    mismatch = np.abs(np.asarray(hits) - r.models["linear"].step_correct).sum()
    assert mismatch <= 0.002 * sum(hits)  # float32 vs float64: a near-tie may flip, nothing more


def test_runs_are_deterministic_and_seeds_differ():
    config = small(**{"train.models": ["dkvb", "mlp", "joint"]})
    a, b = run(config), run(config)
    for name in a.models:
        np.testing.assert_array_equal(a.models[name].step_correct, b.models[name].step_correct)
        np.testing.assert_array_equal(a.models[name].grid_predictions, b.models[name].grid_predictions)
    np.testing.assert_array_equal(a.online.task, b.online.task)
    together = run_seeds(config, [0, 1])
    np.testing.assert_array_equal(together[0].models["mlp"].step_correct, a.models["mlp"].step_correct)
    assert not np.array_equal(together[1].online.mode, a.online.mode)


def test_dkvb_keys_sit_on_the_pretraining_data_only(toy_run):
    keys = toy_run.keys_2d.reshape(-1, 2)
    pre = toy_run.x_train[toy_run.stage_train == 0]
    assert np.linalg.norm(keys, axis=1).max() <= np.linalg.norm(pre, axis=1).max() + 1e-4
    ood = toy_run.x_train[toy_run.stage_train > 0]
    assert np.linalg.norm(ood, axis=1).min() > np.linalg.norm(keys, axis=1).max()  # OoD groups lie elsewhere


def test_joint_trains_on_the_same_batches_shuffled(toy_run):
    order = toy_run.models["joint"].step_order
    pre = toy_run.config.online.pretrain_steps
    assert sorted(order.tolist()) == list(range(len(order)))
    assert (order[:pre] == np.arange(pre)).all() and not (order[pre:] == np.arange(pre, len(order))).all()
    s = toy_run.summary("joint")
    assert s["returns"] == 0 and s["recovery_gap"] is None  # a shuffled order has no returning tasks
    assert toy_run.models["dkvb"].step_order is None


def test_task_local_runs_have_n_way_outputs_and_no_heldout_accuracy():
    r = run(small(**{"online.labels": "task_local", "train.models": ["dkvb", "mlp"]}))
    assert r.models["mlp"].grid_predictions[-1].max() < 2
    assert np.isnan(r.models["dkvb"].stage_accuracy).all()
    assert r.summary("dkvb")["heldout_accuracy_per_mode"] == [None, None, None]


def test_online_run_round_trips_through_json(toy_run):
    back = RunResult.from_json(toy_run.to_json())
    np.testing.assert_array_equal(back.online.segment, toy_run.online.segment)
    assert back.online.mode_classes == toy_run.online.mode_classes
    assert back.summaries() == toy_run.summaries()


@pytest.mark.parametrize(
    ("updates", "field"),
    [
        ({"online.mode_probs": [0.5, 0.2]}, "online.mode_probs"),
        ({"online.n_way": 5}, "online.n_way"),
        ({"online.steps": 50_000, "record.every": 20}, "record.every"),
        ({"online.steps": 0}, "online.steps"),
        ({"online.p": 1.0}, "online.p"),
        ({"online.modes": [[0, 1], [1, 2], [3, 4]]}, "online.modes"),
    ],
)
def test_bad_online_settings_name_their_field(updates, field):
    with pytest.raises(ConfigError) as exc:
        Config.from_dict({"online": {"enabled": True}}).replace(**updates)
    assert field in [f for f, _ in exc.value.problems]


@pytest.mark.skipif(fashion_missing() is not None, reason="Fashion-MNIST is not installed")
def test_digits_online_stream_has_three_modes():
    stream = build_stream(preset("osaka-digits"))
    assert stream.stage_classes == ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9), tuple(range(10, 20)))
    assert stream.x_train.shape[1] == 64 and stream.num_classes == 20
    assert set(stream.y_train[stream.pretrain_rows]) == {0, 1, 2, 3, 4}
    assert stream.class_names[10] == "T-shirt/top"


def test_cli_osaka_preset_reports_online_figures(tmp_path, capsys):
    out = tmp_path / "m.json"
    sets = ["--set", "online.steps=200", "--set", "online.pretrain_steps=20"]
    code = cli_main(["run", "--preset", "osaka", *sets, "--out", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    for name in ("dkvb", "linear", "mlp", "joint"):
        assert len(doc["results"][name]["online_accuracy_per_mode"]) == 3
        assert 0 <= doc["results"][name]["online_accuracy"] <= 1


def test_a_sweep_takes_online_fields_as_axes(tmp_path):
    from dkvb_core.sweep import parse_spec, run_sweep

    base = {"online": {"enabled": True, "steps": 150, "pretrain_steps": 20}, "train": {"models": ["dkvb", "mlp"]}}
    axes = {"online.p": [0.9, 0.98], "dkvb.keys_per_codebook": [4, 64]}
    out = run_sweep(parse_spec({"name": "o", "base": base, "axes": axes, "seeds": 1}), tmp_path, "local", workers=1)
    assert out.complete and len(out.runs) == 4
    assert {"dkvb/online_accuracy", "mlp/online_accuracy_ood", "dkvb/recovery_gap"} <= set(out.runs.columns)
    assert out.runs["dkvb/online_accuracy"].between(0, 1).all()


@pytest.mark.parametrize(("pretrain", "calls"), [(50, [0]), (0, [])])
def test_models_hear_only_the_end_of_pretraining(monkeypatch, pretrain, calls):
    """OSAKA is task-agnostic: no hook at a switch; end_stage(0) once, when deployment starts."""
    from dkvb_core.models.baselines import LinearLearner

    heard: list[int] = []
    monkeypatch.setattr(LinearLearner, "end_stage", lambda self, stage: heard.append(stage))
    run(small(**{"train.models": ["linear"], "online.pretrain_steps": pretrain, "online.p": 0.9}))
    assert heard == calls


def test_fashion_images_shrink_by_averaging_padded_blocks():
    from dkvb_core.streams.online import shrink_images

    img = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    out = shrink_images(img, 8)
    padded = np.zeros((3, 32, 32))
    padded[:, 2:30, 2:30] = img
    want = np.array(
        [
            [[padded[n, 4 * i : 4 * i + 4, 4 * j : 4 * j + 4].mean() for j in range(8)] for i in range(8)]
            for n in range(3)
        ]
    )
    np.testing.assert_array_equal(out, np.rint(want).astype(np.uint8))
    assert shrink_images(img, 28) is img


@pytest.mark.parametrize("rule", ["global", "task_local"])
def test_every_registry_model_runs_on_the_online_stream(rule):
    from dkvb_core.models import model_names

    config = small(**{"train.models": list(model_names()), "online.labels": rule, "online.p": 0.9})
    r = run(config)
    for name in model_names():
        s = r.summary(name)
        assert 0 <= s["online_accuracy"] <= 1, name
        assert len(s["online_accuracy_per_mode"]) == 3
    assert RunResult.from_json(r.to_json()).summaries() == r.summaries()


def test_stage_end_revisits_pretraining_rows_with_the_labels_they_were_seen_with():
    from dkvb_core.engine import _batches, prepare_inputs
    from dkvb_core.online_schedule import pretrain_samples

    config = small(**{"online.labels": "task_local"})
    stream = build_stream(config)
    inputs = prepare_inputs([config], [stream])
    plan = _batches(inputs, "stream")
    rows, labels = pretrain_samples(plan, 50, len(stream.y_train))
    seen = rows[0][0]
    assert set(seen) == set(plan.rows[:50, 0].ravel().tolist())
    last: dict[int, int] = {}
    for r, y in zip(plan.rows[:50, 0].ravel(), plan.labels[:50, 0].ravel(), strict=True):
        last[int(r)] = int(y)
    assert all(labels[0, r] == y for r, y in last.items()) and labels.max() < config.online.n_way


def test_budget_counts_the_online_steps_and_names_them():
    from dkvb_core.budget import Budget, check_budget, estimate

    short, long = preset("osaka"), preset("osaka").replace(**{"online.steps": 40_000, "record.every": 100})
    assert estimate(long).seconds > 5 * estimate(short).seconds  # stage fields unchanged: only online.steps grew
    with pytest.raises(ConfigError) as exc:
        check_budget(long, Budget(seconds=estimate(short).seconds * 2, bytes=None))
    assert "online.steps" in [field for field, _ in exc.value.problems]
