"""The run budget: estimates from the config alone, refusals that name the fields, advice that works."""

import subprocess
import sys

import pytest

from dkvb_core import Config, ConfigError
from dkvb_core.budget import (
    APP_BUDGET,
    CLI_BUDGET,
    NO_BUDGET,
    Budget,
    GiB,
    budget_from_env,
    check_budget,
    estimate,
)
from dkvb_core.cli import main

# The issue's configs: a link that ran k-means for over 15 minutes, the sidebar's largest settings
# (8 minutes, 8.4 GB, then a failure), and 64 x 1024 keys with a frame every step (113 s, 3.2 GB).
LINK = {
    "stream.num_classes": 32,
    "stream.train_per_class": 5000,
    "dkvb.num_codebooks": 64,
    "dkvb.keys_per_codebook": 4096,
}
SIDEBAR_MAX = {
    "dkvb.num_codebooks": 64,
    "dkvb.keys_per_codebook": 4096,
    "train.steps_per_stage": 2000,
    "train.batch_size": 50,
    "record.every": 50,
}
EVERY_STEP = {"dkvb.num_codebooks": 64, "dkvb.keys_per_codebook": 1024, "train.steps_per_stage": 500, "record.every": 1}
ISSUE_CONFIGS = {"link": LINK, "sidebar_max": SIDEBAR_MAX, "every_step": EVERY_STEP}


@pytest.mark.parametrize("name", ISSUE_CONFIGS)
def test_the_issues_configs_are_refused_naming_fields_and_how_far(name):
    config = Config().replace(**ISSUE_CONFIGS[name])
    with pytest.raises(ConfigError) as info:
        check_budget(config, APP_BUDGET)
    problems = info.value.problems
    assert problems[0][0] == "budget" and "30 s and 2.0 GB" in problems[0][1]
    fields = [f for f, _ in problems[1:]]
    assert fields, problems
    for field, message in problems[1:]:
        if field != "together":
            assert "->" in message and ("at most" in message or "at least" in message or "0 (stage" in message)


def _advised(config: Config, field: str, message: str) -> Config:
    """The config with the refusal's advice applied ('field: a -> at most b ...' or 'together: f: a -> b; ...')."""
    if field == "together":
        pairs = [part.split(": ", 1) for part in message.split(" keeps ")[0].split("; ")]
        return config.replace(**{f: int(v.split("->")[1].replace(",", "")) for f, v in pairs})
    words = message.split("->", 1)[1].split()
    value = words[2] if words[0] == "at" else words[0]
    return config.replace(**{field: int(value.replace(",", ""))})


@pytest.mark.parametrize("name", ISSUE_CONFIGS)
def test_each_advised_value_brings_the_run_within_the_budget(name):
    config = Config().replace(**ISSUE_CONFIGS[name])
    with pytest.raises(ConfigError) as info:
        check_budget(config, APP_BUDGET)
    advice = [(f, m) for f, m in info.value.problems[1:] if "stage ends only" not in m]
    assert advice
    for field, message in advice:
        check_budget(_advised(config, field, message), APP_BUDGET)  # does not raise


def test_a_refusal_builds_no_stream_and_imports_no_torch():
    """The check is arithmetic on the config: it cannot take long or allocate (bench_budget.py times it)."""
    code = (
        "import sys\n"
        "import dkvb_core.streams as s\n"
        "def boom(*a, **k): raise AssertionError('stream built')\n"
        "s.build_stream = boom\n"
        "from dkvb_core import Config, ConfigError\n"
        "from dkvb_core.budget import APP_BUDGET, check_budget\n"
        f"c = Config().replace(**{LINK!r})\n"
        "try:\n    check_budget(c, APP_BUDGET)\nexcept ConfigError:\n    pass\n"
        "else:\n    raise SystemExit('not refused')\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_the_default_and_the_presets_fit_the_app_budget():
    from dkvb_core.presets import PRESETS, preset

    for name in PRESETS:
        check_budget(preset(name), APP_BUDGET)


def test_the_estimate_grows_with_each_cost_field():
    base = Config()
    e0 = estimate(base)
    for field, value in [
        ("dkvb.keys_per_codebook", 1024),
        ("dkvb.num_codebooks", 16),
        ("stream.train_per_class", 1000),
        ("train.steps_per_stage", 4000),
        ("record.grid_size", 300),
        ("dkvb.kmeans_iters", 100),
    ]:
        e1 = estimate(base.replace(**{field: value}))
        assert e1.seconds > e0.seconds, field
    assert estimate(base.replace(**{"record.every": 2})).bytes > e0.bytes
    assert estimate(base, seeds=5).seconds > e0.seconds and estimate(base, seeds=5).bytes > e0.bytes


def test_512_dim_keys_and_200_iterations_are_refused_on_the_app_and_the_cli_default():
    config = Config().replace(
        **{"dkvb.num_codebooks": 64, "dkvb.dim_keys": 512, "dkvb.kmeans_iters": 200, "dkvb.keys_per_codebook": 4096}
    )
    for budget in (APP_BUDGET, CLI_BUDGET):
        with pytest.raises(ConfigError):
            check_budget(config, budget)
    check_budget(config, NO_BUDGET)  # no limit: nothing to refuse


def test_budget_from_env_reads_overrides_off_and_refuses_garbage():
    b = budget_from_env(APP_BUDGET, {"DKVB_BUDGET_SECONDS": "120", "DKVB_BUDGET_GB": "0.5"})
    assert b == Budget(120.0, int(0.5 * GiB), APP_BUDGET.total_seconds)
    assert budget_from_env(APP_BUDGET, {"DKVB_BUDGET_SECONDS": "off"}).seconds is None
    assert budget_from_env(APP_BUDGET, {}) == APP_BUDGET
    for bad in ("-1", "nan", "inf", "1e99", "ten", "true"):
        with pytest.raises(ConfigError) as info:
            budget_from_env(APP_BUDGET, {"DKVB_BUDGET_GB": bad})
        assert info.value.problems[0][0] == "DKVB_BUDGET_GB"


def _cli_args(updates: dict) -> list[str]:
    args = ["run", "--no-progress"]
    for k, v in updates.items():
        args += ["--set", f"{k}={v}"]
    return args


def test_cli_refuses_over_its_budget_and_names_the_flags(capsys):
    # the app's 30 s: with the exact, chunked key init (#14) this link fits the CLI's larger default
    assert main([*_cli_args(LINK), "--budget-seconds", "30"]) == 2
    err = capsys.readouterr().err
    assert "dkvb.num_codebooks: 64 -> at most" in err and "--no-budget" in err
    assert main([*_cli_args({"train.steps_per_stage": 10}), "--budget-seconds", "0.001"]) == 2
    assert "budget" in capsys.readouterr().err


def test_cli_budget_flags_are_validated(capsys):
    assert main([*_cli_args({"train.steps_per_stage": 5}), "--budget-gb", "0"]) == 2
    assert "--budget-gb" in capsys.readouterr().err
    assert main([*_cli_args({"train.steps_per_stage": 5}), "--budget-seconds", "nan"]) == 2
    assert "--budget-seconds" in capsys.readouterr().err


def test_cli_no_budget_lets_a_run_through(capsys, tmp_path):
    out = tmp_path / "m.json"
    args = [*_cli_args({"train.steps_per_stage": 5, "record.every": 0}), "--budget-seconds", "0.001", "--no-budget"]
    assert main([*args, "--out", str(out)]) == 0
    assert out.is_file()


def test_slda_on_raw_pixels_is_costed_by_its_solve_not_by_the_mlp_ratio():
    """SLDA re-solves a D x D system after every step: on 784-d pixels 1,000 steps took ~11 CPU s here."""
    from dkvb_core.presets import preset

    pixels = preset("mnist").replace(
        **{"stream.encoder": "identity", "train.models": ["slda"], "train.steps_per_stage": 200, "record.every": 50}
    )
    assert estimate(pixels).seconds >= 11
    nearest_mean = pixels.replace(**{"slda.covariance": "identity"})
    assert estimate(nearest_mean).seconds < estimate(pixels).seconds / 4  # no solve: the scatter update only
