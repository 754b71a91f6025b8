"""Sweep runner: a small grid end to end on the local pool, tables, budgets, cancel and resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dkvb_core import run_seeds
from dkvb_core.sweep import parse_spec, plan_tasks, run_sweep
from dkvb_core.sweep.table import RUNS_CSV, SUMMARY_CSV, RunLog

# Tiny runs: 4 stages x 15 steps on 15 samples a class.
BASE = {
    "train": {"steps_per_stage": 15, "models": ["dkvb", "linear"]},
    "stream": {"train_per_class": 15, "test_per_class": 10},
}


def small_spec(seeds=2, keys=(4, 16), codebooks=(1, 2)):
    axes = {"dkvb.num_codebooks": list(codebooks), "dkvb.keys_per_codebook": list(keys)}
    return parse_spec({"name": "t", "base": BASE, "axes": axes, "seeds": seeds})


def metric_values(frame):
    cols = [c for c in frame.columns if "/" in c and not c.endswith("seconds")]
    return frame.sort_values("run_id")[cols].to_numpy()


def test_local_pool_runs_a_small_grid_and_matches_a_direct_run(tmp_path):
    spec = small_spec()
    out = run_sweep(spec, tmp_path, "local", workers=2)
    assert out.complete and out.new_runs == 8 and out.skipped_runs == 0 and not out.cancelled
    assert len(out.runs) == 8 and out.runs["run_id"].is_unique
    assert len(out.summary) == 4 and (out.summary["seeds"] == 2).all()
    # Tables on disk, in spec order, one summary row per config.
    summary_csv = (tmp_path / SUMMARY_CSV).read_text().splitlines()
    assert len(summary_csv) == 5 and "dkvb/average_accuracy_mean" in summary_csv[0]
    assert len((tmp_path / RUNS_CSV).read_text().splitlines()) == 9
    assert out.summary[["dkvb.num_codebooks", "dkvb.keys_per_codebook"]].values.tolist() == [
        [1, 4],
        [1, 16],
        [2, 4],
        [2, 16],
    ]
    # A worker's numbers equal run_seeds in this process (same config + seed -> same numbers).
    config = spec.configs()[3]
    direct = run_seeds(config, [0, 1])
    row = out.summary.iloc[3]
    accs = [r.summary("dkvb")["average_accuracy"] for r in direct]
    assert row["dkvb/average_accuracy_mean"] == pytest.approx(np.mean(accs))
    assert row["dkvb/average_accuracy_std"] == pytest.approx(np.std(accs, ddof=1))


def test_inline_and_pool_and_run_grouping_agree(tmp_path):
    spec = small_spec(seeds=2, keys=(8,), codebooks=(1, 2))
    a = run_sweep(spec, tmp_path / "a", "inline")
    b = run_sweep(spec, tmp_path / "b", "local", workers=2, grouping="run")
    np.testing.assert_array_equal(metric_values(a.runs), metric_values(b.runs))


def test_plan_groups_a_configs_seeds_into_one_task_unless_asked():
    spec = small_spec(seeds=3)
    tasks, skipped = plan_tasks(spec, set())
    assert len(tasks) == 4 and skipped == 0 and all(t.seeds == (0, 1, 2) for t in tasks)
    per_run, _ = plan_tasks(spec, set(), grouping="run")
    assert len(per_run) == 12 and all(t.size == 1 for t in per_run)
    done = {tasks[0].run_ids[1], *tasks[1].run_ids}
    again, skipped = plan_tasks(spec, done)
    assert skipped == 4 and len(again) == 3 and again[0].seeds == (0, 2)


def test_budget_stops_early_and_a_second_call_resumes_without_redoing(tmp_path):
    spec = small_spec(seeds=2)
    first = run_sweep(spec, tmp_path, "inline", max_new_runs=4)
    assert first.new_runs == 4 and not first.complete and len(first.summary) == 2
    before = RunLog(tmp_path).read()
    second = run_sweep(spec, tmp_path, "inline")
    assert second.skipped_runs == 4 and second.new_runs == 4 and second.complete
    after = RunLog(tmp_path).read()
    assert after[:4] == before  # finished rows are kept as they were
    assert len({r["run_id"] for r in after}) == 8 == len(after)
    third = run_sweep(spec, tmp_path, "inline")
    assert third.new_runs == 0 and third.skipped_runs == 8


def test_cancel_stops_handing_out_tasks(tmp_path):
    spec = small_spec(seeds=1, keys=(4, 8, 16), codebooks=(1, 2))
    out = run_sweep(spec, tmp_path, "inline", should_stop=lambda: True)
    assert out.cancelled and out.new_runs == 1 and len(RunLog(tmp_path).read()) == 1


def test_progress_counts_runs_from_resumed_total(tmp_path):
    spec = small_spec(seeds=2, keys=(4,), codebooks=(1, 2))
    run_sweep(spec, tmp_path, "inline", max_new_runs=2)
    seen = []
    run_sweep(spec, tmp_path, "inline", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 4), (4, 4)]


def test_a_torn_last_line_is_ignored_and_redone(tmp_path):
    spec = small_spec(seeds=1, keys=(4,), codebooks=(1, 2))
    run_sweep(spec, tmp_path, "inline")
    log = tmp_path / "runs.jsonl"
    lines = log.read_text().splitlines()
    log.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # killed mid-write
    out = run_sweep(spec, tmp_path, "inline")
    assert out.skipped_runs == 1 and out.new_runs == 1 and out.complete
    rows = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{") and x.endswith("}")]
    assert len(rows) == 2


def test_a_grown_spec_reuses_the_runs_it_shares(tmp_path):
    run_sweep(small_spec(seeds=1, keys=(4,)), tmp_path, "inline")
    grown = run_sweep(small_spec(seeds=1, keys=(4, 16)), tmp_path, "inline")
    assert grown.skipped_runs == 2 and grown.new_runs == 2 and len(grown.summary) == 4
    shrunk = run_sweep(small_spec(seeds=1, keys=(16,)), tmp_path, "inline")
    assert shrunk.new_runs == 0 and len(shrunk.summary) == 2  # the table holds this spec's runs only


def test_load_sweep_reads_back_the_spec_in_its_axis_order(tmp_path):
    from dkvb_core.sweep import load_sweep

    spec = parse_spec({"base": BASE, "axes": {"dkvb.num_codebooks": [2, 1], "dkvb.keys_per_codebook": [8, 4]}})
    first = run_sweep(spec, tmp_path, "inline")
    loaded, runs, summary = load_sweep(tmp_path)
    assert loaded.axes == ["dkvb.num_codebooks", "dkvb.keys_per_codebook"]
    assert loaded.points == spec.points  # values in the order given, not sorted
    assert summary["config_id"].tolist() == first.summary["config_id"].tolist()
    assert len(runs) == 4


def test_load_sweep_names_what_is_missing(tmp_path):
    from dkvb_core.errors import DataError
    from dkvb_core.sweep import load_sweep

    with pytest.raises(DataError, match=r"no spec\.json"):
        load_sweep(tmp_path)
    (tmp_path / "spec.json").write_text('{"axes": {"dkvb.lr": [0.1]}}')
    with pytest.raises(DataError, match="no finished runs"):
        load_sweep(tmp_path)
    (tmp_path / "spec.json").write_text('{"axes": {"dkvb.nope": [0.1]}}')
    with pytest.raises(DataError, match=r"not a valid sweep spec.*axes\.dkvb\.nope"):
        load_sweep(tmp_path)


def test_a_typed_sweep_folder_must_lie_inside_the_allowed_folders(tmp_path):
    from dkvb_core import DataError
    from dkvb_core.sweep.job import MAX_DIR_CHARS, user_sweep_dir

    root = tmp_path / "work"
    (root / "sweeps" / "a").mkdir(parents=True)
    assert user_sweep_dir("sweeps/a", [root]) == (root / "sweeps" / "a").resolve()  # relative to the first root
    assert user_sweep_dir(f"  {root / 'sweeps'}  ", [root]) == (root / "sweeps").resolve()
    for bad in ["../outside", str(tmp_path), "/etc", "sweeps/../../x"]:
        with pytest.raises(DataError, match=r"Folder path: .* is outside the folders"):
            user_sweep_dir(bad, [root])
    for bad in ["", "   ", "a" * (MAX_DIR_CHARS + 1)]:
        with pytest.raises(DataError, match=f"1 to {MAX_DIR_CHARS} characters"):
            user_sweep_dir(bad, [root])
