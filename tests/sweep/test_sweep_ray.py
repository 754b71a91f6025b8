"""Sweeps on Ray: a small grid on a local instance the runner starts (and stops), and on a
cluster given by address (which the runner must leave running). Ray start-up takes seconds."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ray  # the optional extra: CI installs it, so these tests run there (no skip)

from dkvb_core.sweep import parse_spec, run_sweep
from dkvb_core.sweep.table import RunLog

REPO = Path(__file__).resolve().parents[2]
BASE = {"train": {"steps_per_stage": 15, "models": ["dkvb", "linear"]}, "stream": {"train_per_class": 15}}
SPEC = {"base": BASE, "axes": {"dkvb.num_codebooks": [1, 2], "dkvb.keys_per_codebook": [4, 16]}, "seeds": 2}


def metric_values(frame):
    cols = [c for c in frame.columns if "/" in c and not c.endswith("seconds")]
    return frame.sort_values("run_id")[cols].to_numpy()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_local_ray_instance_runs_a_small_grid_like_the_pool(tmp_path):
    assert not ray.is_initialized()
    spec = parse_spec(SPEC)
    out = run_sweep(spec, tmp_path / "ray", "ray", workers=2)
    assert out.complete and out.new_runs == 8 and len(out.summary) == 4
    assert not ray.is_initialized()  # the runner stopped the instance it started
    inline = run_sweep(spec, tmp_path / "inline", "inline")
    np.testing.assert_array_equal(metric_values(out.runs), metric_values(inline.runs))
    assert len({row["pid"] for row in RunLog(tmp_path / "ray").read()} - {os.getpid()}) >= 1


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_connects_to_a_cluster_by_address_and_leaves_it_running(tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        address = ray.get_runtime_context().gcs_address
        spec = tmp_path / "s.json"
        spec.write_text(
            '{"base": {"train": {"steps_per_stage": 15}}, "axes": {"dkvb.lr": [0.1, 0.3]}, "seeds": 1}',
            encoding="utf-8",
        )
        out = tmp_path / "out"
        cmd = [sys.executable, "-m", "dkvb_core", "sweep", "--spec", str(spec), "--out", str(out)]
        cmd += ["--executor", "ray", "--address", address, "--no-progress"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
        assert "2/2 runs, complete" in done.stderr
        assert len(RunLog(out).read()) == 2
        assert ray.get(ray.remote(lambda: 42).remote()) == 42  # the cluster is still up
    finally:
        ray.shutdown()


def test_a_bad_address_is_a_clear_error(tmp_path, capsys):
    from dkvb_core.cli import main

    spec = tmp_path / "s.json"
    spec.write_text('{"axes": {"dkvb.lr": [0.1]}}', encoding="utf-8")
    args = ["--spec", str(spec), "--out", str(tmp_path / "o"), "--executor", "ray", "--address", "nohost"]
    code = main(["sweep", *args])
    assert code == 2
    assert "error: --address:" in capsys.readouterr().err
    assert not ray.is_initialized()
