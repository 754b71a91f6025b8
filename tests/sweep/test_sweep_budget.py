"""The run budget applied to sweeps: each run's estimate and the sum, before any run starts."""

import json

import pytest

from dkvb_core import ConfigError
from dkvb_core.budget import APP_BUDGET, Budget
from dkvb_core.cli import main
from dkvb_core.sweep import parse_spec
from dkvb_core.sweep.budget import check_sweep_budget
from dkvb_core.sweep.cli import cmd_sweep  # noqa: F401 - the subcommand is registered on import

BIG = {
    "preset": "toy",
    "base": {"dkvb": {"num_codebooks": 64}, "stream": {"num_classes": 32}},
    "axes": {"dkvb.keys_per_codebook": [64, 4096], "stream.train_per_class": [5000]},
    "seeds": 2,
}
PAGE_DEFAULT = {
    "name": "page",
    "preset": "toy",
    "base": {"train": {"steps_per_stage": 200, "models": ["dkvb", "linear", "mlp"]}},
    "axes": {"dkvb.num_codebooks": [1, 2, 4, 8], "dkvb.keys_per_codebook": [2, 4, 8, 16, 64]},
    "seeds": 3,
}


def test_a_sweep_with_a_run_over_the_budget_is_refused_naming_the_axis():
    with pytest.raises(ConfigError) as info:
        check_sweep_budget(parse_spec(BIG), APP_BUDGET)
    problems = info.value.problems
    assert problems[0][0].startswith("runs at dkvb.keys_per_codebook=")
    fields = [f for f, _ in problems[1:]]
    assert "axes.dkvb.keys_per_codebook" in fields or "axes.stream.train_per_class" in fields, fields


def test_a_sweep_whose_runs_add_up_over_the_budget_is_refused():
    spec = parse_spec(PAGE_DEFAULT, max_runs=200)
    total = check_sweep_budget(spec, APP_BUDGET)  # the page's default sweep fits
    assert total > 0
    with pytest.raises(ConfigError) as info:
        check_sweep_budget(spec, Budget(APP_BUDGET.seconds, APP_BUDGET.bytes, total / 2))
    field, message = info.value.problems[0]
    assert field == "runs" and "add up to" in message and "fewer seeds" in message


def test_the_sweep_cli_refuses_before_writing_anything(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(BIG))
    out = tmp_path / "out"
    args = ["sweep", "--spec", str(spec), "--out", str(out), "--executor", "inline", "--no-progress"]
    assert main([*args, "--budget-seconds", "60"]) == 2  # about 270 s estimated: over a 60 s budget
    assert "axes.dkvb.keys_per_codebook" in capsys.readouterr().err
    assert not (out / "runs.jsonl").exists()
